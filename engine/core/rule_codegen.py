"""A rule set compiled to generated Python code, once at load, for fast evaluation.

The closures of engine.core.expressions stay the reference; this is a faster path to the
same Decisions. For each rule set we generate the source of two functions:

- `run(facts)`: which rules match. Under hit policy `first` the index of the first
  matching rule (-1: none), under `collect` and `unique` a bit mask (bit i: rule i).
- `evaluate(facts)`: the Decision itself. Trace steps of rules that did not match, and
  of matched rules whose message is fixed, are shared objects made at load; so are the
  fired ids, effects and outcome of every result (a cache keyed by index or mask). Only
  the `because` messages of matched rules with `{fact.path}` placeholders are rendered
  per decision, from the facts already read.

Both read every fact path once, when the first rule that needs it is evaluated, into a
local variable (`facts["order"]["net_amount"]` → `v0`), turn floats into Decimal as
`lookup` does (except where a float and that Decimal cannot behave differently: a fact
only tested for truth or compared with a text, true, false or none), and evaluate the
conditions in evaluation order with Python's own operators where the compiler uses them.

Safety: the source is generated from the syntax tree of conditions the expression
compiler has already accepted (re-parsed from `Compiled.text`), and only from the node
types handled in _Expr; variable names are ours (v0, g1, _k2), dictionary keys and
texts are written with repr, every other constant (Decimal, date, tuples and frozensets
of constants, compiled patterns) and every function is an object bound in the
namespace, which has no builtins but the few the generated code uses. A condition with
anything else, or whose text does not name the fact paths its closure reads, calls its
closure instead.

Exactness: when anything is out of the ordinary (facts that are not plain dicts, a flat
dotted key such as `{"order.net_amount": 1}`, a missing fact, an operand of the wrong
type, any exception) the generated functions return None, and engine.core.rules
evaluates with the closures (evaluate_reference), which give the result or the error
exactly as before. A fact that only a branch needs (`a and b.c`) is read without failing
and checked where it is used, so missing facts that the closures never reach keep the
fast path. tests/test_rule_codegen.py compares both on generated expressions, rule sets
and facts.
"""

from __future__ import annotations

import ast
import contextlib
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from engine.core.expressions import (
    ALIASES,
    BINARY,
    COMPARE,
    FUNCTIONS,
    Compiled,
    EvaluationError,
    lookup,
)
from engine.core.rule_records import (
    PLACEHOLDER,
    Decision,
    Rule,
    RuleConflict,
    RuleSet,
    TraceStep,
)

Run = Callable[[Mapping[str, Any]], Any]

_MISSING = object()  # a fact that is not there (read without failing)
CACHE_LIMIT = 4096  # distinct results (bit masks) whose Decision parts are kept at once


class Fallback(Exception):
    """The generated code cannot decide these facts; evaluate with the closures."""


def _missing() -> NoReturn:
    raise Fallback


class Unsupported(Exception):
    """A condition the generator does not handle: the rule calls its closure instead."""


# Operators written as Python operators when the expression compiler uses the plain
# operator function for them; any other function is called as it is.
_NATIVE_BINARY: Mapping[type[ast.operator], tuple[Callable[[Any, Any], Any], str]] = {
    ast.Add: (operator.add, "+"),
    ast.Sub: (operator.sub, "-"),
    ast.Mult: (operator.mul, "*"),
    ast.FloorDiv: (operator.floordiv, "//"),
    ast.Mod: (operator.mod, "%"),
}
_NATIVE_COMPARE: Mapping[type[ast.cmpop], tuple[Callable[[Any, Any], Any] | None, str]] = {
    ast.Eq: (operator.eq, "=="),
    ast.NotEq: (operator.ne, "!="),
    ast.Lt: (operator.lt, "<"),
    ast.LtE: (operator.le, "<="),
    ast.Gt: (operator.gt, ">"),
    ast.GtE: (operator.ge, ">="),
    ast.In: (None, "in"),  # the compiler's `lambda a, b: a in b`
    ast.NotIn: (None, "not in"),
}
# Functions the expression compiler calls as fn(*args) (a fixed list, so that a function
# it comes to treat specially stays a closure until the generator learns it too). `date`
# is a constant, `matches` gets its pattern compiled once, as in the compiler.
_PLAIN_FUNCTIONS = frozenset({
    "days_between", "abs", "min", "max", "round", "len", "lower", "upper", "contains",
    "text", "starts_with", "ends_with", "contains_all", "is_contained_by",
    "shares_at_least_one_element_with", "shares_exactly_one_element_with",
    "shares_no_elements_with",
})
_PLAIN_NUMBER = re.compile(r"[0-9_]*\.?[0-9_]*([eE][-+]?[0-9_]+)?")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse(text: str) -> tuple[ast.expr, str]:
    """The syntax tree of an (already accepted) condition, parsed as the compiler does."""
    parsed = text.replace("\r", " ").replace("\n", " ").lstrip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(parsed, mode="eval")
    return tree.body, parsed


