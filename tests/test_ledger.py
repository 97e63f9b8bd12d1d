"""The ledger on both databases: payments settle a claim's costs, then its interest, then
its principal (§ 367 BGB); the invoice is paid when its principal is; charges still owed
stay open items; unmatching restores everything; charges never change.

The claim of every test: invoice 1,000.00 due Monday 2026-03-02 (default from 03-03), a
level-2 letter on 2026-04-15 claims a fee of 5.00, the flat fee of 40.00 (§ 288 (5)) and
interest 03.03.–15.04. = 29 + 15 = 44 days at base rate 1.27 % + 9 = 10.27 %:
1000.00 × 10.27 × 44 / 36500 = 12.3803 → 12.38. The claim: 1000.00 + 45.00 + 12.38 =
1057.38."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from engine.core.checks import rf_reference
from engine.core.interest import interest
from engine.runtime import Runtime
from engine.services import charges, payments
from engine.services.ledger import book_payment, open_items, open_parts, settle_if_paid
from engine.services.records import next_number
from engine.store.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Charge,
    CreditNote,
    Customer,
    Invoice,
)

DUE = date(2026, 3, 2)
LETTER = date(2026, 4, 15)
CLERK = "clerk@example.com"


def seed(rt: Runtime) -> int:
    """The customer, the invoice and the letter's three charges; the invoice's id."""
    with rt.db.unit_of_work() as s:
        customer = Customer(number="K-1", name="Kunde GmbH", email="k@example.com")
        s.add(customer)
        s.flush()
        invoice = Invoice(number="RE-2026-00001", customer_id=customer.id,
                          issue_date=date(2026, 2, 16), delivery_date=date(2026, 2, 16),
                          due_date=DUE, payment_reference=rf_reference("RE-2026-00001"),
                          net_amount=D("840.34"), tax_amount=D("159.66"),
                          gross_amount=D("1000.00"))
        s.add(invoice)
        s.flush()
        for kind, amount in (("fee", D("5.00")), ("flat_fee", D("40.00")),
                             ("interest", D("12.38"))):
            extra = {} if kind != "interest" else {
                "interest_rate": D("10.27"), "interest_from": date(2026, 3, 3),
                "interest_to": LETTER}
            s.add(Charge(number=next_number(s, "NF", 2026), key=f"{kind}:{invoice.id}",
                         customer_id=customer.id, invoice_id=invoice.id, kind=kind,
                         amount=amount, charge_date=LETTER, created_by="system:dunning",
                         **extra))
        return invoice.id


def pay(rt: Runtime, invoice_id: int, amount: str, day: date, n: int = 1) -> int:
    """A bank transaction booked on `day`, applied to the claim; the transaction's id."""
    with rt.db.unit_of_work() as s:
        statement = BankStatement(account="DE89370400440532013000", statement_id=f"S-{n}",
                                  currency="EUR")
        s.add(statement)
        s.flush()
        tx = BankTransaction(statement_id=statement.id, dedupe_key=f"tx-{n}", booking_date=day,
                             amount=D(amount), currency="EUR", status="matched")
        s.add(tx)
        s.flush()
        book_payment(s, invoice_id=invoice_id, amount=D(amount), transaction_id=tx.id,
                     kind="payment", created_by=CLERK, decision_id=None)
        settle_if_paid(s, [invoice_id])
        return tx.id


def state(rt: Runtime, invoice_id: int) -> tuple[str, D, D]:
    """(status, principal open, charges open) as the ledger sees the claim."""
    with rt.db.unit_of_work() as s:
        invoice = s.get(Invoice, invoice_id)
        assert invoice is not None
        items = {i.invoice_id: i for i in open_items(s)}
        item = items.get(invoice_id)
        return (invoice.status, item.open_amount if item else D("0.00"),
                item.charges_open if item else D("0.00"))


def test_the_interest_of_the_worked_example() -> None:
    result = interest([(DUE, D("1000.00"))], date(2026, 3, 3), LETTER, True)
    assert result.total == D("12.38") and result.periods[0].days == 44


