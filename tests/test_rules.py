"""Rule sets: loading with file:line:col errors, the three hit policies, traces and tests."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.core.facts import ACTIONS, FACTS, EventSchema, FactDecl
from engine.core.rule_files import untested_rules
from engine.core.rules import (
    Action,
    RuleConflict,
    RuleSet,
    evaluate,
    load_rule_set,
    run_tests,
)

SOURCE = "rules/approval.yaml"

APPROVAL = """\
rule_set: order-approval
version: "3"
on: order.received
hit_policy: first
rules:
  - id: default
    priority: -10
    when: true
    then: [approve]
  - id: over_limit
    priority: 100
    when: customer.open_amount + order.gross_amount > customer.credit_limit
    then:
      - reject: {reason: credit_limit}
    because: "open {customer.open_amount} + {order.gross_amount} > {customer.credit_limit}"
  - id: big
    priority: 50
    when: order.net_amount >= 10000
    then: [{require_approval: {role: sales_manager}}]
tests:
  - name: small order
    facts:
      order: {net_amount: 100, gross_amount: 119.00}
      customer: {open_amount: 0, credit_limit: 5000}
    expect:
      outcome: approve
      fired: [default]
  - name: over the limit
    facts:
      order: {net_amount: 100, gross_amount: 119}
      customer: {open_amount: 4950.00, credit_limit: 5000}
    expect:
      effects: [{reject: {reason: credit_limit}}]
"""

FACTS_SMALL = {
    "order": {"net_amount": Decimal("100"), "gross_amount": Decimal("119")},
    "customer": {"open_amount": Decimal("0"), "credit_limit": Decimal("5000")},
}


def load(text: str) -> RuleSet:
    rule_set, issues = load_rule_set(text, SOURCE)
    assert issues == [] and rule_set is not None
    return rule_set


def issues_of(text: str) -> list[str]:
    rule_set, issues = load_rule_set(text, SOURCE)
    assert rule_set is None and issues
    return [str(i) for i in issues]


def test_loads_in_priority_order_and_keeps_sha() -> None:
    rule_set = load(APPROVAL)
    assert [r.id for r in rule_set.rules] == ["over_limit", "big", "default"]
    assert rule_set.version == "3" and rule_set.on == "order.received"
    assert len(rule_set.sha256) == 64
    assert rule_set.rules[0].then[0].params == {"reason": "credit_limit"}


def test_first_fires_the_highest_priority_match_and_stops() -> None:
    facts = {**FACTS_SMALL, "customer": {"open_amount": Decimal("4950"), "credit_limit": 5000}}
    decision = evaluate(load(APPROVAL), facts)
    assert decision.outcome == "reject"
    assert decision.fired == ("over_limit",)
    assert [s.rule_id for s in decision.trace] == ["over_limit"]
    assert decision.trace[0].message == "open 4950 + 119 > 5000"


def test_first_falls_through_to_the_default() -> None:
    decision = evaluate(load(APPROVAL), FACTS_SMALL)
    assert decision.outcome == "approve"
    assert [(s.rule_id, s.matched) for s in decision.trace] == [
        ("over_limit", False), ("big", False), ("default", True)
    ]
    assert decision.effects == (Action("approve", {}),)


def _policy(policy: str) -> str:
    return f"""\
rule_set: dunning
version: 1
on: dunning.run
hit_policy: {policy}
rules:
  - id: remind
    when: invoice.days_overdue > 7
    then: [{{remind: {{level: 1}}}}]
  - id: escalate
    when: invoice.days_overdue > 30
    then: [escalate]
