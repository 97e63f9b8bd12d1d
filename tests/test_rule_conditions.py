"""The business-rules condition form: the package itself is the reference.

The property test generates rules in the package's form over one variable of each field
type plus random facts, runs `business_rules.engine.run_all` on them and our engine (hit
policy collect, the same rules written as YAML and loaded with load_rule_set), and
checks that exactly the same rules fire. A test-only schema declares the variables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from business_rules.actions import BaseActions, rule_action
from business_rules.engine import run_all
from business_rules.fields import FIELD_TEXT
from business_rules.operators import (
    BaseType,
    BooleanType,
    NumericType,
    SelectMultipleType,
    SelectType,
    StringType,
)
from business_rules.variables import BaseVariables, rule_variable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.facts import FIELD_TYPES, OPERATORS, ActionDecl, EventSchema, FactDecl, ParamDecl
from engine.core.rules import RuleSet, evaluate, load_rule_set

EVENT = "test.event"
VARIABLES: dict[str, tuple[str, type[BaseType]]] = {
    "v.num": ("number", NumericType),
    "v.int": ("integer", NumericType),
    "v.text": ("string", StringType),
    "v.flag": ("boolean", BooleanType),
    "v.pick": ("select", SelectType),
    "v.tags": ("select_multiple", SelectMultipleType),
    "v.day": ("date", NumericType),  # ours only; not used by the property test
}
FIRE = ActionDecl("fire", "Fire", (ParamDecl("rule", "string", "Rule", required=True),))
SCHEMAS = {EVENT: EventSchema(
    {path: FactDecl(path, kind, path) for path, (kind, _) in VARIABLES.items()},
    {"fire": FIRE},
)}
PROPERTY_VARIABLES = [p for p in VARIABLES if p != "v.day"]

# ----------------------------------------------------------------------- both engines


def to_yaml(value: Any) -> str:
    """Flow-style YAML (JSON with plain Decimal numbers), read back exactly by the loader."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_yaml(v) for v in value) + "]"
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format(Decimal(value), "f")
    return json.dumps(value)


def rule_file(rules: list[dict[str, Any]], policy: str = "collect") -> str:
    lines = [f"rule_set: generated\nversion: 1\non: {EVENT}\nhit_policy: {policy}\nrules:"]
    for rule in rules:
        lines.append(f"  - id: {rule['id']}")
        lines.append(f"    conditions: {to_yaml(rule['conditions'])}")
        lines.append(f"    actions: {to_yaml(rule['actions'])}")
    return "\n".join(lines) + "\n"


def load(text: str) -> RuleSet:
    rule_set, issues = load_rule_set(text, "generated.yaml", SCHEMAS)
    assert issues == [], [str(i) for i in issues]
    assert rule_set is not None
    return rule_set


def nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for path, value in flat.items():
        root, name = path.split(".")
        facts.setdefault(root, {})[name] = value
    return facts


def _variable(field_type: type[BaseType], value: Any) -> Callable[[Any], Any]:
    def read(self: Any) -> Any:
        return value

    return rule_variable(field_type)(read)  # type: ignore[no-any-return]


def reference_fired(rules: list[dict[str, Any]], flat: Mapping[str, Any]) -> list[str]:
    """The rules that business_rules.engine.run_all fires, in order."""
    attributes = {path: _variable(VARIABLES[path][1], value) for path, value in flat.items()}
    variables = type("Variables", (BaseVariables,), attributes)()
    fired: list[str] = []

    class Actions(BaseActions):  # type: ignore[misc]
        @rule_action(params={"rule": FIELD_TEXT})  # type: ignore[untyped-decorator]
        def fire(self, rule: str) -> None:
            fired.append(rule)

    run_all(rules, variables, Actions(), stop_on_first_trigger=False)
    return fired


# -------------------------------------------------------------------------- strategies

# Small pools, so that facts often sit right at a value, inside or just outside the
# epsilon, or differ from it only in letter case.
BASES = [0, 1]
OFFSETS = ["0", "0.000001", "-0.000001", "0.0000005", "-0.0000005", "0.0000015", "-0.5"]
numbers = st.builds(lambda b, o: Decimal(b) + Decimal(o), st.sampled_from(BASES),
                    st.sampled_from(OFFSETS))
texts = st.text(alphabet="aAb", max_size=3)
patterns = st.sampled_from(["", "a", "^a", "A$", "a|b", "[ab]+", "^.$", "b*", r"\.", "(?i)a"])
options = st.sampled_from(["x", "X", "y", "z"])
option_lists = st.lists(options, max_size=3)


def _ops(field: str) -> list[str]:
    return sorted(OPERATORS[field])


def _values(path: str, operator: str) -> st.SearchStrategy[Any]:
    """The values a condition on `path` with `operator` may carry."""
    field = FIELD_TYPES[VARIABLES[path][0]]
    if OPERATORS[field][operator][1] == "none":
        return st.none()
    if field == "numeric":
        return st.one_of(numbers, st.integers(-1, 2))
    if field == "string":
        return st.one_of(st.none(), patterns if operator == "matches_regex" else texts)
    return option_lists if field == "select_multiple" else options


