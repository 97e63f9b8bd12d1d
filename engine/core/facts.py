"""The facts each event offers to its rule set: name, type, label and description.

The rule loader checks every fact path in a rule against this schema, and the rule
editor uses it for completion. Types: number (Decimal), integer, string, boolean, date.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FactDecl:
    path: str
    type: str
    label: str
    description: str = ""


def _schema(*decls: FactDecl) -> dict[str, FactDecl]:
    return {d.path: d for d in decls}


CUSTOMER = (
    FactDecl("customer.number", "string", "Customer number"),
    FactDecl("customer.b2b", "boolean", "Business customer", "False for consumers (B2C)."),
    FactDecl("customer.country", "string", "Country (ISO 3166 alpha-2)"),
    FactDecl("customer.has_vat_id", "boolean", "Has a VAT id"),
)

FACTS: dict[str, dict[str, FactDecl]] = {
    "order.received": _schema(
        FactDecl("order.net_amount", "number", "Order net amount"),
        FactDecl("order.gross_amount", "number", "Order gross amount"),
        FactDecl("order.discount_percent", "number", "Largest line discount against list price, %"),
        FactDecl("order.line_count", "integer", "Number of lines"),
        FactDecl("order.currency", "string", "Currency (ISO 4217)"),
        FactDecl("order.from_quote", "boolean", "Order refers to one of our quotes"),
        FactDecl("order.quote_deviations", "integer", "Lines that differ from the quote"),
        FactDecl("order.confidence", "number", "Extraction confidence 0..1"),
        *CUSTOMER,
        FactDecl("customer.credit_limit", "number", "Credit limit"),
        FactDecl("customer.open_amount", "number", "Open receivables (gross)"),
        FactDecl("customer.overdue_amount", "number", "Overdue receivables (gross)"),
        FactDecl("customer.order_count", "integer", "Orders before this one"),
    ),
    "delivery.posted": _schema(
        FactDecl("delivery.net_amount", "number", "Delivered net amount"),
        FactDecl("delivery.completes_order", "boolean", "The order is now fully delivered"),
        FactDecl("delivery.is_backorder", "boolean", "Ships a back-ordered rest"),
        *CUSTOMER,
        FactDecl("customer.collective_invoice", "boolean", "Invoiced monthly in one invoice"),
        FactDecl("customer.payment_terms_days", "integer", "Payment terms, days net"),
    ),
    "bank.transaction": _schema(
        FactDecl("transaction.amount", "number", "Amount (credits positive)"),
        FactDecl("transaction.currency", "string", "Currency"),
        FactDecl("match.kind", "string", "How the best candidate was found",
                 "rf_reference, invoice_number, remittance, iban_amount, iban_sum, none"),
        FactDecl("match.confidence", "number", "Confidence of the best candidate 0..1"),
        FactDecl("match.difference", "number", "Payment minus the open amount of the candidate"),
        FactDecl("match.invoice_count", "integer", "Invoices in the candidate"),
        FactDecl("match.customer_known", "boolean", "The payer is a known customer"),
    ),
    "dunning.run": _schema(
        FactDecl("invoice.days_overdue", "integer", "Days since the due date"),
        FactDecl("invoice.open_amount", "number", "Open amount"),
        FactDecl("invoice.gross_amount", "number", "Invoice gross amount"),
        FactDecl("invoice.level", "integer", "Highest reminder level sent so far (0: none)"),
        FactDecl("invoice.days_since_last_notice", "integer", "Days since the last reminder"),
        FactDecl("invoice.on_hold", "boolean", "Disputed, promised or blocked"),
        FactDecl("invoice.escalated", "boolean", "Already handed to a person"),
        *CUSTOMER,
    ),
}
