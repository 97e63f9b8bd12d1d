"""Rule sets as generated code (engine.core.rule_codegen) against the closures, the reference.

The closures of engine.core.expressions define what a condition means; evaluate() runs the
generated code and must give the same Decision, or raise the same error, in every case.
Property tests generate expressions, rule sets and facts (missing facts, floats, wrong
types, odd Decimals, flat dotted keys) and compare.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from engine.core.expressions import FUNCTIONS, Compiled, ExpressionError, compile_expression
from engine.core.facts import FACTS
from engine.core.rule_codegen import Fallback, Unsupported, expression_function
from engine.core.rules import (
    Action,
    EvaluationError,
    Rule,
    RuleConflict,
    RuleSet,
    decide,
    evaluate,
    evaluate_reference,
    load_rule_set,
    run_tests,
)

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "rules").glob("*.yaml"))

# --------------------------------------------------------------------- strategies
# Expressions over a small schema: a.n, a.m, b.x numbers, a.i an integer, a.s, b.t texts,
# a.b, flag booleans, a.d a date. Mostly well typed (as a rule author writes them, and as
# the loader's type check lets through), some not; facts mostly of the declared types.

NUMBER_FACTS, TEXT_FACTS = ["a.n", "a.m", "a.i", "b.x"], ["a.s", "b.t"]
BOOLEAN_FACTS, DATE_FACTS = ["a.b", "flag"], ["a.d"]
PATHS = NUMBER_FACTS + TEXT_FACTS + BOOLEAN_FACTS + DATE_FACTS
NUMBERS = ["0", "1", "2.50", "10000", "0.1", "1e3", "1_000", "0.000001", "3", "15.01"]
TEXTS = ['"DE"', '"de"', '""', '"x y"', "'it\\'s'", '"{a.n}"', '"AT"']
CONSTANTS = NUMBERS + TEXTS + ["true", "false", "none", 'date("2026-01-31")']


def _known(template: str) -> bool:
    return template.split("(")[0] in FUNCTIONS


def _pick(*options: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(*options)


@functools.cache
def number(depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(NUMBER_FACTS + NUMBERS)
    if depth == 0:
        return leaves
    sub, test = number(depth - 1), boolean(depth - 1)
    unary = [t for t in ("abs({})", "round({})", "round({}, 1)", "-{}", "+{}") if
             t.startswith(("-", "+")) or _known(t)]
    return _pick(
        leaves, leaves,
        st.tuples(st.sampled_from(unary), sub).map(lambda t: "(" + t[0].format(t[1]) + ")"),
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//", "%"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"min({t[0]}, {t[1]})"),
        st.tuples(sub, sub, sub).map(lambda t: f"max({t[0]}, {t[1]}, {t[2]})"),
        text(depth - 1).map(lambda x: f"len({x})"),
        st.tuples(dates(), dates()).map(lambda t: f"days_between({t[0]}, {t[1]})"),
        st.tuples(test, sub, sub).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


@functools.cache
def text(depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(TEXT_FACTS + TEXTS)
    if depth == 0:
        return leaves
    sub = text(depth - 1)
    calls = [t for t in ("lower({})", "upper({})", "text({})") if _known(t)]
    return _pick(
        leaves, leaves,
        st.tuples(st.sampled_from(calls), sub).map(lambda t: t[0].format(t[1])),
        st.tuples(boolean(depth - 1), sub, sub).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    )


def dates() -> st.SearchStrategy[str]:
    return st.sampled_from([*DATE_FACTS, 'date("2026-01-31")', 'date("2020-02-29")'])


def _list(items: list[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.lists(st.sampled_from(items), max_size=7),
                     st.sampled_from(["[{}]", "({},)"])).map(lambda t: t[1].format(", ".join(t[0])))


@functools.cache
def boolean(depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from([*BOOLEAN_FACTS, "true", "false"])
    if depth == 0:
        return leaves
    sub, num, txt = boolean(depth - 1), number(depth - 1), text(depth - 1)
    compare = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
    checks = [t for t in ("contains({}, {})", "starts_with({}, {})", "ends_with({}, {})")
              if _known(t)]
    options = [
        leaves,
        st.tuples(sub, sub).map(lambda t: f"({t[0]} and {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]} or {t[1]})"),
        sub.map(lambda x: f"(not {x})"),
        st.tuples(num, compare, num).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(num, compare, num, compare, num).map(lambda t: "(" + " ".join(t) + ")"),
        st.tuples(txt, st.sampled_from(["==", "!="]), txt).map(lambda t: "(" + " ".join(t) + ")"),
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["==", "!="]),
                  st.sampled_from([*TEXTS, "true", "false", "none"])).map(
            lambda t: "(" + " ".join(t) + ")"),
        st.tuples(txt, st.sampled_from(["in", "not in"]), _list(TEXTS)).map(
            lambda t: "(" + " ".join(t) + ")"),
        st.tuples(st.sampled_from(PATHS), st.sampled_from(["in", "not in"]),
                  _list(TEXTS + ["true", "none"])).map(lambda t: "(" + " ".join(t) + ")"),
        st.tuples(num, st.sampled_from(["in", "not in"]), _list(NUMBERS)).map(
            lambda t: "(" + " ".join(t) + ")"),
        st.tuples(dates(), compare, dates()).map(lambda t: "(" + " ".join(t) + ")"),
        st.tuples(st.sampled_from(checks), txt, txt).map(lambda t: t[0].format(t[1], t[2])),
        st.tuples(sub, sub, sub).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
    ]
    if _known("matches("):
        options.append(txt.map(lambda x: f'matches({x}, "^D")'))
    return _pick(*options)


def _untyped(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    two = st.tuples(inner, inner)
    return st.one_of(
        two.map(lambda t: f"({t[0]} and {t[1]})"),
        two.map(lambda t: f"({t[0]} or {t[1]})"),
        st.tuples(inner, st.sampled_from(["+", "<", "==", "in"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
    )


expressions = st.one_of(
    boolean(3), boolean(3), boolean(3), boolean(2), number(2), text(2),
    st.recursive(st.sampled_from(PATHS + CONSTANTS), _untyped, max_leaves=5),
)

ODD_DECIMALS = [Decimal(t) for t in ("0", "-0", "1E+3", "1E-7", "2.50", "10000.00", "0.1",
                                      "NaN", "Infinity", "-1.5", "0E-10", "15.01")]
numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-20000,
                max_value=20000),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-5, max_value=5),
    st.sampled_from(ODD_DECIMALS),
    st.integers(-5, 20_001),
    st.sampled_from([0.1, -0.0, 1.0, 2.5, 10000.0, 1e-7, 1e22, float("nan"), float("inf")]),
    st.floats(-1e5, 1e5),
)
texts = st.one_of(st.sampled_from(["DE", "de", "", "x y", "Deutschland", "AT", "it's"]),
                  st.text(max_size=4))
scalars = st.one_of(numbers, st.booleans(), st.none(), texts,
                    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "n": numbers, "m": numbers, "x": numbers, "i": st.integers(-3, 40), "s": texts,
    "t": texts, "b": st.booleans(), "flag": st.booleans(),
    "d": st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
}
odd_values = st.one_of(
    scalars,
    st.lists(st.sampled_from(["DE", "de", Decimal(1), 1]), max_size=3),  # unhashable
    st.just(Decimal("sNaN")),  # can be neither hashed nor compared
)


@st.composite
def _value(draw: st.DrawFn, key: str) -> Any:
    return draw(odd_values if draw(st.integers(0, 9)) == 0 else KINDS[key])


@st.composite
def facts_strategy(draw: st.DrawFn) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for group, keys in (("a", "nmisbd"), ("b", "xt")):
        shape = draw(st.integers(0, 29))
        if shape == 0:
            continue  # the whole group is missing
        if shape == 1:
            facts[group] = draw(st.sampled_from([5, "x", None, ()]))  # not a mapping
            continue
        facts[group] = {k: draw(_value(k)) for k in keys if draw(st.integers(0, 14))}
    if draw(st.integers(0, 14)):
        facts["flag"] = draw(_value("flag"))
    if draw(st.integers(0, 29)) == 0:
        facts["a.n"] = draw(_value("n"))  # a flat dotted key wins in `lookup`
    return facts


def _irregular(facts: Mapping[str, Any]) -> bool:
    """Facts the generated code may hand to the closures although these succeed."""

    def odd(value: Any) -> bool:
        if isinstance(value, Mapping):
            return any(odd(v) for v in value.values())
        return isinstance(value, list) or (isinstance(value, Decimal) and value.is_snan())

    groups = [facts.get(k) for k in ("a", "b") if k in facts]
    return "a.n" in facts or any(not isinstance(g, dict) for g in groups) or odd(facts)


def _same(x: Any, y: Any) -> bool:
    """Equal values of the same type; Decimals also with the same digits (1.0 vs 1.00)."""
    if type(x) is not type(y):
        return False
    if isinstance(x, Decimal):
        return str(x) == str(y)
    if isinstance(x, tuple):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    return bool(x == y)


def _outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "value", run()
    except EvaluationError as exc:
        return "error", (type(exc), str(exc), exc.path)
    except RuleConflict as exc:
        return "error", (type(exc), str(exc), exc.rule_ids)
    except Exception as exc:  # the closures let a few other errors through
        return "error", (type(exc), str(exc))


# ------------------------------------------------------------ expressions, one by one


@settings(max_examples=1500, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(text=expressions, facts=facts_strategy(), truth=st.booleans())
def test_generated_expressions_agree_with_the_closures(
    text: str, facts: dict[str, Any], truth: bool
) -> None:
    try:
        compiled = compile_expression(text, None)
    except ExpressionError:
        assume(False)
        return
    generated = expression_function(compiled, truth)  # every construct here is generated
    kind, reference = _outcome(lambda: bool(compiled(facts)) if truth else compiled(facts))
    try:
        value = generated(facts)
    except Fallback:
        event(f"handed over; closures: {kind}")
        # handing over is right where the closures fail, or for facts they read in a way
        # the generated code does not (flat keys, non-dict groups, unhashable values)
        assert kind == "error" or _irregular(facts), (
            f"{text!r} fell back on {facts!r}, the closures give {reference!r}")
        return
    event("generated value")
    assert kind == "value", f"{text!r} gave {value!r} on {facts!r}; closures: {reference!r}"
    assert _same(value, reference), f"{text!r} on {facts!r}: {value!r} != {reference!r}"


@pytest.mark.parametrize("text", [
    "a.n > 1 and b.x", "a.s in ['DE', 'AT', 'FR', 'NL', 'BE', 'IT']", "abs(a.n - 1.19) > 0.05",
    "lower(a.s) == 'de'", "a.n if a.b else b.x", "days_between(a.d, date('2026-01-31')) > 3",
    'matches(a.s, "^D")', "a.n // 3 % 2", "not a.b or a.n / 4 >= 2.5", "-a.n < 1 <= b.x",
])
def test_typical_expressions_are_generated(text: str) -> None:
    compiled = compile_expression(text, None)
    expression_function(compiled)  # no Unsupported


def test_a_list_inside_a_chain_stays_a_list() -> None:
    compiled = compile_expression("a.s in ['a', 'b', 'c', 'd', 'e'] == a.t", None)
    facts = {"a": {"s": "a", "t": ("a", "b", "c", "d", "e")}}
    assert expression_function(compiled)(facts) is compiled(facts) is True


def test_a_closure_stays_where_the_text_does_not_explain_it() -> None:
    compiled = compile_expression("a.n > 1", None)
    odd = Compiled("a.n > 1", frozenset({"b.x"}), compiled.fn)
    with pytest.raises(Unsupported):
        expression_function(odd)


def test_float_facts_are_read_as_lookup_reads_them() -> None:
    value = expression_function(compile_expression("a.n == 0.1 and a.s != 'DE'", None))
    assert value({"a": {"n": 0.1, "s": 1.5}}) is True
    assert expression_function(compile_expression("a.n", None))({"a": {"n": 0.1}}) == Decimal(
        "0.1")


# -------------------------------------------------------------------- rule sets

_POLICIES = ["first", "collect", "unique"]
_TEMPLATES = [None, "net {a.n} and {b.t}", "static text", "{a.s} {{literal}} }}",
              "{ a.m }/{flag}/{missing.fact}", "{}", "{a.d} {a.b} {a.i}"]


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    policy = draw(st.sampled_from(_POLICIES))
    rules = []
    count = draw(st.integers(1, 6))
    for index in range(count):
        text = draw(expressions)
        if policy == "first" and index == count - 1 and draw(st.booleans()):
            text = "true"
        try:
            when = compile_expression(text, None)
        except ExpressionError:
            assume(False)
        then = tuple(Action(name, {"level": Decimal(index)})
                     for name in draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2)))
        rules.append(Rule(f"r{index}", -index, when, then, draw(st.sampled_from(_TEMPLATES)),
                          index + 1))
    return RuleSet("generated", "1", "test.event", policy, tuple(rules), (), "0" * 64, "-")


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rule_set=rule_sets(), fact_sets=st.lists(facts_strategy(), min_size=1, max_size=5))
def test_generated_rule_sets_decide_as_the_closures(
    rule_set: RuleSet, fact_sets: list[dict[str, Any]]
) -> None:
    assert rule_set.plan is not None and all(rule_set.plan.generated)
    for facts in fact_sets:
        _check_rule_set(rule_set, facts)


def _check_rule_set(rule_set: RuleSet, facts: Mapping[str, Any]) -> None:
    """evaluate and decide as evaluate_reference: the same Decision or the same error."""
    ours = _outcome(lambda: evaluate(rule_set, facts))
    fast = _outcome(lambda: rule_set.plan.evaluate(facts))
    event("closures" if fast == ("value", None) else f"fast path: {fast[0]}")
    reference = _outcome(lambda: evaluate_reference(rule_set, facts))
    assert ours == reference, f"{rule_set.plan.source}\non {facts!r}"
    lean = _outcome(lambda: decide(rule_set, facts))
    if reference[0] == "value":
        assert lean == ("value", (reference[1].outcome, reference[1].fired))
    else:
        assert lean == reference


# ------------------------------------------------------------------ shipped rules


def _load(path: Path) -> RuleSet:
    rule_set, issues = load_rule_set(path.read_text(encoding="utf-8"), str(path))
    assert issues == [] and rule_set is not None
    return rule_set


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_shipped_rules_are_generated_and_their_tests_agree(path: Path) -> None:
    rule_set = _load(path)
    assert rule_set.plan is not None and all(rule_set.plan.generated)
    assert run_tests(rule_set) == []
    for test in rule_set.tests:
        assert rule_set.plan.evaluate(test.facts) is not None  # the fast path decides them
        assert evaluate(rule_set, test.facts) == evaluate_reference(rule_set, test.facts)


def _fact_value(kind: str) -> st.SearchStrategy[Any]:
    typed: dict[str, st.SearchStrategy[Any]] = {
        "number": st.one_of(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                                        min_value=-100_000, max_value=100_000),
                            st.integers(-10, 100_000), st.floats(-1e6, 1e6)),
        "integer": st.integers(-5, 100),
        "string": st.sampled_from(["none", "rf_reference", "iban_amount", "DE", "", "K-1"]),
        "boolean": st.booleans(),
        "date": st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    }
    usual = typed.get(kind, st.lists(st.sampled_from(["a", "b"]), max_size=2))
    return st.one_of(usual, usual, usual, usual, scalars)  # now and then a wrong type


@st.composite
def event_facts(draw: st.DrawFn, event: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for path, decl in FACTS[event].items():
        if draw(st.integers(0, 19)) == 0:
            continue  # missing
        group, _, name = path.rpartition(".")
        target = facts.setdefault(group, {}) if group else facts
        target[name] = draw(_fact_value(decl.type))
    return facts


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_shipped_rules_on_random_facts(path: Path) -> None:
    rule_set = _load(path)

    @settings(max_examples=300, deadline=None)
    @given(facts=event_facts(rule_set.on))
    def check(facts: dict[str, Any]) -> None:
        _check_rule_set(rule_set, facts)

    check()


# ------------------------------------------------------------------------- cases

APPROVAL = ROOT / "rules" / "approval.yaml"
ORDER = {"net_amount": Decimal("900"), "gross_amount": Decimal("1071"),
         "discount_percent": Decimal("0"), "from_quote": False}
CUSTOMER = {"open_amount": Decimal("0"), "credit_limit": Decimal("50000")}


def test_a_fact_only_a_branch_needs_may_be_missing() -> None:
    rule_set = _load(APPROVAL)
    facts = {"order": ORDER, "customer": CUSTOMER}  # no quote_deviations: not needed
    decision = rule_set.plan.evaluate(facts)
    assert decision is not None and decision.fired == ("default",)
    assert decision == evaluate_reference(rule_set, facts)


def test_a_missing_fact_raises_as_before_naming_it() -> None:
    rule_set = _load(APPROVAL)
    facts = {"order": {**ORDER, "from_quote": True}, "customer": CUSTOMER}
    with pytest.raises(EvaluationError) as ours:
        evaluate(rule_set, facts)
    with pytest.raises(EvaluationError) as reference:
        evaluate_reference(rule_set, facts)
    assert ours.value.path == reference.value.path == "order.quote_deviations"
    assert str(ours.value) == str(reference.value)
    assert "rule 'quote-deviates'" in str(ours.value)


def test_unusual_facts_go_to_the_closures_with_the_same_result() -> None:
    rule_set = _load(APPROVAL)
    plain: dict[str, Any] = {"order": {**ORDER, "net_amount": 12000.5}, "customer": CUSTOMER}
    for facts in (
        MappingProxyType(plain),  # not a dict
        {**plain, "order.net_amount": Decimal(1)},  # a flat dotted key wins
        {"order": MappingProxyType(plain["order"]), "customer": CUSTOMER},
    ):
        assert rule_set.plan.evaluate(facts) is None
        assert evaluate(rule_set, facts) == evaluate_reference(rule_set, facts)
    decision = evaluate(rule_set, plain)  # a float is read as Decimal("12000.5")
    assert decision.fired == ("large-order",)
    assert decision.trace[0].message == "net amount 12000.5 EUR is above 10,000 EUR"


def test_unique_conflicts_and_decide() -> None:
    text = """\
