"""Customer credit: what a customer paid beyond its open items, kept until it is used.

Matching writes a `customer_credits` row when it books an overpayment (engine.services.
payments.apply): the customer, the bank transaction it came from, the amount and what
remains of it. Here a credit is listed per customer, applied to an open invoice of the
same customer and currency (by a person, or by a policy job acting as ``system:<name>``),
or marked refunded when the money went back. Each step is audited. Nothing here undoes
an application: only unmatching the source transaction (a person's act, engine.services.
payments.unmatch) voids a credit with what was booked from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime
from engine.services.ledger import allocated, charges_open, settle_if_paid
from engine.services.payments import allocate_payment
from engine.services.records import audit
from engine.store.models import CustomerCredit, Invoice

ZERO = Decimal("0.00")
STATES = ("open", "used", "refunded", "void")


@dataclass(frozen=True)
class Credit:
    """A customer credit as the back office and the API show it."""

    credit_id: int
    customer_id: int
    transaction_id: int | None
    currency: str
    amount: Decimal
    remaining: Decimal
    status: str
    created_at: datetime
    created_by: str


def _record(row: CustomerCredit) -> Credit:
    return Credit(row.id, row.customer_id, row.transaction_id, row.currency, row.amount,
                  row.remaining, row.status, row.created_at, row.created_by)


def credits_of(rt: Runtime, customer_id: int, *, open_only: bool = False) -> list[Credit]:
    """A customer's credits, oldest first (only those with something left: `open_only`)."""
    with rt.db.unit_of_work() as session:
        query = select(CustomerCredit).where(CustomerCredit.customer_id == customer_id)
        if open_only:
            query = query.where(CustomerCredit.status == "open")
        return [_record(r) for r in session.scalars(query.order_by(CustomerCredit.id))]


def apply_credit(rt: Runtime, credit_id: int, invoice_id: int, actor: str, today: date,
                 amount: Decimal | None = None) -> Credit:
    """Use (part of) a credit for an open invoice of the same customer and currency: the
    whole remaining credit or what the invoice still asks, whichever is less, unless an
    `amount` is given. Refused with a message when the credit or the invoice does not fit."""
    with rt.db.unit_of_work() as session:
        credit = session.get(CustomerCredit, credit_id, with_for_update=True)
        invoice = session.get(Invoice, invoice_id)
        if credit is None:
            raise ValueError(f"no customer credit {credit_id}")
        if invoice is None:
            raise ValueError(f"no invoice {invoice_id}")
        if credit.status != "open" or credit.remaining <= 0:
            raise ValueError(f"credit {credit_id} is {credit.status}; nothing left to apply")
        if invoice.customer_id != credit.customer_id:
            raise ValueError(f"credit {credit_id} belongs to customer {credit.customer_id}, "
                             f"invoice {invoice.number} to customer {invoice.customer_id}")
        if invoice.currency != credit.currency:
            raise ValueError(f"credit {credit_id} is in {credit.currency}, invoice "
                             f"{invoice.number} in {invoice.currency}")
        open_amount = _open(session, invoice)
        if open_amount <= 0:
            raise ValueError(f"invoice {invoice.number} is not open")
        use = min(credit.remaining, open_amount) if amount is None else amount
        if use <= 0 or use > credit.remaining or use > open_amount:
            raise ValueError(f"{use} cannot be applied: credit {credit_id} has "
                             f"{credit.remaining} left, invoice {invoice.number} asks "
                             f"{open_amount}")
        allocate_payment(session, invoice.id, use, actor, credit_id=credit.id)
        credit.remaining -= use
        if credit.remaining <= 0:
            credit.status = "used"
        session.flush()
        settle_if_paid(session, [invoice.id])
        audit(session, actor, "credit.applied", "customer_credit", credit.id,
              invoice=invoice.number, amount=use, remaining=credit.remaining, on=today)
        return _record(credit)


def refund_credit(rt: Runtime, credit_id: int, actor: str, reason: str) -> Credit:
    """The remaining credit was paid back to the customer: nothing of it is left to apply."""
    with rt.db.unit_of_work() as session:
        credit = session.get(CustomerCredit, credit_id, with_for_update=True)
        if credit is None:
            raise ValueError(f"no customer credit {credit_id}")
        if credit.status != "open":
            raise ValueError(f"credit {credit_id} is {credit.status}; nothing left to refund")
        refunded, credit.remaining, credit.status = credit.remaining, ZERO, "refunded"
        session.flush()
        audit(session, actor, "credit.refunded", "customer_credit", credit.id,
              amount=refunded, reason=reason)
        return _record(credit)


def _open(session: Session, invoice: Invoice) -> Decimal:
    """What the invoice's claim still asks: its principal (gross less the active
    allocations on it) and the dunning charges still owed on it."""
    principal = invoice.gross_amount - allocated(session, [invoice.id]).get(invoice.id, ZERO)
    return principal + max(charges_open(session, [invoice.id]).get(invoice.id, ZERO), ZERO)
