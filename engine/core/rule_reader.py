"""Reading the YAML of one rule file as composed nodes, with a position for every problem.

Reader walks the nodes and collects Issues at `file:line:col`; it checks shapes (mappings,
keys, texts), builds plain values (numbers are Decimal from their source text, never
float), compiles `when` expressions, checks `because` templates and reads actions,
checking each against the event's declared actions (name, parameters, their types and
options) when those are given. Anchors and aliases are refused. Used by
engine.core.rule_files and engine.core.rule_conditions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import Compiled, ExpressionError, compile_expression, did_you_mean
from engine.core.facts import ActionDecl, ParamDecl
from engine.core.records import Issue
from engine.core.rule_records import PLACEHOLDER, Action, Schema


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: rule files stay plain and cheap to walk."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not supported in rule files",
                event.start_mark,
            )
        return super().compose_node(parent, index)


_INT_TEXT = re.compile(r"[-+]?[0-9][0-9_]*")
_FLOAT_TEXT = re.compile(r"[-+]?([0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)([eE][-+]?[0-9]+)?")


class _Values(SafeConstructor):
    """Builds scalars; YAML numbers become Decimal from their source text (no float)."""

    def construct_decimal_int(self, node: ScalarNode) -> Decimal:
        if _INT_TEXT.fullmatch(node.value):
            return Decimal(node.value.replace("_", ""))
        return Decimal(self.construct_yaml_int(node))

    def construct_decimal_float(self, node: ScalarNode) -> Decimal:
        if _FLOAT_TEXT.fullmatch(node.value):
            return Decimal(node.value.replace("_", ""))
        return Decimal(repr(self.construct_yaml_float(node)))


_Values.add_constructor("tag:yaml.org,2002:int", _Values.construct_decimal_int)  # type: ignore[type-var]
_Values.add_constructor("tag:yaml.org,2002:float", _Values.construct_decimal_float)  # type: ignore[type-var]

NULL = "tag:yaml.org,2002:null"
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


class Reader:
    """Walks the composed YAML nodes of one file and collects Issues with positions."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.lines = _LINE_BREAK.split(text)
        self.issues: list[Issue] = []
        self.values = _Values()

    # positions and errors

    def at(self, line: int, col: int, message: str) -> None:
        self.issues.append(Issue(f"{self.source}:{line}:{col}", message))

    def error(self, node: Node, message: str) -> None:
        self.at(node.start_mark.line + 1, node.start_mark.column + 1, message)

    def compose(self) -> Node | None:
        loader = _Loader(self.text)
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or "invalid YAML"
            if exc.context:
                problem = f"{problem} ({exc.context})"
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.at(line, col, f"YAML: {problem}")
            return None
        except yaml.YAMLError as exc:
            self.at(1, 1, f"YAML: {exc}")
            return None
        finally:
            loader.dispose()
        if root is None:
            self.at(1, 1, "empty rule file")
        return root

    # shapes

    def items(self, node: Node, what: str) -> list[tuple[str, Node, Node]] | None:
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        seen: dict[str, int] = {}
        result: list[tuple[str, Node, Node]] = []
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.error(key, f"keys in {what} must be plain names")
            elif key.value in seen:
                self.error(key, f"duplicate key '{key.value}' (first at line {seen[key.value]})")
            else:
                seen[key.value] = key.start_mark.line + 1
                result.append((key.value, key, value))
        return result

    def fields(
        self, node: Node, allowed: Sequence[str], required: Sequence[str], what: str
    ) -> dict[str, Node] | None:
        items = self.items(node, what)
        if items is None:
            return None
        found: dict[str, Node] = {}
        for name, key, value in items:
            if name in allowed:
                found[name] = value
                continue
            hint = did_you_mean(name, list(allowed)) or f" (allowed: {', '.join(allowed)})"
            self.error(key, f"unknown key '{name}' in {what}{hint}")
        for name in required:
            if name not in found:
                self.error(node, f"{what} needs '{name}'")
        return found

    def string(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null" and node.value:
            return str(node.value)
        self.error(node, f"{what} must be a non-empty text")
        return None

    def value(self, node: Node) -> Any:
        """Plain data: scalars via _Values (Decimal numbers, dates), keys kept as written."""
        if isinstance(node, SequenceNode):
            return [self.value(item) for item in node.value]
        if isinstance(node, MappingNode):
            return {name: self.value(v) for name, _, v in self.items(node, "a mapping") or []}
        try:
            return self.values.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.error(node, f"bad value: {exc}")
            return None

    # expressions and templates

    def expression(self, node: Node, schema: Schema | None, what: str) -> Compiled | None:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.error(node, f"{what} must be an expression")
            return None
        text = node.value
        if node.tag == "tag:yaml.org,2002:bool":
            text = "true" if self.values.construct_object(node) else "false"
        try:
            return compile_expression(text, schema)
        except ExpressionError as exc:
            self.at(*self.inside(node, exc.line, exc.col), exc.message)
            return None

    def inside(self, node: ScalarNode, line: int, col: int) -> tuple[int, int]:
        """The file position of line:col inside a scalar's value, where it can be known."""
        start, value = node.start_mark, node.value
        if line == 1 and "\n" not in value:
            if node.style is None and self.text.startswith(value, start.index):
                return start.line + 1, start.column + col
            quoted_at = start.index + 1
            end = quoted_at + len(value)
            if (
                node.style in ("'", '"')
                and self.text.startswith(value, quoted_at)
                and self.text[end : end + 1] == node.style
            ):
                return start.line + 1, start.column + 1 + col
        if node.style == "|":
            position = self._in_literal_block(node, line, col)
            if position:
                return position
        return start.line + 1, start.column + 1

    def _in_literal_block(self, node: ScalarNode, line: int, col: int) -> tuple[int, int] | None:
        first = node.start_mark.line + 1
        content = [s for s in self.lines[first:] if s.strip()]
        if not content:
            return None
        indent = len(content[0]) - len(content[0].lstrip(" "))
        index = node.start_mark.line + line
        wanted = node.value.split("\n")[line - 1]
        if index < len(self.lines) and self.lines[index][indent:].rstrip() == wanted.rstrip():
            return index + 1, indent + col
        return None

    def template(self, node: Node, schema: Schema | None) -> str | None:
        text = self.string(node, "'because'")
        if text is None:
            return None
        for match in PLACEHOLDER.finditer(text):
            token, path = match.group(0), match.group(1)
            plain = isinstance(node, ScalarNode) and "\n" not in text
            where = self.inside(node, 1, match.start() + 1) if plain else None  # type: ignore[arg-type]
            if path is None and token in ("{", "}"):
                message = f"unbalanced '{token}' in 'because' (write {{{{ or }}}} for a brace)"
                self._template_error(node, where, message)
            elif path is not None and schema is not None and path.strip() not in schema:
                name = path.strip()
                message = f"unknown fact '{name}' in 'because'{did_you_mean(name, sorted(schema))}"
                self._template_error(node, where, message)
        return text

    def _template_error(self, node: Node, where: tuple[int, int] | None, message: str) -> None:
        if where is None:
            self.error(node, message)
        else:
            self.at(*where, message)

    # actions

    def actions(
        self, node: Node, what: str, decls: Mapping[str, ActionDecl] | None = None
    ) -> tuple[Action, ...] | None:
        """A `then` list (names or {name: {params}}), checked against `decls` if given."""
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list of actions, e.g. [approve]")
            return None
        result = [self.action(item, decls) for item in node.value]
        return None if any(a is None for a in result) else tuple(a for a in result if a)

    def action(self, node: Node, decls: Mapping[str, ActionDecl] | None = None) -> Action | None:
        if isinstance(node, ScalarNode):
            name = self.string(node, "an action name")
            return self.checked_action(name, node, None, decls) if name else None
        items = self.items(node, "an action")
        if items is None:
            return None
        if len(items) != 1:
            self.error(node, "an action is a name or a mapping with one key: {name: {params}}")
            return None
        name, key, params = items[0]
        return self.checked_action(name, key, params, decls)

    def checked_action(
        self, name: str, at: Node, params: Node | None, decls: Mapping[str, ActionDecl] | None
    ) -> Action | None:
        """Read an action's parameters and check name, parameters and values against decls."""
        if params is None or (isinstance(params, ScalarNode) and params.tag == NULL):
            items: list[tuple[str, Node, Node]] = []
        elif isinstance(params, MappingNode):
            items = self.items(params, f"the parameters of '{name}'") or []
        else:
            self.error(params, f"parameters of '{name}' must be a mapping")
            return None
        values = {key: self.value(value) for key, _, value in items}
        if decls is None:
            return Action(name, values)
        before = len(self.issues)
        decl = decls.get(name)
        if decl is None:
            known = sorted(decls)
            hint = did_you_mean(name, known) or f" (actions: {', '.join(known)})"
            self.error(at, f"unknown action '{name}'{hint}")
            return None
        for key, key_node, value_node in items:
            self._check_param(decl, key, key_node, value_node, values[key])
        for param in decl.params:
            if param.required and param.name not in values:
                self.error(at, f"action '{name}' needs the parameter '{param.name}'")
        return Action(name, values) if len(self.issues) == before else None

    def _check_param(
        self, decl: ActionDecl, key: str, key_node: Node, node: Node, value: Any
    ) -> None:
        param = decl.param(key)
        if param is None:
            names = [p.name for p in decl.params]
            if not names:
                self.error(key_node, f"action '{decl.name}' takes no parameters")
                return
            hint = did_you_mean(key, names) or f" (parameters: {', '.join(names)})"
            self.error(key_node, f"unknown parameter '{key}' of '{decl.name}'{hint}")
            return
        problem = param_problem(param, value)
        if problem:
            self.error(node, f"parameter '{key}' of '{decl.name}' {problem}")


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "none"}[value]
    return f"'{value}'" if isinstance(value, str) else str(value)


def param_problem(param: ParamDecl, value: Any) -> str | None:
    """Why `value` does not fit the parameter, or None."""
    number = isinstance(value, Decimal) and value.is_finite()
    if param.type == "select":
        options = list(param.options)
        if isinstance(value, str) and value in options:
            return None
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        return f"must be one of {', '.join(options)}, got {_shown(value)}{hint}"
    fits = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "number": number,
        "integer": number and value == value.to_integral_value(),
    }.get(param.type, True)
    wanted = {"string": "a text", "boolean": "true or false", "number": "a number",
              "integer": "a whole number"}.get(param.type, param.type)
    return None if fits else f"must be {wanted}, got {_shown(value)}"
