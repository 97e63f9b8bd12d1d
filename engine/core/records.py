"""Frozen records the core, the readers and the writers share. Money is Decimal.

Records say where they came from (`source`), so an error can name the place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Issue:
    """A problem found in an input: where (file, page, line, field) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Field:
    """One extracted value with how sure the reader is and where it was found."""

    value: Any
    confidence: float
    source: str


@dataclass(frozen=True)
class ParsedLine:
    """One line item of a purchase order, invoice or remittance advice."""

    position: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    source: str = ""


@dataclass(frozen=True)
class RemittanceLine:
    """One invoice a payer says it pays: number, amount paid, deduction (e.g. Skonto)."""

    invoice_number: str
    amount: Decimal
    deduction: Decimal = Decimal("0")
    source: str = ""


@dataclass(frozen=True)
class ParsedDocument:
    """What extraction made of a file: its kind, fields with confidence, lines, issues."""

    kind: str  # purchase_order | remittance_advice | bank_statement | invoice | unknown
    source: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    lines: tuple[ParsedLine, ...] = ()
    remittance: tuple[RemittanceLine, ...] = ()
    statements: tuple[Statement, ...] = ()
    issues: tuple[Issue, ...] = ()

    def value(self, name: str, default: Any = None) -> Any:
        f = self.fields.get(name)
        return default if f is None else f.value

    @property
    def confidence(self) -> float:
        """The weakest field decides: one doubtful field sends the document to review."""
        if not self.fields:
            return 0.0
        return min(f.confidence for f in self.fields.values())


@dataclass(frozen=True)
class StatementEntry:
    """One booked bank transaction; amount is signed (debits negative)."""

    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    counterparty_name: str = ""
    counterparty_iban: str = ""
    reference: str = ""
    remittance_info: str = ""
    end_to_end_id: str = ""
    bank_reference: str = ""
    source: str = ""


@dataclass(frozen=True)
class Statement:
    """One account statement: account, balances and entries, from CAMT, MT940 or CSV."""

    account: str
    currency: str
    statement_id: str
    opening_balance: Decimal | None
    closing_balance: Decimal | None
    entries: tuple[StatementEntry, ...]
    source: str = ""


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str = "DE"

    def lines(self) -> tuple[str, ...]:
        return (self.street, f"{self.postal_code} {self.city}")


@dataclass(frozen=True)
class Party:
    """Seller or buyer as printed on a document and written into e-invoice XML."""

    name: str
    address: Address
    vat_id: str = ""
    tax_number: str = ""
    email: str = ""
    iban: str = ""
    bic: str = ""
    bank: str = ""
    customer_number: str = ""
    phone: str = ""
    register: str = ""
    managing_director: str = ""
    contact_name: str = ""  # BT-41: the seller's contact person (else the company name)
    buyer_reference: str = ""  # BT-10: e.g. the Leitweg-ID of a public buyer


@dataclass(frozen=True)
class DocumentLine:
    """A line of an outgoing document (quote, confirmation, delivery note, invoice)."""

    position: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: Decimal
    note: str = ""

    @property
    def net_amount(self) -> Decimal:
        from engine.core.money import round_money

        return round_money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class VatBreakdown:
    rate: Decimal
    basis: Decimal
    tax: Decimal
    category: str = "S"  # UNCL 5305: S standard, AE reverse charge, K intra-EU, Z zero


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    gross: Decimal
    vat: tuple[VatBreakdown, ...]


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything an invoice or credit note shows and its e-invoice XML carries."""

    number: str
    type_code: str  # UNTDID 1001: 380 invoice, 381 credit note
    issue_date: date
    delivery_date: date
    due_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    totals: Totals
    payment_reference: str
    order_reference: str = ""
    preceding_invoice: str = ""
    terms: str = ""
    cash_discount_percent: Decimal | None = None
    cash_discount_days: int | None = None
    language: str = "de"


@dataclass(frozen=True)
class OpenItem:
    """An open receivable as matching and dunning see it: the claim of one invoice."""

    invoice_id: int
    number: str
    customer_id: int
    customer_name: str
    customer_iban: str
    reference: str
    gross_amount: Decimal
    open_amount: Decimal
    issue_date: date
    due_date: date
    currency: str = "EUR"
    # dunning charges (fees, flat fee, interest) of this claim still owed; payments settle
    # them before the principal (§ 367 BGB). open_amount is the principal only.
    charges_open: Decimal = Decimal("0.00")