"""


def test_collect_fires_every_match_in_order() -> None:
    decision = evaluate(load(_policy("collect")), {"invoice": {"days_overdue": 40}})
    assert decision.fired == ("remind", "escalate")
    assert [a.name for a in decision.effects] == ["remind", "escalate"]
    assert decision.outcome == "remind"
    assert decision.effects[0].params == {"level": Decimal("1")}


def test_collect_with_no_match_has_outcome_none() -> None:
    decision = evaluate(load(_policy("collect")), {"invoice": {"days_overdue": 1}})
    assert decision.outcome == "none" and decision.fired == () and len(decision.trace) == 2


def test_unique_allows_one_match_and_refuses_two() -> None:
    rule_set = load(_policy("unique"))
    assert evaluate(rule_set, {"invoice": {"days_overdue": 10}}).fired == ("remind",)
    with pytest.raises(RuleConflict) as info:
        evaluate(rule_set, {"invoice": {"days_overdue": 40}})
    assert info.value.rule_ids == ("remind", "escalate")


def test_first_needs_a_default_rule() -> None:
    messages = issues_of(_policy("first"))
    assert any("default rule" in m for m in messages)
    assert messages[0].startswith(f"{SOURCE}:6:3:")


def test_rule_after_the_default_can_never_fire() -> None:
    text = APPROVAL.replace("priority: -10", "priority: 75")
    messages = issues_of(text)
    assert messages == [f"{SOURCE}:16:5: rule 'big' can never fire: the default rule 'default' "
                        "comes first (give the default rule a lower priority)"]


def test_bad_expression_is_reported_at_file_line_col() -> None:
    text = APPROVAL.replace("order.net_amount >= 10000", "order.net_amout >= 10000")
    messages = issues_of(text)
    assert len(messages) == 1
    assert messages[0].startswith(f"{SOURCE}:18:11: unknown fact 'order.net_amout'")
    assert "did you mean 'order.net_amount'?" in messages[0]


def test_error_inside_a_literal_block_and_a_quoted_scalar() -> None:
    block = APPROVAL.replace(
        "when: order.net_amount >= 10000", "when: |\n      order.net_amount >= 1\n      and 2 ** 3"
    )
    assert issues_of(block)[0].startswith(f"{SOURCE}:20:11: operator '**'")
    quoted = APPROVAL.replace("when: order.net_amount >= 10000", "when: 'order.x == 1'")
    assert issues_of(quoted)[0].startswith(f"{SOURCE}:18:12: unknown fact 'order.x'")


def test_unknown_keys_and_names_suggest() -> None:
    then = "    then: [{require_approval: {role: sales_manager}}]"
    text = APPROVAL.replace(then, then + "\n    becuase: big")
    text = text.replace("hit_policy: first", "hit_policy: frist")
    text = text.replace("on: order.received", "on: order.recieved")
    messages = issues_of(text)
    assert f"{SOURCE}:3:5: unknown event 'order.recieved'; did you mean 'order.received'?" in (
        messages
    )
    assert f"{SOURCE}:4:13: unknown hit policy 'frist'; did you mean 'first'?" in messages
    assert f"{SOURCE}:20:5: unknown key 'becuase' in rule 'big'; did you mean 'because'?" in (
        messages
    )


def test_because_placeholders_are_checked() -> None:
    text = APPROVAL.replace("{customer.credit_limit}\"", "{customer.credit_limt}\"")
    messages = issues_of(text)
    assert len(messages) == 1 and "did you mean 'customer.credit_limit'?" in messages[0]
    assert messages[0].startswith(f"{SOURCE}:15:68:")


def test_duplicate_ids_and_yaml_errors() -> None:
    assert any("duplicate rule id 'big'" in m for m in issues_of(
        APPROVAL.replace("id: over_limit", "id: big")))
    assert issues_of("rule_set: [unclosed\n")[0].startswith(f"{SOURCE}:2:1: YAML:")
    assert issues_of("")[0] == f"{SOURCE}:1:1: empty rule file"


def test_missing_required_key() -> None:
    messages = issues_of(APPROVAL.replace("version: \"3\"\n", ""))
    assert messages == [f"{SOURCE}:1:1: the rule file needs 'version'"]


def test_passing_tests_report_nothing() -> None:
    assert run_tests(load(APPROVAL)) == []


def test_a_failing_test_is_reported_at_its_line() -> None:
    rule_set = load(APPROVAL.replace("outcome: approve", "outcome: reject"))
    issues = run_tests(rule_set)
    assert [str(i) for i in issues] == [
        f"{SOURCE}:21:5: test 'small order': expected outcome reject, got approve "
        "(fired: default)"
    ]


def test_test_fact_values_keep_types() -> None:
    text = APPROVAL.replace("      order: {net_amount: 100, gross_amount: 119.00}",
                            "      order: {net_amount: 0.1, gross_amount: 119.00}")
    facts = load(text).tests[0].facts
    assert facts["order"]["net_amount"] == Decimal("0.1")
    assert str(facts["order"]["gross_amount"]) == "119.00"


def test_dates_in_test_facts_stay_dates() -> None:
    text = """\
rule_set: dunning
version: 1
on: dunning.run
hit_policy: collect
rules:
  - id: remind
    when: days_between(date('2026-01-01'), invoice.due) > 20
    then: [remind]
tests:
  - name: due late in January
    facts: {invoice: {due: 2026-01-31}}
    expect: {fired: [remind]}
