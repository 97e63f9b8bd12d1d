"""SQLAlchemy 2 typed models. Money is Numeric(14, 2); quantities Numeric(14, 4).

Rows live here; the core sees records. Times are naive UTC; business dates are dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Money = Numeric(14, 2)
Quantity = Numeric(14, 4)
Rate = Numeric(5, 2)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Stamped:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Stamped, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))  # viewer clerk process_owner finance admin
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))  # user e-mail, or "system:<job>"
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Customer(Stamped, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    street: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="DE")
    vat_id: Mapped[str] = mapped_column(String(20), default="", index=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    iban: Mapped[str] = mapped_column(String(34), default="", index=True)
    b2b: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(2), default="de")
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=14)
    collective_invoice: Mapped[bool] = mapped_column(Boolean, default=False)
    sepa_mandate_id: Mapped[str | None] = mapped_column(String(35))
    sepa_mandate_date: Mapped[date | None] = mapped_column(Date)
    # BT-10 in e-invoices: the Leitweg-ID of a public buyer, else their own reference
    buyer_reference: Mapped[str] = mapped_column(String(100), default="")


class Product(Stamped, Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(10), default="Stk")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("19"))
    stock: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))


class LineColumns:
    """The columns every document line has."""

    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(10))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate)


class TotalsColumns:
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    net_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    gross_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class Quote(Stamped, TotalsColumns, Base):
    __tablename__ = "quotes"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="sent")  # sent accepted expired
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    lines: Mapped[list[QuoteLine]] = relationship(order_by="QuoteLine.position")
    customer: Mapped[Customer] = relationship()


class QuoteLine(LineColumns, Base):
    __tablename__ = "quote_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id"), index=True)


class Document(Stamped, Base):
    """An ingested file: the original is in the blob store under its sha256."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    origin: Mapped[str] = mapped_column(String(40))  # upload mail folder api demo cli
    size: Mapped[int] = mapped_column(Integer)
    file_type: Mapped[str] = mapped_column(String(20), default="")  # sniffed: pdf xml png …
    kind: Mapped[str] = mapped_column(String(30), default="")  # purchase_order …
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    parsed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    arrivals: Mapped[list[DocumentArrival]] = relationship(order_by="DocumentArrival.id")


class DocumentArrival(Base):
    """Each time the same bytes arrived: a second arrival links, it does not re-process."""

    __tablename__ = "document_arrivals"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    origin: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Order(Stamped, TotalsColumns, Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_reference: Mapped[str] = mapped_column(String(60), default="")  # their PO number
    order_date: Mapped[date] = mapped_column(Date)
    requested_date: Mapped[date | None] = mapped_column(Date)
    quote_id: Mapped[int | None] = mapped_column(ForeignKey("quotes.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    # received pending_approval approved rejected confirmed partially_delivered delivered
    status: Mapped[str] = mapped_column(String(30), default="received", index=True)
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.position")
    customer: Mapped[Customer] = relationship()


class OrderLine(LineColumns, Base):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    delivered_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))
    backordered_quantity: Mapped[Decimal] = mapped_column(Quantity, default=Decimal("0"))


class Approval(Stamped, Base):
    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")  # approved rejected
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str] = mapped_column(Text, default="")


class Delivery(Stamped, Base):
    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    delivery_date: Mapped[date] = mapped_column(Date)
    is_backorder: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="posted")  # posted invoiced deferred
    note_sha256: Mapped[str | None] = mapped_column(String(64))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))
    lines: Mapped[list[DeliveryLine]] = relationship()
    order: Mapped[Order] = relationship()


class DeliveryLine(Base):
    __tablename__ = "delivery_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    order_line: Mapped[OrderLine] = relationship()


class NumberSequence(Base):
    """Gapless numbers: the row is locked in the transaction that issues the number."""

    __tablename__ = "number_sequences"
    series: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class Invoice(Stamped, TotalsColumns, Base):
    """An issued invoice. Never changed after issue (GoBD): corrections by credit note."""

    __tablename__ = "invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    issue_date: Mapped[date] = mapped_column(Date)
    delivery_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    payment_reference: Mapped[str] = mapped_column(String(35), unique=True)
    cash_discount_percent: Mapped[Decimal | None] = mapped_column(Rate)
    cash_discount_days: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open paid
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    xml_sha256: Mapped[str | None] = mapped_column(String(64))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position")
    customer: Mapped[Customer] = relationship()


class InvoiceLine(LineColumns, Base):
    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    delivery_line_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_lines.id"))


class CreditNote(Stamped, TotalsColumns, Base):
    __tablename__ = "credit_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    xml_sha256: Mapped[str | None] = mapped_column(String(64))
    lines: Mapped[list[CreditNoteLine]] = relationship(order_by="CreditNoteLine.position")
    invoice: Mapped[Invoice] = relationship()


class CreditNoteLine(LineColumns, Base):
    __tablename__ = "credit_note_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(ForeignKey("credit_notes.id"), index=True)


class BankStatement(Stamped, Base):
    __tablename__ = "bank_statements"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    account: Mapped[str] = mapped_column(String(34))
    statement_id: Mapped[str] = mapped_column(String(60))
    currency: Mapped[str] = mapped_column(String(3))
    opening_balance: Mapped[Decimal | None] = mapped_column(Money)
    closing_balance: Mapped[Decimal | None] = mapped_column(Money)


class BankTransaction(Stamped, Base):
    __tablename__ = "bank_transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str] = mapped_column(String(200), default="")
    counterparty_iban: Mapped[str] = mapped_column(String(34), default="", index=True)
    reference: Mapped[str] = mapped_column(String(60), default="")
    remittance_info: Mapped[str] = mapped_column(Text, default="")
    end_to_end_id: Mapped[str] = mapped_column(String(60), default="")
    # new matched partially_matched review ignored
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    match_confidence: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    suggestions: Mapped[list[Any]] = mapped_column(default=list)


