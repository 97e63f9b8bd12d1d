"""Customers and open items from the old system (`o2c import customers|open-items FILE.csv`).

A file imports completely or not at all: any issue of the reader, or any conflict with
the database (an invoice number or payment reference that already exists), and nothing
is written; the issues come back, each naming its line. Otherwise one transaction:

- customers: upserted by number. A new customer gets every column (defaults where empty);
  an existing one gets its name and the optional columns the file has, so a file with
  only ``number,name,email`` leaves the IBAN alone. Each change is in the audit log.
- open items: a missing customer is created from the customer columns of its rows (an
  existing one is left as it is). Each row becomes an `Invoice` with the gross amount as
  net and gross and tax 0 (the old system's net and tax are unknown), the delivery date
  set to the issue date, and an audit entry ``invoice.imported`` that marks it imported;
  the already paid part (gross − open) is an `Allocation` of kind ``import``, so the
  ledger shows the right open amount (an open amount of 0 gives a paid invoice). The
  reminders already sent become `DunningNotice` rows for levels 1..dunning_level dated
  last_dunning_date (no letter, the current open amount), so the next run goes on from
  there. A dispute or a promise to pay becomes a `Hold`, placed by the importing actor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from documents.open_items_csv import (
    CUSTOMER_OPTIONAL,
    ImportedCustomer,
    ImportedOpenItem,
    customers_of,
    read_customers_csv,
    read_open_items_csv,
)
from engine.core.records import Issue
from engine.runtime import Runtime
from engine.services.records import audit
from engine.store.models import Allocation, Customer, DunningNotice, Hold, Invoice

_CHUNK = 500  # values per IN (…): well below every driver's parameter limit


@dataclass(frozen=True)
class ImportResult:
    """What an import did, or why it did nothing (`issues` not empty: nothing written)."""

    source: str
    issues: tuple[Issue, ...] = ()
    customers_created: int = 0
    customers_updated: int = 0
    invoices_created: int = 0
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues


class _Refused(Exception):
    """Conflicts with the database: roll back and report them."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} conflicts")
        self.issues = issues


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _present(session: Session, column: InstrumentedAttribute[str],
             values: Iterable[str]) -> set[str]:
    """Which of the values the column already holds."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(values))):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _customers(session: Session, numbers: Iterable[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for chunk in _chunks(sorted(set(numbers))):
        found.update((c.number, c) for c in
                     session.scalars(select(Customer).where(Customer.number.in_(chunk))))
    return found


def _run(rt: Runtime, source: str, work: Callable[[Session], ImportResult]) -> ImportResult:
    """One transaction; a conflict, or a concurrent writer of the same keys, rolls it back."""
    try:
        with rt.db.unit_of_work() as session:
            return work(session)
    except _Refused as refused:
        return ImportResult(source, tuple(refused.issues))
    except IntegrityError as exc:
        return ImportResult(source, (Issue(source, "another import or user wrote the same "
                                           "customer or invoice numbers meanwhile; nothing "
                                           f"was imported, import the file again ({exc.orig})"),))


def _new_customer(record: ImportedCustomer) -> Customer:
    return Customer(number=record.number, name=record.name, street=record.street,
                    postal_code=record.postal_code, city=record.city, country=record.country,
                    vat_id=record.vat_id, email=record.email, iban=record.iban, b2b=record.b2b,
                    language=record.language, credit_limit=record.credit_limit,
                    payment_terms_days=record.payment_terms_days)


def _update(customer: Customer, record: ImportedCustomer) -> dict[str, list[Any]]:
    """Set the name and the optional columns the file has; return {field: [old, new]}."""
    changes: dict[str, list[Any]] = {}
    for name in ("name", *(c for c in CUSTOMER_OPTIONAL if c in record.columns)):
        old, new = getattr(customer, name), getattr(record, name)
        if old != new:
            changes[name] = [old, new]
            setattr(customer, name, new)
    return changes


def import_customers(rt: Runtime, data: bytes, source: str, actor: str) -> ImportResult:
    """Upsert the customers of a customer file by number, all or nothing."""
    records, issues = read_customers_csv(data, source)
    if issues:
        return ImportResult(source, tuple(issues))

    def work(session: Session) -> ImportResult:
        known = _customers(session, (r.number for r in records))
        created: list[tuple[ImportedCustomer, Customer]] = []
        updated: list[tuple[ImportedCustomer, Customer, dict[str, list[Any]]]] = []
        for record in records:
            row = known.get(record.number)
            if row is None:
                row = _new_customer(record)
                session.add(row)
                created.append((record, row))
            elif changes := _update(row, record):
                updated.append((record, row, changes))
        session.flush()
        for record, row in created:
            audit(session, actor, "customer.imported", "customer", row.id, source=source,
                  line=record.line)
        for record, row, changes in updated:
            audit(session, actor, "customer.updated", "customer", row.id, source=source,
                  line=record.line, changes=changes)
        audit(session, actor, "customers.imported", "import", None, source=source,
              created=len(created), updated=len(updated), unchanged=len(records) -
              len(created) - len(updated))
        return ImportResult(source, customers_created=len(created),
                            customers_updated=len(updated),
                            notes=() if records else ("the file has no customer rows",))

    return _run(rt, source, work)


def _conflicts(session: Session, items: Sequence[ImportedOpenItem], source: str) -> list[Issue]:
    """Invoice numbers and payment references the database already has."""
    numbers = _present(session, Invoice.number, (i.invoice_number for i in items))
    references = _present(session, Invoice.payment_reference,
                          (i.payment_reference for i in items))
    issues = []
    for item in items:
        where = f"{source}:{item.line}"
        if item.invoice_number in numbers:
            issues.append(Issue(where, f"column 'invoice_number': '{item.invoice_number}' "
                                "already exists; an invoice is imported once"))
        elif item.payment_reference in references:
            issues.append(Issue(where, f"column 'payment_reference': "
                                f"'{item.payment_reference}' belongs to an existing invoice; "
                                "give a reference of this invoice's own"))
    return issues


def _invoice(item: ImportedOpenItem, customer_id: int) -> Invoice:
    return Invoice(number=item.invoice_number, customer_id=customer_id,
                   issue_date=item.issue_date, delivery_date=item.issue_date,
                   due_date=item.due_date, payment_reference=item.payment_reference,
                   currency=item.currency, net_amount=item.gross_amount,
                   tax_amount=Decimal("0"), gross_amount=item.gross_amount,
                   cash_discount_percent=item.cash_discount_percent,
                   cash_discount_days=item.cash_discount_days,
                   status="open" if item.open_amount > 0 else "paid")


def _history(session: Session, item: ImportedOpenItem, invoice: Invoice, source: str,
             actor: str) -> None:
    """The paid part, the reminders already sent, and the holds of one imported invoice."""
    if item.open_amount < item.gross_amount:
        session.add(Allocation(invoice_id=invoice.id, amount=item.gross_amount - item.open_amount,
                               kind="import", created_by=actor))
    if item.last_dunning_date is not None:
        for level in range(1, item.dunning_level + 1):
            session.add(DunningNotice(invoice_id=invoice.id, level=level, letter_id=None,
                                      notice_date=item.last_dunning_date,
                                      open_amount=item.open_amount, fee=Decimal("0")))
    origin = f"imported from {source}, line {item.line}"
    if item.disputed:
        session.add(Hold(kind="dispute", invoice_id=invoice.id, customer_id=invoice.customer_id,
                         reason=f"disputed in the previous system ({origin})", created_by=actor))
    if item.promise_until is not None:
        session.add(Hold(kind="promise", invoice_id=invoice.id, customer_id=invoice.customer_id,
                         until=item.promise_until, reason=f"promise to pay ({origin})",
                         created_by=actor))
    audit(session, actor, "invoice.imported", "invoice", invoice.id, source=source,
          line=item.line, imported=True, net_and_tax_known=False,
          gross_amount=item.gross_amount, open_amount=item.open_amount,
          dunning_level=item.dunning_level, last_dunning_date=item.last_dunning_date,
          disputed=item.disputed, promise_until=item.promise_until)


def import_open_items(rt: Runtime, data: bytes, source: str, actor: str) -> ImportResult:
    """Invoices, their paid part, dunning history and holds from an open-item file, all or
    nothing; customers missing from the database are created from the rows."""
    items, issues = read_open_items_csv(data, source)
    if issues:
        return ImportResult(source, tuple(issues))

    def work(session: Session) -> ImportResult:
        conflicts = _conflicts(session, items, source)
        if conflicts:
            raise _Refused(conflicts)
        wanted = customers_of(items)
        known = _customers(session, wanted)
        new = {n: _new_customer(c) for n, c in wanted.items() if n not in known}
        session.add_all(new.values())
        session.flush()
        for number, customer in new.items():
            audit(session, actor, "customer.imported", "customer", customer.id, source=source,
                  line=wanted[number].line)
        ids = {n: c.id for n, c in (known | new).items()}
        invoices = [(item, _invoice(item, ids[item.customer_number])) for item in items]
        session.add_all(invoice for _, invoice in invoices)
        session.flush()
        for item, invoice in invoices:
            _history(session, item, invoice, source, actor)
        session.flush()
        audit(session, actor, "open_items.imported", "import", None, source=source,
              invoices=len(invoices), customers_created=len(new))
        notes = ["net and tax of imported invoices are unknown: the gross amount stands as "
                 "net with tax 0, and the audit log marks each invoice as imported"]
        if known:
            notes.append(f"{len(known)} customers already existed and were left as they are; "
                         "import a customer file to update them")
        if not items:
            notes = ["the file has no open-item rows"]
        return ImportResult(source, customers_created=len(new),
                            invoices_created=len(invoices), notes=tuple(notes))

    return _run(rt, source, work)