"""
    schemas = {"dunning.run": {"invoice.due": FactDecl("invoice.due", "date", "Due date")}}
    rule_set, issues = load_rule_set(text, SOURCE, schemas)
    assert issues == [] and rule_set is not None
    assert rule_set.tests[0].facts["invoice"]["due"] == date(2026, 1, 31)
    assert run_tests(rule_set) == []


def test_unknown_fact_in_a_test_is_a_load_error() -> None:
    text = APPROVAL.replace("customer: {open_amount: 0,", "customer: {open_amont: 0,")
    assert any("unknown fact 'customer.open_amont'" in m for m in issues_of(text))


def test_decision_to_json_round_trips() -> None:
    facts = {**FACTS_SMALL, "customer": {"open_amount": Decimal("4950"), "credit_limit": 5000}}
    data = evaluate(load(APPROVAL), facts).to_json()
    assert json.loads(json.dumps(data)) == data
    reject = {"name": "reject", "params": {"reason": "credit_limit"}}
    assert data["effects"] == [reject]
    assert data["trace"][0]["matched"] is True


def test_yaml_boolean_when_and_bare_actions() -> None:
    default = "  - id: otherwise\n    priority: -1\n    when: yes\n    then: [wait]\n"
    text = _policy("first") + default
    decision = evaluate(load(text), {"invoice": {"days_overdue": 0}})
    assert decision.fired == ("otherwise",) and decision.outcome == "wait"


# ------------------------------------------------------------------------ actions

DUNNING = """\
rule_set: dunning
version: 1
on: dunning.run
hit_policy: first
rules:
  - id: remind
    when: invoice.days_overdue > 7
    then:
      - remind: {level: 1, fee: 0.10}
  - id: default
    when: true
    then: [wait]
tests:
  - name: late
    facts: {invoice: {days_overdue: 8}}
    expect:
      effects: [{remind: {level: 1, fee: 0.10}}]
"""


def dunning_issues(old: str, new: str) -> list[str]:
    assert old in DUNNING
    rule_set, issues = load_rule_set(DUNNING.replace(old, new), SOURCE)
    assert rule_set is None
    return [str(i) for i in issues]


def test_action_parameters_keep_their_decimal_text() -> None:
    rule_set = load(DUNNING)
    params = rule_set.rules[0].then[0].params
    assert params == {"level": Decimal(1), "fee": Decimal("0.10")}
    assert str(params["fee"]) == "0.10"
    assert run_tests(rule_set) == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("- remind: {level: 1, fee: 0.10}", "- remnid: {level: 1, fee: 0.10}",
     "9:9: unknown action 'remnid'; did you mean 'remind'?"),
    ("then: [wait]", "then: [pause]",
     "12:12: unknown action 'pause' (actions: escalate, remind, wait)"),
    ("- remind: {level: 1, fee: 0.10}\n", "- remind: {level: 1, fees: 0.10}\n",
     "9:28: unknown parameter 'fees' of 'remind'; did you mean 'fee'?"),
    ("{level: 1, fee: 0.10}\n", "{fee: 0.10}\n",
     "9:9: action 'remind' needs the parameter 'level'"),
    ("{level: 1, fee: 0.10}\n", "{level: 1.5, fee: 0.10}\n",
     "9:25: parameter 'level' of 'remind' must be a whole number, got 1.5"),
    ("{level: 1, fee: 0.10}\n", "{level: 1, fee: ten}\n",
     "9:33: parameter 'fee' of 'remind' must be a number, got 'ten'"),
    ("then: [wait]", "then: [{escalate: {role: finanse}}]",
     "12:30: parameter 'role' of 'escalate' must be one of clerk, sales_manager, "
     "credit_controller, finance, got 'finanse'; did you mean 'finance'?"),
    ("then: [wait]", "then: [{wait: {days: 3}}]", "12:20: action 'wait' takes no parameters"),
    ("effects: [{remind: {level: 1, fee: 0.10}}]", "effects: [{remind: {levl: 1}}]",
     "17:27: unknown parameter 'levl' of 'remind'; did you mean 'level'?"),
])
def test_actions_are_checked_against_the_event(old: str, new: str, expected: str) -> None:
    assert f"{SOURCE}:{expected}" in dunning_issues(old, new)


def test_a_facts_only_schema_leaves_actions_unchecked() -> None:
    schemas = {"dunning.run": FACTS["dunning.run"]}
    rule_set, issues = load_rule_set(DUNNING.replace("then: [wait]", "then: [pause]"), SOURCE,
                                     schemas)
    assert issues == [] and rule_set is not None


def test_an_event_schema_carries_facts_and_actions() -> None:
    only_wait = EventSchema(FACTS["dunning.run"], {"wait": ACTIONS["dunning.run"]["wait"]})
    rule_set, issues = load_rule_set(DUNNING, SOURCE, {"dunning.run": only_wait})
    assert rule_set is None
    assert any("unknown action 'remind' (actions: wait)" in str(i) for i in issues)


# ------------------------------------------------------------------ the two forms


def test_a_rule_in_business_rules_form_beside_when_then() -> None:
    text = DUNNING.replace("""\
    when: invoice.days_overdue > 7
    then:
      - remind: {level: 1, fee: 0.10}
