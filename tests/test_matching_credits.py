"""An overpayment is kept as customer credit in a table of its own, listed per customer,
applied to an open invoice of the same customer (by a person or a policy job, audited),
refunded, and voided only with its source payment by a person. On SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from engine.runtime import Runtime
from engine.services import credits, payments
from engine.store.models import Allocation, AuditEntry, BankTransaction, Invoice
from tests.test_matching_retry import issue
from tests.test_payments_service import IBAN_2, TODAY, allocations, credit, seed, status


def overpay(rt: Runtime) -> int:
    """Weber pays 105.00 for RE-2026-00004 (100.00): 5.00 are its credit."""
    tx = credit(rt, "105.00", "RE-2026-00004 inkl. Gebuehr", iban=IBAN_2,
                name="Weber Logistik GmbH")
    payments.match_new(rt, TODAY)
    if status(rt, BankTransaction, tx) == "review":  # a policy that asks a person
        payments.confirm_suggestion(rt, tx, "anna@firma.de", TODAY)
    assert status(rt, BankTransaction, tx) == "partially_matched"
    return tx


def credit_lines(rt: Runtime, credit_id: int) -> list[tuple[str, D, str, bool]]:
    with rt.db.unit_of_work() as s:
        return [(s.get(Invoice, a.invoice_id).number, a.amount, a.created_by,  # type: ignore[union-attr]
                 a.active) for a in s.scalars(select(Allocation).where(
                     Allocation.credit_id == credit_id).order_by(Allocation.id))]


def test_an_overpayment_becomes_a_credit_of_the_customer(runtime: Runtime) -> None:
    seed(runtime)
    tx = overpay(runtime)
    (kept,) = credits.credits_of(runtime, 2)
    assert (kept.transaction_id, kept.currency, kept.amount, kept.remaining, kept.status) == (
        tx, "EUR", D("5.00"), D("5.00"), "open")
    assert credits.credits_of(runtime, 1) == []
    assert allocations(runtime, tx)[0][:3] == ("RE-2026-00004", D("100.00"), "payment")


def test_a_credit_is_applied_to_open_invoices_of_its_customer(runtime: Runtime) -> None:
    ids = seed(runtime)
    overpay(runtime)
    (kept,) = credits.credits_of(runtime, 2)
    small = issue(runtime, "RE-2026-00007", 2, "3.00")
    large = issue(runtime, "RE-2026-00008", 2, "10.00")
    with pytest.raises(ValueError, match="belongs to customer 2"):
        credits.apply_credit(runtime, kept.credit_id, ids["RE-2026-00002"], "anna@firma.de",
                             TODAY)
    with pytest.raises(ValueError, match="cannot be applied"):
        credits.apply_credit(runtime, kept.credit_id, large, "anna@firma.de", TODAY, D("6.00"))
    after = credits.apply_credit(runtime, kept.credit_id, small, "anna@firma.de", TODAY)
    assert (after.remaining, after.status) == (D("2.00"), "open")
    assert status(runtime, Invoice, small) == "paid"
    by_policy = credits.apply_credit(runtime, kept.credit_id, large, "system:credits", TODAY)
    assert (by_policy.remaining, by_policy.status) == (D("0.00"), "used")
    assert status(runtime, Invoice, large) == "open"  # 8.00 still open
    assert credit_lines(runtime, kept.credit_id) == [
        ("RE-2026-00007", D("3.00"), "anna@firma.de", True),
        ("RE-2026-00008", D("2.00"), "system:credits", True)]
    assert credits.credits_of(runtime, 2, open_only=True) == []
    with pytest.raises(ValueError, match="is used"):
        credits.apply_credit(runtime, kept.credit_id, large, "anna@firma.de", TODAY)
    with runtime.db.unit_of_work() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "credit.applied")
                                 .order_by(AuditEntry.id)))
        assert [(e.actor, e.details["invoice"], e.details["amount"]) for e in entries] == [
            ("anna@firma.de", "RE-2026-00007", "3.00"), ("system:credits", "RE-2026-00008", "2.00")]


def test_unmatching_the_payment_voids_its_credit_only_by_a_person(runtime: Runtime) -> None:
    seed(runtime)
    tx = overpay(runtime)
    (kept,) = credits.credits_of(runtime, 2)
    small = issue(runtime, "RE-2026-00007", 2, "3.00")
    credits.apply_credit(runtime, kept.credit_id, small, "anna@firma.de", TODAY)
    with pytest.raises(PermissionError):  # a person used the credit: automation keeps it
        payments.unmatch(runtime, tx, "system:matching", "rematch")
    assert credit_lines(runtime, kept.credit_id)[0][3] is True
    payments.unmatch(runtime, tx, "bernd@firma.de", "Zahlung gehört zu einem anderen Kunden")
    (void,) = credits.credits_of(runtime, 2)
    assert (void.status, void.remaining) == ("void", D("0.00"))
    assert credit_lines(runtime, kept.credit_id) == [
        ("RE-2026-00007", D("3.00"), "anna@firma.de", False)]
    assert status(runtime, Invoice, small) == "open"


def test_a_refunded_credit_is_used_up(runtime: Runtime) -> None:
    seed(runtime)
    tx = overpay(runtime)
    (kept,) = credits.credits_of(runtime, 2)
    refunded = credits.refund_credit(runtime, kept.credit_id, "anna@firma.de", "zurück überwiesen")
    assert (refunded.status, refunded.remaining) == ("refunded", D("0.00"))
    with pytest.raises(ValueError, match="is refunded"):
        credits.refund_credit(runtime, kept.credit_id, "anna@firma.de", "noch einmal")
    with pytest.raises(ValueError, match="was refunded"):
        payments.unmatch(runtime, tx, "anna@firma.de", "zu spät")
    with runtime.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "credit.refunded"))
        assert entry is not None and entry.details["amount"] == "5.00"
