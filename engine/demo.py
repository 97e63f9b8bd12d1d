"""The demo: a fresh workspace, sample customers and products, their purchase orders (German
and English layouts, one scanned), our quote, a bank statement and a remittance advice, and
the whole chain run over about two months of simulated days."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from documents.camt import write_camt053
from documents.samples import (
    Buyer,
    OrderedLine,
    PaidInvoice,
    purchase_order_pdf,
    remittance_advice_pdf,
    scanned,
)
from engine.core.checks import make_de_vat_id, make_iban
from engine.core.config import Config
from engine.core.records import Statement, StatementEntry
from engine.jobs import JOBS
from engine.runtime import Runtime
from engine.services import fulfilment, intake, invoicing, orders, payments, quotes, statements
from engine.store.db import upgrade
from engine.store.models import (
    Approval,
    BankTransaction,
    Customer,
    Document,
    DunningNotice,
    Invoice,
    Order,
    OutboxMessage,
    Product,
    Task,
)

DAYS = 64
PRODUCTS = (
    ("HM-200", "Hydraulikmotor HM 200", "1250.00", "19", "20"),
    ("PU-50", "Pumpeneinheit PU 50", "890.00", "19", "3"),
    ("DS-15", "Dichtungssatz 15 mm", "12.35", "19", "500"),
    ("VS-8", "Ventilsteuerung VS 8", "349.00", "19", "40"),
    ("SL-2", "Schlauchleitung 2 m", "24.90", "19", "300"),
    ("FB-10", "Fachbuch Hydraulik", "39.90", "7", "50"),
)


@dataclass(frozen=True)
class DemoCustomer:
    buyer: Buyer
    country: str
    language: str
    email: str
    terms: int
    credit_limit: str


def _buyer(n: int, name: str, street: str, plz: str, city: str, contact: str) -> Buyer:
    vat = make_de_vat_id(f"{81234560 + n * 7919:08d}")
    iban = make_iban("DE", f"{20030000 + n:08d}{n * 1234567:010d}")
    return Buyer(f"K-1000{n}", name, street, plz, city, vat, iban, contact)


CUSTOMERS = (
    DemoCustomer(_buyer(1, "Hoffmann Bau AG", "Am Hafen 3", "20457", "Hamburg", "Jens Hoffmann"),
                 "DE", "de", "einkauf@hoffmann-bau.example", 14, "60000"),
    # a German subsidiary of a British group: English documents, German VAT
    DemoCustomer(_buyer(2, "Brightwater Engineering GmbH", "Mainzer Landstraße 50", "60325",
                        "Frankfurt am Main", "Emily Clarke"),
                 "DE", "en", "purchasing@brightwater.example", 14, "20000"),
    DemoCustomer(_buyer(3, "Schneider Elektro KG", "Leopoldstraße 88", "80802", "München",
                        "Anna Schneider"), "DE", "de", "einkauf@schneider-elektro.example", 30,
                 "30000"),
    DemoCustomer(_buyer(4, "Weber & Söhne GmbH", "Rheinuferweg 7", "50668", "Köln",
                        "Paul Weber"), "DE", "de", "bestellung@weber-soehne.example", 14,
                 "30000"),
    DemoCustomer(_buyer(5, "Nordlicht Handels GmbH", "Kaistraße 5", "24103", "Kiel",
                        "Maren Lund"), "DE", "de", "einkauf@nordlicht.example", 14, "15000"),
)


def workspace_config(base: Config, folder: Path) -> Path:
    """Write DIR/config.yaml: the base company and rules, its own database and files."""
    data: dict[str, Any] = yaml.safe_load((base.base_dir / base.source).read_text("utf-8"))
    data["database"] = {"url": "sqlite:///o2c.sqlite"}
    data.setdefault("storage", {})
    data["storage"].update({"dir": "var", "out": "out",
                            "rules": str(base.path("storage.rules"))})
    data.setdefault("mail", {})["smtp"] = {"host": None}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text("# o2c demo workspace, made by `o2c demo`\n"
                    + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def seed(rt: Runtime) -> None:
    with rt.db.unit_of_work() as session:
        for sku, name, price, vat, stock in PRODUCTS:
            session.add(Product(sku=sku, name=name, unit="Stk", unit_price=D(price),
                                vat_rate=D(vat), stock=D(stock)))
        for c in CUSTOMERS:
            b = c.buyer
            session.add(Customer(number=b.number, name=b.name, street=b.street,
                                 postal_code=b.postal_code, city=b.city, country=c.country,
                                 vat_id=b.vat_id, email=c.email, iban=b.iban, b2b=True,
                                 language=c.language, credit_limit=D(c.credit_limit),
                                 payment_terms_days=c.terms))


class Scenario:
    """What the outside world does on which day; the jobs do the rest."""

    def __init__(self, rt: Runtime, start: date, inbox: Path, log: Callable[[str], None]):
        self.rt, self.start, self.inbox, self.log = rt, start, inbox, log
        self.seller = rt.config.company
        inbox.mkdir(parents=True, exist_ok=True)

    def customer(self, n: int) -> Buyer:
        return CUSTOMERS[n - 1].buyer

    def arrive(self, name: str, data: bytes, origin: str = "mail") -> None:
        (self.inbox / name).write_bytes(data)
        intake.receive(self.rt, data, name, origin)
        self.log(f"  received {name}")

    def order(self, n: int, number: str, day: date, items: list[tuple[str, str, str]],
              lang: str = "de", quote: str = "", scan: bool = False) -> None:
        names = {sku: name for sku, name, *_ in PRODUCTS}
        lines = [OrderedLine(i, sku, names[sku], D(qty), "Stk", D(price))
                 for i, (sku, qty, price) in enumerate(items, start=1)]
        pdf = purchase_order_pdf(seller=self.seller, buyer=self.customer(n), number=number,
                                 order_date=day, delivery_date=day + timedelta(days=10),
                                 lines=lines, lang=lang, quote=quote)
        self.arrive(f"{number}{'-scan' if scan else ''}.pdf", scanned(pdf) if scan else pdf)

    def on_day(self, index: int, today: date) -> None:
        rt = self.rt
        if index == 0:
            quote = quotes.create_quote(rt, "K-10003", [("VS-8", D(6)), ("SL-2", D(24))], today,
                                        "vertrieb@demo")
            self.quote = quote
            self.order(1, "B-2026-4711", today, [("HM-200", "8", "1250.00"),
                                                 ("DS-15", "40", "12.35")])
            self.order(2, "PO-88123", today, [("VS-8", "4", "349.00"), ("FB-10", "5", "39.90")],
                       lang="en")
            self.order(4, "WS-2026-118", today, [("PU-50", "5", "890.00"),
                                                 ("SL-2", "10", "24.90")])
        elif index == 1:
            self.order(3, "SE-5521", today, [("VS-8", "6", "349.00"), ("SL-2", "24", "24.90")],
                       quote=self.quote)
            self.order(5, "NL-0042", today, [("DS-15", "30", "12.35"), ("FB-10", "2", "39.90")],
                       scan=True)
        elif index == 2:
            self._approve_waiting()
        elif index == 8:
            fulfilment.receive_goods(rt, "PU-50", D(10), "lager@demo")
            self.log("  goods receipt: 10 × PU-50")
        elif index == 12:
            self._credit_note()
        elif index == 20:
            self._payments(today)
        elif index == 21:
            self._confirm_reviewed(today)

    def _approve_waiting(self) -> None:
        with self.rt.db.unit_of_work() as session:
            waiting = list(session.scalars(select(Order.id).where(
                Order.status == "pending_approval")))
        for order_id in waiting:
            orders.decide_by_person(self.rt, order_id, "vertrieb@demo", True,
                                    "Großkunde, freigegeben")
            self.log(f"  sales manager approved order {order_id}")

    def _credit_note(self) -> None:
        invoice = self._invoices("K-10002")[0]
        number = invoicing.issue_credit_note(self.rt, invoice.id, [2], "Damaged in transit",
                                             "buchhaltung@demo", self.start + timedelta(12))
        self.log(f"  credit note {number} for {invoice.number}")

    def _invoices(self, customer: str) -> list[Invoice]:
        with self.rt.db.unit_of_work() as session:
            return list(session.scalars(select(Invoice).join(Customer).where(
                Customer.number == customer).order_by(Invoice.id)))

    def _payments(self, today: date) -> None:
        schneider, = self._invoices("K-10003")[:1]
        hoffmann = self._invoices("K-10001")[0]
        weber = self._invoices("K-10004")
        nordlicht = self._invoices("K-10005")[0]
        advice_lines = [PaidInvoice(i.number, i.issue_date, i.gross_amount, D("0"),
                                    i.gross_amount) for i in weber]
        weber_total = sum((i.gross_amount for i in weber), D("0"))
        self.arrive("zahlungsavis-weber.pdf", remittance_advice_pdf(
            seller=self.seller, buyer=self.customer(4), payment_date=today,
            reference="ZA-2026-778", lines=advice_lines))
        entries = (
            self._credit(today, 3, schneider.gross_amount, schneider.payment_reference, ""),
            self._credit(today, 4, weber_total, "", "Zahlungsavis ZA-2026-778"),
            self._credit(today, 1, hoffmann.gross_amount - D("5000.00"), "",
                         f"Teilzahlung {hoffmann.number}"),
            self._credit(today, 5, nordlicht.gross_amount, "", "Rechnung vom Sept. Nr 4711-X"),
            StatementEntry(today, today, D("-12.50"), "EUR", "Hausbank", "", "",
                           "Kontoführung", "", f"FEE{today:%Y%m%d}"),
        )
        total = sum((e.amount for e in entries), D("0"))
        statement = Statement(self.seller.iban, "EUR", f"{today:%Y%m%d}-1", D("10000.00"),
                              D("10000.00") + total, entries)
        xml = write_camt053(statement, message_id=f"STMT{today:%Y%m%d}",
                            created=datetime.combine(today, datetime.min.time(), tzinfo=UTC),
                            owner_name=self.seller.name)
        self.arrive(f"camt053-{today:%Y%m%d}.xml", xml, origin="folder")

    def _credit(self, today: date, n: int, amount: D, reference: str,
                text: str) -> StatementEntry:
        b = self.customer(n)
        return StatementEntry(today, today, amount, "EUR", b.name, b.iban, reference, text,
                              f"E2E-{b.number}-{today:%m%d}", f"BR{today:%Y%m%d}{n}")

    def _confirm_reviewed(self, today: date) -> None:
        with self.rt.db.unit_of_work() as session:
            waiting = list(session.scalars(select(BankTransaction.id).where(
                BankTransaction.status == "review")))
        for tx_id in waiting:
            payments.confirm_suggestion(self.rt, tx_id, "buchhaltung@demo", today)
            self.log(f"  clerk confirmed the suggested match of transaction {tx_id}")


def run_demo(base: Config, folder: Path, start: date, log: Callable[[str], None],
             open_runtime: Callable[[Path], Runtime]) -> dict[str, int]:
    """Build the workspace in `folder` and run the chain, then write every customer's
    account statement as of the last day; returns the summary counts."""
    if (folder / "o2c.sqlite").exists():
        raise FileExistsError(f"{folder} already holds a demo; choose an empty folder")
    config_file = workspace_config(base, folder)
    rt = open_runtime(config_file)
    try:
        upgrade(rt.config.database_url)
        seed(rt)
        scenario = Scenario(rt, start, folder / "inbox", log)
        for index in range(DAYS):
            today = start + timedelta(days=index)
            scenario.on_day(index, today)
            for name, job in JOBS.items():
                result = job(rt, today)
                busy = {k: v for k, v in result.items() if v}
                if busy and name != "outbox":
                    log(f"{today} {name}: {busy}")
        last = start + timedelta(days=DAYS - 1)
        issued = statements.issue_all(rt, last)
        log(f"{last} statements: {len(issued)} account statements under out/statements/")
        return summary(rt)
    finally:
        rt.close()


def summary(rt: Runtime) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        def count(model: Any, *where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "documents": count(Document),
            "orders": count(Order),
            "approved": count(Order, Order.status.notin_(("received", "pending_approval",
                                                          "rejected"))),
            "needs_approval": count(Order, Order.id.in_(select(Approval.order_id))),
            "invoices": count(Invoice),
            "payments": count(BankTransaction, BankTransaction.amount > 0),
            "matched": count(BankTransaction, BankTransaction.status.in_(
                ("matched", "partially_matched"))),
            "reminders": count(DunningNotice),
            "escalations": count(Task, Task.kind == "escalation"),
            "outbox": count(OutboxMessage),
        }

