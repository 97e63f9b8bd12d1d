"""export_rule_data: our facts and actions in the shape business-rules' own export has."""

from __future__ import annotations

import json
from typing import Any

import pytest
from business_rules.actions import BaseActions, rule_action
from business_rules.fields import FIELD_NUMERIC, FIELD_SELECT
from business_rules.operators import (
    BaseType,
    BooleanType,
    NumericType,
    SelectMultipleType,
    SelectType,
    StringType,
)
from business_rules.utils import export_rule_data as reference_export
from business_rules.variables import BaseVariables, rule_variable

from engine.core.facts import ACTIONS, EVENTS, FACTS, ROLES, EventSchema, FactDecl
from engine.core.rule_schema import export_rule_data

FIELD_CLASSES: dict[str, type[BaseType]] = {
    "number": NumericType, "integer": NumericType, "string": StringType,
    "boolean": BooleanType, "select": SelectType, "select_multiple": SelectMultipleType,
}


def equivalent_variables(facts: dict[str, FactDecl]) -> BaseVariables:
    """A BaseVariables class with one variable per fact, named by its dotted path."""
    attributes: dict[str, Any] = {}
    for path, decl in facts.items():
        def read(self: Any) -> None:
            return None

        field = FIELD_CLASSES[decl.type]
        attributes[path] = rule_variable(field, label=decl.label, options=list(decl.options))(read)
    return type("Variables", (BaseVariables,), attributes)()


def _numeric(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "fieldType": FIELD_NUMERIC}


class DunningActions(BaseActions):  # type: ignore[misc]
    """dunning.run's actions, declared the way business-rules wants them."""

    @rule_action(label="Send a reminder", params=[  # type: ignore[untyped-decorator]
        _numeric("level", "Reminder level"), _numeric("fee", "Reminder fee"),
        {"name": "interest", "label": "Claim default interest (§ 288 BGB; default yes)",
         "fieldType": FIELD_SELECT, "options": [True, False]},
        {"name": "flat_fee",
         "label": "Claim the €40 flat fee from businesses (§ 288 (5) BGB; default yes)",
         "fieldType": FIELD_SELECT, "options": [True, False]}])
    def remind(self, level: Any, fee: Any = None, interest: Any = True,
               flat_fee: Any = True) -> None: ...

    @rule_action(label="Escalate to a person", params=[  # type: ignore[untyped-decorator]
        {"name": "role", "label": "Role", "fieldType": FIELD_SELECT, "options": list(ROLES)},
        _numeric("due_in_days", "Due in days")])
    def escalate(self, role: Any = None, due_in_days: Any = None) -> None: ...

    @rule_action(label="Wait", params={})  # type: ignore[untyped-decorator]
    def wait(self) -> None: ...


class BankActions(BaseActions):  # type: ignore[misc]
    @rule_action(label="Apply the payment", params=[  # type: ignore[untyped-decorator]
        {"name": "partial", "label": "Partial payment", "fieldType": FIELD_SELECT,
         "options": [True, False]}])
    def apply(self, partial: Any = False) -> None: ...

    @rule_action(label="A person reviews", params=[  # type: ignore[untyped-decorator]
        {"name": "queue", "label": "Queue", "fieldType": FIELD_SELECT,
         "options": ["unmatched", "suggestions"]}])
    def review(self, queue: Any) -> None: ...


@pytest.mark.parametrize("event", sorted(FACTS))
def test_the_shape_is_business_rules_own(event: str) -> None:
    ours = export_rule_data(event)
    theirs = reference_export(equivalent_variables(FACTS[event]), BaseActions())
    assert set(ours) == set(theirs) == {"variables", "actions", "variable_type_operators"}
    assert ours["variables"] == theirs["variables"]
    assert all("." in v["name"] for v in ours["variables"])
    operators = dict(ours["variable_type_operators"])
    assert [op["name"] for op in operators.pop("date")] == [
        "equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
        "less_than_or_equal_to"]
    assert operators == theirs["variable_type_operators"]
    for action in ours["actions"]:
        assert set(action) == {"name", "label", "params"}
        for param in action["params"]:
            assert {"name", "label", "fieldType"} <= set(param) <= {
                "name", "label", "fieldType", "options"}
    assert json.loads(json.dumps(ours)) == ours
    assert [a["name"] for a in ours["actions"]] == sorted(ACTIONS[event])


@pytest.mark.parametrize(("event", "actions"), [
    ("dunning.run", DunningActions()), ("bank.transaction", BankActions())])
def test_actions_match_an_equivalent_actions_class(event: str, actions: BaseActions) -> None:
    ours = export_rule_data(event)
    theirs = reference_export(equivalent_variables(FACTS[event]), actions)
    assert ours["actions"] == theirs["actions"]


def test_integer_and_number_are_numeric_and_options_are_kept() -> None:
    by_name = {v["name"]: v for v in export_rule_data("bank.transaction")["variables"]}
    assert by_name["match.invoice_count"]["field_type"] == "numeric"
    assert by_name["transaction.amount"]["field_type"] == "numeric"
    assert "iban_amount" in by_name["match.kind"]["options"]
    assert by_name["match.customer_known"] == {
        "name": "match.customer_known", "label": "The payer is a known customer",
        "field_type": "boolean", "options": []}


def test_dates_and_lists_of_a_custom_schema() -> None:
    schema = EventSchema({
        "invoice.due": FactDecl("invoice.due", "date", "Due date"),
        "customer.tags": FactDecl("customer.tags", "select_multiple", "Tags", options=("a",)),
    })
    data = export_rule_data("x", {"x": schema})
    assert data["variables"] == [
        {"name": "customer.tags", "label": "Tags", "field_type": "select_multiple",
         "options": ["a"]},
        {"name": "invoice.due", "label": "Due date", "field_type": "date", "options": []},
    ]
    assert data["actions"] == []
    assert data["variable_type_operators"]["date"][0] == {
        "name": "equal_to", "label": "Equal To", "input_type": "date"}


def test_every_event_is_exported() -> None:
    assert sorted(EVENTS) == sorted(FACTS) == sorted(ACTIONS)
    for event in EVENTS:
        assert export_rule_data(event)["variables"]
