"""Rule sets: evaluate one against facts under its hit policy, run its file's tests.

This is the public module: it holds evaluation and the value helpers and re-exports the
records (engine.core.rule_records) and load_rule_set (engine.core.rule_files), which
reads a rule file with positions. A rule set's rules are in evaluation order: priority
descending, then file order.

evaluate runs the code generated for the rule set at load (engine.core.rule_codegen) and
falls back to evaluate_reference, the rules' closures, for whatever that code does not
decide itself; decide is the same without building the Decision's trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.core.expressions import EvaluationError, lookup
from engine.core.records import Issue
from engine.core.rule_files import (
    EXPECT_KEYS,
    RULE_KEYS,
    TEST_KEYS,
    TOP_KEYS,
    load_rule_set,
)
from engine.core.rule_records import (
    HIT_POLICIES,
    PLACEHOLDER,
    Action,
    Decision,
    Rule,
    RuleConflict,
    RuleSet,
    RuleTest,
    Schema,
    TraceStep,
    json_safe,
)

__all__ = [
    "EXPECT_KEYS",
    "HIT_POLICIES",
    "RULE_KEYS",
    "TEST_KEYS",
    "TOP_KEYS",
    "Action",
    "Decision",
    "Rule",
    "RuleConflict",
    "RuleSet",
    "RuleTest",
    "Schema",
    "TraceStep",
    "decide",
    "evaluate",
    "evaluate_reference",
    "format_action",
    "format_value",
    "json_safe",
    "load_rule_set",
    "render",
    "run_tests",
]


# ------------------------------------------------------------------------- values


def format_value(value: Any) -> str:
    """A fact value as a trace message shows it: Decimals plainly, booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def render(template: str, facts: Mapping[str, Any]) -> str:
    """Fill `{fact.path}` placeholders; `{{` and `}}` are literal braces."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group(1) is None:
            return token[0]
        path = match.group(1).strip()
        try:
            return format_value(lookup(facts, path))
        except EvaluationError:
            return f"<missing {path}>"

    return PLACEHOLDER.sub(fill, template)


def format_action(action: Action) -> str:
    if not action.params:
        return action.name
    params = ", ".join(f"{k}={format_value(v)}" for k, v in action.params.items())
    return f"{action.name}({params})"


# -------------------------------------------------------------------------- evaluation


def _matches(rule: Rule, facts: Mapping[str, Any]) -> bool:
    try:
        return bool(rule.when(facts))
    except EvaluationError as exc:
        raise EvaluationError(exc.path, f"rule '{rule.id}': {exc.message}") from exc


def _message(rule: Rule, facts: Mapping[str, Any]) -> str:
    return render(rule.because, facts) if rule.because is not None else rule.when.text


def evaluate(rule_set: RuleSet, facts: Mapping[str, Any]) -> Decision:
    """Apply the rule set to the facts under its hit policy; pure.

    Runs the rule set's generated code (engine.core.rule_codegen); whatever that cannot
    decide (missing facts, errors, facts that are not plain dicts) goes to
    evaluate_reference, so results and errors are exactly those of the closures.
    """
    plan = rule_set.plan
    if plan is not None:
        decision: Decision | None = plan.evaluate(facts)
        if decision is not None:
            return decision
    return evaluate_reference(rule_set, facts)


def decide(rule_set: RuleSet, facts: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(outcome, fired rule ids) of evaluate(rule_set, facts), without building the trace.

    Raises as evaluate does (EvaluationError, RuleConflict under `unique`).
    """
    plan = rule_set.plan
    if plan is not None:
        hits = plan.run(facts)
        if hits is not None:
            result = plan.result(hits)
            return result.outcome, result.fired
    decision = evaluate_reference(rule_set, facts)
    return decision.outcome, decision.fired


def evaluate_reference(rule_set: RuleSet, facts: Mapping[str, Any]) -> Decision:
    """evaluate() with the rules' closures alone: the reference the generated code follows."""
    trace: list[TraceStep] = []
    fired: list[Rule] = []
    for rule in rule_set.rules:
        matched = _matches(rule, facts)
        trace.append(TraceStep(rule.id, matched, _message(rule, facts) if matched else ""))
        if matched:
            fired.append(rule)
            if rule_set.hit_policy == "first":
                break
    if rule_set.hit_policy == "unique" and len(fired) > 1:
        raise RuleConflict(rule_set.name, [r.id for r in fired])
    effects = tuple(action for rule in fired for action in rule.then)
    return Decision(
        rule_set=rule_set.name,
        version=rule_set.version,
        sha256=rule_set.sha256,
        outcome=effects[0].name if effects else "none",
        effects=effects,
        fired=tuple(r.id for r in fired),
        trace=tuple(trace),
    )


def run_tests(rule_set: RuleSet) -> list[Issue]:
    """Run the file's tests; one Issue per failing test, at the test's position."""
    issues = []
    for test in rule_set.tests:
        problem = _test_problem(rule_set, test)
        if problem:
            where = f"{rule_set.source}:{test.line}:{test.col}"
            issues.append(Issue(where, f"test '{test.name}': {problem}"))
    return issues


def _test_problem(rule_set: RuleSet, test: RuleTest) -> str | None:
    try:
        decision = evaluate(rule_set, test.facts)
    except (EvaluationError, RuleConflict) as exc:
        return f"error: {exc}"
    fired = ", ".join(decision.fired) or "no rule"
    problems = []
    expect = test.expect
    if "outcome" in expect and expect["outcome"] != decision.outcome:
        problems.append(f"expected outcome {expect['outcome']}, got {decision.outcome}")
    if "fired" in expect and tuple(expect["fired"]) != decision.fired:
        wanted, got = ", ".join(expect["fired"]), ", ".join(decision.fired)
        problems.append(f"expected fired [{wanted}], got [{got}]")
    if "effects" in expect and tuple(expect["effects"]) != decision.effects:
        wanted = ", ".join(format_action(a) for a in expect["effects"])
        got = ", ".join(format_action(a) for a in decision.effects)
        problems.append(f"expected effects [{wanted}], got [{got}]")
    return f"{'; '.join(problems)} (fired: {fired})" if problems else None
