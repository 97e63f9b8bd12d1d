"""The records of a rule set: rules, actions, file tests, decisions and their traces.

These are plain frozen dataclasses shared by the rule-file loader (engine.core.rule_files)
and evaluation (engine.core.rules); import them from engine.core.rules. PLACEHOLDER is
the `{fact.path}` syntax of a rule's `because` template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.core.expressions import Compiled
from engine.core.facts import FactDecl

HIT_POLICIES = ("first", "collect", "unique")

Schema = Mapping[str, FactDecl]


@dataclass(frozen=True)
class Action:
    """One effect of a rule: a name and its parameters (numbers are Decimal)."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    priority: int
    when: Compiled
    then: tuple[Action, ...]
    because: str | None
    line: int


@dataclass(frozen=True)
class RuleTest:
    """A test case from the file; `expect` holds outcome (str), fired and effects tuples."""

    name: str
    facts: Mapping[str, Any]
    expect: Mapping[str, Any]
    line: int
    col: int = 1


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set; `rules` are in evaluation order, `source` names the file.

    `plan` is the rule set compiled to generated code (engine.core.rule_codegen), made
    once when the rule set is built; None when it could not be made, and evaluation then
    uses the closures alone. It takes no part in equality.
    """

    name: str
    version: str
    on: str
    hit_policy: str
    rules: tuple[Rule, ...]
    tests: tuple[RuleTest, ...]
    sha256: str
    source: str
    plan: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from engine.core.rule_codegen import plan_for  # it needs these records

        object.__setattr__(self, "plan", plan_for(self))


@dataclass(frozen=True)
class TraceStep:
    rule_id: str
    matched: bool
    message: str


@dataclass(frozen=True)
class Decision:
    """What a rule set decided for one set of facts, and why."""

    rule_set: str
    version: str
    sha256: str
    outcome: str
    effects: tuple[Action, ...]
    fired: tuple[str, ...]
    trace: tuple[TraceStep, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: Decimals and dates become strings."""
        return {
            "rule_set": self.rule_set,
            "version": self.version,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "effects": [{"name": a.name, "params": json_safe(a.params)} for a in self.effects],
            "fired": list(self.fired),
            "trace": [
                {"rule_id": s.rule_id, "matched": s.matched, "message": s.message}
                for s in self.trace
            ],
        }


class RuleConflict(Exception):
    """Under hit policy `unique`, more than one rule matched."""

    def __init__(self, rule_set: str, rule_ids: Sequence[str]) -> None:
        self.rule_set = rule_set
        self.rule_ids = tuple(rule_ids)
        names = ", ".join(self.rule_ids)
        super().__init__(f"rule set '{rule_set}' (hit policy unique): rules {names} all match")


def json_safe(value: Any) -> Any:
    """Decimal → plain string, date → ISO string, mappings and sequences recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | float):
        return format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
