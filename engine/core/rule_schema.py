"""The vocabulary of the rule language: value types, the fixed functions, the export.

- Types. Every sub-expression has one of number, integer, string, boolean, date, list
  (facts of type select or select_multiple are lists), or is unknown (None). `infer`
  walks an already whitelisted expression tree and raises TypeProblem where the types
  cannot work (a boolean compared with a number, `and` of a number, arithmetic on text,
  days_between of non-dates). It is conservative: whatever is unknown passes.
- FUNCTIONS: the only functions an expression may call, with their argument and result
  types. The business-rules helpers (text, starts_with, ends_with, matches and the set
  operations) behave exactly as that package's operators do.
- export_rule_data(event): facts, actions and operators in the shape of
  business_rules.utils.export_rule_data, with dotted fact names, for editors. The
  operators per field type are declared in engine.core.facts (OPERATORS); dates, which
  the package lacks, are a field type `date` of their own with the numeric operator
  names (no epsilon) and input type `date`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.core.facts import (
    EVENTS,
    FIELD_TYPES,
    OPERATORS,
    PARAM_FIELDS,
    EventSchema,
    FactDecl,
    label_of,
)

NUMERIC = frozenset({"number", "integer"})
LIST = "list"

# ---------------------------------------------------------------------- functions


def as_decimal(value: Any) -> Any:
    """Integers and floats become Decimal (floats by their shortest repr); bools stay."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _to_date(value: Any, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{name}() needs dates, got {type(value).__name__}")


def _days_between(a: Any, b: Any) -> int:
    return (_to_date(b, "days_between") - _to_date(a, "days_between")).days


def _round(value: Any, digits: Any = 0) -> Decimal:
    number = as_decimal(value)
    if not isinstance(number, Decimal):
        raise TypeError(f"round() needs a number, got {type(value).__name__}")
    places = int(digits)
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}() needs a string, got {type(value).__name__}")
    return value


def _text(value: Any) -> str:
    """A string fact as business-rules reads it: none (or any false value) is ''."""
    return _string(value or "", "text")


def _items(value: Any, name: str) -> Iterable[Any]:
    if not hasattr(value, "__iter__"):
        raise TypeError(f"{name}() needs a list, got {type(value).__name__}")
    return value  # type: ignore[no-any-return]


def _has(values: Any, item: Any) -> bool:
    """business-rules' select `contains`: strings compare case-insensitively (lower())."""
    for value in values:
        if isinstance(value, str) and isinstance(item, str):
            if value.lower() == item.lower():
                return True
        elif value == item:
            return True
    return False


def _contains(haystack: Any, needle: Any) -> bool:
    """Text in text, ignoring case; or, for a list, an element (business-rules `contains`)."""
    if isinstance(haystack, list | tuple | set | frozenset):
        return _has(haystack, needle)
    return _string(needle, "contains").casefold() in _string(haystack, "contains").casefold()


def _shared(a: Any, b: Any, name: str) -> int:
    items = _items(a, name)
    return sum(1 for other in _items(b, name) if _has(items, other))


def _contains_all(a: Any, b: Any) -> bool:
    items = _items(a, "contains_all")
    return all(_has(items, other) for other in _items(b, "contains_all"))


def _is_contained_by(a: Any, b: Any) -> bool:
    return _contains_all(b, a)


def _shares_one_or_more(a: Any, b: Any) -> bool:
    items = _items(a, "shares_at_least_one_element_with")
    return any(_has(items, o) for o in _items(b, "shares_at_least_one_element_with"))


def _matches(value: Any, pattern: Any) -> bool:
    """business-rules' `matches_regex`: re.search (the compiler passes a compiled pattern)."""
    regex = pattern if isinstance(pattern, re.Pattern) else re.compile(_string(pattern, "matches"))
    return regex.search(_string(value, "matches")) is not None


@dataclass(frozen=True)
class Function:
    """A fixed function: its implementation, argument count, argument and result types.

    `args` holds the accepted types per position (None: any), the last one repeating;
    `result` is a type, None (unknown) or "arg" (the type of the first argument).
    """

    fn: Callable[..., Any]
    least: int
    most: int | None
    args: tuple[frozenset[str] | None, ...]
    result: str | None


_STR, _DATE, _LISTS = frozenset({"string"}), frozenset({"date"}), frozenset({LIST})
_TEXTS = frozenset({"string", LIST})


def _set_op(fn: Callable[..., Any]) -> Function:
    return Function(fn, 2, 2, (_LISTS, _LISTS), "boolean")


