"""Open amounts: invoice gross minus the active allocations (payments, deductions, credit
notes), and the dunning charges of each claim minus what settled them. Derived on demand,
never stored twice.

A claim is one invoice with its charges (engine.store.models.Charge: fees, the § 288 (5)
flat fee, default interest). An allocation with `charge_id` settles that charge; one
without settles the principal. So:

- principal open = gross − active allocations without charge_id (`allocated`);
- a charge's open amount = its amount (and its cancelling entries) − its active
  allocations; `charges_open` sums them per invoice;
- a payment on a claim is split by `book_payment` in the order of § 367 (1) BGB: costs,
  then interest, then principal (engine.core.settlement.split_payment, pure);
- the invoice is paid when its principal is; charges still open keep the claim among the
  customer's open items (with open_amount 0.00) until they are settled too;
- unmatching deactivates allocations: every figure here follows by itself.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Subquery, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.core.records import OpenItem
from engine.core.settlement import OpenPart, split_payment
from engine.store.models import Allocation, Charge, Customer, Invoice

ZERO = Decimal("0.00")
COSTS = ("fee", "flat_fee")  # § 367: costs; "interest" is interest


def allocated(session: Session, invoice_ids: list[int] | None = None) -> dict[int, Decimal]:
    """What reduced each invoice's principal (active allocations without a charge)."""
    query = (select(Allocation.invoice_id, func.sum(Allocation.amount))
             .where(Allocation.active.is_(True), Allocation.charge_id.is_(None))
             .group_by(Allocation.invoice_id))
    if invoice_ids is not None:
        query = query.where(Allocation.invoice_id.in_(invoice_ids))
    return {inv: Decimal(total) for inv, total in session.execute(query)}


