"""The dashboard's numbers, computed set-based in the database (grouped queries, no row
by row loops over invoices): open and overdue receivables, ageing buckets, DSO, the share
of orders that needed no person, the share of payments matched automatically, and cash
in per week. Bucketing of already grouped rows happens here, in plain Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, exists, func, not_, select
from sqlalchemy.orm import Session

from engine.services.ledger import principal_paid
from engine.services.payments import AUTOMATION
from engine.store.models import (
    Allocation,
    Approval,
    AuditEntry,
    BankTransaction,
    Document,
    Invoice,
    Order,
    Task,
)

ZERO = Decimal("0.00")
AGEING = (("not due", None, 0), ("0–30", 1, 30), ("31–60", 31, 60), ("61–90", 61, 90),
          ("90+", 91, None))
DSO_DAYS = 90
WEEKS = 12


@dataclass
class Receivables:
    open_total: Decimal = ZERO
    open_count: int = 0
    overdue_total: Decimal = ZERO
    overdue_count: int = 0
    ageing: list[tuple[str, Decimal]] = field(default_factory=list)


@dataclass(frozen=True)
class Share:
    part: int
    whole: int

    @property
    def percent(self) -> Decimal | None:
        if not self.whole:
            return None
        return (Decimal(100) * self.part / self.whole).quantize(Decimal("0.1"))


def _open_by_invoice(session: Session):  # type: ignore[no-untyped-def]
    paid = principal_paid()  # money that settled dunning charges is not principal
    open_amount = (Invoice.gross_amount - func.coalesce(paid.c.paid, 0)).label("open_amount")
    return (select(Invoice.id, Invoice.due_date, open_amount)
            .outerjoin(paid, paid.c.invoice_id == Invoice.id).subquery())


def bucket(days_overdue: int) -> str:
    for label, low, high in AGEING:
        if (low is None or days_overdue >= low) and (high is None or days_overdue <= high):
            return label
    raise AssertionError(days_overdue)


def receivables(session: Session, today: date) -> Receivables:
    """Open items grouped by due date in the database, then placed into ageing buckets."""
    items = _open_by_invoice(session)
    rows = session.execute(select(items.c.due_date, func.sum(items.c.open_amount),
                                  func.count()).where(items.c.open_amount > 0)
                           .group_by(items.c.due_date)).all()
    result = Receivables()
    buckets = {label: ZERO for label, _, _ in AGEING}
    for due, amount, count in rows:
        amount = Decimal(amount)
        result.open_total += amount
        result.open_count += count
        days = (today - due).days
        if days > 0:
            result.overdue_total += amount
            result.overdue_count += count
        buckets[bucket(days)] += amount
    result.ageing = list(buckets.items())
    return result


def dso(session: Session, today: date, open_total: Decimal) -> Decimal | None:
    """Days sales outstanding: open receivables / gross invoiced in the last 90 days × 90."""
    since = today - timedelta(days=DSO_DAYS)
    sales = session.scalar(select(func.sum(Invoice.gross_amount)).where(
        Invoice.issue_date > since, Invoice.issue_date <= today))
    if not sales:
        return None
    return (open_total / Decimal(sales) * DSO_DAYS).quantize(Decimal("0.1"))


def orders_without_person(session: Session) -> Share:
    """Orders with no approval step and whose document no person confirmed in review."""
    approved = exists().where(Approval.order_id == Order.id)
    reviewed = exists().where(AuditEntry.object_type == "document",
                              AuditEntry.object_id == Order.document_id,
                              AuditEntry.action == "document.confirmed")
    whole = session.scalar(select(func.count(Order.id))) or 0
    part = session.scalar(select(func.count(Order.id)).where(
        not_(approved), not_(reviewed))) or 0
    return Share(part, whole)


def payments_matched_automatically(session: Session) -> Share:
    """Matched credits whose every active allocation was booked by automation."""
    by_person = exists().where(
        Allocation.transaction_id == BankTransaction.id, Allocation.active.is_(True),
        Allocation.created_by != AUTOMATION, not_(Allocation.created_by.like("system:%")))
    matched = BankTransaction.status.in_(("matched", "partially_matched"))
    whole = session.scalar(select(func.count(BankTransaction.id)).where(matched)) or 0
    part = session.scalar(select(func.count(BankTransaction.id)).where(
        and_(matched, not_(by_person)))) or 0
    return Share(part, whole)


def cash_in(session: Session, today: date, weeks: int = WEEKS) -> list[tuple[date, Decimal]]:
    """Credits booked per week (weeks start on Monday), the last `weeks` weeks, oldest first."""
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=weeks - 1)
    totals = {start + timedelta(weeks=n): ZERO for n in range(weeks)}
    rows = session.execute(select(BankTransaction.booking_date, func.sum(BankTransaction.amount))
                           .where(BankTransaction.amount > 0,
                                  BankTransaction.booking_date >= start,
                                  BankTransaction.booking_date <= today)
                           .group_by(BankTransaction.booking_date))
    for booked, amount in rows:
        week = booked - timedelta(days=booked.weekday())
        totals[week] += Decimal(amount)
    return sorted(totals.items())


def waiting(session: Session) -> dict[str, int]:
    """What waits for a person, by queue."""
    def count(query):  # type: ignore[no-untyped-def]
        return session.scalar(query) or 0

    return {
        "documents in review": count(select(func.count(Document.id)).where(
            Document.status == "needs_review")),
        "orders waiting for approval": count(select(func.count(Order.id)).where(
            Order.status == "pending_approval")),
        "payments in review": count(select(func.count(BankTransaction.id)).where(
            BankTransaction.status == "review")),
        "open tasks": count(select(func.count(Task.id)).where(
            Task.status == "open")),
    }
