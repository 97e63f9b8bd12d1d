"""Rows → core records, at the store's edge."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from documents.render import format_date
from engine.core.records import Address, DocumentLine, OpenItem, Party
from engine.store.models import Customer, Invoice, LineColumns


def party_of(customer: Customer) -> Party:
    return Party(name=customer.name,
                 address=Address(customer.street, customer.postal_code, customer.city,
                                 customer.country),
                 vat_id=customer.vat_id, email=customer.email, iban=customer.iban,
                 customer_number=customer.number)


def lines_of(rows: Iterable[LineColumns]) -> tuple[DocumentLine, ...]:
    return tuple(DocumentLine(position=r.position, sku=r.sku, description=r.description,
                              quantity=r.quantity, unit=r.unit, unit_price=r.unit_price,
                              vat_rate=r.vat_rate) for r in rows)


def open_item_of(invoice: Invoice, open_amount: Decimal) -> OpenItem:
    return OpenItem(invoice_id=invoice.id, number=invoice.number,
                    customer_id=invoice.customer_id, customer_name=invoice.customer.name,
                    customer_iban=invoice.customer.iban, reference=invoice.payment_reference,
                    gross_amount=invoice.gross_amount, open_amount=open_amount,
                    issue_date=invoice.issue_date, due_date=invoice.due_date,
                    currency=invoice.currency)


def info_rows(t: dict[str, str], *rows: tuple[str, object],
              lang: str = "de") -> list[tuple[str, str]]:
    """The info block of a letter: (label key or text, value), dates as `lang` writes them."""
    out = []
    for label, value in rows:
        if value in (None, ""):
            continue
        text = format_date(value, lang) if isinstance(value, date) else str(value)
        out.append((t.get(label, label), text))
    return out