def _fact_path(node: ast.AST) -> tuple[str, ...] | None:
    """The parts of a fact path (`order.net_amount`), None for an alias; else unsupported."""
    parts: list[str] = []
    current = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        raise Unsupported("attribute access on something other than a fact path")
    if current.id in ALIASES:
        if parts:
            raise Unsupported("attribute of an alias")
        return None
    parts.insert(0, current.id)
    if any(not p.isidentifier() or p.startswith("_") for p in parts):
        raise Unsupported("a name that is not allowed")
    return tuple(parts)


@dataclass
class _Use:
    """How a condition uses one fact path."""

    always: bool = False  # read whenever the condition is evaluated (not in a branch)
    value: bool = False  # its value counts, not only its truth or equality with a text


def _plain_constant(node: ast.AST) -> bool:
    """A text literal or true/false/none: a float equals one of these exactly when the
    Decimal that `lookup` makes of it does (and neither may be hashed differently)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.Name) and node.id in ALIASES


def _uses(
    node: ast.AST, conditional: bool, truth: bool, out: dict[tuple[str, ...], _Use],
    plain: bool = False,
) -> None:
    """The fact paths in `node` and how they are used. `conditional`: `node` is evaluated
    only in some cases (a later operand of and/or, a branch); `truth`: only the truth of
    its value counts; `plain`: it is a fact compared for equality with a text, true,
    false or none. A float fact read in such places needs no conversion to Decimal."""
    if isinstance(node, ast.Name | ast.Attribute):
        path = _fact_path(node)
        if path is not None:
            use = out.setdefault(path, _Use())
            use.always = use.always or not conditional
            use.value = use.value or not (truth or plain)
        return
    children: list[tuple[ast.AST, bool, bool, bool]]  # node, conditional, truth, plain
    if isinstance(node, ast.BoolOp):
        children = [(v, conditional or i > 0, truth, False) for i, v in enumerate(node.values)]
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        children = [(node.operand, conditional, True, False)]
    elif isinstance(node, ast.IfExp):
        children = [(node.test, conditional, True, False), (node.body, True, truth, False),
                    (node.orelse, True, truth, False)]
    elif isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        plain_side = None
        if len(node.ops) == 1:
            left, right = sides
            if isinstance(node.ops[0], ast.Eq | ast.NotEq):
                plain_side = left if _plain_constant(right) else right if _plain_constant(
                    left) else None
            elif (isinstance(node.ops[0], ast.In | ast.NotIn)
                  and isinstance(right, ast.List | ast.Tuple)
                  and all(_plain_constant(e) for e in right.elts)):
                plain_side = left
        children = [(side, conditional or i > 1, False, side is plain_side)
                    for i, side in enumerate(sides)]
    elif isinstance(node, ast.Call):
        children = [(a, conditional, False, False) for a in node.args]
    else:
        children = [(c, conditional, False, False) for c in ast.iter_child_nodes(node)]
    for child, cond, child_truth, child_plain in children:
        _uses(child, cond, child_truth, out, child_plain)


_NOT_CONSTANT = object()


class _Emitter:
    """Builds the source of one function; namespace holds the constants it refers to."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "__builtins__": {},
            "_D": Decimal,
            "_M": _MISSING,
            "_miss": _missing,
            "dict": dict,
            "type": type,
            "float": float,
            "isinstance": isinstance,
            "repr": repr,
            "str": str,
            "Exception": Exception,
        }
        self.lines: list[str] = []
        self.count = 0
        self.groups: dict[tuple[str, ...], list[Any]] = {}  # parts -> [var, strict]
        self.leaves: dict[tuple[str, ...], list[Any]] = {}  # parts -> [var, strict, Decimal]
        self.names: dict[tuple[str, ...], str] = {}  # parts -> var, given when first seen
        self.flat: set[str] = set()  # dotted paths: a flat key in the facts wins in lookup

    def bind(self, value: Any, prefix: str = "_k") -> str:
        name = f"{prefix}{self.count}"
        self.count += 1
        self.namespace[name] = value
        return name

    def var(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count - 1}"

    # ------------------------------------------------------------------ fact reads

    def read(self, uses: Mapping[tuple[str, ...], _Use], indent: str) -> None:
        """Lines that read the facts of one condition before it is evaluated: once each,
        floats made Decimal as `lookup` does (where that can make a difference)."""
        for path, use in uses.items():
            leaf = self.leaves.get(path)
            if leaf is None:
                if len(path) > 1:
                    self.flat.add(".".join(path))
                parent = (self.group(path[:-1], use.always, indent) if len(path) > 1
                          else ("facts", True))
                name = self.names[path]
                key = repr(path[-1])
                if use.always:
                    self.lines.append(f"{indent}{name} = {parent[0]}[{key}]")
                elif parent[1]:
                    self.lines.append(f"{indent}{name} = {parent[0]}.get({key}, _M)")
                else:
                    self.lines.append(f"{indent}{name} = _M if {parent[0]} is _M else "
                                      f"{parent[0]}.get({key}, _M)")
                leaf = self.leaves[path] = [name, use.always, False]
            elif use.always and not leaf[1]:
                self.lines.append(f"{indent}if {leaf[0]} is _M: return None")
                leaf[1] = True
            if use.value and not leaf[2]:
                name = leaf[0]
                self.lines.append(f"{indent}if type({name}) is not _D and isinstance({name}, "
                                  f"float): {name} = _D(repr({name}))")
                leaf[2] = True

    def group(self, parts: tuple[str, ...], strict: bool, indent: str) -> tuple[str, bool]:
        found = self.groups.get(parts)
        if found is not None:
            if strict and not found[1]:
                self.lines.append(f"{indent}if {found[0]} is _M: return None")
                found[1] = True
            return found[0], found[1]
        parent = self.group(parts[:-1], strict, indent) if len(parts) > 1 else ("facts", True)
        name = self.var("g")
        key = repr(parts[-1])
        if strict:
            self.lines.append(f"{indent}{name} = {parent[0]}[{key}]")
            self.lines.append(f"{indent}if type({name}) is not dict: return None")
        else:
            if parent[1]:
                self.lines.append(f"{indent}{name} = {parent[0]}.get({key}, _M)")
            else:
                self.lines.append(
                    f"{indent}{name} = _M if {parent[0]} is _M else {parent[0]}.get({key}, _M)"
                )
            self.lines.append(
                f"{indent}if {name} is not _M and type({name}) is not dict: return None"
            )
        self.groups[parts] = [name, strict]
        return name, strict

    # ----------------------------------------------------------------- expressions

    def condition(
        self, compiled: Compiled, truth: bool = True
    ) -> tuple[str, dict[tuple[str, ...], _Use]]:
        """(Python source, fact paths) of a condition whose truth (or, `truth` False, value)
        counts; Unsupported if it has to stay a closure."""
        try:
            body, parsed = _parse(compiled.text)
            uses: dict[tuple[str, ...], _Use] = {}
            _uses(body, False, truth, uses)
            if {".".join(p) for p in uses} != set(compiled.paths):
                raise Unsupported("the condition's fact paths differ from its text")
            strict = {p: use.always or bool(self.leaves.get(p, [0, False])[1])
                      for p, use in uses.items()}
            refs = {p: self.names.get(p) or self.names.setdefault(p, self.var("v"))
                    for p in uses}
            source, _ = _Expr(self, parsed, refs, strict).expr(body)
            compile(source, "<condition>", "eval")  # too deep for Python: keep the closure
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise Unsupported(str(exc)) from None
        return source, uses