def test_a_part_payment_settles_costs_then_interest_then_principal(runtime: Runtime) -> None:
    inv = seed(runtime)
    assert state(runtime, inv) == ("open", D("1000.00"), D("57.38"))
    pay(runtime, inv, "100.00", date(2026, 4, 20))
    # 100.00 → fee 5.00, flat fee 40.00 (costs 45.00), interest 12.38, principal 42.62
    with runtime.db.unit_of_work() as s:
        rows = s.execute(select(Charge.kind, Allocation.amount)
                         .outerjoin(Charge, Charge.id == Allocation.charge_id)
                         .order_by(Allocation.id)).all()
        assert [(k, a) for k, a in rows] == [("fee", D("5.00")), ("flat_fee", D("40.00")),
                                              ("interest", D("12.38")), (None, D("42.62"))]
        assert all(a.invoice_id == inv for a in s.scalars(select(Allocation)))
    # principal 1000.00 − 42.62 = 957.38; no charge left
    assert state(runtime, inv) == ("open", D("957.38"), D("0.00"))


def test_a_small_payment_stays_in_the_costs(runtime: Runtime) -> None:
    inv = seed(runtime)
    pay(runtime, inv, "30.00", date(2026, 4, 20))
    # 30.00 → fee 5.00, flat fee 25.00 (15.00 left); interest 12.38 and principal untouched
    assert state(runtime, inv) == ("open", D("1000.00"), D("27.38"))
    with runtime.db.unit_of_work() as s:
        owed = [(p.kind, p.owed) for p in open_parts(s, inv)]
    assert owed == [("costs", D("15.00")), ("interest", D("12.38")),
                    ("principal", D("1000.00"))]


def test_paying_the_invoice_amount_leaves_principal_open(runtime: Runtime) -> None:
    inv = seed(runtime)
    pay(runtime, inv, "1000.00", date(2026, 4, 20))
    # § 367: 57.38 to the charges, 942.62 to the principal → 57.38 principal still open
    assert state(runtime, inv) == ("open", D("57.38"), D("0.00"))


def test_the_exact_claim_total_settles_everything_and_unmatch_restores(
        runtime: Runtime) -> None:
    inv = seed(runtime)
    tx = pay(runtime, inv, "1057.38", date(2026, 4, 20))
    assert state(runtime, inv) == ("paid", D("0.00"), D("0.00"))
    with runtime.db.unit_of_work() as s:
        assert open_items(s) == []
        assert sum(s.scalars(select(Allocation.amount))) == D("1057.38")
    assert payments.unmatch(runtime, tx, CLERK, "wrong customer") == "review"
    assert state(runtime, inv) == ("open", D("1000.00"), D("57.38"))
    with runtime.db.unit_of_work() as s:
        parts = [(p.kind, p.owed) for p in open_parts(s, inv)]
    assert parts == [("costs", D("5.00")), ("costs", D("40.00")), ("interest", D("12.38")),
                     ("principal", D("1000.00"))]


def test_an_overpayment_is_a_credit_on_the_principal(runtime: Runtime) -> None:
    inv = seed(runtime)
    pay(runtime, inv, "1100.00", date(2026, 4, 20))
    # 1100.00 − 1057.38 = 42.62 beyond the claim: principal −42.62, nothing open, paid
    assert state(runtime, inv) == ("paid", D("0.00"), D("0.00"))
    with runtime.db.unit_of_work() as s:
        principal = [p.owed for p in open_parts(s, inv) if p.key is None]
        assert principal == [D("0.00")]
        assert s.scalar(select(Allocation.amount).where(Allocation.charge_id.is_(None))) \
            == D("1042.62")


def test_charges_keep_a_paid_invoice_among_the_open_items(runtime: Runtime) -> None:
    inv = seed(runtime)
    with runtime.db.unit_of_work() as s:  # a credit note for the whole principal
        note = CreditNote(number="GS-2026-00001", invoice_id=inv, customer_id=1,
                          issue_date=date(2026, 4, 16), reason="goods returned",
                          gross_amount=D("1000.00"))
        s.add(note)
        s.flush()
        s.add(Allocation(invoice_id=inv, credit_note_id=note.id, amount=D("1000.00"),
                         kind="credit_note", created_by=CLERK))
        s.flush()
        settle_if_paid(s, [inv])
    # the principal is gone, so the invoice is paid; the claim's 57.38 are still owed
    assert state(runtime, inv) == ("paid", D("0.00"), D("57.38"))
    pay(runtime, inv, "57.38", date(2026, 4, 20))
    assert state(runtime, inv) == ("paid", D("0.00"), D("0.00"))
    with runtime.db.unit_of_work() as s:
        assert open_items(s) == []


