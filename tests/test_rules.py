"""Rule sets: loading with file:line:col errors, the three hit policies, traces and tests."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from engine.core.facts import FactDecl
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
      - hold: {reason: credit_limit, fee: 0.10}
    because: "open {customer.open_amount} + {order.gross_amount} > {customer.credit_limit}"
  - id: big
    priority: 50
    when: order.net_amount >= 10000
    then: [review]
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
      effects: [{hold: {reason: credit_limit, fee: 0.1}}]
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
    params = rule_set.rules[0].then[0].params
    assert params["fee"] == Decimal("0.10") and str(params["fee"]) == "0.10"


def test_first_fires_the_highest_priority_match_and_stops() -> None:
    facts = {**FACTS_SMALL, "customer": {"open_amount": Decimal("4950"), "credit_limit": 5000}}
    decision = evaluate(load(APPROVAL), facts)
    assert decision.outcome == "hold"
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
    then: [{{send_reminder: {{level: 1}}}}]
  - id: escalate
    when: invoice.days_overdue > 30
    then: [escalate]
"""


def test_collect_fires_every_match_in_order() -> None:
    decision = evaluate(load(_policy("collect")), {"invoice": {"days_overdue": 40}})
    assert decision.fired == ("remind", "escalate")
    assert [a.name for a in decision.effects] == ["send_reminder", "escalate"]
    assert decision.outcome == "send_reminder"
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
    text = APPROVAL.replace("    then: [review]", "    then: [review]\n    becuase: big")
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
    rule_set = load(APPROVAL.replace("outcome: approve", "outcome: review"))
    issues = run_tests(rule_set)
    assert [str(i) for i in issues] == [
        f"{SOURCE}:21:5: test 'small order': expected outcome review, got approve "
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
    hold = {"name": "hold", "params": {"reason": "credit_limit", "fee": "0.10"}}
    assert data["effects"] == [hold]
    assert data["trace"][0]["matched"] is True


def test_yaml_boolean_when_and_bare_actions() -> None:
    default = "  - id: otherwise\n    priority: -1\n    when: yes\n    then: [noop]\n"
    text = _policy("first") + default
    decision = evaluate(load(text), {"invoice": {"days_overdue": 0}})
    assert decision.fired == ("otherwise",) and decision.outcome == "noop"