FUNCTIONS: Mapping[str, Function] = {
    "days_between": Function(_days_between, 2, 2, (_DATE, _DATE), "integer"),
    "abs": Function(abs, 1, 1, (NUMERIC,), "arg"),
    "min": Function(lambda *a: min(*a), 1, None, (None,), "arg"),
    "max": Function(lambda *a: max(*a), 1, None, (None,), "arg"),
    "round": Function(_round, 1, 2, (NUMERIC, NUMERIC), "number"),
    "date": Function(date.fromisoformat, 1, 1, (_STR,), "date"),
    "len": Function(len, 1, 1, (_TEXTS,), "integer"),
    "lower": Function(lambda s: _string(s, "lower").lower(), 1, 1, (_STR,), "string"),
    "upper": Function(lambda s: _string(s, "upper").upper(), 1, 1, (_STR,), "string"),
    "contains": Function(_contains, 2, 2, (_TEXTS, None), "boolean"),
    "text": Function(_text, 1, 1, (_STR,), "string"),
    "starts_with": Function(
        lambda s, p: _string(s, "starts_with").startswith(_string(p, "starts_with")),
        2, 2, (_STR, _STR), "boolean"),
    "ends_with": Function(
        lambda s, p: _string(s, "ends_with").endswith(_string(p, "ends_with")),
        2, 2, (_STR, _STR), "boolean"),
    "matches": Function(_matches, 2, 2, (_STR, _STR), "boolean"),
    "contains_all": _set_op(_contains_all),
    "is_contained_by": _set_op(_is_contained_by),
    "shares_at_least_one_element_with": _set_op(_shares_one_or_more),
    "shares_exactly_one_element_with": _set_op(
        lambda a, b: _shared(a, b, "shares_exactly_one_element_with") == 1),
    "shares_no_elements_with": _set_op(lambda a, b: not _shares_one_or_more(a, b)),
}

# --------------------------------------------------------------------------- types


