"""A small, safe expression language for rule conditions, compiled to Python closures.

Expressions look like Python (`order.net_amount > 1000 and customer.b2b`). The text is
parsed with `ast`; only whitelisted nodes are accepted and turned into nested closures,
so user text is never handed to eval, exec or compile. Number literals are Decimal,
taken from their exact source text (`0.1` is `Decimal("0.1")`). Names are dotted fact
paths looked up in a nested mapping (`facts["order"]["net_amount"]`), checked against a
fact schema at compile time when one is given, and the types of all sub-expressions are
checked too (engine.core.rule_schema.infer). Calls are limited to a fixed set of
functions (FUNCTIONS, declared with their types in engine.core.rule_schema).
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.core.facts import FactDecl
from engine.core.rule_schema import FUNCTIONS, TypeProblem, as_decimal, infer

Fn = Callable[[Mapping[str, Any]], Any]

MAX_LENGTH = 10_000
ALIASES: Mapping[str, Any] = {"true": True, "false": False, "none": None}


class ExpressionError(Exception):
    """A compile-time error at `line`:`col` (1-based) inside the expression text."""

    def __init__(self, message: str, line: int = 1, col: int = 1) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.message = message
        self.line = line
        self.col = col


class EvaluationError(Exception):
    """An expression could not be evaluated: a missing fact (`path`) or a bad operand."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Compiled:
    """A compiled expression: call it with the facts to get its value."""

    text: str
    paths: frozenset[str]
    fn: Fn = field(repr=False, compare=False)
    literal_true: bool = False  # the whole expression is the constant true

    def __call__(self, facts: Mapping[str, Any]) -> Any:
        try:
            return self.fn(facts)
        except EvaluationError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise EvaluationError("", f"cannot evaluate '{self.text}': {_describe(exc)}") from exc
        except RecursionError as exc:
            raise EvaluationError("", f"cannot evaluate '{self.text}': too deep") from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError | InvalidOperation):
        return "division by zero or invalid arithmetic"
    return str(exc) or type(exc).__name__


# ----------------------------------------------------------------------------- values


