"""Payment matching: candidate allocations for one bank credit against open items. Pure.

Searches, strongest first: a structured RF reference; an invoice number in the text,
tolerant of OCR and typing slips (O/0, I/1, missing dashes, spaces); a remittance advice
that names the invoices; the payer's IBAN with an amount that equals one open item or a
small set of them. Each candidate carries a confidence and a reason; the policy (what
to book, what to ask a person) lives in rules/matching.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import combinations

from engine.core.records import OpenItem, RemittanceLine

ZERO = Decimal("0.00")
MAX_SUBSET = 4  # invoices in one payment by amount alone
MAX_ITEMS_FOR_SUBSETS = 25


@dataclass(frozen=True)
class Payment:
    amount: Decimal
    currency: str
    counterparty_iban: str
    counterparty_name: str
    text: str  # reference + remittance information


@dataclass(frozen=True)
class Advice:
    advice_id: int
    customer_id: int | None
    payer_name: str
    total: Decimal
    lines: tuple[RemittanceLine, ...]


@dataclass(frozen=True)
class Candidate:
    kind: str  # rf_reference invoice_number remittance iban_amount iban_sum
    confidence: Decimal
    allocations: tuple[tuple[OpenItem, Decimal], ...]  # (item, amount applied)
    reason: str
    advice_id: int | None = None

    @property
    def open_total(self) -> Decimal:
        return sum((item.open_amount for item, _ in self.allocations), ZERO)


def normalise(text: str) -> str:
    """Upper case, letters that OCR confuses with digits mapped to them, no separators."""
    table = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
    return re.sub(r"[^A-Z0-9]", "", text.upper()).translate(table)


def _applied(items: Sequence[OpenItem], amount: Decimal) -> tuple[tuple[OpenItem, Decimal], ...]:
    """Spread the amount over the items, oldest first; overpayment stays unapplied."""
    out, left = [], amount
    for item in sorted(items, key=lambda i: (i.due_date, i.number)):
        take = min(left, item.open_amount)
        if take > ZERO:
            out.append((item, take))
            left -= take
    return tuple(out)


def candidates(payment: Payment, items: Sequence[OpenItem],
               advices: Sequence[Advice] = ()) -> list[Candidate]:
    """All plausible candidates, best first."""
    if payment.amount <= ZERO:
        return []
    found: list[Candidate] = []
    text = payment.text.upper()
    squashed = normalise(payment.text)
    for item in items:
        if item.reference and item.reference.replace(" ", "") in text.replace(" ", ""):
            found.append(Candidate("rf_reference", Decimal("1.00"),
                                   _applied([item], payment.amount),
                                   f"structured reference {item.reference} of {item.number}"))
    named = [i for i in items if normalise(i.number) and normalise(i.number) in squashed]
    if named and not found:
        exact = item_numbers_exact(payment.text, named)
        confidence = Decimal("0.95") if exact else Decimal("0.85")
        found.append(Candidate("invoice_number", confidence, _applied(named, payment.amount),
                               "invoice number" + ("s " if len(named) > 1 else " ")
                               + ", ".join(i.number for i in named) + " in the payment text"
                               + ("" if exact else " (read past a slip)")))
    found += _advice_candidates(payment, items, advices)
    if not found:
        found += _amount_candidates(payment, items)
    return sorted(found, key=lambda c: c.confidence, reverse=True)


def item_numbers_exact(text: str, items: Sequence[OpenItem]) -> bool:
    return all(i.number.upper() in text.upper() for i in items)


def _advice_candidates(payment: Payment, items: Sequence[OpenItem],
                       advices: Sequence[Advice]) -> list[Candidate]:
    by_number = {normalise(i.number): i for i in items}
    out = []
    for advice in advices:
        if advice.total != payment.amount:
            continue
        chosen = [(by_number[normalise(line.invoice_number)], line.amount)
                  for line in advice.lines if normalise(line.invoice_number) in by_number]
        if len(chosen) != len(advice.lines):
            continue
        same_payer = payment.counterparty_iban and any(
            item.customer_iban == payment.counterparty_iban for item, _ in chosen)
        confidence = Decimal("0.97") if same_payer else Decimal("0.80")
        out.append(Candidate("remittance", confidence, tuple(chosen),
                             f"remittance advice {advice.advice_id} of {advice.payer_name} lists "
                             + ", ".join(i.number for i, _ in chosen), advice.advice_id))
    return out


def _amount_candidates(payment: Payment, items: Sequence[OpenItem]) -> list[Candidate]:
    mine = [i for i in items if payment.counterparty_iban
            and i.customer_iban == payment.counterparty_iban]
    out = [Candidate("iban_amount", Decimal("0.75"), ((i, payment.amount),),
                     f"payer's IBAN is {i.customer_name}'s and the amount equals {i.number}")
           for i in mine if i.open_amount == payment.amount]
    if not out and 1 < len(mine) <= MAX_ITEMS_FOR_SUBSETS:
        for size in range(2, MAX_SUBSET + 1):
            for combo in combinations(mine, size):
                if sum((i.open_amount for i in combo), ZERO) == payment.amount:
                    out.append(Candidate("iban_sum", Decimal("0.70"),
                                         tuple((i, i.open_amount) for i in combo),
                                         "the amount equals the sum of "
                                         + ", ".join(i.number for i in combo)))
            if out:
                break
    return out