def test_a_charge_is_corrected_by_a_cancelling_entry_only(runtime: Runtime) -> None:
    inv = seed(runtime)
    pay(runtime, inv, "20.00", date(2026, 4, 20))  # fee 5.00, 15.00 of the flat fee
    with runtime.db.unit_of_work() as s:
        flat = s.scalar(select(Charge.id).where(Charge.kind == "flat_fee"))
        assert flat is not None
        row = charges.cancel(s, flat, series="NF", actor=CLERK, reason="goodwill",
                             today=date(2026, 4, 21))
        # what was still open of the flat fee: 40.00 − 15.00 = 25.00
        assert (row.number, row.amount, row.cancels_id) == ("NF-2026-00004", D("-25.00"), flat)
    assert state(runtime, inv) == ("open", D("1000.00"), D("12.38"))
    with runtime.db.unit_of_work() as s, pytest.raises(ValueError, match="nothing to cancel"):
        charges.cancel(s, flat, series="NF", actor=CLERK, reason="again",
                       today=date(2026, 4, 21))
    for sql in ("UPDATE charges SET amount = 0", "DELETE FROM charges"):
        with pytest.raises((IntegrityError, DBAPIError), match="never changes"), \
                runtime.db.engine.begin() as conn:
            conn.execute(text(sql))
    assert state(runtime, inv) == ("open", D("1000.00"), D("12.38"))


def test_a_charge_is_claimed_once(runtime: Runtime) -> None:
    inv = seed(runtime)
    with pytest.raises(IntegrityError), runtime.db.unit_of_work() as s:
        s.add(Charge(number="NF-2026-00009", key=f"flat_fee:{inv}", customer_id=1,
                     invoice_id=inv, kind="flat_fee", amount=D("40.00"),
                     charge_date=LETTER, created_by="system:dunning"))
    assert state(runtime, inv) == ("open", D("1000.00"), D("57.38"))


def test_the_matcher_books_the_claim_total_by_section_367(runtime: Runtime) -> None:
    """Through the real matching run: a credit naming the RF reference and paying the
    invoice plus its charges settles the charges first and the invoice in full."""
    inv = seed(runtime)
    with runtime.db.unit_of_work() as s:
        statement = BankStatement(account="DE89370400440532013000", statement_id="S-9",
                                  currency="EUR")
        s.add(statement)
        s.flush()
        s.add(BankTransaction(statement_id=statement.id, dedupe_key="tx-claim",
                              booking_date=date(2026, 4, 20), amount=D("1057.38"),
                              currency="EUR", counterparty_name="Kunde GmbH",
                              remittance_info=rf_reference("RE-2026-00001")))
    payments.match_new(runtime, date(2026, 4, 21))
    assert state(runtime, inv) == ("paid", D("0.00"), D("0.00"))
    with runtime.db.unit_of_work() as s:
        rows = s.execute(select(Charge.kind, Allocation.amount)
                         .outerjoin(Charge, Charge.id == Allocation.charge_id)
                         .where(Allocation.active.is_(True)).order_by(Allocation.id)).all()
    assert [(k, a) for k, a in rows] == [("fee", D("5.00")), ("flat_fee", D("40.00")),
                                          ("interest", D("12.38")), (None, D("1000.00"))]


def test_open_principal_per_customer_is_summed_in_the_database(runtime: Runtime) -> None:
    inv = seed(runtime)
    pay(runtime, inv, "100.00", date(2026, 4, 20))  # 57.38 to the charges, 42.62 principal
    from engine.services.ledger import open_by_customer

    with runtime.db.unit_of_work() as s:
        customer = s.scalar(select(Customer.id))
        assert customer is not None
        by_items = sum(i.open_amount for i in open_items(s, customer))
        assert open_by_customer(s, [customer, customer + 1]) == {customer: D("957.38")}
        assert by_items == D("957.38")
