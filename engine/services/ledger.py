"""Open amounts: invoice gross minus the active allocations (payments, deductions, credit
notes). Derived on demand, never stored twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.records import OpenItem
from engine.store.models import Allocation, Customer, Invoice

ZERO = Decimal("0.00")


def allocated(session: Session, invoice_ids: list[int] | None = None) -> dict[int, Decimal]:
    query = (select(Allocation.invoice_id, func.sum(Allocation.amount))
             .where(Allocation.active.is_(True)).group_by(Allocation.invoice_id))
    if invoice_ids is not None:
        query = query.where(Allocation.invoice_id.in_(invoice_ids))
    return {inv: Decimal(total) for inv, total in session.execute(query)}


def open_items(session: Session, customer_id: int | None = None) -> list[OpenItem]:
    """Invoices with something left to pay, oldest due first: one query, set-based."""
    paid = (select(Allocation.invoice_id, func.sum(Allocation.amount).label("paid"))
            .where(Allocation.active.is_(True)).group_by(Allocation.invoice_id).subquery())
    rest = Invoice.gross_amount - func.coalesce(paid.c.paid, 0)
    query = (select(Invoice.id, Invoice.number, Invoice.customer_id, Customer.name,
                    Customer.iban, Invoice.payment_reference, Invoice.gross_amount, rest,
                    Invoice.issue_date, Invoice.due_date, Invoice.currency)
             .join(Customer, Customer.id == Invoice.customer_id)
             .outerjoin(paid, paid.c.invoice_id == Invoice.id)
             .where(Invoice.status == "open", rest > 0)
             .order_by(Invoice.due_date, Invoice.id))
    if customer_id is not None:
        query = query.where(Invoice.customer_id == customer_id)
    return [OpenItem(invoice_id=row[0], number=row[1], customer_id=row[2], customer_name=row[3],
                     customer_iban=row[4], reference=row[5], gross_amount=row[6],
                     open_amount=Decimal(row[7]).quantize(ZERO), issue_date=row[8],
                     due_date=row[9], currency=row[10])
            for row in session.execute(query)]


def customer_exposure(session: Session, customer_id: int, today: date) -> tuple[Decimal, Decimal]:
    """(open, overdue) gross amounts of one customer."""
    items = open_items(session, customer_id)
    open_total = sum((i.open_amount for i in items), ZERO)
    overdue = sum((i.open_amount for i in items if i.due_date < today), ZERO)
    return open_total, overdue


def settle_if_paid(session: Session, invoice_ids: list[int]) -> None:
    """Mark invoices paid when nothing is left open (the status is a cached fact)."""
    paid = allocated(session, invoice_ids)
    for inv in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids))):
        inv.status = "paid" if inv.gross_amount - paid.get(inv.id, ZERO) <= ZERO else "open"
