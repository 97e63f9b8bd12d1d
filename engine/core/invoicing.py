"""Invoices as data: payment terms with cash discount, the payment reference, and the
InvoiceDocument that the PDF and the e-invoice XML are written from. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from engine.core.checks import rf_reference
from engine.core.money import format_amount
from engine.core.records import DocumentLine, InvoiceDocument, Party
from engine.core.totals import compute_totals


@dataclass(frozen=True)
class Terms:
    days: int
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    def due_date(self, issue: date) -> date:
        return issue + timedelta(days=self.days)

    def text(self, issue: date, gross: Decimal, lang: str) -> str:
        due = self.due_date(issue)
        if self.discount_percent and self.discount_days:
            until = issue + timedelta(days=self.discount_days)
            pay = format_amount(gross - (gross * self.discount_percent / 100), lang)
            if lang == "de":
                return (f"{self.discount_percent.normalize():f} % Skonto bei Zahlung bis "
                        f"{until:%d.%m.%Y} ({pay} EUR), netto zahlbar bis {due:%d.%m.%Y}.")
            return (f"{self.discount_percent.normalize():f} % cash discount if paid by "
                    f"{until:%d %b %Y} ({pay} EUR), net due {due:%d %b %Y}.")
        if lang == "de":
            return f"Zahlbar ohne Abzug bis {due:%d.%m.%Y}."
        return f"Payable without deduction by {due:%d %b %Y}."


def build_invoice(*, number: str, type_code: str, issue_date: date, delivery_date: date,
                  seller: Party, buyer: Party, lines: Sequence[DocumentLine], terms: Terms,
                  currency: str, language: str, order_reference: str = "",
                  preceding_invoice: str = "") -> InvoiceDocument:
    totals = compute_totals(lines)
    return InvoiceDocument(
        number=number, type_code=type_code, issue_date=issue_date, delivery_date=delivery_date,
        due_date=terms.due_date(issue_date), currency=currency, seller=seller, buyer=buyer,
        lines=tuple(lines), totals=totals, payment_reference=rf_reference(number),
        order_reference=order_reference, preceding_invoice=preceding_invoice,
        terms=terms.text(issue_date, totals.gross, language),
        cash_discount_percent=terms.discount_percent, cash_discount_days=terms.discount_days,
        language=language)
