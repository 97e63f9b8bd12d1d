"""The condition form of the `business-rules` package, compiled into our expressions.

A rule may say, instead of `when` and `then`::

    conditions: {all: [{name: order.net_amount, operator: greater_than, value: 10000},
                       {any: [...]}]}
    actions: [{name: require_approval, params: {role: sales_manager}}]

Each leaf names a fact (a dotted path), one of the package's operators for the fact's
field type (engine.core.facts.OPERATORS) and a value. The whole tree becomes one
expression text, compiled by compile_expression like any `when`, so there is a single
evaluator. The translation keeps the package's semantics (business_rules/operators.py):

- numeric (number and integer facts): comparisons with its epsilon 0.000001 on the
  Decimal difference d = fact - value (equal_to: |d| <= eps, greater_than: d > eps,
  greater_than_or_equal_to: d >= -eps, less_than: d < -eps, less_than_or_equal_to:
  d <= eps; exact given Decimal's sign-symmetric default rounding). Float facts are read
  by their shortest repr, where the package takes the exact binary value.
- string: case-sensitive (equal_to_case_insensitive compares lower()); a none or empty
  fact reads as '' (`text()`); matches_regex is re.search, its pattern checked here.
- boolean: is_true, is_false. select (a list fact): contains / does_not_contain an
  element, strings compared case-insensitively. select_multiple: the five set
  operators, with the same element comparison.
- date (our addition): the numeric operator names, plain comparisons.

Problems are Issues at `file:line:col` of the offending node: unknown facts and
operators (with "did you mean"), values of the wrong type, bad patterns, bad nesting.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import Compiled, ExpressionError, compile_expression, did_you_mean
from engine.core.facts import FIELD_TYPES, OPERATORS, ActionDecl, FactDecl
from engine.core.rule_reader import Reader
from engine.core.rule_records import Action, Schema

MAX_DEPTH = 32
EPSILON = "0.000001"
LEAF_KEYS = ("name", "operator", "value")
ACTION_KEYS = ("name", "params")

# ------------------------------------------------------------------------ translation


def literal(value: Any) -> str:
    """A value as expression text: Decimal plainly, strings quoted, lists, dates."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "none"}[value]
    if isinstance(value, Decimal | int):
        text = format(Decimal(value), "f")
        return f"({text})" if text.startswith("-") else text
    if isinstance(value, date):
        return f"date({value.isoformat()!r})"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return repr(str(value))


Leaf = Callable[[str, Any], str]


def _numeric(template: str) -> Leaf:
    return lambda x, v: template.format(x=x, v=literal(v), e=EPSILON)


def _text(template: str) -> Leaf:
    return lambda x, v: template.format(x=f"text({x})", v=literal(v or ""))


def _call(function: str, negate: bool = False) -> Leaf:
    prefix = "not " if negate else ""
    return lambda x, v: f"{prefix}{function}({x}, {literal(v)})"


def _compare(symbol: str) -> Leaf:
    return lambda x, v: f"{x} {symbol} {literal(v)}"


TRANSLATIONS: Mapping[str, Mapping[str, Leaf]] = {
    "numeric": {
        "equal_to": _numeric("abs({x} - {v}) <= {e}"),
        "greater_than": _numeric("{x} - {v} > {e}"),
        "greater_than_or_equal_to": _numeric("{x} - {v} >= -{e}"),
        "less_than": _numeric("{x} - {v} < -{e}"),
        "less_than_or_equal_to": _numeric("{x} - {v} <= {e}"),
    },
    "string": {
        "equal_to": _text("{x} == {v}"),
        "equal_to_case_insensitive": lambda x, v: f"lower(text({x})) == {literal((v or '').lower())}",
        "starts_with": _text("starts_with({x}, {v})"),
        "ends_with": _text("ends_with({x}, {v})"),
        "contains": _text("{v} in {x}"),
        "matches_regex": _text("matches({x}, {v})"),
        "non_empty": lambda x, v: f"text({x}) != ''",
    },
    "boolean": {"is_true": lambda x, v: x, "is_false": lambda x, v: f"not {x}"},
    "select": {"contains": _call("contains"), "does_not_contain": _call("contains", True)},
    "select_multiple": {
        name: _call(name)
        for name in ("contains_all", "is_contained_by", "shares_at_least_one_element_with",
                     "shares_exactly_one_element_with", "shares_no_elements_with")
    },
    "date": {
        "equal_to": _compare("=="), "greater_than": _compare(">"),
        "greater_than_or_equal_to": _compare(">="), "less_than": _compare("<"),
        "less_than_or_equal_to": _compare("<="),
    },
}

# ---------------------------------------------------------------------------- reading


def read_conditions(reader: Reader, node: Node, schema: Schema | None) -> Compiled | None:
    """Compile a `conditions` tree; None (with Issues) if anything is wrong.

    Without a schema (the event is unknown, already reported) nothing can be checked.
    """
    if schema is None:
        return None
    before = len(reader.issues)
    text = _Conditions(reader, schema).read(node, 0)
    if text is None or len(reader.issues) > before:
        return None
    try:
        return compile_expression(text, schema)
    except ExpressionError as exc:
        reader.error(node, f"the conditions do not compile: {exc.message}")
        return None