class Allocation(Stamped, Base):
    """Money applied to an invoice: a payment (many to many), a deduction, a credit note."""

    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"))
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("credit_notes.id"))
    # set: the money settles this dunning charge (§ 367 BGB) of the invoice's claim
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    kind: Mapped[str] = mapped_column(String(20))  # payment deduction credit_note
    created_by: Mapped[str] = mapped_column(String(254))  # "auto" or a user's e-mail
    # a cash discount's VAT correction (§ 17 UStG): one allocation per rate of the invoice
    tax_rate: Mapped[Decimal | None] = mapped_column(Rate)
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)
    # set: the money comes from this customer credit (kind "credit")
    credit_id: Mapped[int | None] = mapped_column(ForeignKey("customer_credits.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CustomerCredit(Stamped, Base):
    """Money a customer paid beyond its open items, kept as its credit until it is applied
    to an invoice (`remaining` falls) or refunded."""

    __tablename__ = "customer_credits"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"),
                                                       index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)
    remaining: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open used refunded void
    created_by: Mapped[str] = mapped_column(String(254))


class RemittanceAdvice(Stamped, Base):
    __tablename__ = "remittance_advices"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    payer_name: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[str] = mapped_column(String(60), default="")
    advice_date: Mapped[date | None] = mapped_column(Date)
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open applied
    lines: Mapped[list[RemittanceAdviceLine]] = relationship()


class RemittanceAdviceLine(Base):
    __tablename__ = "remittance_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    advice_id: Mapped[int] = mapped_column(ForeignKey("remittance_advices.id"), index=True)
    invoice_number: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(Money)
    deduction: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class DunningLetter(Stamped, Base):
    """One letter per customer and run, listing every overdue invoice."""

    __tablename__ = "dunning_letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    letter_date: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(Integer)
    total_open: Mapped[Decimal] = mapped_column(Money)
    fees: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    flat_fees: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class DunningNotice(Stamped, Base):
    """One reminder level for one invoice: the unique key makes it exactly once."""

    __tablename__ = "dunning_notices"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("dunning_letters.id"))
    notice_date: Mapped[date] = mapped_column(Date)
    open_amount: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # claimed by law, as their own items: the invoice itself never changes
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    interest_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("0"))
    interest_from: Mapped[date | None] = mapped_column(Date)
    flat_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))


class Charge(Stamped, Base):
    """A dunning fee, the § 288 (5) flat fee or default interest, claimed by a letter as a
    receivable of its own (with its own number) on an invoice's claim. Never changed:
    a correction is a cancelling entry (negative amount, `cancels_id`). The key makes
    each charge exactly once (fee per invoice and level, flat fee per claim, interest
    per claim and first day)."""

    __tablename__ = "charges"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("dunning_letters.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("dunning_notices.id"))
    kind: Mapped[str] = mapped_column(String(20))  # fee flat_fee interest
    amount: Mapped[Decimal] = mapped_column(Money)
    charge_date: Mapped[date] = mapped_column(Date)
    interest_rate: Mapped[Decimal | None] = mapped_column(Rate)
    interest_from: Mapped[date | None] = mapped_column(Date)
    interest_to: Mapped[date | None] = mapped_column(Date)
    cancels_id: Mapped[int | None] = mapped_column(ForeignKey("charges.id"))
    created_by: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")


class Hold(Stamped, Base):
    """Stops dunning: a dispute (with a reason), a promise to pay until a date (pauses), or
    a customer's dunning block. Who placed it and who released it, and when."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # dispute promise block
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    until: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(254))
    released_at: Mapped[datetime | None] = mapped_column(DateTime)
    released_by: Mapped[str | None] = mapped_column(String(254))


class Task(Stamped, Base):
    """Work for a person: an escalation, an approval, a review. Once per subject and kind."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("kind", "object_type", "object_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # escalation reescalation approval_overdue review_overdue no_statement
    role: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(300))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))


class DecisionRow(Stamped, Base):
    """An automated decision with its inputs, trace and the sha256 of the rule set."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    rule_set: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(60))
    effects: Mapped[list[Any]] = mapped_column(default=list)
    trace: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    today: Mapped[date] = mapped_column(Date)


class RuleSetVersion(Base):
    """Every activation of a rule set: who, when, sha256, the text and the diff. The chain
    uses only the row marked active for each event; rollback activates an earlier row."""

    __tablename__ = "rule_set_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    event: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    activated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    activated_by: Mapped[str] = mapped_column(String(254))
    diff: Mapped[str] = mapped_column(Text, default="")


class OutboxMessage(Stamped, Base):
    """Outgoing mail. The idempotency key makes each message go out at most once."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(30))  # confirmation invoice reminder …
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any]] = mapped_column(default=list)  # [{filename, sha256, type}]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ArchiveEntry(Base):
    """Every issued file, hash-chained (GoBD): each entry's chain hash covers the previous
    one, so changing or removing any archived document afterwards is detectable."""

    __tablename__ = "archive"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64), unique=True)
    archived_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Blob(Base):
    """Originals and issued files when the blob store is the database (at scale)."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ApiToken(Stamped, Base):
    """A token for the JSON API: only its sha256 is kept; the token is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(30))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(254))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PortalLink(Stamped, Base):
    """A customer's signed portal link: valid until it expires or is revoked."""

    __tablename__ = "portal_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(254))


class LoginFailure(Base):
    """A failed sign-in, kept for the login rate limit (shared by every web process)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
