"""Replaying past decisions through proposed rules: which outcomes would change, per rule,
with examples and the money affected. Pure: the shell hands in the stored inputs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.core.expressions import EvaluationError
from engine.core.facts import FactDecl
from engine.core.rules import RuleConflict, RuleSet, evaluate

# The amount a decision is about, per event: what "money affected" adds up.
MONEY_FACT = {
    "order.received": "order.gross_amount",
    "delivery.posted": "delivery.net_amount",
    "bank.transaction": "transaction.amount",
    "dunning.run": "invoice.open_amount",
}


@dataclass(frozen=True)
class PastDecision:
    decision_id: int
    subject: str
    today: date
    facts: Mapping[str, Any]  # as stored: JSON, money and dates as strings
    outcome: str
    fired: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    decision_id: int
    subject: str
    today: date
    before: str
    after: str
    fired_before: tuple[str, ...]
    fired_after: tuple[str, ...]
    amount: Decimal


@dataclass
class Report:
    replayed: int = 0
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def by_rule(self) -> Counter[str]:
        """How many changed decisions each rule now fires (or no longer fires: '-id')."""
        counts: Counter[str] = Counter()
        for c in self.changes:
            counts.update(r for r in c.fired_after if r not in c.fired_before)
            counts.update(f"-{r}" for r in c.fired_before if r not in c.fired_after)
        return counts

    @property
    def money_affected(self) -> Decimal:
        return sum((abs(c.amount) for c in self.changes), Decimal("0"))

    def to_json(self, examples: int = 10) -> dict[str, Any]:
        return {
            "replayed": self.replayed, "changed": len(self.changes),
            "money_affected": str(self.money_affected), "by_rule": dict(self.by_rule),
            "transitions": {f"{a} -> {b}": n for (a, b), n in Counter(
                (c.before, c.after) for c in self.changes).items()},
            "examples": [{"decision": c.decision_id, "subject": c.subject,
                          "date": c.today.isoformat(), "before": c.before, "after": c.after,
                          "fired_before": list(c.fired_before),
                          "fired_after": list(c.fired_after), "amount": str(c.amount)}
                         for c in self.changes[:examples]],
            "errors": self.errors,
        }


def revive(schema: Mapping[str, FactDecl], data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored JSON facts → typed facts: numbers as Decimal, dates as dates, by the schema."""
    out: dict[str, Any] = {}
    for root, values in data.items():
        if not isinstance(values, Mapping):
            out[root] = values
            continue
        out[root] = {name: _typed(schema.get(f"{root}.{name}"), value)
                     for name, value in values.items()}
    return out


def _typed(decl: FactDecl | None, value: Any) -> Any:
    if decl is None or value is None:
        return value
    try:
        if decl.type == "number":
            return Decimal(str(value))
        if decl.type == "integer":
            return int(str(value))
        if decl.type == "date" and isinstance(value, str):
            return date.fromisoformat(value)
    except (InvalidOperation, ValueError):
        return value
    return value


def simulate(rule_set: RuleSet, schema: Mapping[str, FactDecl],
             past: Sequence[PastDecision]) -> Report:
    report = Report()
    money = MONEY_FACT.get(rule_set.on, "")
    for old in past:
        facts = revive(schema, old.facts)
        try:
            new = evaluate(rule_set, facts)
        except (EvaluationError, RuleConflict) as exc:
            report.errors.append(f"decision {old.decision_id} ({old.subject}): {exc}")
            continue
        report.replayed += 1
        if new.outcome == old.outcome and new.fired == old.fired:
            continue
        root, _, name = money.partition(".")
        amount = facts.get(root, {}).get(name) if money else None
        report.changes.append(Change(old.decision_id, old.subject, old.today, old.outcome,
                                     new.outcome, old.fired, new.fired,
                                     amount if isinstance(amount, Decimal) else Decimal("0")))
    return report
