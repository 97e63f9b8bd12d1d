"""Transactions waiting in review are tried again on each matching run, against the open
items of now: a payment that came before its invoice is booked once the invoice exists;
one a person has touched is never tried again; one that still fits nothing only gets fresh
suggestions (no new decision each run). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from engine.core.checks import rf_reference
from engine.runtime import Runtime
from engine.services import payments
from engine.store.models import AuditEntry, BankTransaction, DecisionRow, Invoice
from tests.test_payments_service import TODAY, allocations, credit, seed, status


def issue(rt: Runtime, number: str, customer: int, gross: str) -> int:
    with rt.db.unit_of_work() as s:
        invoice = Invoice(number=number, customer_id=customer, issue_date=TODAY,
                          delivery_date=TODAY, due_date=date(2026, 10, 15),
                          payment_reference=rf_reference(number), net_amount=D(gross),
                          tax_amount=D("0"), gross_amount=D(gross))
        s.add(invoice)
        s.flush()
        return invoice.id


def decisions(rt: Runtime, tx: int) -> int:
    with rt.db.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(DecisionRow).where(
            DecisionRow.subject_type == "transaction", DecisionRow.subject_id == tx)) or 0)


def test_a_payment_before_its_invoice_is_booked_once_the_invoice_exists(
        runtime: Runtime) -> None:
    seed(runtime)
    early = credit(runtime, "450.00", "Vorkasse Rechnung RE-2026-00005")
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 1, "retried": 0}
    assert status(runtime, BankTransaction, early) == "review" and decisions(runtime, early) == 1
    # nothing new: tried again, still waiting, no new decision
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 0, "retried": 1}
    assert decisions(runtime, early) == 1
    invoice = issue(runtime, "RE-2026-00005", 1, "450.00")
    assert payments.match_new(runtime, TODAY) == {"matched": 1, "review": 0, "retried": 1}
    assert status(runtime, BankTransaction, early) == "matched"
    assert allocations(runtime, early) == [("RE-2026-00005", D("450.00"), "payment", "auto")]
    assert status(runtime, Invoice, invoice) == "paid" and decisions(runtime, early) == 2
    with runtime.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "transaction.matched",
                                                  AuditEntry.object_id == early))
        assert entry is not None and entry.details["retried"] is True
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 0, "retried": 0}


def test_suggestions_of_a_waiting_payment_follow_the_open_items(runtime: Runtime) -> None:
    seed(runtime)
    waiting = credit(runtime, "321.00", "Zahlung", iban="DE00UNKNOWN", name="Niemand")
    payments.match_new(runtime, TODAY)
    with runtime.db.unit_of_work() as s:
        assert s.get(BankTransaction, waiting).suggestions == []  # type: ignore[union-attr]
    issue(runtime, "RE-2026-00006", 2, "321.00")  # the only item of that amount
    payments.match_new(runtime, TODAY)
    with runtime.db.unit_of_work() as s:
        row = s.get(BankTransaction, waiting)
        assert row is not None and row.status == "review"  # the amount alone books nothing
        assert [x["invoices"] for x in row.suggestions] == [[["RE-2026-00006", "321.00"]]]


def test_a_payment_a_person_touched_is_not_tried_again(runtime: Runtime) -> None:
    seed(runtime)
    booked = credit(runtime, "238.00", "RE-2026-00003")
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, booked) == "matched"
    payments.unmatch(runtime, booked, "anna@firma.de", "gehört zu einer anderen Rechnung")
    assert status(runtime, BankTransaction, booked) == "review"
    assert payments.match_new(runtime, TODAY) == {"matched": 0, "review": 0, "retried": 0}
    assert allocations(runtime, booked) == [] and status(runtime, BankTransaction, booked) == "review"
