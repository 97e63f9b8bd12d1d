"""Dunning as data: the facts one overdue invoice offers to rules/dunning.yaml, the plan a
run would carry out (letters grouped per customer, escalations), computed the same way for
the database and for files. Pure: `today` is an argument."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.core.default import default_start
from engine.core.interest import default_rate, flat_fee, interest
from engine.core.money import round_money
from engine.core.records import OpenItem
from engine.core.rules import Action, Decision, RuleSet, evaluate

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class History:
    level: int = 0  # highest reminder level sent
    last_notice: date | None = None
    escalated: bool = False
    on_hold: bool = False
    first_notice: date | None = None
    flat_fee_charged: bool = False
    interest_claimed_to: date | None = None  # last day of the last interest charge


@dataclass(frozen=True)
class Claim:
    """One open invoice with what dunning needs to know about it and its customer.

    `payments` are the dated reductions of the principal (payments, credit notes) that
    the open amount already reflects; interest is recalculated across them.
    """

    item: OpenItem
    customer_number: str
    b2b: bool
    history: History
    country: str = "DE"
    has_vat_id: bool = True
    payments: tuple[tuple[date, Decimal], ...] = ()


@dataclass(frozen=True)
class Default:
    """What the law adds to a claim by `today`: §286 default, §288 interest and flat fee."""

    since: date | None  # first day of the interest claimed now; None: not in default (yet)
    interest: Decimal  # claimed now: from `since` to the letter's day
    rate: Decimal
    flat_fee: Decimal  # claimed now (once per claim; later letters list it as a charge)
    beyond_rate_table: bool = False
    flat_fee_new: bool = False  # this letter is the first to claim it


def legal_default(claim: Claim, today: date, *, claim_interest: bool = True,
                  claim_flat_fee: bool = True) -> Default:
    """Default from the day after the due date (the invoice's terms fix it by the calendar)
    or after the first reminder; interest on the principal as it was reduced by payments
    (only payments that reached the principal: § 289, § 367), from the day after the last
    interest already claimed as a charge, so no day is claimed twice; the €40 flat fee
    once per claim against businesses. A rule may waive either claim."""
    item, history = claim.item, claim.history
    since = _default_since(item.due_date, item.issue_date, claim.b2b, history.first_notice)
    if since is None or since > today:
        return Default(None, ZERO, ZERO, ZERO)
    if history.interest_claimed_to is not None:
        since = max(since, history.interest_claimed_to + timedelta(days=1))
    if not claim_interest or since > today:
        total, beyond = ZERO, False
    elif claim.payments:
        paid = sum((amount for _, amount in claim.payments), ZERO)
        events = [(item.due_date, item.open_amount + paid)]
        events += [(day, -amount) for day, amount in claim.payments]
        result = interest(events, since, today, claim.b2b)
        total, beyond = result.total, result.beyond_table
    else:  # interest is linear in a constant principal: one factor per (since, today)
        factor, beyond = _per_unit(since, today, claim.b2b)
        total = round_money(item.open_amount * factor)
    fee = _flat_fee(claim.b2b) if claim_flat_fee and not history.flat_fee_charged else ZERO
    return Default(since, total, _rate(today, claim.b2b), fee, beyond, fee > 0)


@lru_cache(maxsize=16)
def _flat_fee(b2b: bool) -> Decimal:
    return flat_fee(b2b, True)


@lru_cache(maxsize=1024)
def _rate(today: date, b2b: bool) -> Decimal:
    return default_rate(today, b2b)


@lru_cache(maxsize=8192)
def _default_since(due: date, issued: date, b2b: bool, first_notice: date | None) -> date | None:
    """Our invoices tell consumers about the 30-day rule, so the notice counts as given."""
    return default_start(due, issued, b2b, True, first_notice)


@lru_cache(maxsize=8192)
def _per_unit(since: date, today: date, b2b: bool) -> tuple[Decimal, bool]:
    """The exact interest on 1 EUR from `since` to `today` (rates and days as the law says)."""
    result = interest([(since - timedelta(days=1), Decimal(1))], since, today, b2b)
    return result.exact, result.beyond_table


def invoice_facts(item: OpenItem, history: History, today: date) -> dict[str, object]:
    since_last = (today - history.last_notice).days if history.last_notice else 9999
    return {
        "days_overdue": (today - item.due_date).days,
        "open_amount": item.open_amount,
        "gross_amount": item.gross_amount,
        "level": history.level,
        "days_since_last_notice": since_last,
        "on_hold": history.on_hold,
        "escalated": history.escalated,
    }


def claim_facts(claim: Claim, today: date) -> dict[str, dict[str, Any]]:
    return {"invoice": invoice_facts(claim.item, claim.history, today),
            "customer": {"number": claim.customer_number, "b2b": claim.b2b,
                         "country": claim.country, "has_vat_id": claim.has_vat_id}}


@dataclass(frozen=True)
class Reminder:
    item: OpenItem
    level: int
    fee: Decimal
    rule_id: str
    legal: Default = Default(None, ZERO, ZERO, ZERO)


@dataclass(frozen=True)
class Escalation:
    claim: Claim
    role: str
    due_in_days: int
    rule_id: str


@dataclass(frozen=True)
class Letter:
    customer_id: int
    customer_number: str
    level: int
    fee: Decimal
    reminders: tuple[Reminder, ...]
    # the customer's claims whose principal is paid but whose charges are still open
    charges_only: tuple[OpenItem, ...] = ()

    @property
    def open_total(self) -> Decimal:
        return sum((r.item.open_amount for r in self.reminders), ZERO)

    @property
    def charges_open(self) -> Decimal:
        """Charges claimed by earlier letters and still owed (listed with their numbers)."""
        return (sum((r.item.charges_open for r in self.reminders), ZERO)
                + sum((i.charges_open for i in self.charges_only), ZERO))

    @property
    def interest(self) -> Decimal:
        return sum((r.legal.interest for r in self.reminders), ZERO)

    @property
    def flat_fees(self) -> Decimal:
        return sum((r.legal.flat_fee for r in self.reminders), ZERO)

    @property
    def total_claim(self) -> Decimal:
        return self.open_total + self.charges_open + self.fee + self.interest + self.flat_fees


@dataclass(frozen=True)
class Considered:
    """A claim the rules looked at, with the facts and the decision (for the record)."""

    claim: Claim
    facts: dict[str, dict[str, Any]]
    decision: Decision


@dataclass(frozen=True)
class Plan:
    letters: tuple[Letter, ...]
    escalations: tuple[Escalation, ...]
    considered: tuple[Considered, ...]


def letters(reminders: Sequence[Reminder], numbers: dict[int, str] | None = None,
            charges_only: Sequence[OpenItem] = ()) -> list[Letter]:
    """One letter per customer; its level is the highest, its fee the highest (charged once).
    A letter also lists the customer's claims with only charges left (`charges_only`);
    those alone never make a letter."""
    by_customer: dict[int, list[Reminder]] = {}
    for r in reminders:
        by_customer.setdefault(r.item.customer_id, []).append(r)
    leftovers: dict[int, list[OpenItem]] = {}
    for item in charges_only:
        leftovers.setdefault(item.customer_id, []).append(item)
    return [Letter(cid, (numbers or {}).get(cid, ""), max(r.level for r in rs),
                   max(r.fee for r in rs), tuple(sorted(rs, key=lambda r: r.item.due_date)),
                   tuple(leftovers.get(cid, ())))
            for cid, rs in sorted(by_customer.items())]


def plan_json(result: Plan, today: date) -> dict[str, Any]:
    """What a run sends: one entry per letter (amounts as decimal strings) and escalations."""
    return {
        "today": today.isoformat(),
        "letters": [{
            "customer_number": letter.customer_number, "level": letter.level,
            "rule": letter.reminders[0].rule_id, "fee": str(letter.fee),
            "flat_fee": str(letter.flat_fees),
            "invoices": [{
                "invoice_number": r.item.number, "open_amount": str(r.item.open_amount),
                "days_overdue": (today - r.item.due_date).days, "level": r.level,
                "rule": r.rule_id, "interest": str(r.legal.interest),
                "interest_rate": str(r.legal.rate),
                "interest_from": r.legal.since.isoformat() if r.legal.since else None,
                "flat_fee": str(r.legal.flat_fee)} for r in letter.reminders],
            "total_claim": str(letter.total_claim)} for letter in result.letters],
        "escalations": [{"invoice_number": e.claim.item.number, "role": e.role,
                         "customer_number": e.claim.customer_number, "rule": e.rule_id}
                        for e in result.escalations],
        "rate_table_ends": any(r.legal.beyond_rate_table for letter in result.letters
                               for r in letter.reminders),
    }


def _reminder(claim: Claim, action: Action, rule_id: str, today: date) -> Reminder | None:
    level = int(action.params.get("level", claim.history.level + 1))
    if level <= claim.history.level:
        return None  # never the same level twice
    legal = legal_default(claim, today, claim_interest=bool(action.params.get("interest", True)),
                          claim_flat_fee=bool(action.params.get("flat_fee", True)))
    return Reminder(claim.item, level, Decimal(str(action.params.get("fee", "0"))), rule_id,
                    legal)


def plan(rule_set: RuleSet, claims: Sequence[Claim], today: date) -> Plan:
    """What the dunning rules would do today for these open claims."""
    reminders: list[Reminder] = []
    escalations: list[Escalation] = []
    considered: list[Considered] = []
    charges_only: list[OpenItem] = []
    numbers = {c.item.customer_id: c.customer_number for c in claims}
    for claim in sorted(claims, key=lambda c: (c.item.customer_id, c.item.due_date)):
        if claim.item.open_amount <= 0 and claim.item.charges_open > 0:
            charges_only.append(claim.item)
        if claim.item.due_date >= today or claim.item.open_amount <= 0:
            continue
        facts = claim_facts(claim, today)
        decision = evaluate(rule_set, facts)
        considered.append(Considered(claim, facts, decision))
        rule_id = decision.fired[0] if decision.fired else ""
        for action in decision.effects:
            if action.name == "remind":
                reminder = _reminder(claim, action, rule_id, today)
                if reminder is not None:
                    reminders.append(reminder)
            elif action.name == "escalate" and not claim.history.escalated:
                escalations.append(Escalation(claim, str(action.params.get("role", "finance")),
                                              int(action.params.get("due_in_days", 5)),
                                              rule_id))
    return Plan(tuple(letters(reminders, numbers, charges_only)), tuple(escalations),
                tuple(considered))
