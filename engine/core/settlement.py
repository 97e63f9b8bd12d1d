"""How payments settle a claim (§367 BGB) and several claims (§366 BGB). Pure.

§367 (1): a payment that does not cover everything owed on one claim settles the costs
first, then the interest, then the principal. (If the debtor names another order, the
creditor may refuse the payment, §367 (2); this module applies the statutory order.)
Costs are dunning fees, the §288 (5) flat fee and other costs of pursuit.

`run_claim` replays one claim's history (charges and payments, in date order) with
default interest accruing on the principal only (§289: no interest on interest or costs).
Paying interest therefore never lowers the principal that bears interest; only money
that reaches the principal does. Day conventions are those of `engine.core.interest`:
an event on day D changes the interest-bearing principal from D + 1 on, interest is
accrued through the day of each event before the event is applied, and the interest
owed is the exact accrual rounded half up to cents (cents paid are subtracted from it,
so no fraction of a cent is ever lost or counted twice). On one day, charges come
before payments; otherwise events keep their given order.

§366 (2), when the debtor names no claim: the due claim first, among those the one with
less security for the creditor, then the more burdensome for the debtor, then the older
one, and proportionally among equals. `allocate` implements the practical version
every ledger uses: claims the debtor named first (§366 (1)), then oldest due date
first (which also puts due claims before claims not yet due), ties in the order given. Security and
burden are not modelled (invoices of one customer rarely differ in either); whatever a
named claim does not need goes on in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

from engine.core.interest import interest
from engine.core.money import ZERO, round_money


class Settlement(NamedTuple):
    """What is left of each part after a payment, and what the payment did not need."""

    costs_left: Decimal
    interest_left: Decimal
    principal_left: Decimal
    unapplied: Decimal


def apply_payment(
    costs: Decimal, interest: Decimal, principal: Decimal, payment: Decimal
) -> Settlement:
    """Settle costs, then interest, then principal (§367 (1) BGB) with `payment`."""
    if payment < 0:
        raise ValueError(f"a payment cannot be negative: {payment}")
    if min(costs, interest, principal) < 0:
        raise ValueError("costs, interest and principal owed cannot be negative")
    left = payment
    parts = []
    for owed in (costs, interest, principal):
        paid = min(owed, left)
        left -= paid
        parts.append(owed - paid)
    return Settlement(parts[0], parts[1], parts[2], left)


@dataclass(frozen=True)
class Charge:
    """Something the debtor owes more (or less, when negative: a credit note or waiver)."""

    day: date
    amount: Decimal
    kind: Literal["principal", "costs"] = "principal"
    note: str = ""


@dataclass(frozen=True)
class Payment:
    """Money received for this claim on `day`."""

    day: date
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class ClaimState:
    """The claim after one event (or at `until` when `event` is None). Amounts in cents."""

    day: date
    event: Charge | Payment | None
    costs: Decimal
    interest: Decimal  # accrued and not yet paid
    principal: Decimal
    credit: Decimal = ZERO  # paid beyond everything owed; not applied to later charges
    interest_accrued: Decimal = ZERO  # all default interest so far, paid or not
    to_costs: Decimal = ZERO  # how this event's payment was applied
    to_interest: Decimal = ZERO
    to_principal: Decimal = ZERO

    @property
    def owed(self) -> Decimal:
        return self.costs + self.interest + self.principal


@dataclass
class _Ledger:
    costs: Decimal = ZERO
    principal: Decimal = ZERO
    credit: Decimal = ZERO
    accrued: Decimal = Decimal("0")  # exact
    interest_paid: Decimal = ZERO
    through: date | None = None  # interest accrued through this day
    steps: list[ClaimState] = field(default_factory=list)

    def interest_owed(self) -> Decimal:
        return round_money(self.accrued) - self.interest_paid

    def accrue(self, day: date, start: date | None, b2b: bool, arose_on: date | None) -> None:
        if start is None:
            return
        first = start if self.through is None else max(start, self.through + timedelta(days=1))
        if first <= day:
            result = interest(
                [(first - timedelta(days=1), self.principal)], first, day, b2b, arose_on=arose_on
            )
            self.accrued += result.exact
        if self.through is None or day > self.through:
            self.through = day

    def book(self, kind: str, amount: Decimal) -> None:
        if kind == "principal":
            self.principal += amount
            if self.principal < 0:
                self.credit, self.principal = self.credit - self.principal, ZERO
        else:
            self.costs += amount
            if self.costs < 0:
                self.credit, self.costs = self.credit - self.costs, ZERO

    def state(
        self,
        day: date,
        event: Charge | Payment | None,
        paid: tuple[Decimal, Decimal, Decimal] = (ZERO, ZERO, ZERO),
    ) -> ClaimState:
        return ClaimState(
            day,
            event,
            self.costs,
            self.interest_owed(),
            self.principal,
            self.credit,
            round_money(self.accrued),
            *paid,
        )


def run_claim(
    events: Sequence[Charge | Payment],
    *,
    interest_from: date | None,
    b2b: bool,
    until: date | None = None,
    arose_on: date | None = None,
) -> tuple[ClaimState, ...]:
    """Replay one claim: the state after each event in date order, plus one at `until`.

    `interest_from` is the first day of default interest (`default.default_start`), or
    None when the debtor is not in default (no interest accrues). The invoice amount is
    a principal `Charge` (dated, e.g., on the invoice date); fees are `costs` charges.
    """
    ordered = sorted(events, key=lambda e: (e.day, isinstance(e, Payment)))
    if until is not None and ordered and until < ordered[-1].day:
        raise ValueError(
            f"until {until.isoformat()} is before the last event ({ordered[-1].day.isoformat()})"
        )
    ledger = _Ledger()
    for event in ordered:
        ledger.accrue(event.day, interest_from, b2b, arose_on)
        if isinstance(event, Charge):
            ledger.book(event.kind, event.amount)
            ledger.steps.append(ledger.state(event.day, event))
            continue
        if event.amount <= 0:
            raise ValueError(f"payment on {event.day.isoformat()} must be positive: {event.amount}")
        owed_interest = ledger.interest_owed()
        s = apply_payment(ledger.costs, owed_interest, ledger.principal, event.amount)
        paid = (
            ledger.costs - s.costs_left,
            owed_interest - s.interest_left,
            ledger.principal - s.principal_left,
        )
        ledger.costs, ledger.principal = s.costs_left, s.principal_left
        ledger.interest_paid += paid[1]
        ledger.credit += s.unapplied
        ledger.steps.append(ledger.state(event.day, event, paid))
    if until is not None:
        ledger.accrue(until, interest_from, b2b, arose_on)
        ledger.steps.append(ledger.state(until, None))
    return tuple(ledger.steps)


@dataclass(frozen=True)
class OpenClaim:
    """One claim of a debtor for §366: its key (invoice number), due date and amount owed."""

    key: str
    due_date: date
    owed: Decimal


def allocation_order(
    claims: Sequence[OpenClaim], designated: Sequence[str] = ()
) -> list[OpenClaim]:
    """The order in which a payment settles `claims` (see the module docstring)."""
    named = {key: i for i, key in enumerate(designated)}
    indexed = list(enumerate(claims))

    def rank(item: tuple[int, OpenClaim]) -> tuple[int, int, date, int]:
        i, c = item
        if c.key in named:
            return (0, named[c.key], c.due_date, i)
        return (1, 0, c.due_date, i)  # a claim already due is older than one not yet due

    return [c for _, c in sorted(indexed, key=rank)]


def allocate(
    payment: Decimal, claims: Sequence[OpenClaim], designated: Sequence[str] = ()
) -> tuple[dict[str, Decimal], Decimal]:
    """Split `payment` across claims (§366 BGB): amounts per key in the order settled
    (claims that get nothing are left out) and what no claim needed."""
    if payment < 0:
        raise ValueError(f"a payment cannot be negative: {payment}")
    left = payment
    out: dict[str, Decimal] = {}
    for claim in allocation_order(claims, designated):
        if left <= 0:
            break
        share = min(max(claim.owed, ZERO), left)
        if share > 0:
            out[claim.key] = out.get(claim.key, ZERO) + share
            left -= share
    return out, left


@dataclass(frozen=True)
class OpenPart:
    """One part of a claim still owed: a charge (key: its id) or the principal (key None)."""

    key: int | None
    kind: Literal["costs", "interest", "principal"]
    owed: Decimal


def split_payment(payment: Decimal, parts: Sequence[OpenPart]) -> list[tuple[int | None, Decimal]]:
    """What `payment` settles of one claim (§367 (1) BGB): costs, then interest, then the
    principal (`apply_payment`); within costs and within interest the parts in the order
    given (oldest first). The result is in that order; parts that get nothing are left out. What no part needs goes to
    the principal (it leaves a credit there, nothing is lost): the amounts always add up
    to `payment`."""
    owed = {kind: sum((max(p.owed, ZERO) for p in parts if p.kind == kind), ZERO)
            for kind in ("costs", "interest", "principal")}
    s = apply_payment(owed["costs"], owed["interest"], owed["principal"], payment)
    budget = {"costs": owed["costs"] - s.costs_left,
              "interest": owed["interest"] - s.interest_left,
              "principal": owed["principal"] - s.principal_left + s.unapplied}
    out: list[tuple[int | None, Decimal]] = []
    for part in [p for kind in ("costs", "interest") for p in parts if p.kind == kind]:
        share = min(max(part.owed, ZERO), budget[part.kind])
        if share > 0:
            out.append((part.key, share))
            budget[part.kind] -= share
    if budget["principal"] > 0:
        out.append((None, budget["principal"]))
    return out