def _leaf(path: str) -> st.SearchStrategy[Any]:
    operators = _ops(FIELD_TYPES[VARIABLES[path][0]])
    return st.sampled_from(operators).flatmap(
        lambda op: st.builds(lambda v: {"name": path, "operator": op, "value": v},
                             _values(path, op)))


leaves = st.one_of(*(_leaf(path) for path in PROPERTY_VARIABLES))
conditions = st.recursive(
    leaves,
    lambda children: st.builds(lambda word, items: {word: items}, st.sampled_from(["all", "any"]),
                               st.lists(children, min_size=1, max_size=3)),
    max_leaves=8,
)
fact_values = st.fixed_dictionaries({
    "v.num": numbers,
    "v.int": st.integers(-1, 2),
    "v.text": st.one_of(st.none(), texts),
    "v.flag": st.booleans(),
    "v.pick": option_lists,
    "v.tags": option_lists,
})


def _rules(conds: list[Any]) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "conditions": c,
             "actions": [{"name": "fire", "params": {"rule": f"r{i}"}}]}
            for i, c in enumerate(conds)]


def _same_fired(rules: list[dict[str, Any]], fact_sets: list[dict[str, Any]]) -> None:
    rule_set = load(rule_file(rules))
    for flat in fact_sets:
        expected = reference_fired(rules, flat)
        decision = evaluate(rule_set, nested(flat))
        assert list(decision.fired) == expected, (rule_set.rules, flat)
        assert [a.params["rule"] for a in decision.effects] == expected


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions, min_size=1, max_size=4), st.lists(fact_values, min_size=1, max_size=6))
def test_fires_exactly_what_business_rules_fires(
    conds: list[Any], fact_sets: list[dict[str, Any]]
) -> None:
    _same_fired(_rules(conds), fact_sets)


OPERATOR_CASES = [(path, op) for path in PROPERTY_VARIABLES
                  for op in _ops(FIELD_TYPES[VARIABLES[path][0]])]


@pytest.mark.parametrize(("path", "operator"), OPERATOR_CASES)
@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data())
def test_every_operator_agrees(path: str, operator: str, data: st.DataObject) -> None:
    leaf = data.draw(st.builds(lambda v: {"name": path, "operator": operator, "value": v},
                               _values(path, operator)))
    _same_fired(_rules([leaf]), data.draw(st.lists(fact_values, min_size=8, max_size=8)))


# ------------------------------------------------------------------ chosen edge cases


def fired(condition: dict[str, Any], flat: dict[str, Any]) -> bool:
    rules = _rules([condition])
    ours = evaluate(load(rule_file(rules)), nested(flat)).fired == ("r0",)
    assert ours == (reference_fired(rules, flat) == ["r0"])
    return ours


BASE = {"v.num": Decimal(0), "v.int": 0, "v.text": "", "v.flag": False, "v.pick": [],
        "v.tags": []}


@pytest.mark.parametrize(("operator", "fact", "value", "result"), [
    ("equal_to", "10.0000009", 10, True),
    ("equal_to", "10.0000011", 10, False),
    ("greater_than", "10.000001", 10, False),
    ("greater_than_or_equal_to", "9.999999", 10, True),
    ("less_than", "9.999999", 10, False),
    ("less_than_or_equal_to", "10.000001", 10, True),
])
def test_numeric_operators_use_the_epsilon(
    operator: str, fact: str, value: int, result: bool
) -> None:
    condition = {"name": "v.num", "operator": operator, "value": value}
    assert fired(condition, {**BASE, "v.num": Decimal(fact)}) is result


@pytest.mark.parametrize(("operator", "fact", "value", "result"), [
    ("equal_to", "Acme", "acme", False),
    ("equal_to_case_insensitive", "Acme", "aCME", True),
    ("contains", "Acme", "CM", False),
    ("starts_with", "Acme", "Ac", True),
    ("ends_with", "Acme", "ME", False),
    ("matches_regex", "Acme GmbH", "Gmb", True),
    ("equal_to", None, "", True),
    ("contains", None, "", True),
])
def test_string_operators_are_case_sensitive_and_read_none_as_empty(
    operator: str, fact: str | None, value: str, result: bool
) -> None:
    condition = {"name": "v.text", "operator": operator, "value": value}
    assert fired(condition, {**BASE, "v.text": fact}) is result


def test_non_empty_and_booleans() -> None:
    non_empty = {"name": "v.text", "operator": "non_empty", "value": None}
    assert fired(non_empty, {**BASE, "v.text": "x"}) and not fired(non_empty, BASE)
    assert fired({"name": "v.flag", "operator": "is_false", "value": None}, BASE)
    assert not fired({"name": "v.flag", "operator": "is_true", "value": None}, BASE)