class _Conditions:
    def __init__(self, reader: Reader, schema: Schema) -> None:
        self.reader = reader
        self.schema = schema

    def read(self, node: Node, depth: int) -> str | None:
        if depth > MAX_DEPTH:
            self.reader.error(node, f"conditions nested deeper than {MAX_DEPTH} levels")
            return None
        items = self.reader.items(node, "a condition")
        if items is None:
            return None
        keys = [name for name, _, _ in items]
        if "all" in keys or "any" in keys:
            if len(keys) == 1:
                return self.group(keys[0], items[0][2], depth)
            self.reader.error(node, "a condition group has one key, 'all' or 'any'")
            return None
        if len(items) == 1 and keys[0] not in LEAF_KEYS:
            name, key, _ = items[0]
            hint = did_you_mean(name, ["all", "any", *LEAF_KEYS])
            self.reader.error(key, f"unknown key '{name}' in a condition{hint} (a condition is "
                                   "{all: [...]}, {any: [...]} or {name, operator, value})")
            return None
        return self.leaf(node)

    def group(self, word: str, node: Node, depth: int) -> str | None:
        if not isinstance(node, SequenceNode) or not node.value:
            self.reader.error(node, f"'{word}' needs a non-empty list of conditions")
            return None
        parts = [self.read(item, depth + 1) for item in node.value]
        if any(p is None for p in parts):
            return None
        texts = [p for p in parts if p is not None]
        if len(texts) == 1:
            return texts[0]
        joiner = " and " if word == "all" else " or "
        return joiner.join(f"({t})" if _compound(t) else t for t in texts)

    def leaf(self, node: Node) -> str | None:
        fields = self.reader.fields(node, LEAF_KEYS, ("name", "operator"), "a condition")
        if fields is None or "name" not in fields or "operator" not in fields:
            return None
        path = self.reader.string(fields["name"], "a condition's 'name'")
        operator = self.reader.string(fields["operator"], "a condition's 'operator'")
        if path is None or operator is None:
            return None
        decl = self.schema.get(path)
        if decl is None:
            hint = did_you_mean(path, sorted(self.schema))
            self.reader.error(fields["name"], f"unknown fact '{path}'{hint}")
            return None
        field = FIELD_TYPES.get(decl.type, decl.type)
        known = sorted(OPERATORS.get(field, {}))
        if operator not in known:
            hint = did_you_mean(operator, known) or f" (operators: {', '.join(known)})"
            self.reader.error(fields["operator"], f"operator '{operator}' does not apply to "
                                                  f"{path} ({field}){hint}")
            return None
        takes_value = OPERATORS[field][operator][1] != "none"
        if takes_value and "value" not in fields:
            self.reader.error(node, f"operator '{operator}' needs a 'value'")
            return None
        value = self.reader.value(fields["value"]) if "value" in fields else None
        if takes_value:
            problem = _value_problem(field, operator, value, decl)
            if problem:
                self.reader.error(fields["value"], f"{operator} on {path}: {problem}")
                return None
        return TRANSLATIONS[field][operator](path, value)


def _compound(text: str) -> bool:
    return " and " in text or " or " in text


def _number(value: Any) -> bool:
    return isinstance(value, Decimal | int) and not isinstance(value, bool) and (
        not isinstance(value, Decimal) or value.is_finite())


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | date) or _number(value)


def _value_problem(field: str, operator: str, value: Any, decl: FactDecl) -> str | None:
    """Why a condition's value cannot work for the field type (business-rules would fail)."""
    if field == "numeric":
        return None if _number(value) else f"the value must be a number, got {value!r}"
    if field == "date":
        return None if isinstance(value, date) else "the value must be a date like 2026-01-31"
    if field == "string":
        if value is not None and not isinstance(value, str):
            return f"the value must be a text (quote it), got {value!r}"
        if operator == "matches_regex":
            try:
                re.compile(value or "")
            except re.error as exc:
                return f"invalid pattern {value!r}: {exc}"
        if operator == "equal_to" and decl.options and value not in decl.options:
            return _not_an_option(value, decl)
        return None
    values = value if field == "select_multiple" else [value]
    if not isinstance(values, list) or not all(_scalar(v) for v in values):
        wanted = "a list of values" if field == "select_multiple" else "a single value"
        return f"the value must be {wanted}"
    for item in values:
        if decl.options and not any(_same(item, o) for o in decl.options):
            return _not_an_option(item, decl)
    return None


def _same(value: Any, option: str) -> bool:
    return isinstance(value, str) and value.lower() == option.lower()


def _not_an_option(value: Any, decl: FactDecl) -> str:
    hint = did_you_mean(value, list(decl.options)) if isinstance(value, str) else ""
    return f"{value!r} is not one of {', '.join(decl.options)}{hint}"


def read_actions(
    reader: Reader, node: Node, decls: Mapping[str, ActionDecl] | None
) -> tuple[Action, ...] | None:
    """An `actions` list of {name, params}, checked against the event's actions."""
    if not isinstance(node, SequenceNode):
        reader.error(node, "'actions' must be a list of {name, params}")
        return None
    result: list[Action | None] = []
    for item in node.value:
        if isinstance(item, ScalarNode) or not isinstance(item, MappingNode):
            reader.error(item, "an action here is a mapping: {name: ..., params: {...}}")
            result.append(None)
            continue
        fields = reader.fields(item, ACTION_KEYS, ("name",), "an action")
        name = reader.string(fields["name"], "an action's 'name'") if fields and (
            "name" in fields) else None
        action = None
        if fields is not None and name is not None:
            action = reader.checked_action(name, fields["name"], fields.get("params"), decls)
        result.append(action)
    return None if any(a is None for a in result) else tuple(a for a in result if a)
