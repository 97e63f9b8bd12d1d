"""The customer account statement (Kontoauszug / offene Posten) as data and as a letter.

`account_statement` is pure: a customer's bookings (invoices and dunning charges as debits;
payments, deductions and credit notes as credits) and their open items in, the statement
for a period out: the balance brought forward from before the period, each booking in the
period with the running balance, the closing balance as of the date, and the items still
open then. Money is Decimal; bookings after `as_of` are not on it.

`statement_pdf` renders it with statement.html (DIN 5008 letter like the others), German or
English by the customer's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from documents.render import WORDS, format_date, render_pdf
from engine.core.money import format_amount
from engine.core.records import Party

ZERO = Decimal("0.00")
# the order of bookings on one day: what is owed first, then what settles it
_ORDER = {"invoice": 0, "fee": 1, "flat_fee": 1, "interest": 1, "credit_note": 2,
          "payment": 3}


@dataclass(frozen=True)
class Booking:
    """One booking on the customer's account: `kind` is invoice, a dunning charge (fee,
    flat_fee, interest), credit_note, payment, or another allocation kind (deduction,
    discount, import)."""

    day: date
    kind: str
    reference: str  # the document's number or the bank's reference
    detail: str = ""  # e.g. the invoice a payment or credit note belongs to
    debit: Decimal = ZERO
    credit: Decimal = ZERO


@dataclass(frozen=True)
class OpenPosition:
    """An item still open as of the statement's date."""

    kind: str  # invoice, or the charge's kind
    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    open_amount: Decimal


@dataclass(frozen=True)
class Row:
    booking: Booking
    balance: Decimal


@dataclass(frozen=True)
class AccountStatement:
    customer: Party
    language: str
    currency: str
    start: date
    as_of: date
    opening_balance: Decimal
    rows: tuple[Row, ...]
    closing_balance: Decimal
    open_items: tuple[OpenPosition, ...]

    @property
    def open_total(self) -> Decimal:
        return sum((i.open_amount for i in self.open_items), ZERO)


def account_statement(customer: Party, bookings: Iterable[Booking],
                      open_items: Iterable[OpenPosition], *, start: date, as_of: date,
                      language: str = "de", currency: str = "EUR") -> AccountStatement:
    """The statement of `customer` for `start`..`as_of` (see the module)."""
    if start > as_of:
        raise ValueError(f"the period starts ({start}) after its end ({as_of})")
    ordered = sorted((b for b in bookings if b.day <= as_of),
                     key=lambda b: (b.day, _ORDER.get(b.kind, 4), b.reference))
    opening = sum((b.debit - b.credit for b in ordered if b.day < start), ZERO)
    balance, rows = opening, []
    for booking in (b for b in ordered if b.day >= start):
        balance += booking.debit - booking.credit
        rows.append(Row(booking, balance))
    items = tuple(sorted((i for i in open_items if i.open_amount > 0 and i.issue_date <= as_of),
                         key=lambda i: (i.due_date, i.number)))
    return AccountStatement(customer, language, currency, start, as_of, opening, tuple(rows),
                            balance, items)



def statement_text(statement: AccountStatement) -> tuple[str, list[str]]:
    """The statement's title and its closing paragraphs."""
    lang, t = statement.language, WORDS[statement.language]
    amount = format_amount(abs(statement.closing_balance), lang)
    if lang == "de":
        if statement.closing_balance > 0:
            closing = [f"Ihr Saldo zum {format_date(statement.as_of, lang)} beträgt {amount} "
                       f"{statement.currency} zu unseren Gunsten. Bitte begleichen Sie die "
                       "fälligen Posten; bereits geleistete Zahlungen sind berücksichtigt, "
                       "soweit sie bis zu diesem Tag eingegangen sind."]
        elif statement.closing_balance < 0:
            closing = [f"Ihr Saldo zum {format_date(statement.as_of, lang)} beträgt {amount} "
                       f"{statement.currency} zu Ihren Gunsten."]
        else:
            closing = [f"Ihr Konto ist zum {format_date(statement.as_of, lang)} ausgeglichen."]
        closing.append("Bitte prüfen Sie den Auszug; Einwände teilen Sie uns bitte "
                       "innerhalb von 30 Tagen mit.")
    else:
        if statement.closing_balance > 0:
            closing = [f"Your balance as of {format_date(statement.as_of, lang)} is {amount} "
                       f"{statement.currency} in our favour. Please settle the items due; "
                       "payments received up to that day are included."]
        elif statement.closing_balance < 0:
            closing = [f"Your balance as of {format_date(statement.as_of, lang)} is {amount} "
                       f"{statement.currency} in your favour."]
        else:
            closing = [f"Your account is settled as of {format_date(statement.as_of, lang)}."]
        closing.append("Please check this statement and tell us of any objection within "
                       "30 days.")
    return f"{t['statement']} {statement.customer.customer_number}", closing


def statement_context(statement: AccountStatement, company: Party,
                      logo: str | None = None) -> dict[str, Any]:
    lang, t = statement.language, WORDS[statement.language]
    title, closing = statement_text(statement)
    return {
        "company": company, "recipient": statement.customer, "lang": lang, "logo": logo,
        "title": title,
        "info": [(t["date"], format_date(statement.as_of, lang)),
                 (t["customer_number"], statement.customer.customer_number),
                 (t["period"], f"{format_date(statement.start, lang)} – "
                               f"{format_date(statement.as_of, lang)}")],
        "statement": statement, "currency": statement.currency, "closing": closing,
        "kind_words": {"invoice": t["invoice"], "credit_note": t["credit_note"],
                       "payment": t["payment"], "fee": t["fee"], "interest": t["interest"],
                       "flat_fee": t["flat_fee"], "deduction": t["deduction"],
                       "discount": t["deduction"], "import": t["payment"]},
    }


def statement_pdf(statement: AccountStatement, company: Party, *,
                  override: str | None = None, logo: str | None = None) -> bytes:
    return render_pdf("statement.html", statement_context(statement, company, logo),
                      override=override)
