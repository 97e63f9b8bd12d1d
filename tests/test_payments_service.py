"""The matching run on both databases: sure matches booked (a cash discount with its VAT
correction, partial payments, advices as advised, the rest of an overpayment as credit),
the rest queued with ranked suggestions; one index per run; people confirm and unmatch
(audited); automation never undoes a person's work."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.checks import rf_reference
from engine.core.records import OpenItem
from engine.runtime import Runtime
from engine.services import payment_index, payments
from engine.store.models import (
    Allocation,
    AuditEntry,
    BankStatement,
    BankTransaction,
    Customer,
    DecisionRow,
    Document,
    Invoice,
    InvoiceLine,
    RemittanceAdvice,
    RemittanceAdviceLine,
)

TODAY = date(2026, 9, 15)
ISSUED = date(2026, 9, 8)
IBAN_1, IBAN_2 = "DE02120300000000202051", "DE89370400440532013000"


def seed(rt: Runtime) -> dict[str, int]:
    """Two customers; RE-1 1190.00 with 2 % Skonto in 10 days (19 % and 7 % lines), RE-2
    595.00, RE-3 238.00 of the first; RE-4 100.00 of the second. Returns number → id."""
    with rt.db.unit_of_work() as s:
        ids = {}
        for n, (name, iban) in enumerate((("Hoffmann Bau AG", IBAN_1),
                                          ("Weber Logistik GmbH", IBAN_2)), start=1):
            s.add(Customer(number=f"K-{n}", name=name, iban=iban, city="Berlin"))
        s.flush()
        rows = [("RE-2026-00001", 1, D("1190.00"), D("2")), ("RE-2026-00002", 1, D("595.00"), None),
                ("RE-2026-00003", 1, D("238.00"), None), ("RE-2026-00004", 2, D("100.00"), None)]
        for number, customer, gross, skonto in rows:
            invoice = Invoice(number=number, customer_id=customer, issue_date=ISSUED,
                              delivery_date=ISSUED, due_date=date(2026, 10, 8),
                              payment_reference=rf_reference(number), net_amount=gross,
                              tax_amount=D("0"), gross_amount=gross,
                              cash_discount_percent=skonto, cash_discount_days=10 if skonto else None)
            s.add(invoice)
            s.flush()
            ids[number] = invoice.id
            if skonto:  # 500 net at 19 % (595 gross) and 556.07 net at 7 % (595 gross)
                for pos, (price, rate) in enumerate(((D("500.00"), D("19")),
                                                     (D("556.07"), D("7"))), start=1):
                    s.add(InvoiceLine(invoice_id=invoice.id, position=pos, sku=f"S{pos}",
                                      description="Ware", quantity=D("1"), unit="C62",
                                      unit_price=price, vat_rate=rate))
        return ids


def credit(rt: Runtime, amount: str, text: str, iban: str = IBAN_1, name: str = "Hoffmann Bau AG",
           reference: str = "") -> int:
    with rt.db.unit_of_work() as s:
        statement = s.scalar(select(BankStatement)) or BankStatement(
            account="DE44500105175407324931", statement_id="1", currency="EUR",
            opening_balance=D("0"), closing_balance=D("0"))
        s.add(statement)
        s.flush()
        tx = BankTransaction(statement_id=statement.id, dedupe_key=f"{text}|{amount}|{iban}",
                             booking_date=TODAY, value_date=TODAY, amount=D(amount),
                             currency="EUR", counterparty_name=name, counterparty_iban=iban,
                             reference=reference, remittance_info=text, status="new")
        s.add(tx)
        s.flush()
        return tx.id


def allocations(rt: Runtime, tx_id: int, active: bool = True) -> list[tuple[str, D, str, str]]:
    with rt.db.unit_of_work() as s:
        return [(s.get(Invoice, a.invoice_id).number, a.amount, a.kind, a.created_by)  # type: ignore[union-attr]
                for a in s.scalars(select(Allocation).where(
                    Allocation.transaction_id == tx_id, Allocation.active.is_(active))
                    .order_by(Allocation.id))]


def status(rt: Runtime, model: type, ident: int) -> str:
    with rt.db.unit_of_work() as s:
        return str(s.get(model, ident).status)  # type: ignore[attr-defined]


def test_sure_matches_are_booked_and_the_rest_waits(runtime: Runtime) -> None:
    ids = seed(runtime)
    skonto = credit(runtime, "1166.20", "", reference=rf_reference("RE-2026-00001"))
    partial = credit(runtime, "300.00", "Teilzahlung RE-2026-00002")
    unknown = credit(runtime, "77.00", "Spende", iban="DE00UNKNOWN", name="Verein e.V.")
    by_amount = credit(runtime, "238.00", "Zahlung")
    counts = payments.match_new(runtime, TODAY)
    assert counts["matched"] >= 2 and counts["matched"] + counts["review"] == 4
    assert allocations(runtime, skonto) == [("RE-2026-00001", D("1166.20"), "payment", "auto"),
                                            ("RE-2026-00001", D("11.90"), "discount", "auto"),
                                            ("RE-2026-00001", D("11.90"), "discount", "auto")]
    with runtime.db.unit_of_work() as s:  # the discount's VAT correction per rate, stored
        assert [(a.tax_rate, a.amount - a.tax_amount, a.tax_amount) for a in s.scalars(
            select(Allocation).where(Allocation.kind == "discount").order_by(Allocation.id))] \
            == [(D("19"), D("10.00"), D("1.90")), (D("7"), D("11.12"), D("0.78"))]
    assert status(runtime, Invoice, ids["RE-2026-00001"]) == "paid"
    assert allocations(runtime, partial) == [("RE-2026-00002", D("300.00"), "payment", "auto")]
    assert status(runtime, Invoice, ids["RE-2026-00002"]) == "open"
    assert status(runtime, BankTransaction, unknown) == "review"
    with runtime.db.unit_of_work() as s:
        booked = s.scalar(select(AuditEntry).where(AuditEntry.action == "payment.booked",
                                                   AuditEntry.object_id == skonto))
        assert booked is not None  # the discount's VAT correction per rate
        assert [[D(x) for x in part] for part in booked.details["reductions"][0]["vat"]] == [
            [19, D("10.00"), D("1.90")], [7, D("11.12"), D("0.78")]]
        tx = s.get(BankTransaction, by_amount)
        assert tx is not None and tx.suggestions[0]["kind"] == "iban_amount"
        assert tx.suggestions[0]["invoices"] == [["RE-2026-00003", "238.00"]]
        waiting = tx.status == "review"
        decision = s.scalar(select(DecisionRow).where(DecisionRow.subject_id == unknown))
        assert decision is not None and decision.facts["match"]["kind"] == "none"
    if waiting:  # the policy in force leaves IBAN + amount to a person
        assert payments.confirm_suggestion(runtime, by_amount, "anna@firma.de", TODAY) == "matched"
    assert allocations(runtime, by_amount)[0][:3] == ("RE-2026-00003", D("238.00"), "payment")


def test_one_index_per_run_updated_as_it_books(runtime: Runtime,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seed(runtime)
    calls: list[int] = []
    original = payment_index.open_items

    def counted(session: Session) -> list[OpenItem]:
        calls.append(1)
        return original(session)

    monkeypatch.setattr(payment_index, "open_items", counted)
    first = credit(runtime, "100.00", "RE-2026-00003 Teil 1")
    second = credit(runtime, "138.00", "RE-2026-00003 Rest")
    third = credit(runtime, "50.00", "RE-2026-00003 nochmal")  # nothing left open on it
    payments.match_new(runtime, TODAY)
    assert calls == [1]
    assert [a[1] for a in allocations(runtime, first) + allocations(runtime, second)] == [
        D("100.00"), D("138.00")]
    assert allocations(runtime, third) == [] and status(runtime, BankTransaction, third) == "review"


def test_an_overpayment_leaves_the_rest_as_credit(runtime: Runtime) -> None:
    seed(runtime)
    tx = credit(runtime, "105.00", "RE-2026-00004 inkl. Gebuehr", iban=IBAN_2,
                name="Weber Logistik GmbH")
    payments.match_new(runtime, TODAY)
    with runtime.db.unit_of_work() as s:
        row = s.get(BankTransaction, tx)
        assert row is not None
        assert row.suggestions[0]["unapplied"] == "5.00"
        if row.status != "review":  # booked under a policy that books overpayments
            assert row.status == "partially_matched"
            entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "customer.credit"))
            assert entry is not None and entry.details["amount"] == "5.00"


def test_an_advice_is_applied_as_advised_and_unmatch_reopens_it(runtime: Runtime) -> None:
    ids = seed(runtime)
    with runtime.db.unit_of_work() as s:
        advice = RemittanceAdvice(customer_id=1, payer_name="Hoffmann Bau AG",
                                  reference="ZA-2026-778", total=D("813.00"))
        s.add(advice)
        s.flush()
        s.add(RemittanceAdviceLine(advice_id=advice.id, invoice_number="RE-2026-00002",
                                   amount=D("580.00"), deduction=D("15.00")))
        s.add(RemittanceAdviceLine(advice_id=advice.id, invoice_number="RE-2026-00003",
                                   amount=D("233.00"), deduction=D("5.00")))
        advice_id = advice.id
    tx = credit(runtime, "813.00", "Zahlungsavis ZA-2026-778")
    payments.match_new(runtime, TODAY)
    assert allocations(runtime, tx) == [
        ("RE-2026-00002", D("580.00"), "payment", "auto"),
        ("RE-2026-00003", D("233.00"), "payment", "auto"),
        ("RE-2026-00002", D("15.00"), "deduction", "auto"),
        ("RE-2026-00003", D("5.00"), "deduction", "auto")]
    assert status(runtime, RemittanceAdvice, advice_id) == "applied"
    assert status(runtime, Invoice, ids["RE-2026-00002"]) == "paid"
    assert payments.unmatch(runtime, tx, "anna@firma.de", "Avis gehört zu K-2") == "review"
    assert allocations(runtime, tx) == [] and len(allocations(runtime, tx, active=False)) == 4
    assert status(runtime, RemittanceAdvice, advice_id) == "open"
    assert status(runtime, Invoice, ids["RE-2026-00002"]) == "open"
    with runtime.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "transaction.unmatched"))
        assert entry is not None and entry.actor == "anna@firma.de"
        assert entry.details["reason"] == "Avis gehört zu K-2"


def test_automation_never_undoes_a_person(runtime: Runtime) -> None:
    seed(runtime)
    unmatched = credit(runtime, "1190.00", "RE-2026-00001")
    by_hand = credit(runtime, "999.00", "?")
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, unmatched) == "matched"
    assert status(runtime, BankTransaction, by_hand) == "review"
    payments.unmatch(runtime, unmatched, "anna@firma.de", "falscher Kunde")
    with runtime.db.unit_of_work() as s:  # a person books by hand
        s.add(Allocation(invoice_id=1, transaction_id=by_hand, amount=D("999.00"),
                         kind="payment", created_by="bernd@firma.de"))
    with pytest.raises(PermissionError):
        payments.unmatch(runtime, by_hand, "system:matching", "rematch")
    with runtime.db.unit_of_work() as s:  # even back to "new", a person's call stands
        for tx_id in (unmatched, by_hand):
            row = s.get(BankTransaction, tx_id)
            assert row is not None
            row.status = "new"
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 2, "retried": 0}
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 0, "retried": 0}
    assert allocations(runtime, unmatched) == []
    assert allocations(runtime, by_hand) == [("RE-2026-00001", D("999.00"), "payment",
                                              "bernd@firma.de")]


def test_a_suggestion_out_of_date_is_refused(runtime: Runtime) -> None:
    seed(runtime)
    doubtful = credit(runtime, "238.00", "RE-2026-00002")  # names RE-2, pays RE-3's amount
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, doubtful) == "review"
    with runtime.db.unit_of_work() as s:
        row = s.get(BankTransaction, doubtful)
        assert row is not None
        assert [x["invoices"] for x in row.suggestions] == [[["RE-2026-00003", "238.00"]],
                                                            [["RE-2026-00002", "238.00"]]]
    other = credit(runtime, "238.00", "RE-2026-00003")
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, other) == "matched"
    with pytest.raises(ValueError, match="no longer open"):
        payments.confirm_suggestion(runtime, doubtful, "anna@firma.de", TODAY)
    assert status(runtime, BankTransaction, doubtful) == "review"
    assert payments.confirm_suggestion(runtime, doubtful, "anna@firma.de", TODAY, choice=1) \
        == "matched"
    assert allocations(runtime, doubtful) == [("RE-2026-00002", D("238.00"), "payment",
                                               "anna@firma.de")]


def _statement_files() -> dict[str, tuple[bytes, bytes, str]]:
    """Per format: a good file, the same with one entry malformed, and where the error is."""
    from lxml import etree

    from tests.test_camt import NS, _round_trip_statement, _write
    from tests.test_mt940 import GERMAN
    from tests.test_statement_csv import ENTRIES, _german_csv

    camt = _write(_round_trip_statement())
    root = etree.fromstring(camt)
    root.findall("c:BkToCstmrStmt/c:Stmt/c:Ntry", NS)[2].find("c:Amt", NS).text = "12,5"
    csv_data = _german_csv(ENTRIES)
    return {
        "camt": (camt, etree.tostring(root), "Stmt[1]/Ntry[3]/Amt: missing or invalid amount"),
        "mt940": (GERMAN, GERMAN.replace(b":61:200103C75,50", b":61:200103C75.50"),
                  "bank.mt940:22: :61: cannot be read"),
        "csv": (csv_data, csv_data.replace(b'"-12345,67"', b'"-12.345,6,7"'),
                "bank.csv:3:9: Betrag: not an amount"),
    }


@pytest.mark.parametrize("kind", ["camt", "mt940", "csv"])
def test_a_malformed_statement_books_nothing(runtime: Runtime, kind: str) -> None:
    from engine.services import intake

    good, bad, where = _statement_files()[kind]
    name = {"camt": "bank.xml", "mt940": "bank.mt940", "csv": "bank.csv"}[kind]
    refused = intake.receive(runtime, bad, name, "upload").document_id
    assert intake.process(runtime, refused, TODAY) == "failed"  # with the reason, original kept
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, refused)
        assert doc is not None and "nothing of this statement file was booked" in doc.reason
        assert where in doc.reason
        assert s.scalar(select(func.count()).select_from(BankTransaction)) == 0
        assert s.scalar(select(func.count()).select_from(BankStatement)) == 0
    accepted = intake.receive(runtime, good, name, "upload").document_id
    assert intake.process(runtime, accepted, TODAY) == "recorded"
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(BankTransaction)) >= 3