class TypeProblem(Exception):
    """Types that cannot work together, at `node`."""

    def __init__(self, node: ast.AST, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def value_type(fact_type: str) -> str:
    """The expression type of a fact type: select and select_multiple facts are lists."""
    return LIST if fact_type in ("select", "select_multiple") else fact_type


def _family(kind: str | None) -> str | None:
    return "number" if kind in NUMERIC else kind


def _a(kind: str) -> str:
    return {"integer": "a number", "number": "a number", "string": "a text",
            "boolean": "true/false", "date": "a date", LIST: "a list"}.get(kind, kind)


class _Types:
    """Infers the type of each node bottom-up; raises TypeProblem on a mismatch."""

    def __init__(self, source: str, schema: Mapping[str, FactDecl] | None) -> None:
        self.source = source
        self.schema = schema
        self.seen: dict[int, str | None] = {}  # by id(node): each node is inferred once

    def show(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source, node) or "the value"
        return text if len(text) <= 40 else text[:37] + "..."

    def of(self, node: ast.AST) -> str | None:
        if id(node) not in self.seen:
            handler = getattr(self, f"_{type(node).__name__}", None)
            self.seen[id(node)] = handler(node) if handler else None
        return self.seen[id(node)]

    def need(self, node: ast.AST, allowed: frozenset[str], what: str) -> str | None:
        kind = self.of(node)
        if kind is not None and kind not in allowed:
            raise TypeProblem(node, f"{what}, but {self.show(node)} is {_a(kind)}")
        return kind

    def _BoolOp(self, node: ast.BoolOp) -> str:
        word = "and" if isinstance(node.op, ast.And) else "or"
        for value in node.values:
            self.need(value, frozenset({"boolean"}), f"'{word}' needs true/false on each side")
        return "boolean"

    def _UnaryOp(self, node: ast.UnaryOp) -> str | None:
        if isinstance(node.op, ast.Not):
            self.need(node.operand, frozenset({"boolean"}), "'not' needs true/false")
            return "boolean"
        return self.need(node.operand, NUMERIC, "a sign needs a number")

    def _BinOp(self, node: ast.BinOp) -> str | None:
        left = self.need(node.left, NUMERIC, "arithmetic needs numbers")
        right = self.need(node.right, NUMERIC, "arithmetic needs numbers")
        if left is None or right is None:
            return None
        whole = left == right == "integer" and not isinstance(node.op, ast.Div)
        return "integer" if whole else "number"

    def _Compare(self, node: ast.Compare) -> str:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            self._pair(left, op, right)
            left = right
        return "boolean"

    def _pair(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> None:
        a, b = self.of(left), self.of(right)
        if isinstance(op, ast.In | ast.NotIn):
            self._membership(left, a, right, b)
            return
        if a is None or b is None:
            return
        if _family(a) != _family(b):
            raise TypeProblem(left, f"cannot compare {self.show(left)} ({_a(a)}) "
                                    f"with {self.show(right)} ({_a(b)})")
        if isinstance(op, ast.Eq | ast.NotEq):
            if not self._option(left, right):
                self._option(right, left)
        elif a in ("boolean", LIST):
            raise TypeProblem(left, f"cannot order {_a(a)}: use == or !=")

    def _option(self, fact: ast.expr, literal: ast.expr) -> bool:
        decl = self._decl(fact)
        if decl is None or not decl.options or decl.type != "string":
            return False
        if isinstance(literal, ast.Constant) and literal.value not in decl.options:
            options = ", ".join(decl.options)
            raise TypeProblem(literal, f"{decl.path} is one of {options}; "
                                       f"not {literal.value!r}")
        return True

    def _membership(self, left: ast.expr, a: str | None, right: ast.expr, b: str | None) -> None:
        if b is not None and b not in (LIST, "string"):
            raise TypeProblem(right, f"'in' needs a list or a text, but {self.show(right)} "
                                     f"is {_a(b)}")
        if b == "string" and a is not None and a != "string":
            raise TypeProblem(left, f"only a text can be in a text, but {self.show(left)} "
                                    f"is {_a(a)}")
        if a is None or not isinstance(right, ast.List | ast.Tuple) or not right.elts:
            return
        kinds = {_family(self.of(e)) for e in right.elts}
        if None not in kinds and _family(a) not in kinds:
            raise TypeProblem(left, f"{self.show(left)} ({_a(a)}) can never be in "
                                    f"{self.show(right)}")

    def _IfExp(self, node: ast.IfExp) -> str | None:
        self.need(node.test, frozenset({"boolean"}), "'if' needs true/false")
        body, orelse = self.of(node.body), self.of(node.orelse)
        if body == orelse:
            return body
        return "number" if {body, orelse} <= NUMERIC else None

    def _Constant(self, node: ast.Constant) -> str | None:
        value = node.value
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, str):
            return "string"
        return "number" if isinstance(value, int | float) else None

    def _List(self, node: ast.List | ast.Tuple) -> str:
        for element in node.elts:
            self.of(element)
        return LIST

    _Tuple = _List

    def _Name(self, node: ast.Name) -> str | None:
        if node.id in ("true", "false"):
            return "boolean"
        return self._fact(node)

    def _Attribute(self, node: ast.Attribute) -> str | None:
        return self._fact(node)

    def _decl(self, node: ast.AST) -> FactDecl | None:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or self.schema is None:
            return None
        return self.schema.get(".".join([node.id, *parts]))

    def _fact(self, node: ast.AST) -> str | None:
        decl = self._decl(node)
        return value_type(decl.type) if decl is not None else None

    def _Call(self, node: ast.Call) -> str | None:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        spec = FUNCTIONS[name]
        kinds = []
        for index, arg in enumerate(node.args):
            allowed = spec.args[min(index, len(spec.args) - 1)]
            if allowed is None:
                kinds.append(self.of(arg))
            else:
                wanted = " or ".join(_a(k) for k in sorted(allowed, key=_a))
                kinds.append(self.need(arg, allowed, f"{name}() needs {wanted}"))
        if spec.result != "arg":
            return spec.result
        return kinds[0] if kinds and kinds[0] != LIST else None


def infer(node: ast.AST, source: str, schema: Mapping[str, FactDecl] | None) -> str | None:
    """The type of a whitelisted expression tree (None: unknown); TypeProblem if it cannot work.

    `source` is the text the tree was parsed from (to name operands in messages).
    """
    return _Types(source, schema).of(node)


# ------------------------------------------------------------------------- export


def export_rule_data(event: str, schemas: Mapping[str, EventSchema] = EVENTS) -> dict[str, Any]:
    """Facts, actions and operators of an event, shaped like business-rules' export.

    `variables`: [{name (dotted path), label, field_type, options}], sorted by name;
    `actions`: [{name, label, params: [{name, label, fieldType[, options]}]}], sorted by
    name (select and boolean parameters carry `options`); `variable_type_operators`:
    {field_type: [{name, label, input_type}]} sorted by name, with `date` beside the
    package's five types. Integer and number facts are both `numeric`.
    """
    schema = schemas[event]
    variables = [
        {"name": d.path, "label": d.label, "field_type": FIELD_TYPES[d.type],
         "options": list(d.options)}
        for d in sorted(schema.facts.values(), key=lambda d: d.path)
    ]
    actions = []
    for action in sorted((schema.actions or {}).values(), key=lambda a: a.name):
        params: list[dict[str, Any]] = []
        for p in action.params:
            param: dict[str, Any] = {"name": p.name, "label": p.label or label_of(p.name),
                                     "fieldType": PARAM_FIELDS[p.type]}
            if p.type in ("select", "boolean"):
                param["options"] = list(p.options) if p.type == "select" else [True, False]
            params.append(param)
        actions.append({"name": action.name, "label": action.label, "params": params})
    operators = {
        field: [{"name": n, "label": label, "input_type": kind}
                for n, (label, kind) in sorted(ops.items())]
        for field, ops in OPERATORS.items()
    }
    return {"variables": variables, "actions": actions, "variable_type_operators": operators}