class _Expr:
    """Python source for one accepted expression, node by node, as the compiler means it."""

    def __init__(
        self,
        emitter: _Emitter,
        parsed: str,
        refs: Mapping[tuple[str, ...], str],
        strict: Mapping[tuple[str, ...], bool],
    ) -> None:
        self.emitter = emitter
        self.parsed = parsed
        self.refs = refs
        self.strict = strict

    def constant(self, value: Any) -> tuple[str, Any]:
        if isinstance(value, bool) or value is None:
            return repr(value), value
        if isinstance(value, str):
            return repr(value), value
        return self.emitter.bind(value), value

    def expr(self, node: ast.AST) -> tuple[str, Any]:
        """(source, the constant value or _NOT_CONSTANT)."""
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            raise Unsupported(type(node).__name__)
        result: tuple[str, Any] = handler(node)
        return result

    def _BoolOp(self, node: ast.BoolOp) -> tuple[str, Any]:
        word = " and " if isinstance(node.op, ast.And) else " or "
        return "(" + word.join(self.expr(v)[0] for v in node.values) + ")", _NOT_CONSTANT

    def _UnaryOp(self, node: ast.UnaryOp) -> tuple[str, Any]:
        symbols = {ast.Not: "not ", ast.USub: "-", ast.UAdd: "+"}
        symbol = symbols.get(type(node.op))  # type: ignore[call-overload]
        if symbol is None:
            raise Unsupported("unary operator")
        return f"({symbol}{self.expr(node.operand)[0]})", _NOT_CONSTANT

    def _BinOp(self, node: ast.BinOp) -> tuple[str, Any]:
        fn = BINARY.get(type(node.op))
        if fn is None:
            raise Unsupported("operator")
        left, right = self.expr(node.left)[0], self.expr(node.right)[0]
        native = _NATIVE_BINARY.get(type(node.op))
        if native is not None and native[0] is fn:
            return f"({left} {native[1]} {right})", _NOT_CONSTANT
        return f"{self.emitter.bind(fn, '_b')}({left}, {right})", _NOT_CONSTANT

    def _Compare(self, node: ast.Compare) -> tuple[str, Any]:
        parts = [self.expr(node.left)[0]]
        last = node.comparators[-1]
        for cmp, right in zip(node.ops, node.comparators, strict=True):
            native = _NATIVE_COMPARE.get(type(cmp))
            if native is None or type(cmp) not in COMPARE:
                raise Unsupported("comparison")
            if native[0] is not None and COMPARE[type(cmp)] is not native[0]:
                raise Unsupported("comparison with a function of its own")
            source, value = self.expr(right)
            if (isinstance(cmp, ast.In | ast.NotIn) and right is last and type(value) is tuple
                    and len(value) > 4):  # (in a chain the list is compared on: keep it)
                source = self._set_of(value) or source
            parts += [native[1], source]
        return "(" + " ".join(parts) + ")", _NOT_CONSTANT

    def _set_of(self, items: tuple[Any, ...]) -> str | None:
        """A frozenset for `x in [constants]`: the same answer for every x whose hash
        agrees with its equality (the values facts hold); for an unhashable x it raises,
        and the closures decide."""
        if not all(type(item) in (str, Decimal, bool) or item is None for item in items):
            return None
        return self.emitter.bind(frozenset(items))

    def _IfExp(self, node: ast.IfExp) -> tuple[str, Any]:
        test, body, orelse = (self.expr(n)[0] for n in (node.test, node.body, node.orelse))
        return f"({body} if {test} else {orelse})", _NOT_CONSTANT

    def _Constant(self, node: ast.Constant) -> tuple[str, Any]:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return self.constant(value)
        if isinstance(value, int | float):
            return self.constant(self._decimal(node))
        raise Unsupported("literal")

    def _decimal(self, node: ast.Constant) -> Decimal:
        """A number literal exactly as the expression compiler reads it: from its text."""
        source = ast.get_source_segment(self.parsed, node) or ""
        if _PLAIN_NUMBER.fullmatch(source):
            try:
                return Decimal(source)
            except InvalidOperation:
                pass
        return Decimal(node.value) if isinstance(node.value, int) else Decimal(repr(node.value))

    def _sequence(self, node: ast.List | ast.Tuple) -> tuple[str, Any]:
        items = [self.expr(e) for e in node.elts]
        if all(value is not _NOT_CONSTANT for _, value in items):
            return self.constant(tuple(value for _, value in items))
        return "(" + "".join(f"{source}, " for source, _ in items) + ")", _NOT_CONSTANT

    _List = _sequence
    _Tuple = _sequence

    def _fact(self, node: ast.AST) -> tuple[str, Any]:
        path = _fact_path(node)
        if path is None:
            assert isinstance(node, ast.Name)
            return self.constant(ALIASES[node.id])
        name = self.refs[path]
        if self.strict[path]:
            return name, _NOT_CONSTANT
        return f"({name} if {name} is not _M else _miss())", _NOT_CONSTANT

    _Name = _fact
    _Attribute = _fact

    def _Call(self, node: ast.Call) -> tuple[str, Any]:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise Unsupported("call")
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None or name not in _PLAIN_FUNCTIONS | {"date", "matches"}:
            raise Unsupported("a function the generator does not know")
        count = len(node.args)
        if count < spec.least or (spec.most is not None and count > spec.most):
            raise Unsupported("arguments")
        literal = node.args[-1]
        text = literal.value if isinstance(literal, ast.Constant) else None
        if name in ("date", "matches") and not isinstance(text, str):
            raise Unsupported(f"{name}() of something other than a text literal")
        if name == "date":
            assert isinstance(text, str)
            if not _DATE_TEXT.fullmatch(text):
                raise Unsupported("date()")
            return self.constant(spec.fn(text))
        if name == "matches":  # the compiler compiles the pattern once, so do we
            assert isinstance(text, str)
            pattern = self.emitter.bind(re.compile(text))
            value = self.expr(node.args[0])[0]
            return f"{self.emitter.bind(spec.fn, '_f')}({value}, {pattern})", _NOT_CONSTANT
        args = ", ".join(self.expr(a)[0] for a in node.args)
        return f"{self.emitter.bind(spec.fn, '_f')}({args})", _NOT_CONSTANT


