"""What matching proposes for one bank credit: the payment, the candidate bookings with
their reductions (a cash discount with its VAT correction per rate, an advised deduction),
and how candidates are merged and ranked. Pure.

`vat_split` spreads a gross reduction over the VAT rates of the invoice (§ 17 UStG): in
proportion to the gross amount at each rate, in whole cents, the cents left over by
rounding going to the parts with the largest remainders, so the parts add up exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from engine.core.matching_index import claim
from engine.core.money import round_money
from engine.core.records import OpenItem

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
DEFAULT_VAT = ((Decimal("19"), Decimal("1")),)  # when an item's VAT split is not known
CONFLICT = Decimal("0.80")
AMBIGUOUS = Decimal("0.60")
BY_AMOUNT = {("iban", 1): ("iban_amount", Decimal("0.88")), ("iban", 2): ("iban_sum", Decimal("0.86")),
             ("name", 1): ("name_amount", Decimal("0.86")), ("name", 2): ("name_sum", Decimal("0.85"))}
BY_AMOUNT_KINDS = frozenset(kind for kind, _ in BY_AMOUNT.values())


@dataclass(frozen=True)
class Payment:
    """A bank credit as matching sees it; `text` is the reference and remittance text."""

    amount: Decimal
    currency: str
    counterparty_iban: str
    counterparty_name: str
    text: str
    end_to_end_id: str = ""
    booking_date: date | None = None


@dataclass(frozen=True)
class VatPart:
    """The share of a reduction at one VAT rate: gross, and its net and tax parts."""

    rate: Decimal
    gross: Decimal
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Reduction:
    """Money that closes an item without being paid: a cash discount within its period
    (`discount`) or a deduction a remittance advice names (`deduction`)."""

    item: OpenItem
    amount: Decimal
    kind: str
    vat: tuple[VatPart, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One way to book the payment: what goes to which item, how sure, and why."""

    kind: str  # rf_reference end_to_end invoice_number remittance iban_amount iban_sum
    #            name_amount name_sum amount_only
    confidence: Decimal
    allocations: tuple[tuple[OpenItem, Decimal], ...]  # (item, amount of the payment)
    reason: str
    advice_id: int | None = None
    reductions: tuple[Reduction, ...] = ()
    amount: Decimal = ZERO  # the payment
    payer: str = "unknown"  # iban name unknown other: the payer against the items' customer
    discount_days_late: int = 0  # >0: a discount was deducted this many days too late

    @property
    def open_total(self) -> Decimal:
        return sum((claim(item) for item, _ in self.allocations), ZERO)

    @property
    def applied(self) -> Decimal:
        return sum((a for _, a in self.allocations), ZERO)

    @property
    def unapplied(self) -> Decimal:
        """What of the payment no item takes: the customer's credit."""
        return max(self.amount - self.applied, ZERO)

    def reduced(self, kind: str) -> Decimal:
        return sum((r.amount for r in self.reductions if r.kind == kind), ZERO)

    @property
    def difference(self) -> Decimal:
        """Payment minus what the items ask for after discounts and deductions."""
        return self.amount - (self.open_total - self.reduced("discount")
                              - self.reduced("deduction"))

    @property
    def invoices(self) -> tuple[int, ...]:
        return tuple(sorted(item.invoice_id for item, _ in self.allocations))


@dataclass(frozen=True)
class Match:
    """All candidates of one payment, best first, and the customers the payer is."""

    candidates: tuple[Candidate, ...]
    payer_customers: frozenset[int] = field(default_factory=frozenset)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def vat_split(amount: Decimal, vat: Sequence[tuple[Decimal, Decimal]]) -> tuple[VatPart, ...]:
    """A gross reduction spread over the item's VAT rates in proportion to their gross
    amounts (largest remainder: the parts add up to `amount` exactly); each share's tax is
    share × rate / (100 + rate), rounded, and its net the rest (§ 17 UStG)."""
    vat = [(r, g) for r, g in vat if g > 0] or list(DEFAULT_VAT)
    total = sum((g for _, g in vat), ZERO)
    exact = [amount * g / total for _, g in vat]
    shares = [e.quantize(CENT, rounding=ROUND_FLOOR) for e in exact]
    left = int((amount - sum(shares, ZERO)) / CENT)
    for n in sorted(range(len(vat)), key=lambda n: (-(exact[n] - shares[n]), n))[:left]:
        shares[n] += CENT
    parts = []
    for (rate, _), share in zip(vat, shares, strict=True):
        tax = round_money(share * rate / (100 + rate))
        parts.append(VatPart(rate, share, share - tax, tax))
    return tuple(parts)


def spread(items: Sequence[OpenItem], amount: Decimal) -> tuple[tuple[OpenItem, Decimal], ...]:
    """Oldest due first, each item in full (with its open charges) until the money runs
    out; the rest stays over."""
    out, left = [], amount
    for item in items:
        take = min(left, claim(item))
        if take > ZERO:
            out.append((item, take))
            left -= take
    return tuple(out)


def amount_note(c: Candidate) -> str:
    if c.reduced("discount"):
        return f"; cash discount {c.reduced('discount')} within its period"
    if c.discount_days_late > 0:
        return f"; a discount taken {c.discount_days_late} days late is not granted"
    if c.difference < 0:
        return f"; a partial payment, {-c.difference} stay open"
    if c.unapplied > 0:
        return f"; {c.unapplied} more than open, kept as the customer's credit"
    return ""


def with_confidence(c: Candidate, confidence: Decimal, payer: str, reason: str) -> Candidate:
    return Candidate(c.kind, max(ZERO, confidence), c.allocations, reason, c.advice_id,
                     c.reductions, c.amount, payer, c.discount_days_late)


def rank(found: list[Candidate]) -> list[Candidate]:
    """Merge candidates that book the same (two independent signals agree: more sure),
    mark conflicts (a reference the amount contradicts), best first."""
    merged: dict[tuple[tuple[int, Decimal], ...], Candidate] = {}
    for c in found:
        key = tuple(sorted((i.invoice_id, a) for i, a in c.allocations))
        old = merged.get(key)
        if old is None:
            merged[key] = c
        elif old.kind != c.kind and old.advice_id is None and c.advice_id is None:
            ref, other = (old, c) if old.kind not in BY_AMOUNT_KINDS else (c, old)
            conf = min(Decimal("0.99"), max(ref.confidence, other.confidence) + Decimal("0.05"))
            if ref.confidence >= Decimal("1.00"):
                conf = ref.confidence
            merged[key] = with_confidence(ref, conf, ref.payer if ref.payer != "unknown" else other.payer,
                                f"{ref.reason}; and {other.reason}")
        elif c.confidence > old.confidence:
            merged[key] = c
    out = list(merged.values())
    exact = [c for c in out if c.kind in BY_AMOUNT_KINDS and c.difference == 0]
    named = [c for c in out if c.kind not in BY_AMOUNT_KINDS and c.difference != 0]
    if exact and named:
        out = [with_confidence(c, min(c.confidence, CONFLICT), c.payer, c.reason + (
            "; but the amount fits other open items" if c in named else
            "; but the text names other items")) if c in exact or c in named else c
               for c in out]
    return sorted(out, key=lambda c: (-c.confidence, abs(c.difference), c.invoices))

