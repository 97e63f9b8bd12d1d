"""SEPA direct debit: one pain.008.001.08 file per run, collecting the open invoices of the
customers who gave a mandate (`Customer.sepa_mandate_id` and `sepa_mandate_date`).

Which invoices: open ones (gross minus active allocations > 0) in EUR, due on or before
the collection date (collecting earlier than the invoice said would break the
pre-notification), not in an earlier file. One transaction each: amount = the open
amount, end-to-end id = the invoice number, remittance = invoice number and RF
reference, the mandate id and its signature date.

The history is the audit log: each file is one `direct_debit.collected` entry listing its
transactions (invoice, mandate, sequence type, amount), the file name and its sha256. From
it come the sequence type (FRST for a mandate never collected before, RCUR after) and
the invoices already collected, which are never collected twice.

Runs are serialised (a PostgreSQL advisory lock; SQLite has one writer), so two runs at
once cannot put an invoice in two files. The file name is the MsgId, derived from the
transactions: a run repeated after a crash between writing the file and committing writes
the same name again, never a second file with the same debits.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from documents.sepa import (
    Creditor,
    Debit,
    SepaError,
    build_pain008,
    debit_problems,
    message_id,
)
from engine.core.config import Config
from engine.runtime import Runtime
from engine.services.ledger import open_items
from engine.services.records import audit
from engine.store.models import AuditEntry, Customer, utcnow

log = logging.getLogger(__name__)

ACTION = "direct_debit.collected"
CREDITOR_ID_KEY = "company.creditor_id"
FOLDER = "direct_debits"


@dataclass(frozen=True)
class History:
    """What earlier files collected: mandates used and invoice number → file."""

    mandates: frozenset[str]
    invoices: dict[str, str]


@dataclass
class Plan:
    """The transactions a run would write, and why other open invoices are left out."""

    debits: list[Debit] = field(default_factory=list)
    invoice_ids: list[int] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((d.amount for d in self.debits), Decimal("0.00"))


def creditor(config: Config) -> Creditor:
    """The company as SEPA creditor; its identifier comes from `company.creditor_id`."""
    creditor_id = config.values.get(CREDITOR_ID_KEY)
    if not creditor_id:
        raise SepaError([f"{config.source}: {CREDITOR_ID_KEY} is not set; add the company's "
                         "SEPA creditor identifier (Gläubiger-ID, e.g. DE98ZZZ09999999999) "
                         "under company:"])
    company = config.company
    return Creditor(name=company.name, iban=company.iban, bic=company.bic,
                    creditor_id=str(creditor_id), street=company.address.street,
                    postal_code=company.address.postal_code, city=company.address.city,
                    country=company.address.country)


def history(session: Session) -> History:
    """Mandates and invoices of every file written so far, from the audit log."""
    mandates: set[str] = set()
    invoices: dict[str, str] = {}
    for details in session.scalars(select(AuditEntry.details).where(AuditEntry.action == ACTION)):
        for tx in details.get("transactions", []):
            mandates.add(tx["mandate_id"])
            invoices[tx["invoice"]] = details["file"]
    return History(frozenset(mandates), invoices)


def plan(session: Session, collection_date: date) -> Plan:
    """What a run for `collection_date` would collect (also a dry run for the UI/CLI)."""
    past = history(session)
    customers = {c.id: c for c in session.scalars(
        select(Customer).where(Customer.sepa_mandate_id.is_not(None),
                               Customer.sepa_mandate_id != ""))}
    result = Plan()
    for item in open_items(session):
        customer = customers.get(item.customer_id)
        if item.open_amount <= 0:  # only dunning charges left: not what the mandate covers
            continue
        if customer is None or item.number in past.invoices or item.due_date > collection_date:
            continue
        label = f"invoice {item.number} ({customer.number} {customer.name})"
        mandate_id = customer.sepa_mandate_id or ""
        if customer.sepa_mandate_date is None:
            result.skipped.append(f"{label}: mandate {mandate_id} has no signature date")
            continue
        debit = Debit(
            end_to_end_id=item.number, amount=item.open_amount, debtor_name=customer.name,
            debtor_iban=customer.iban, mandate_id=mandate_id,
            mandate_date=customer.sepa_mandate_date,
            sequence="RCUR" if mandate_id in past.mandates else "FRST",
            remittance=f"{item.number} {item.reference}", debtor_street=customer.street,
            debtor_postal_code=customer.postal_code, debtor_city=customer.city,
            debtor_country=customer.country, currency=item.currency, label=label)
        wrong = debit_problems(debit, collection_date)
        if wrong:
            result.skipped += [f"{label}: {p}" for p in wrong]
            continue
        result.debits.append(debit)
        result.invoice_ids.append(item.invoice_id)
        result.customers.append(customer.number)
    return result


def collect(rt: Runtime, today: date, collection_date: date,
            actor: str = "system:direct_debit") -> Path | None:
    """Write the pain.008 file for `collection_date` under out/direct_debits/ and record it.

    Returns the file, or None when there is nothing to collect (a pain.008 needs at least
    one transaction). Raises SepaError naming every problem of the company's settings or
    the collection date; an invoice with a problem of its own (no IBAN, a mandate dated
    after the collection, not EUR) is left out and named in the log and the audit entry.
    """
    company = creditor(rt.config)
    with rt.db.unit_of_work() as session:
        _serialise(rt, session)
        todo = plan(session, collection_date)
        for reason in todo.skipped:
            log.warning("direct debit %s: %s", collection_date, reason)
        if not todo.debits:
            return None
        xml = build_pain008(company, todo.debits, collection_date, today, created_at=utcnow())
        msg_id = message_id(todo.debits, collection_date)
        path = _write(rt.out_dir / FOLDER / f"{msg_id}.xml", xml)
        audit(session, actor, ACTION, "direct_debit", None, file=path.name, msg_id=msg_id,
              sha256=hashlib.sha256(xml).hexdigest(), collection_date=collection_date,
              total=todo.total, skipped=todo.skipped,
              transactions=[_transaction(d, i, c) for d, i, c in
                            zip(todo.debits, todo.invoice_ids, todo.customers, strict=True)])
    rt.blobs.put(xml)  # after the commit: the database blob store opens its own transaction
    return path


def _transaction(debit: Debit, invoice_id: int, customer: str) -> dict[str, Any]:
    return {"invoice": debit.end_to_end_id, "invoice_id": invoice_id, "customer": customer,
            "mandate_id": debit.mandate_id, "sequence": debit.sequence, "amount": debit.amount}


def _serialise(rt: Runtime, session: Session) -> None:
    """One run at a time: wait for a run in progress, then see what it recorded."""
    if rt.db.is_postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": zlib.crc32(ACTION.encode())})


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target
