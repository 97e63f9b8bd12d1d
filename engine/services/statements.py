"""Customer account statements (Kontoauszug / offene Posten): a customer's bookings read
from the ledger, the statement built (documents.statement_doc), rendered, stored under
out/statements/ and archived in the hash chain like every issued document.

Bookings: invoices (debit, on their issue date); dunning charges (debit; a cancelling
charge is a credit); credit notes (credit, on their issue date); money applied to the
customer's invoices and charges, one booking per bank transaction (credit, on its booking
date), and deductions and discounts (credit, on the day they were booked; what an import
brought as paid, on the invoice's date). A credit note's own allocation to its invoice is no second booking. Undone
(inactive) allocations are left out as if they never were.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.render import WORDS
from documents.statement_doc import (
    ZERO,
    AccountStatement,
    Booking,
    OpenPosition,
    account_statement,
    statement_pdf,
)
from engine.runtime import Runtime
from engine.services.convert import party_of
from engine.services.publish import Issued, logo, store_file
from engine.services.records import audit
from engine.store.models import (
    Allocation,
    BankTransaction,
    Charge,
    CreditNote,
    Customer,
    Invoice,
)


class UnknownCustomer(LookupError):
    """No customer has the number asked for."""


def bookings_of(session: Session, customer_id: int,
                as_of: date) -> tuple[list[Booking], list[OpenPosition]]:
    """The customer's bookings up to `as_of` and their items open then."""
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.issue_date <= as_of))}
    charges = {c.id: c for c in session.scalars(select(Charge).where(
        Charge.customer_id == customer_id, Charge.charge_date <= as_of))}
    customer = session.get(Customer, customer_id)
    lang = customer.language if customer is not None else "de"
    t = WORDS[lang]
    bookings = [Booking(i.issue_date, "invoice", i.number,
                        f"({t['due_date']} {i.due_date:%d.%m.%Y})" if lang == "de"
                        else f"({t['due_date']} {i.due_date:%d %b %Y})", debit=i.gross_amount)
                for i in invoices.values()]
    for c in charges.values():
        parent = invoices.get(c.invoice_id)
        bookings.append(Booking(c.charge_date, c.kind, c.number, parent.number if parent else "",
                                debit=max(c.amount, ZERO), credit=max(-c.amount, ZERO)))
    for note in session.scalars(select(CreditNote).where(
            CreditNote.customer_id == customer_id, CreditNote.issue_date <= as_of)):
        bookings.append(Booking(note.issue_date, "credit_note", note.number,
                                note.invoice.number, credit=note.gross_amount))

    applied: dict[int, Decimal] = defaultdict(lambda: ZERO)  # invoice → principal settled
    on_charges: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_transaction: dict[int, list[tuple[Allocation, BankTransaction]]] = defaultdict(list)
    rows = session.execute(
        select(Allocation, BankTransaction, CreditNote.issue_date)
        .outerjoin(BankTransaction, BankTransaction.id == Allocation.transaction_id)
        .outerjoin(CreditNote, CreditNote.id == Allocation.credit_note_id)
        .where(Allocation.invoice_id.in_(list(invoices)), Allocation.active.is_(True))
        .order_by(Allocation.id)).all()
    for allocation, tx, credited in rows:
        if tx is not None:
            day = tx.booking_date
        elif credited is not None:
            day = credited
        elif allocation.kind == "import":  # paid before the import: when is not known
            day = invoices[allocation.invoice_id].issue_date
        else:
            day = allocation.created_at.date()
        if day > as_of:
            continue
        if allocation.charge_id is not None:
            on_charges[allocation.charge_id] += allocation.amount
        else:
            applied[allocation.invoice_id] += allocation.amount
        if allocation.kind == "credit_note":
            continue  # the credit note itself is the booking
        if tx is not None and allocation.kind == "payment":
            by_transaction[tx.id].append((allocation, tx))
            continue
        bookings.append(Booking(day, allocation.kind, invoices[allocation.invoice_id].number,
                                credit=allocation.amount))
    for parts in by_transaction.values():
        tx = parts[0][1]
        numbers = ", ".join(dict.fromkeys(invoices[a.invoice_id].number for a, _ in parts))
        bookings.append(Booking(tx.booking_date, "payment",
                                tx.end_to_end_id or tx.reference or f"#{tx.id}", numbers,
                                credit=sum((a.amount for a, _ in parts), ZERO)))

    open_items = [OpenPosition("invoice", i.number, i.issue_date, i.due_date, i.gross_amount,
                               i.gross_amount - applied[i.id]) for i in invoices.values()]
    open_items += [OpenPosition(c.kind, c.number, c.charge_date, c.charge_date, c.amount,
                                c.amount - on_charges[c.id])
                   for c in charges.values() if c.amount > 0 and c.cancels_id is None
                   and not any(x.cancels_id == c.id for x in charges.values())]
    return bookings, open_items


def statement_of(session: Session, customer: Customer, as_of: date,
                 start: date | None = None) -> AccountStatement:
    """The statement of `customer` from `start` (default: 1 January of the year) to `as_of`."""
    bookings, open_items = bookings_of(session, customer.id, as_of)
    return account_statement(party_of(customer), bookings, open_items,
                             start=start or date(as_of.year, 1, 1), as_of=as_of,
                             language=customer.language)


def issue_statement(rt: Runtime, customer_number: str, today: date,
                    start: date | None = None, out: Path | None = None,
                    actor: str = "system:statements") -> tuple[Issued, AccountStatement]:
    """Render the statement of one customer as of `today`, store it under out/statements/,
    archive it, and also write it to `out` when given."""
    with rt.db.unit_of_work() as session:
        customer = session.scalar(select(Customer).where(Customer.number == customer_number))
        if customer is None:
            raise UnknownCustomer(f"no customer with the number {customer_number!r}")
        statement = statement_of(session, customer, today, start)
        pdf = statement_pdf(statement, rt.config.company, override=rt.templates,
                            logo=logo(rt))
        issued = store_file(rt, "statements", f"KA-{customer.number}-{today:%Y-%m-%d}.pdf",
                            pdf, "application/pdf", session=session)
        audit(session, actor, "statement.issued", "customer", customer.id,
              as_of=today.isoformat(), balance=statement.closing_balance,
              sha256=issued.sha256)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pdf)
    return issued, statement


def issue_all(rt: Runtime, today: date) -> list[Issued]:
    """A statement for every customer with an invoice up to `today` (the demo's month end)."""
    with rt.db.unit_of_work() as session:
        numbers = list(session.scalars(select(Customer.number).where(Customer.id.in_(
            select(Invoice.customer_id).where(Invoice.issue_date <= today)))
            .order_by(Customer.number)))
    return [issue_statement(rt, number, today)[0] for number in numbers]