def _number(value: Any) -> Any:
    """Floats become Decimal (by their shortest repr) so Decimal and float never mix."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def lookup(facts: Mapping[str, Any], path: str) -> Any:
    """The value of a dotted fact path in nested facts (a flat dotted key also works)."""
    if path in facts:
        return _number(facts[path])
    current: Any = facts
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            raise EvaluationError(path, f"missing fact '{path}'")
        current = current[part]
    return _number(current)


# ---------------------------------------------------------------------------- operators


def _divide(a: Any, b: Any) -> Any:
    return as_decimal(a) / as_decimal(b)


BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: _divide,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
BINARY_SYMBOLS: Mapping[type[ast.AST], str] = {
    ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~",
    ast.Is: "is", ast.IsNot: "is not",
}
COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
CONSTRUCTS: Mapping[type[ast.AST], str] = {
    ast.Subscript: "subscript (x[...])",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.Starred: "starred expression (*x)",
    ast.NamedExpr: "assignment expression (:=)",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Dict: "dict literal",
    ast.Set: "set literal",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_PLAIN_NUMBER = re.compile(r"[0-9_]*\.?[0-9_]*([eE][-+]?[0-9_]+)?")

# ----------------------------------------------------------------------------- compile


class _Positions:
    """Maps offsets in the parsed (flattened, left-stripped) text back to line:col."""

    def __init__(self, text: str) -> None:
        self.text = text
        flat = text.replace("\r", " ").replace("\n", " ")
        self.parsed = flat.lstrip()
        self.lead = len(flat) - len(self.parsed)

    def at_offset(self, offset: int) -> tuple[int, int]:
        """(line, col) of a 0-based character offset into the parsed text."""
        absolute = min(max(offset, 0) + self.lead, len(self.text))
        before = self.text[:absolute]
        line = before.count("\n") + 1
        return line, absolute - (before.rfind("\n") + 1) + 1

    def of(self, node: ast.AST, byte_col: int | None = None) -> tuple[int, int]:
        col = node.col_offset if byte_col is None else byte_col  # type: ignore[attr-defined]
        chars = len(self.parsed.encode("utf-8")[:col].decode("utf-8", errors="ignore"))
        return self.at_offset(chars)

    def error(self, node: ast.AST, message: str, byte_col: int | None = None) -> ExpressionError:
        line, col = self.of(node, byte_col)
        return ExpressionError(message, line, col)


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Compiler:
    """Walks the syntax tree once and returns a closure for each accepted node."""

    def __init__(self, pos: _Positions, schema: Mapping[str, FactDecl] | None) -> None:
        self.pos = pos
        self.schema = schema
        self.paths: set[str] = set()

    def compile(self, node: ast.AST) -> Fn:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            construct = CONSTRUCTS.get(type(node), type(node).__name__)
            raise self.pos.error(node, f"{construct} is not allowed")
        fn: Fn = handler(node)
        return fn

    def _BoolOp(self, node: ast.BoolOp) -> Fn:
        parts = tuple(self.compile(v) for v in node.values)
        if isinstance(node.op, ast.And):

            def both(facts: Mapping[str, Any]) -> Any:
                value: Any = True
                for part in parts:
                    value = part(facts)
                    if not value:
                        return value
                return value

            return both

        def either(facts: Mapping[str, Any]) -> Any:
            value: Any = False
            for part in parts:
                value = part(facts)
                if value:
                    return value
            return value

        return either

    def _UnaryOp(self, node: ast.UnaryOp) -> Fn:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda facts: not operand(facts)
        if isinstance(node.op, ast.USub):
            return lambda facts: -operand(facts)
        if isinstance(node.op, ast.UAdd):
            return lambda facts: +operand(facts)
        raise self.pos.error(node, f"operator '{BINARY_SYMBOLS.get(type(node.op))}' is not allowed")

    def _BinOp(self, node: ast.BinOp) -> Fn:
        op = BINARY.get(type(node.op))
        if op is None:
            symbol = BINARY_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise self.pos.error(node, f"operator '{symbol}' is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda facts: op(left(facts), right(facts))

    def _Compare(self, node: ast.Compare) -> Fn:
        ops = []
        for cmp in node.ops:
            op = COMPARE.get(type(cmp))
            if op is None:
                symbol = BINARY_SYMBOLS.get(type(cmp), type(cmp).__name__)
                raise self.pos.error(node, f"operator '{symbol}' is not allowed; use == or !=")
            ops.append(op)
        left = self.compile(node.left)
        steps = tuple(zip(ops, (self.compile(c) for c in node.comparators), strict=True))

        def compare(facts: Mapping[str, Any]) -> bool:
            a = left(facts)
            for op, right in steps:
                b = right(facts)
                if not op(a, b):
                    return False
                a = b
            return True

        return compare

    def _IfExp(self, node: ast.IfExp) -> Fn:
        test, body = self.compile(node.test), self.compile(node.body)
        orelse = self.compile(node.orelse)
        return lambda facts: body(facts) if test(facts) else orelse(facts)

    def _Constant(self, node: ast.Constant) -> Fn:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return lambda facts: value
        if isinstance(value, int | float):
            number = self._decimal_literal(node)
            return lambda facts: number
        raise self.pos.error(node, f"{type(value).__name__} literal is not allowed")

    def _decimal_literal(self, node: ast.Constant) -> Decimal:
        source = ast.get_source_segment(self.pos.parsed, node) or ""
        if _PLAIN_NUMBER.fullmatch(source):
            try:
                return Decimal(source)
            except InvalidOperation:
                pass
        return Decimal(node.value) if isinstance(node.value, int) else Decimal(repr(node.value))

    def _sequence(self, node: ast.List | ast.Tuple) -> Fn:
        items = tuple(self.compile(e) for e in node.elts)
        return lambda facts: tuple(item(facts) for item in items)

    _List = _sequence
    _Tuple = _sequence

    def _Name(self, node: ast.Name) -> Fn:
        if node.id in ALIASES:
            value = ALIASES[node.id]
            return lambda facts: value
        return self._fact(node, [node.id])

    def _Attribute(self, node: ast.Attribute) -> Fn:
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            if current.attr.startswith("_"):
                byte_col = current.end_col_offset - len(current.attr.encode("utf-8"))  # type: ignore[operator]
                raise self.pos.error(
                    current, f"name '{current.attr}' is not allowed (starts with '_')", byte_col
                )
            parts.insert(0, current.attr)
            current = current.value
        if not isinstance(current, ast.Name) or current.id in ALIASES:
            raise self.pos.error(node, "attribute access is only allowed on fact paths")
        return self._fact(node, [current.id, *parts])

    def _fact(self, node: ast.AST, parts: list[str]) -> Fn:
        if parts[0].startswith("_"):
            raise self.pos.error(node, f"name '{parts[0]}' is not allowed (starts with '_')")
        path = ".".join(parts)
        if self.schema is not None and path not in self.schema:
            raise self.pos.error(node, self._unknown_fact(path))
        self.paths.add(path)
        return lambda facts: lookup(facts, path)

    def _unknown_fact(self, path: str) -> str:
        assert self.schema is not None
        known = sorted(self.schema)
        hint = did_you_mean(path, known)
        if not hint:
            under = [p for p in known if p.startswith(path + ".")]
            if under:
                hint = f"; '{path}' is a group of facts, e.g. '{under[0]}'"
        return f"unknown fact '{path}'{hint}"

    def _Call(self, node: ast.Call) -> Fn:
        if not isinstance(node.func, ast.Name):
            raise self.pos.error(node, "method calls are not allowed; use e.g. lower(s)")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            hint = did_you_mean(name, sorted(FUNCTIONS)) or f" (allowed: {allowed})"
            raise self.pos.error(node, f"function '{name}' is not allowed{hint}")
        if node.keywords:
            raise self.pos.error(node.keywords[0], f"keyword arguments are not allowed in {name}()")
        spec = FUNCTIONS[name]
        count = len(node.args)
        if count < spec.least or (spec.most is not None and count > spec.most):
            least, most = spec.least, spec.most
            wanted = str(least) if least == most else f"{least}..{most or 'n'}"
            raise self.pos.error(node, f"{name}() takes {wanted} arguments, got {count}")
        if name == "date":
            return self._date(node)
        if name == "matches":
            return self._matches(node)
        fn = spec.fn
        args = tuple(self.compile(a) for a in node.args)
        return lambda facts: fn(*(arg(facts) for arg in args))

    def _matches(self, node: ast.Call) -> Fn:
        """matches(text, "regex"): the pattern is a literal, compiled once here (re.search)."""
        arg, literal = node.args
        if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
            raise self.pos.error(node, 'matches() needs a pattern literal like matches(x, "^DE")')
        try:
            pattern = re.compile(literal.value)
        except re.error as exc:
            raise self.pos.error(literal, f"invalid pattern {literal.value!r}: {exc}") from None
        value = self.compile(arg)
        fn = FUNCTIONS["matches"].fn
        return lambda facts: fn(value(facts), pattern)

    def _date(self, node: ast.Call) -> Fn:
        arg = node.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise self.pos.error(node, 'date() needs a string literal like date("2026-01-31")')
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", arg.value):
            raise self.pos.error(arg, f"date() needs YYYY-MM-DD, got '{arg.value}'")
        try:
            value = date.fromisoformat(arg.value)
        except ValueError as exc:
            raise self.pos.error(arg, f"invalid date '{arg.value}': {exc}") from exc
        return lambda facts: value


def _syntax_error(pos: _Positions, exc: SyntaxError) -> ExpressionError:
    offset = exc.offset or 0
    if offset <= 0 or offset > len(pos.parsed):
        line, col = pos.at_offset(len(pos.parsed.rstrip()))
        return ExpressionError("syntax error: unexpected end of expression", line, col)
    line, col = pos.at_offset(offset - 1)
    return ExpressionError(f"syntax error: {exc.msg}", line, col)


def compile_expression(text: str, schema: Mapping[str, FactDecl] | None) -> Compiled:
    """Compile `text` once; raise ExpressionError (with line and col) if it is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    pos = _Positions(text)
    try:
        with warnings.catch_warnings():  # e.g. "1if x else y": not worth a warning
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(pos.parsed, mode="eval")
        compiler = _Compiler(pos, schema)
        fn = compiler.compile(tree.body)
        infer(tree.body, pos.parsed, schema)
    except TypeProblem as problem:
        raise pos.error(problem.node, problem.message) from None
    except SyntaxError as exc:
        raise _syntax_error(pos, exc) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested") from None
    except ValueError as exc:  # e.g. null bytes
        raise ExpressionError(f"invalid expression: {exc}") from None
    body = tree.body
    literal_true = (isinstance(body, ast.Constant) and body.value is True) or (
        isinstance(body, ast.Name) and body.id == "true"
    )
    return Compiled(text, frozenset(compiler.paths), fn, literal_true)
