"""Holds that stop dunning: disputes, promises to pay, customer blocks; who and when."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.runtime import Runtime
from engine.services.records import audit
from engine.store.models import Customer, Hold, Invoice, utcnow

KINDS = ("dispute", "promise", "block")


def place(rt: Runtime, kind: str, *, actor: str, invoice_number: str | None = None,
          customer_number: str | None = None, reason: str = "",
          until: date | None = None) -> int:
    """A dispute or promise names an invoice; a block names a customer. Returns the hold id."""
    if kind not in KINDS:
        raise ValueError(f"a hold is one of {', '.join(KINDS)}, not '{kind}'")
    if kind == "dispute" and not reason.strip():
        raise ValueError("a dispute needs a reason")
    if kind == "promise" and until is None:
        raise ValueError("a promise to pay needs the date it is promised for")
    with rt.db.unit_of_work() as session:
        hold = Hold(kind=kind, reason=reason.strip(), until=until, created_by=actor)
        if kind == "block":
            customer = session.scalar(select(Customer).where(Customer.number == customer_number))
            if customer is None:
                raise ValueError(f"customer {customer_number} does not exist")
            hold.customer_id = customer.id
        else:
            invoice = session.scalar(select(Invoice).where(Invoice.number == invoice_number))
            if invoice is None:
                raise ValueError(f"invoice {invoice_number} does not exist")
            hold.invoice_id, hold.customer_id = invoice.id, invoice.customer_id
        session.add(hold)
        session.flush()
        audit(session, actor, f"hold.{kind}", "hold", hold.id, invoice=invoice_number,
              customer=customer_number, reason=reason, until=until)
        return hold.id


def release(rt: Runtime, hold_id: int, actor: str) -> None:
    with rt.db.unit_of_work() as session:
        hold = session.get(Hold, hold_id)
        if hold is None or hold.released_at is not None:
            raise ValueError(f"hold {hold_id} is not active")
        hold.released_at, hold.released_by = utcnow(), actor
        audit(session, actor, "hold.released", "hold", hold.id)


def holding(session: Session, today: date) -> tuple[set[int], set[int]]:
    """(invoice ids on hold, customer ids blocked) as of today; a promise pauses until its
    date has passed."""
    active = session.scalars(select(Hold).where(
        Hold.released_at.is_(None), or_(Hold.until.is_(None), Hold.until >= today)))
    invoices, customers = set(), set()
    for hold in active:
        if hold.kind == "block" and hold.customer_id is not None:
            customers.add(hold.customer_id)
        elif hold.invoice_id is not None:
            invoices.add(hold.invoice_id)
    return invoices, customers