# ---------------------------------------------------------------------------- messages


class _Message:
    """A rule's trace message: its `because` with placeholders filled, or its condition.

    `static` when the facts cannot change it; otherwise `render(facts)`, generated code
    that reads the placeholders' facts directly and hands anything unusual (a missing
    fact, a flat dotted key, facts that are not plain dicts) to `_render`, which does
    what engine.core.rules.render does.
    """

    def __init__(self, rule: Rule, format_value: Callable[[Any], str]) -> None:
        self.format_value = format_value
        self.parts: tuple[str | tuple[str], ...] = ()
        self.static: str | None = None
        self.render: Callable[[Mapping[str, Any]], str] = self._render
        if rule.because is None:
            self.static = rule.when.text
            return
        parts: list[str | tuple[str]] = []
        last = 0
        for match in PLACEHOLDER.finditer(rule.because):
            parts.append(rule.because[last : match.start()])
            last = match.end()
            token = match.group(0)
            parts.append(token[0] if match.group(1) is None else (match.group(1).strip(),))
        parts.append(rule.because[last:])
        if all(isinstance(p, str) for p in parts):
            self.static = "".join(p for p in parts if isinstance(p, str))
            return
        merged: list[str | tuple[str]] = []
        for part in parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        self.parts = tuple(merged)
        with contextlib.suppress(Unsupported, SyntaxError, ValueError, RecursionError,
                                 MemoryError):
            self.render = self._generate()  # else _render stays

    def _render(self, facts: Mapping[str, Any]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            try:
                out.append(self.format_value(lookup(facts, part[0])))
            except EvaluationError:
                out.append(f"<missing {part[0]}>")
        return "".join(out)

    def _generate(self) -> Callable[[Mapping[str, Any]], str]:
        emitter = _Emitter()
        emitter.namespace.update(_render=self._render, _fmt=_formatter(self.format_value))
        lines = ["def render(facts):"]
        groups: dict[tuple[str, ...], str] = {}
        pieces = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            keys = tuple(part[0].split("."))
            if not all(k.isidentifier() for k in keys):
                raise Unsupported("a placeholder that is not a fact path")
            if len(keys) > 1:
                emitter.flat.add(part[0])
            parent = "facts"
            for depth in range(1, len(keys)):
                name = groups.get(keys[:depth])
                if name is None:
                    name = groups[keys[:depth]] = emitter.var("g")
                    lines.append(f"        {name} = {parent}[{keys[depth - 1]!r}]")
                    lines.append(f"        if type({name}) is not dict: return _render(facts)")
                parent = name
            pieces.append(f"_fmt({parent}[{keys[-1]!r}])")
        flat = emitter.bind(frozenset(emitter.flat), "_flat")
        lines[1:1] = [
            f"    if type(facts) is not dict or not {flat}.isdisjoint(facts):",
            "        return _render(facts)",
            "    try:",
        ]
        lines += [
            f"        return {' + '.join(pieces)}",
            "    except Exception:",
            "        return _render(facts)",
            "",
        ]
        namespace = emitter.namespace
        exec(compile("\n".join(lines), "<because>", "exec"), namespace)
        render: Callable[[Mapping[str, Any]], str] = namespace["render"]
        return render


def _formatter(format_value: Callable[[Any], str]) -> Callable[[Any], str]:
    """format_value of a fact as `lookup` returns it, with shortcuts for plain values."""

    def fmt(value: Any) -> str:
        kind = type(value)
        if kind is Decimal:
            text = str(value)
            if "E" not in text and "e" not in text:  # then it is format(value, "f")
                return text
        elif kind is str:
            return value  # type: ignore[no-any-return]
        elif kind is int:
            return str(value)
        if isinstance(value, float):
            value = Decimal(repr(value))
        return format_value(value)

    return fmt


# -------------------------------------------------------------------------------- plan


_new = object.__new__


@dataclass(frozen=True)
class _Result:
    """Everything about one result (a rule index or a bit mask) that the facts don't change."""

    outcome: str
    fired: tuple[str, ...]
    fields: Mapping[str, Any]  # the Decision's fields but the trace
    prefix: tuple[TraceStep, ...]  # `first`: the steps before the matched rule
    decision: Decision | None  # the whole Decision when no matched rule's message varies


class Plan:
    """The generated functions of a rule set and the parts to build its Decisions.

    `run(facts)`: the index of the first matching rule (-1: none) under hit policy
    `first`, else the bit mask of the matching rules. `evaluate(facts)`: the Decision
    (RuleConflict under `unique` when several rules match). Both return None for facts
    they leave to the closures.
    """

    def __init__(self, rule_set: RuleSet, messages: Sequence[_Message]) -> None:
        self.name, self.version, self.sha256 = rule_set.name, rule_set.version, rule_set.sha256
        self.hit_policy = rule_set.hit_policy
        self.rules = rule_set.rules
        self.ids = tuple(r.id for r in self.rules)
        self.messages = tuple(messages)
        self.missed = tuple(TraceStep(r.id, False, "") for r in self.rules)
        self.matched = tuple(
            TraceStep(r.id, True, m.static) if m.static is not None else None
            for r, m in zip(self.rules, self.messages, strict=True)
        )
        self.results: dict[int, _Result] = {}
        self.run: Run = _never
        self.evaluate: Run = _never
        self.source = ""  # of both functions, for reading and tests
        self.generated: tuple[bool, ...] = ()  # per rule: True generated, False its closure

    def result(self, hits: int) -> _Result:
        """What `hits` decide, whatever the facts; RuleConflict for several under `unique`."""
        found = self.results.get(hits)
        if found is None:
            found = self._result(hits)
            if len(self.results) >= CACHE_LIMIT:
                self.results.clear()  # start again with the results in use now
            self.results[hits] = found
        return found

    def _result(self, hits: int) -> _Result:
        if self.hit_policy == "first":
            evaluated = len(self.rules) if hits < 0 else hits + 1
            indices = [] if hits < 0 else [hits]
        else:
            evaluated = len(self.rules)
            indices = [i for i in range(len(self.rules)) if hits >> i & 1]
        fired = tuple(self.ids[i] for i in indices)
        if self.hit_policy == "unique" and len(fired) > 1:
            raise RuleConflict(self.name, fired)
        effects = tuple(action for i in indices for action in self.rules[i].then)
        outcome = effects[0].name if effects else "none"
        fields = {"rule_set": self.name, "version": self.version, "sha256": self.sha256,
                  "outcome": outcome, "effects": effects, "fired": fired}
        trace: list[TraceStep | None] = list(self.missed[:evaluated])
        for i in indices:
            trace[i] = self.matched[i]
        decision = None
        if all(step is not None for step in trace):
            decision = _decision(fields, tuple(trace))  # type: ignore[arg-type]
        prefix = self.missed[:hits] if self.hit_policy == "first" and hits > 0 else ()
        return _Result(outcome, fired, fields, prefix, decision)

    def first(self, index: int, message: str) -> Decision:
        """The Decision of `first` when rule `index` matched with this message."""
        result = self.results.get(index) or self.result(index)
        return _decision(result.fields, (*result.prefix, _step(self.ids[index], message)))


def _never(facts: Mapping[str, Any]) -> None:
    return None


def _step(rule_id: str, message: str) -> TraceStep:
    """TraceStep(rule_id, True, message), without the frozen dataclass's slow __init__."""
    step = _new(TraceStep)
    fields = step.__dict__
    fields["rule_id"] = rule_id
    fields["matched"] = True
    fields["message"] = message
    return step


def _decision(fields: Mapping[str, Any], trace: tuple[TraceStep, ...]) -> Decision:
    """Decision(**fields, trace=trace), without the frozen dataclass's slow __init__."""
    decision = _new(Decision)
    own = decision.__dict__
    own.update(fields)
    own["trace"] = trace
    return decision


def build_plan(rule_set: RuleSet, format_value: Callable[[Any], str]) -> Plan:
    """Generate and compile the functions of a rule set (once, at load)."""
    emitter = _Emitter()
    messages = [_Message(rule, format_value) for rule in rule_set.rules]
    plan = Plan(rule_set, messages)
    emitter.namespace.update(
        _fmt=_formatter(format_value), _new=_new, _Step=TraceStep, _Decision=Decision,
        _results_get=plan.results.get, _result=plan.result, _first=plan.first,
        _missed=list(plan.missed), tuple=tuple,
    )
    first = rule_set.hit_policy == "first"
    plain: list[str] = []  # the body of run()
    traced: list[str] = []  # the body of evaluate()
    generated = []
    for index, rule in enumerate(rule_set.rules):
        start = len(emitter.lines)
        try:
            source, uses = emitter.condition(rule.when)
            emitter.read(uses, "        ")
            generated.append(True)
        except Unsupported:
            source = f"{emitter.bind(rule.when.fn, '_w')}(facts)"
            generated.append(False)
        reads = [f"        # rule {index}", *emitter.lines[start:]]
        message = _inline_message(emitter, messages[index])
        step = plan.matched[index]
        if first:
            plain += [*reads, f"        if {source}: return {index}"]
            if message is None:
                done = emitter.bind(plan.result(index).decision, "_done")
            else:
                done = f"_first({index}, {message})"
            traced += [*reads, f"        if {source}: return {done}"]
            continue
        plain += [*reads, f"        if {source}: m |= {1 << index}"]
        traced += [*reads, f"        if {source}:", f"            m |= {1 << index}"]
        if message is None:
            traced.append(f"            trace[{index}] = {emitter.bind(step, '_hit')}")
        else:
            traced += [
                "            step = _new(_Step)",  # TraceStep(id, True, message), faster
                "            own = step.__dict__",
                f"            own['rule_id'] = {emitter.bind(rule.id, '_id')}",
                "            own['matched'] = True",
                f"            own['message'] = {message}",
                f"            trace[{index}] = step",
            ]
    flat = emitter.bind(frozenset(emitter.flat), "_flat")
    check = f"    if type(facts) is not dict or not {flat}.isdisjoint(facts): return None"
    if first:
        none = emitter.bind(plan.result(-1).decision, "_done")
        lines = [
            "def run(facts):", check, "    try:", *plain, "        return -1",
            "    except Exception:", "        return None", "",
            "def evaluate(facts):", check, "    try:", *traced, f"        return {none}",
            "    except Exception:", "        return None", "",
        ]
    else:
        lines = [
            "def run(facts):", check, "    try:", "        m = 0", *plain, "        return m",
            "    except Exception:", "        return None", "",
            "def evaluate(facts):", check, "    try:", "        m = 0",
            "        trace = _missed[:]", *traced,
            "    except Exception:", "        return None",
            # the Decision from the cached parts; RuleConflict (unique) comes from _result
            "    result = _results_get(m)",
            "    if result is None: result = _result(m)",
            "    decision = result.decision",
            "    if decision is None:",
            "        decision = _new(_Decision)",
            "        own = decision.__dict__",
            "        own.update(result.fields)",
            "        own['trace'] = tuple(trace)",
            "    return decision",
            "",
        ]
    source = "\n".join(lines)
    code = compile(source, f"<rule set {rule_set.name!r}>", "exec")
    namespace = emitter.namespace
    exec(code, namespace)  # our generated source, never user text (see the module docstring)
    plan.run, plan.evaluate = namespace["run"], namespace["evaluate"]
    plan.source, plan.generated = source, tuple(generated)
    return plan


def _inline_message(emitter: _Emitter, message: _Message) -> str | None:
    """Source for a dynamic message from the facts already read, else a call of its own
    renderer; None for a static message."""
    if message.static is not None:
        return None
    pieces = []
    for part in message.parts:
        if isinstance(part, str):
            pieces.append(repr(part))
            continue
        leaf = emitter.leaves.get(tuple(part[0].split(".")))
        if leaf is None:
            return f"{emitter.bind(message.render, '_r')}(facts)"
        name, strict = leaf[0], leaf[1]
        # _fmt(v), with its Decimal case written out: str(v) unless that has an exponent
        text = (f"(_s if type({name}) is _D and 'E' not in (_s := str({name})) "
                f"and 'e' not in _s else _fmt({name}))")
        if not strict:
            text = f"({text} if {name} is not _M else {f'<missing {part[0]}>'!r})"
        pieces.append(text)
    return " + ".join(pieces)


def expression_function(compiled: Compiled, truth: bool = False) -> Run:
    """The generated code for one condition's value, or with `truth` its truth, as a rule
    set's code computes it (for tests): raises Fallback where that would hand over to the
    closures, Unsupported where it would keep the closure."""
    emitter = _Emitter()
    source, uses = emitter.condition(compiled, truth)
    emitter.read(uses, "    ")
    if truth:
        source = f"bool({source})"
        emitter.namespace["bool"] = bool
    flat = emitter.bind(frozenset(emitter.flat), "_flat")
    text = "\n".join([
        "def value(facts):",
        f"    if type(facts) is not dict or not {flat}.isdisjoint(facts): return None",
        *emitter.lines,  # they `return None` where they give up
        f"    return (True, {source})",
        "",
    ])
    namespace = emitter.namespace
    exec(compile(text, "<condition>", "exec"), namespace)
    run = namespace["value"]

    def value(facts: Mapping[str, Any]) -> Any:
        try:
            result = run(facts)
        except Exception as exc:  # as run() of a rule set: hand over to the closures
            raise Fallback from exc
        if result is None:
            raise Fallback
        return result[1]

    return value


def plan_for(rule_set: RuleSet) -> Plan | None:
    """The Plan of a rule set, or None (evaluate with the closures) if none could be made."""
    from engine.core.rules import format_value  # the trace's own value format

    try:
        return build_plan(rule_set, format_value)
    except Exception:  # never let a generator problem stop a rule set from loading
        return None