rule_set: dunning
version: 1
on: dunning.run
hit_policy: unique
rules:
  - id: remind
    when: invoice.days_overdue > 7
    then: [{remind: {level: 1}}]
    because: "{invoice.days_overdue} days"
  - id: escalate
    when: invoice.days_overdue > 30
    then: [escalate]
"""
    rule_set, issues = load_rule_set(text, "dunning.yaml")
    assert issues == [] and rule_set is not None
    assert decide(rule_set, {"invoice": {"days_overdue": 10}}) == ("remind", ("remind",))
    assert evaluate(rule_set, {"invoice": {"days_overdue": 10}}).trace[0].message == "10 days"
    with pytest.raises(RuleConflict) as info:
        evaluate(rule_set, {"invoice": {"days_overdue": 40}})
    assert info.value.rule_ids == ("remind", "escalate")
    with pytest.raises(RuleConflict):
        decide(rule_set, {"invoice": {"days_overdue": 40}})


def test_texts_reach_the_generated_code_only_as_literals() -> None:
    odd = "x' + __import__('os').getcwd() + '\n\"}{"
    because = odd.replace("{", "{{").replace("}", "}}")
    text = f"""\
rule_set: approval
version: 1
on: order.received
hit_policy: collect
rules:
  - id: {json.dumps(odd)}
    when: {json.dumps(f"customer.number == {odd!r}")}
    then: [approve]
    because: {json.dumps(because)}
"""
    rule_set, issues = load_rule_set(text, "odd.yaml")
    assert issues == [] and rule_set is not None
    assert rule_set.plan is not None and all(rule_set.plan.generated)
    assert "__import__" not in rule_set.plan.source.replace(repr(odd), "")
    facts = {"customer": {"number": odd}}
    decision = evaluate(rule_set, facts)
    assert decision.fired == (odd,) and decision.trace[0].message == odd
    assert decision == evaluate_reference(rule_set, facts)
