"""SEPA direct debit: pain.008.001.08 files that validate against the schema, exact
amounts, FRST then RCUR per mandate, each invoice collected once, customers without a
mandate left alone; and the pure checks (creditor id, TARGET2 days, SEPA text)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from documents.sepa import (
    NS,
    PAIN,
    Creditor,
    Debit,
    SepaError,
    build_pain008,
    cents,
    creditor_id_valid,
    earliest_collection_date,
    easter,
    schema_errors,
    sepa_text,
    target2_open,
)
from engine.core.checks import make_iban, rf_reference
from engine.runtime import Runtime
from engine.services import direct_debit
from engine.store.models import Allocation, AuditEntry, Customer, Invoice

CREDITOR_ID = "DE98ZZZ09999999999"  # the Bundesbank's test identifier
TODAY = date(2026, 9, 30)  # a Wednesday
COLLECTION = date(2026, 10, 2)  # a Friday, two TARGET2 days later


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    """The workspace with `company.creditor_id` set (as config.yaml will hold it)."""
    values = {**runtime.config.values, "company.creditor_id": CREDITOR_ID}
    runtime.config = dataclasses.replace(runtime.config, values=values)
    return runtime


def customer(rt: Runtime, number: str, name: str, *, mandate: str | None,
             iban: str | None = None, signed: date = date(2026, 1, 15)) -> int:
    with rt.db.unit_of_work() as s:
        row = Customer(number=number, name=name, street="Industriestraße 7", postal_code="70565",
                       city="Stuttgart", email=f"{number.lower()}@kunde.example",
                       iban=make_iban("DE", "37040044" + number[-4:].rjust(10, "0"))
                       if iban is None else iban,
                       sepa_mandate_id=mandate, sepa_mandate_date=signed if mandate else None)
        s.add(row)
        s.flush()
        return row.id


def invoice(rt: Runtime, customer_id: int, number: str, gross: str, *, paid: str | None = None,
            due: date = date(2026, 9, 28)) -> None:
    with rt.db.unit_of_work() as s:
        row = Invoice(number=number, customer_id=customer_id, issue_date=date(2026, 9, 14),
                      delivery_date=date(2026, 9, 14), due_date=due,
                      payment_reference=rf_reference(number), net_amount=D(gross),
                      tax_amount=D("0.00"), gross_amount=D(gross))
        s.add(row)
        s.flush()
        if paid:
            s.add(Allocation(invoice_id=row.id, amount=D(paid), kind="payment", created_by="t"))


def seed(rt: Runtime) -> None:
    a = customer(rt, "K-1001", "Müller & Söhne GmbH", mandate="MANDAT-1001")
    b = customer(rt, "K-1002", "Bäckerei Groß KG", mandate="MANDAT-1002")
    c = customer(rt, "K-1003", "Ohne Mandat AG", mandate=None)
    invoice(rt, a, "RE-2026-00001", "1234.56", paid="234.55")  # open 1000.01
    invoice(rt, a, "RE-2026-00002", "0.30", paid="0.20")  # open 0.10: no float survives
    invoice(rt, b, "RE-2026-00003", "9999999.99")
    invoice(rt, b, "RE-2026-00004", "50.00", paid="50.00")  # paid: nothing to collect
    invoice(rt, c, "RE-2026-00005", "77.00")  # no mandate: never collected


def transactions(path: Path) -> dict[str, dict[str, str]]:
    root = etree.parse(str(path)).getroot()
    out = {}
    for info in root.iterfind(".//p:PmtInf", NS):
        sequence = info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) or ""
        for tx in info.iterfind("p:DrctDbtTxInf", NS):
            e2e = tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS) or ""
            out[e2e] = {
                "amount": tx.findtext("p:InstdAmt", namespaces=NS) or "",
                "currency": tx.find("p:InstdAmt", NS).get("Ccy"),  # type: ignore[union-attr]
                "mandate": tx.findtext(".//p:MndtId", namespaces=NS) or "",
                "signed": tx.findtext(".//p:DtOfSgntr", namespaces=NS) or "",
                "remittance": tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS) or "",
                "debtor": tx.findtext("p:Dbtr/p:Nm", namespaces=NS) or "",
                "sequence": sequence,
            }
    return out


def test_a_file_for_two_customers_validates(rt: Runtime) -> None:
    seed(rt)
    path = direct_debit.collect(rt, TODAY, COLLECTION)
    assert path is not None and path.parent == rt.out_dir / "direct_debits"
    xml = path.read_bytes()
    assert schema_errors(xml) == []
    root = etree.fromstring(xml)
    assert root.tag == f"{{urn:iso:std:iso:20022:tech:xsd:{PAIN}}}Document"
    assert root.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS) == CREDITOR_ID
    assert root.findtext(".//p:ReqdColltnDt", namespaces=NS) == "2026-10-02"
    assert root.findtext(".//p:LclInstrm/p:Cd", namespaces=NS) == "CORE"
    assert path.name == root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) + ".xml"
    txs = transactions(path)
    assert sorted(txs) == ["RE-2026-00001", "RE-2026-00002", "RE-2026-00003"]
    first = txs["RE-2026-00001"]
    assert first["mandate"] == "MANDAT-1001" and first["signed"] == "2026-01-15"
    assert first["remittance"] == f"RE-2026-00001 {rf_reference('RE-2026-00001')}"
    assert first["debtor"] == "Mueller + Soehne GmbH" and first["currency"] == "EUR"
    assert txs["RE-2026-00003"]["debtor"] == "Baeckerei Gross KG"
    with rt.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == direct_debit.ACTION))
        assert entry is not None and entry.details["file"] == path.name
        assert {t["customer"] for t in entry.details["transactions"]} == {"K-1001", "K-1002"}
    assert rt.blobs.get(entry.details["sha256"]) == xml


def test_amounts_are_decimal_exact(rt: Runtime) -> None:
    seed(rt)
    path = direct_debit.collect(rt, TODAY, COLLECTION)
    assert path is not None
    txs = transactions(path)
    assert {k: v["amount"] for k, v in txs.items()} == {
        "RE-2026-00001": "1000.01", "RE-2026-00002": "0.10", "RE-2026-00003": "9999999.99"}
    root = etree.parse(str(path)).getroot()
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == str(D("1000.01") + D("0.10") + D("9999999.99"))
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    assert [cents(D(x)) for x in ("0.01", "0.10", "1000.01", "9999999.99", "0.29", "4.35")] == [
        1, 10, 100001, 999999999, 29, 435]


def test_first_collection_frst_then_rcur_and_no_invoice_twice(rt: Runtime) -> None:
    seed(rt)
    first = direct_debit.collect(rt, TODAY, COLLECTION)
    assert first is not None
    assert {tx["sequence"] for tx in transactions(first).values()} == {"FRST"}
    assert direct_debit.collect(rt, TODAY, COLLECTION) is None  # all of it is in the file
    with rt.db.unit_of_work() as s:
        a = s.scalar(select(Customer.id).where(Customer.number == "K-1001"))
    assert a is not None
    invoice(rt, a, "RE-2026-00010", "119.00", due=date(2026, 10, 20))
    new = customer(rt, "K-1004", "Neukunde GmbH", mandate="MANDAT-1004")
    invoice(rt, new, "RE-2026-00011", "59.50", due=date(2026, 10, 20))
    second = direct_debit.collect(rt, date(2026, 10, 19), date(2026, 10, 20))
    assert second is not None and second != first
    txs = transactions(second)
    assert {k: v["sequence"] for k, v in txs.items()} == {
        "RE-2026-00010": "RCUR", "RE-2026-00011": "FRST"}
    assert schema_errors(second.read_bytes()) == []


def test_customers_without_a_usable_mandate_are_skipped(rt: Runtime) -> None:
    none = customer(rt, "K-2001", "Kein Mandat GmbH", mandate=None)
    no_iban = customer(rt, "K-2002", "Ohne IBAN GmbH", mandate="MANDAT-2002", iban="")
    later = customer(rt, "K-2003", "Später GmbH", mandate="MANDAT-2003", signed=date(2026, 12, 1))
    for n, cid in enumerate((none, no_iban, later)):
        invoice(rt, cid, f"RE-2026-0010{n}", "10.00")
    assert direct_debit.collect(rt, TODAY, COLLECTION) is None
    with rt.db.unit_of_work() as s:
        skipped = direct_debit.plan(s, COLLECTION).skipped
    assert len(skipped) == 2 and not any("K-2001" in r for r in skipped)
    assert "K-2002" in skipped[0] and "IBAN" in skipped[0]
    assert "K-2003" in skipped[1] and "after the collection date" in skipped[1]


def test_an_invoice_is_collected_when_due_not_before(rt: Runtime) -> None:
    cid = customer(rt, "K-3001", "Pünktlich GmbH", mandate="MANDAT-3001")
    invoice(rt, cid, "RE-2026-00200", "10.00", due=date(2026, 10, 14))
    assert direct_debit.collect(rt, TODAY, COLLECTION) is None
    path = direct_debit.collect(rt, TODAY, date(2026, 10, 14))
    assert path is not None and list(transactions(path)) == ["RE-2026-00200"]


def test_two_runs_at_once_write_each_invoice_once(rt: Runtime) -> None:
    seed(rt)
    paths: list[Path | None] = []
    threads = [threading.Thread(target=lambda: paths.append(
        direct_debit.collect(rt, TODAY, COLLECTION))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p is None for p in paths) == [False, True]
    assert len(list((rt.out_dir / "direct_debits").glob("*.xml"))) == 1


def test_settings_and_dates_are_checked_with_clear_errors(runtime: Runtime, rt: Runtime) -> None:
    seed(rt)
    with pytest.raises(SepaError, match="earliest is 2026-10-01"):
        direct_debit.collect(rt, TODAY, TODAY)
    with pytest.raises(SepaError, match="TARGET2 is closed"):
        direct_debit.collect(rt, TODAY, date(2026, 10, 3))  # a Saturday
    values = {k: v for k, v in rt.config.values.items() if k != "company.creditor_id"}
    rt.config = dataclasses.replace(rt.config, values=values)
    with pytest.raises(SepaError, match=r"company\.creditor_id is not set"):
        direct_debit.collect(rt, TODAY, COLLECTION)
    rt.config = dataclasses.replace(rt.config, values={**values,
                                                       "company.creditor_id": "DE99ZZZ09999999999"})
    with pytest.raises(SepaError, match="not a valid SEPA creditor identifier"):
        direct_debit.collect(rt, TODAY, COLLECTION)


def debit(**changes: object) -> Debit:
    base = Debit(end_to_end_id="RE-1", amount=D("1.00"), debtor_name="Kunde",
                 debtor_iban=make_iban("DE", "370400440000001234"), mandate_id="M-1",
                 mandate_date=date(2026, 1, 1), sequence="FRST", remittance="RE-1")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_problem_of_a_transaction_is_named() -> None:
    creditor = Creditor(name="Muster GmbH", iban="DE89370400440532013000",
                        creditor_id=CREDITOR_ID)
    bad = debit(amount=D("1.005"), mandate_id="M_1", currency="USD", label="invoice RE-1 (K-1)")
    with pytest.raises(SepaError) as caught:
        build_pain008(creditor, [bad], COLLECTION, TODAY, created_at=datetime(2026, 9, 30, 12))
    problems = caught.value.problems
    assert all(p.startswith("invoice RE-1 (K-1): ") for p in problems) and len(problems) == 3
    assert any("whole cents" in p for p in problems) and any("'M_1'" in p for p in problems)
    assert any("euros only" in p for p in problems)


def test_the_same_collection_gets_the_same_message_id() -> None:
    creditor = Creditor(name="Muster GmbH", iban="DE89370400440532013000",
                        creditor_id=CREDITOR_ID, bic="COBADEFFXXX")
    debits = [debit(), debit(end_to_end_id="RE-2", sequence="RCUR", remittance="RE-2 RF")]
    one = build_pain008(creditor, debits, COLLECTION, TODAY, datetime(2026, 9, 30, 12))
    two = build_pain008(creditor, debits[::-1], COLLECTION, TODAY, datetime(2026, 9, 30, 12))
    assert one == two and schema_errors(one) == []
    assert b"<MsgId>DD-20261002-" in one and b"<BICFI>COBADEFFXXX</BICFI>" in one
    assert schema_errors(one.replace(b"<SeqTp>FRST</SeqTp>", b"<SeqTp>FIRST</SeqTp>"))


@pytest.mark.parametrize(("cid", "ok"), [
    ("DE98ZZZ09999999999", True), ("de98 zzz 09999999999", True),
    ("DE97ZZZ09999999999", False), ("DE98ZZZ0999999999X", False), ("DE98", False),
])
def test_creditor_identifier_checksum(cid: str, ok: bool) -> None:
    assert creditor_id_valid(cid) is ok


def test_target2_calendar() -> None:
    assert easter(2026) == date(2026, 4, 5) and easter(2027) == date(2027, 3, 28)
    closed = [date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1),
              date(2026, 12, 25), date(2026, 12, 26), date(2026, 10, 3), date(2026, 10, 4)]
    assert not any(target2_open(d) for d in closed)
    assert target2_open(date(2026, 4, 2)) and target2_open(date(2026, 10, 5))
    assert earliest_collection_date(date(2026, 4, 2)) == date(2026, 4, 7)  # over Easter
    assert earliest_collection_date(date(2026, 10, 2)) == date(2026, 10, 5)


def test_sepa_text() -> None:
    assert sepa_text("Müller & Söhne GmbH", 70) == "Mueller + Soehne GmbH"
    assert sepa_text("Straße 1 @ «Hof»  ", 70) == "Strasse 1 Hof"
    assert sepa_text("x" * 200, 140) == "x" * 140