def test_select_operators_ignore_case_and_count_duplicates() -> None:
    facts = {**BASE, "v.pick": ["X", "y"], "v.tags": ["X", "y"]}
    assert fired({"name": "v.pick", "operator": "contains", "value": "x"}, facts)
    assert fired({"name": "v.tags", "operator": "contains_all", "value": ["x", "Y"]}, facts)
    assert fired({"name": "v.tags", "operator": "is_contained_by", "value": ["x", "y", "z"]},
                 facts)
    once = {"name": "v.tags", "operator": "shares_exactly_one_element_with"}
    assert fired({**once, "value": ["x", "z"]}, facts)
    assert not fired({**once, "value": ["x", "x"]}, facts)  # counted per value, as it does


def test_the_conditions_become_one_readable_expression() -> None:
    rules = _rules([{"all": [{"name": "v.num", "operator": "greater_than", "value": -5},
                             {"any": [{"name": "v.flag", "operator": "is_true", "value": None},
                                      {"name": "v.text", "operator": "starts_with",
                                       "value": "DE"}]}]}])
    when = load(rule_file(rules)).rules[0].when
    assert when.text == ("v.num - (-5) > 0.000001 and "
                         "(v.flag or starts_with(text(v.text), 'DE'))")
    assert when.paths == frozenset({"v.num", "v.flag", "v.text"})


def test_dates_compare_without_epsilon() -> None:
    text = rule_file(_rules([{"name": "v.day", "operator": "greater_than",
                              "value": "2026-01-31"}]))
    rule_set = load(text.replace('"2026-01-31"', "2026-01-31"))
    assert rule_set.rules[0].when.text == "v.day > date('2026-01-31')"
    assert evaluate(rule_set, {"v": {"day": date(2026, 2, 1)}}).fired == ("r0",)


# -------------------------------------------------------------------------- errors

RULES = """\
rule_set: generated
version: 1
on: test.event
hit_policy: collect
rules:
  - id: r0
    conditions:
      all:
        - {name: v.num, operator: greater_than, value: 1}
    actions:
      - {name: fire, params: {rule: r0}}
"""


def errors(old: str, new: str) -> list[str]:
    assert old in RULES
    rule_set, issues = load_rule_set(RULES.replace(old, new), "r.yaml", SCHEMAS)
    assert rule_set is None and issues
    return [str(i) for i in issues]


def test_a_correct_file_loads() -> None:
    assert load(RULES).rules[0].then[0].params == {"rule": "r0"}


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("name: v.num,", "name: v.nmu,", "r.yaml:9:18: unknown fact 'v.nmu'; did you mean 'v.num'?"),
    ("greater_than", "greater_then",
     "r.yaml:9:35: operator 'greater_then' does not apply to v.num (numeric); "
     "did you mean 'greater_than'?"),
    ("greater_than", "starts_with",
     "r.yaml:9:35: operator 'starts_with' does not apply to v.num (numeric) (operators: "
     "equal_to, greater_than, greater_than_or_equal_to, less_than, less_than_or_equal_to)"),
    ("value: 1}", "value: '1'}", "r.yaml:9:56: greater_than on v.num: the value must be a "
                                 "number, got '1'"),
    ("v.num, operator: greater_than, value: 1", "v.text, operator: matches_regex, value: '('",
     "r.yaml:9:58: matches_regex on v.text: invalid pattern '(': missing ), unterminated "
     "subpattern at position 0"),
    ("v.num, operator: greater_than, value: 1", "v.tags, operator: contains_all, value: x",
     "r.yaml:9:57: contains_all on v.tags: the value must be a list of values"),
    ("      all:\n", "      alle:\n", "r.yaml:8:7: unknown key 'alle' in a condition; did you mean 'all'?"),
    ("      all:\n", "      any: []\n      all:\n", "r.yaml:8:7: a condition group has one key, "
                                                   "'all' or 'any'"),
    ("{name: fire, params: {rule: r0}}", "{name: fier}",
     "r.yaml:11:16: unknown action 'fier'; did you mean 'fire'?"),
    ("{name: fire, params: {rule: r0}}", "{name: fire}",
     "r.yaml:11:16: action 'fire' needs the parameter 'rule'"),
    ("    actions:\n", "    then: [{fire: {rule: r0}}]\n    actions:\n",
     "r.yaml:12:7: rule 'r0' has both 'then' and 'actions': keep one"),
])
def test_errors_name_file_line_col(old: str, new: str, expected: str) -> None:
    messages = errors(old, new)
    assert any(m.startswith(expected) for m in messages), messages


def test_absurd_nesting_is_refused() -> None:
    deep = "{name: v.num, operator: greater_than, value: 1}"
    for _ in range(40):
        deep = "{all: [" + deep + "]}"
    messages = errors("\n      all:\n        - {name: v.num, operator: greater_than, value: 1}",
                      " " + deep)
    assert any("nested deeper than 32 levels" in m for m in messages)