def charges_open(session: Session, invoice_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Per invoice, its charges (with their cancelling entries) minus what settled them;
    invoices without charges are left out."""
    charged = select(Charge.invoice_id, func.sum(Charge.amount)).group_by(Charge.invoice_id)
    settled = (select(Allocation.invoice_id, func.sum(Allocation.amount))
               .where(Allocation.active.is_(True), Allocation.charge_id.is_not(None))
               .group_by(Allocation.invoice_id))
    if invoice_ids is not None:
        charged = charged.where(Charge.invoice_id.in_(invoice_ids))
        settled = settled.where(Allocation.invoice_id.in_(invoice_ids))
    out = {inv: Decimal(total) for inv, total in session.execute(charged)}
    for inv, total in session.execute(settled):
        out[inv] = out.get(inv, ZERO) - Decimal(total)
    return out


def principal_paid() -> Subquery:
    """A subquery (invoice_id, paid): what reduced each invoice's principal, for set-based
    queries elsewhere (the dashboard); `allocated` is the same for given invoices."""
    return (select(Allocation.invoice_id, func.sum(Allocation.amount).label("paid"))
            .where(Allocation.active.is_(True), Allocation.charge_id.is_(None))
            .group_by(Allocation.invoice_id).subquery())


def _open_query(only: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    paid = principal_paid()
    charged = (select(Charge.invoice_id, func.sum(Charge.amount).label("charged"))
               .group_by(Charge.invoice_id).subquery())
    settled = (select(Allocation.invoice_id, func.sum(Allocation.amount).label("settled"))
               .where(Allocation.active.is_(True), Allocation.charge_id.is_not(None))
               .group_by(Allocation.invoice_id).subquery())
    rest = Invoice.gross_amount - func.coalesce(paid.c.paid, 0)
    extra = func.coalesce(charged.c.charged, 0) - func.coalesce(settled.c.settled, 0)
    return (select(Invoice.id, Invoice.number, Invoice.customer_id, Customer.name,
                   Customer.iban, Invoice.payment_reference, Invoice.gross_amount, rest,
                   Invoice.issue_date, Invoice.due_date, Invoice.currency, extra)
            .join(Customer, Customer.id == Invoice.customer_id)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id)
            .outerjoin(charged, charged.c.invoice_id == Invoice.id)
            .outerjoin(settled, settled.c.invoice_id == Invoice.id)
            .where(only, or_(rest > 0, extra > 0)))


def open_items(session: Session, customer_id: int | None = None) -> list[OpenItem]:
    """Claims with something left to pay (principal or charges), oldest due first.

    Set-based: one query for the open invoices, one for the paid ones whose charges are
    still owed (few), so the common case keeps using the status index."""
    found: list[list[Row[*tuple[Any, ...]]]] = []
    for only in (Invoice.status == "open",
                 and_(Invoice.status != "open", Invoice.id.in_(select(Charge.invoice_id)))):
        query = _open_query(only).order_by(Invoice.due_date, Invoice.id)
        if customer_id is not None:
            query = query.where(Invoice.customer_id == customer_id)
        found.append(list(session.execute(query)))
    rows, more = found
    if more:
        rows = sorted(rows + more, key=lambda row: (row[9], row[0]))
    return [OpenItem(invoice_id=row[0], number=row[1], customer_id=row[2], customer_name=row[3],
                     customer_iban=row[4], reference=row[5], gross_amount=row[6],
                     open_amount=_cents(row[7]), issue_date=row[8], due_date=row[9],
                     currency=row[10], charges_open=_cents(row[11]) if row[11] else ZERO)
            for row in rows]


def _cents(value: Any) -> Decimal:
    """A database sum as cents, never below zero (an overpaid part owes nothing)."""
    amount = Decimal(value)
    return amount.quantize(ZERO) if amount > 0 else ZERO


def open_by_customer(session: Session, customer_ids: list[int]) -> dict[int, Decimal]:
    """The open principal of each given customer, summed in the database (a list page
    shows it for a page of customers; loading their open items would not scale)."""
    paid = principal_paid()
    rest = Invoice.gross_amount - func.coalesce(paid.c.paid, 0)
    query = (select(Invoice.customer_id, func.sum(rest))
             .outerjoin(paid, paid.c.invoice_id == Invoice.id)
             .where(Invoice.status == "open", Invoice.customer_id.in_(customer_ids), rest > 0)
             .group_by(Invoice.customer_id))
    return {customer: _cents(total) for customer, total in session.execute(query)}


def customer_exposure(session: Session, customer_id: int, today: date) -> tuple[Decimal, Decimal]:
    """(open, overdue) principal of one customer."""
    items = open_items(session, customer_id)
    open_total = sum((i.open_amount for i in items), ZERO)
    overdue = sum((i.open_amount for i in items if i.due_date < today), ZERO)
    return open_total, overdue


def settle_if_paid(session: Session, invoice_ids: list[int]) -> None:
    """Mark invoices paid when their principal is (the status is a cached fact); charges
    still open do not keep an invoice open, they stay open items of their own."""
    paid = allocated(session, invoice_ids)
    for inv in session.scalars(select(Invoice).where(Invoice.id.in_(invoice_ids))):
        inv.status = "paid" if inv.gross_amount - paid.get(inv.id, ZERO) <= ZERO else "open"


def open_parts(session: Session, invoice_id: int) -> list[OpenPart]:
    """What one claim still owes, part by part: each charge (oldest first, with its
    cancelling entries) and the principal last."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise ValueError(f"no invoice with id {invoice_id}")
    charges = list(session.scalars(select(Charge).where(Charge.invoice_id == invoice_id)
                                   .order_by(Charge.charge_date, Charge.id)))
    owed = {c.id: c.amount for c in charges if c.cancels_id is None}
    for c in charges:
        if c.cancels_id is not None:
            owed[c.cancels_id] += c.amount
    for charge_id, amount in session.execute(
            select(Allocation.charge_id, func.sum(Allocation.amount))
            .where(Allocation.invoice_id == invoice_id, Allocation.active.is_(True),
                   Allocation.charge_id.is_not(None)).group_by(Allocation.charge_id)):
        if charge_id is not None:
            owed[charge_id] -= Decimal(amount)
    parts = [OpenPart(c.id, "costs" if c.kind in COSTS else "interest", owed[c.id])
             for c in charges if c.cancels_id is None and owed[c.id] > 0]
    principal = invoice.gross_amount - allocated(session, [invoice_id]).get(invoice_id, ZERO)
    return [*parts, OpenPart(None, "principal", max(principal, ZERO))]


def book_payment(session: Session, *, invoice_id: int, amount: Decimal,
                 transaction_id: int | None, kind: str = "payment", created_by: str,
                 decision_id: int | None = None,
                 credit_id: int | None = None) -> list[Allocation]:
    """Apply money paid on one invoice's claim (from a bank transaction, or from a
    customer credit with `credit_id`): costs, then interest, then principal (§ 367 (1)
    BGB); one allocation per part it settles, the rest (if any) on the principal as a
    credit. The caller marks invoices paid (`settle_if_paid`)."""
    if amount <= 0:
        raise ValueError(f"a payment on invoice {invoice_id} must be positive: {amount}")
    rows = [Allocation(invoice_id=invoice_id, transaction_id=transaction_id, charge_id=key,
                       credit_id=credit_id, amount=share, kind=kind, created_by=created_by,
                       decision_id=decision_id)
            for key, share in split_payment(amount, open_parts(session, invoice_id))]
    session.add_all(rows)
    session.flush()
    return rows

