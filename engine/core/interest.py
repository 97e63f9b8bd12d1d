"""Statutory default interest (§288 BGB) and the €40 flat fee (§288 (5) BGB). Pure.

Rate: the base rate (§247 BGB, see `base_rates`) in force on each day, plus 9 points when
no consumer is party to the transaction (§288 (2), claims for payment of a price), plus 5
points otherwise (§288 (1)). For obligations that arose before 29 July 2014 business
debtors owe base + 8 (Art. 229 §34 EGBGB); pass `arose_on` to get that.

Conventions (each one tested in tests/test_interest.py):

- Days: interest is owed for every calendar day from `start` to `end`, both included.
  `start` is the first day of default as `engine.core.default.default_start` returns it.
- Balance: an event (invoice, payment, credit note) dated day D changes the interest-
  bearing balance from D + 1 on. The day of an event is not counted for the new state
  (§187 (1) BGB by analogy): a debt paid on 1 March still bears interest for 1 March, and
  a payment on the last day of default leaves the whole period unchanged. A balance below
  zero (overpaid) bears no interest.
- Day count: act/365 fixed. Each day earns balance × rate / 100 / 365, in leap years
  too (29 February is a day like any other; a full leap year earns 366/365 of the annual
  rate). This is the usual German practice for §288 interest and what most court and
  lawyer calculators do; act/act would divide by 366 in leap years.
- Periods split at every base-rate change (1 January, 1 July) and every change of the
  balance; neighbouring periods with the same balance and rate are merged.
- Rounding: nothing is rounded until the end. `Period.amount` is the exact share of a
  period (not rounded: round it yourself for display); `InterestResult.total` is the sum
  of the exact shares rounded half up to cents once. So splitting a stretch of time into
  more periods never changes the total.
- No compound interest (§289 BGB): only principal bears interest, never interest, fees
  or costs. That is the caller's job: pass principal deltas only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from engine.core.base_rates import base_rate_on, changes_between, is_beyond_table
from engine.core.money import ZERO, round_money

YEAR_DAYS = 365
B2B_POINTS = Decimal("9")
CONSUMER_POINTS = Decimal("5")
B2B_POINTS_BEFORE_2014 = Decimal("8")
LATE_PAYMENT_ACT = date(2014, 7, 29)  # §288 (2) +9 and §288 (5) apply to obligations from here on

FLAT_FEE = Decimal("40.00")
"""§288 (5) BGB: a creditor whose debtor is not a consumer may claim a flat €40 once per
claim for payment (Entgeltforderung) in default, also for each instalment of a payment
plan. The fee is credited against damages owed for the costs of legal pursuit (§288 (5)
sentence 3): when a collection agency or lawyer is later charged as damages, the €40 is
deducted from that. It cannot be excluded in advance by contract (§288 (6))."""

Delta = tuple[date, Decimal]
_ONE_DAY = timedelta(days=1)


def points(b2b: bool, arose_on: date | None = None) -> Decimal:
    """Points over the base rate: 9 for business (8 before 29 July 2014), 5 for consumers."""
    if not b2b:
        return CONSUMER_POINTS
    if arose_on is not None and arose_on < LATE_PAYMENT_ACT:
        return B2B_POINTS_BEFORE_2014
    return B2B_POINTS


def default_rate(day: date, b2b: bool, arose_on: date | None = None) -> Decimal:
    """The default interest rate (percent per year) on `day`: base rate + points."""
    return base_rate_on(day) + points(b2b, arose_on)


@dataclass(frozen=True)
class Period:
    """A stretch of days with one balance and one rate; `start` and `end` both included."""

    start: date
    end: date
    days: int
    balance: Decimal
    rate: Decimal  # percent per year
    amount: Decimal  # exact, not rounded: balance × rate × days / 36500

    @property
    def amount_rounded(self) -> Decimal:
        return round_money(self.amount)


@dataclass(frozen=True)
class InterestResult:
    """The interest for a stretch of time: the cent total and the periods it is made of."""

    total: Decimal
    periods: tuple[Period, ...]
    beyond_table: bool = False  # some day lies after the base-rate table's last half-year

    @property
    def exact(self) -> Decimal:
        """The unrounded sum of the periods."""
        return sum((p.amount for p in self.periods), Decimal("0"))


def interest(
    principal_events: Sequence[Delta],
    start: date,
    end: date,
    b2b: bool,
    *,
    arose_on: date | None = None,
) -> InterestResult:
    """Default interest on a principal from `start` to `end` (both days included).

    `principal_events` are (day, delta) pairs: the claim itself (e.g. the invoice amount
    dated on its due date) as a positive delta, payments applied to principal and credit
    notes as negative ones. Events before `start` only set the opening balance; an event
    on day D counts from D + 1 (see the module docstring). `end` before `start` gives zero.
    """
    if end < start:
        return InterestResult(ZERO, ())
    events = sorted(principal_events, key=lambda e: e[0])
    cuts = set(changes_between(start, end))
    cuts.update(d + _ONE_DAY for d, _ in events if start <= d < end)
    bounds = [start, *sorted(cuts), end + _ONE_DAY]

    periods: list[Period] = []
    numerator = Decimal("0")
    for first, after in zip(bounds, bounds[1:], strict=False):
        balance = sum((delta for d, delta in events if d < first), Decimal("0"))
        bearing = max(balance, Decimal("0"))
        rate = default_rate(first, b2b, arose_on)
        days = (after - first).days
        share = bearing * rate * days
        numerator += share
        last = after - _ONE_DAY
        prev = periods[-1] if periods else None
        if prev is not None and prev.balance == balance and prev.rate == rate:
            days += prev.days
            periods[-1] = Period(
                prev.start, last, days, balance, rate, bearing * rate * days / (100 * YEAR_DAYS)
            )
        else:
            periods.append(Period(first, last, days, balance, rate, share / (100 * YEAR_DAYS)))
    total = round_money(numerator / (100 * YEAR_DAYS))
    return InterestResult(total, tuple(periods), beyond_table=is_beyond_table(end))


def simple_interest(
    principal: Decimal, start: date, end: date, b2b: bool, *, arose_on: date | None = None
) -> InterestResult:
    """Interest on a constant principal from `start` to `end` (both included)."""
    return interest([(start - _ONE_DAY, principal)], start, end, b2b, arose_on=arose_on)


def flat_fee(
    b2b: bool, in_default: bool, *, already_charged: bool = False, arose_on: date | None = None
) -> Decimal:
    """The §288 (5) flat fee for one claim: €40 when the debtor is a business, the claim is
    in default and the fee was not charged for this claim before; else 0.00."""
    if not b2b or not in_default or already_charged:
        return ZERO
    if arose_on is not None and arose_on < LATE_PAYMENT_ACT:
        return ZERO
    return FLAT_FEE


def flat_fees(
    claims: Iterable[str], b2b: bool, charged: Collection[str] = ()
) -> dict[str, Decimal]:
    """Flat fees for the claims in default (keys, e.g. invoice numbers): €40 for each claim
    not in `charged`, once each even if a claim is listed twice; empty for consumers."""
    out: dict[str, Decimal] = {}
    for key in claims:
        if key not in out:
            out[key] = flat_fee(b2b, True, already_charged=key in charged)
    return {k: v for k, v in out.items() if v}