""", """\
    conditions:
      all:
        - {name: invoice.days_overdue, operator: greater_than, value: 7}
        - {name: invoice.on_hold, operator: is_false, value: null}
    actions:
      - {name: remind, params: {level: 1, fee: 0.10}}
""")
    rule_set = load(text)
    assert rule_set.rules[0].when.text == (
        "invoice.days_overdue - 7 > 0.000001 and not invoice.on_hold")
    facts = {"invoice": {"days_overdue": 8, "on_hold": False}}
    decision = evaluate(rule_set, facts)
    assert decision.fired == ("remind",)
    assert decision.effects == (Action("remind", {"level": 1, "fee": Decimal("0.10")}),)


def test_a_rule_needs_exactly_one_condition_form() -> None:
    messages = dunning_issues("    when: invoice.days_overdue > 7\n", "")
    assert f"{SOURCE}:6:5: rule 'remind' needs 'when' (or 'conditions')" in messages
    both = dunning_issues(
        "    when: invoice.days_overdue > 7\n",
        "    when: invoice.days_overdue > 7\n    conditions: {all: []}\n")
    assert f"{SOURCE}:8:17: rule 'remind' has both 'when' and 'conditions': keep one" in both


# ----------------------------------------------------------------------- types


def test_type_mismatches_are_load_errors_at_their_position() -> None:
    text = APPROVAL.replace("order.net_amount >= 10000", "customer.b2b >= 10000")
    assert issues_of(text) == [
        f"{SOURCE}:18:11: cannot compare customer.b2b (true/false) with 10000 (a number)"]
    text = APPROVAL.replace("order.net_amount >= 10000", "order.net_amount and true")
    assert issues_of(text) == [f"{SOURCE}:18:11: 'and' needs true/false on each side, but "
                               "order.net_amount is a number"]


# ------------------------------------------------------------ shadowing, coverage


def test_a_rule_with_the_same_condition_as_one_above_can_never_fire() -> None:
    text = APPROVAL.replace("order.net_amount >= 10000",
                            "customer.open_amount+order.gross_amount>customer.credit_limit")
    assert issues_of(text) == [
        f"{SOURCE}:16:5: rule 'big' can never fire: rule 'over_limit' above has the same "
        "condition"]
    collect = text.replace("hit_policy: first", "hit_policy: collect")
    assert load(collect).hit_policy == "collect"  # under collect both fire: no error


def test_untested_rules_are_those_no_test_makes_true() -> None:
    rule_set = load(APPROVAL)
    assert untested_rules(rule_set) == ["big"]
    assert untested_rules(load(_policy("collect"))) == ["remind", "escalate"]


def test_the_shipped_rule_files_load_and_pass_their_tests() -> None:
    root = Path(__file__).resolve().parents[1] / "rules"
    for path in sorted(root.glob("*.yaml")):
        rule_set, issues = load_rule_set(path.read_text("utf-8"), str(path))
        assert issues == [] and rule_set is not None, [str(i) for i in issues]
        assert run_tests(rule_set) == []


SHIPPED_APPROVAL = (Path(__file__).resolve().parents[1] / "rules" / "approval.yaml").read_text()


@pytest.mark.parametrize(("text", "message"), [
    (SHIPPED_APPROVAL + "\nextra: " + "[" * 5000 + "]" * 5000 + "\n",
     "rules/x.yaml:1:1: nested too deeply to read"),
    (SHIPPED_APPROVAL + "\n# " + "x" * 1_000_001 + "\n",
     "a rule file may have at most 1,000,000"),
    (SHIPPED_APPROVAL.replace("order.net_amount > 10000", "not " * 2400 + "order.from_quote"),
     "expression is too deeply nested"),
    (SHIPPED_APPROVAL.replace("order.net_amount > 10000",
                              "(" * 3000 + "order.net_amount" + ")" * 3000 + " > 1"),
     "too many nested parentheses"),
])
def test_hostile_files_get_a_clear_error(text: str, message: str) -> None:
    rule_set, issues = load_rule_set(text, "rules/x.yaml")
    assert rule_set is None and message in str(issues[0])
