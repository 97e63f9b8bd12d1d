"""GoBD immutability in the ORM: an issued invoice and its lines, credit notes and their
lines, and archive entries never change and are never deleted; corrections are made by
credit note (engine.services.invoicing.issue_credit_note).

`install(sessions)` adds SQLAlchemy session listeners that raise `ImmutableError`:

- before_flush: any change of a stored invoice except its cached `status` (open/paid) and
  its `decision_id` when set in the same transaction as the invoice's insert; any change of
  a stored invoice line, credit note, credit note line or archive entry; a new line for an
  invoice issued in an earlier transaction; any delete of those rows.
- do_orm_execute: ORM bulk UPDATE/DELETE statements against those tables (only
  `UPDATE invoices SET status = …` passes).

The database refuses the same by triggers (migration 0002), also for raw SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from sqlalchemy.orm import sessionmaker as SessionMaker

from engine.store.models import ArchiveEntry, CreditNote, CreditNoteLine, Invoice, InvoiceLine

PROTECTED = (Invoice, InvoiceLine, CreditNote, CreditNoteLine, ArchiveEntry)
INVOICE_STATUSES = ("open", "paid")
_FRESH = "o2c.fresh_invoices"  # session.info: ids of invoices inserted in this transaction


class ImmutableError(Exception):
    """An issued document (or the archive) was to be changed or deleted."""


def install(target: SessionMaker[Any] | type[Session]) -> None:
    """Add the listeners to a session factory (or Session class); calling twice is harmless.

    An engine cannot carry ORM session events: there the database triggers protect.
    """
    for name, listener in (("before_flush", _before_flush), ("after_flush", _after_flush),
                           ("after_transaction_end", _after_transaction_end),
                           ("do_orm_execute", _before_bulk)):
        if not event.contains(target, name, listener):
            event.listen(target, name, listener)


def describe(session: Session, obj: object) -> str:
    """How an error names a protected row: 'invoice RE-2026-00001', 'line 2 of invoice …'."""
    with session.no_autoflush:
        if isinstance(obj, Invoice):
            return f"invoice {obj.number}"
        if isinstance(obj, CreditNote):
            return f"credit note {obj.number}"
        if isinstance(obj, InvoiceLine):
            invoice = session.get(Invoice, obj.invoice_id) if obj.invoice_id else None
            return f"line {obj.position} of invoice {invoice.number if invoice else '?'}"
        if isinstance(obj, CreditNoteLine):
            note = session.get(CreditNote, obj.credit_note_id) if obj.credit_note_id else None
            return f"line {obj.position} of credit note {note.number if note else '?'}"
        if isinstance(obj, ArchiveEntry):
            return f"archive entry {obj.id} ({obj.filename})"
    return type(obj).__name__


def _changed(obj: object) -> list[str]:
    """The attributes (columns and relationships) with a pending net change."""
    state = inspect(obj)
    return [attr.key for attr in state.attrs if attr.history.has_changes()]


def _fresh(session: Session) -> set[int]:
    fresh: set[int] = session.info.setdefault(_FRESH, set())
    return fresh


def _refused_fields(session: Session, obj: object) -> list[str]:
    """The changed fields of a stored protected row that may not change."""
    fields = _changed(obj)
    if not isinstance(obj, Invoice):
        return fields
    allowed = {"status"}
    if obj.id in _fresh(session):
        allowed.add("decision_id")
    refused = [f for f in fields if f not in allowed]
    if "status" in fields and obj.status not in INVOICE_STATUSES:
        refused.append("status")
    return refused


def _before_flush(session: Session, _context: UOWTransaction,
                  _instances: Iterable[object] | None) -> None:
    for obj in session.deleted:
        if isinstance(obj, PROTECTED):
            raise ImmutableError(f"{describe(session, obj)}: may not be deleted (GoBD); "
                                 f"an issued document is corrected by credit note")
    for obj in session.dirty:
        if isinstance(obj, PROTECTED):
            refused = _refused_fields(session, obj)
            if refused:
                raise ImmutableError(f"{describe(session, obj)}: field '{refused[0]}' may not "
                                     f"change after issue (GoBD); correct it by credit note")
    for obj in session.new:
        if (isinstance(obj, InvoiceLine) and obj.invoice_id is not None
                and obj.invoice_id not in _fresh(session)):
            with session.no_autoflush:
                invoice = session.get(Invoice, obj.invoice_id)
            if invoice is not None:  # an invoice issued in an earlier transaction
                raise ImmutableError(f"invoice {invoice.number}: field 'lines' may not change "
                                     f"after issue (GoBD); correct it by credit note")


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    for obj in session.new:
        if isinstance(obj, Invoice):
            _fresh(session).add(obj.id)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_FRESH, None)


def _statement_keys(state: ORMExecuteState) -> set[str]:
    """The column names an ORM bulk UPDATE sets."""
    stmt: Any = state.statement
    keys: set[str] = set()
    for col in list(getattr(stmt, "_values", None) or ()) + [
            c for c, _ in (getattr(stmt, "_ordered_values", None) or ())]:
        keys.add(str(getattr(col, "key", col)))
    params: Any = state.parameters
    rows: list[Any] = params if isinstance(params, list) else [params] if params else []
    for row in rows:
        keys.update(str(k) for k in row if k != "id")
    return keys


def _before_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    cls = mapper.class_ if mapper is not None else None
    if cls not in PROTECTED:
        return
    table = mapper.local_table.name  # type: ignore[union-attr]
    if state.is_delete:
        raise ImmutableError(f"{table}: rows may not be deleted (GoBD)")
    keys = _statement_keys(state)
    if cls is Invoice and keys <= {"status"}:
        return
    fields = ", ".join(sorted(keys - {"status"})) or "?"
    raise ImmutableError(f"{table}: field '{fields}' may not change after issue (GoBD)")
