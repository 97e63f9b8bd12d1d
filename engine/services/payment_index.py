"""The matching index of a run, built from the database in a few set-based queries: every
open item with its discount terms and gross per VAT rate, every customer with the IBANs it
has paid from, every open remittance advice (engine.core.matching_index)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.matching_index import Advice, OpenItemIndex, Terms
from engine.core.matching_index import Customer as KnownCustomer
from engine.core.records import RemittanceLine
from engine.services.ledger import open_items
from engine.store.models import (
    Allocation,
    BankTransaction,
    Customer,
    Invoice,
    InvoiceLine,
    RemittanceAdvice,
)


def build_index(session: Session) -> OpenItemIndex:
    """Every open item with its discount terms and VAT split, every customer with the
    IBANs it paid from, every open advice: set-based queries, once per run."""
    items = open_items(session)
    customers: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    for cid, name, iban in session.execute(select(Customer.id, Customer.name, Customer.iban)):
        names[cid] = name
        customers[cid] = {iban} if iban else set()
    learned = (select(Invoice.customer_id, BankTransaction.counterparty_iban).distinct()
               .join(Allocation, Allocation.invoice_id == Invoice.id)
               .join(BankTransaction, BankTransaction.id == Allocation.transaction_id)
               .where(Allocation.active.is_(True), Allocation.kind == "payment",
                      BankTransaction.counterparty_iban != ""))
    for cid, iban in session.execute(learned):
        customers.setdefault(cid, set()).add(iban)
    known = [KnownCustomer(cid, names.get(cid, ""), tuple(sorted(ibans)))
             for cid, ibans in customers.items()]
    return OpenItemIndex(items, _terms(session), known, _open_advices(session))


def _terms(session: Session) -> dict[int, Terms]:
    """Discount terms of open invoices that have them, with their gross per VAT rate."""
    rows = session.execute(select(Invoice.id, Invoice.cash_discount_percent,
                                  Invoice.cash_discount_days).where(
        Invoice.status == "open", Invoice.cash_discount_percent.is_not(None),
        Invoice.cash_discount_percent > 0))
    terms = {inv: (pct, days) for inv, pct, days in rows}
    split: dict[int, list[tuple[Decimal, Decimal]]] = {}
    ids = list(terms)
    for n in range(0, len(ids), 1000):
        lines = session.execute(
            select(InvoiceLine.invoice_id, InvoiceLine.vat_rate,
                   func.sum(InvoiceLine.quantity * InvoiceLine.unit_price))
            .where(InvoiceLine.invoice_id.in_(ids[n:n + 1000]))
            .group_by(InvoiceLine.invoice_id, InvoiceLine.vat_rate))
        for inv, rate, net in lines:
            net = Decimal(net)
            split.setdefault(inv, []).append((Decimal(rate), net + net * Decimal(rate) / 100))
    return {inv: Terms(pct, days, tuple(sorted(split.get(inv, ()), reverse=True)))
            for inv, (pct, days) in terms.items()}


def _open_advices(session: Session) -> list[Advice]:
    return [Advice(a.id, a.customer_id, a.payer_name, a.total,
                   tuple(RemittanceLine(x.invoice_number, x.amount, x.deduction)
                         for x in a.lines), a.reference)
            for a in session.scalars(select(RemittanceAdvice).where(
                RemittanceAdvice.status == "open"))]
