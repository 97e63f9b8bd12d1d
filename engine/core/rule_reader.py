"""Reading the YAML of one rule file as composed nodes, with a position for every problem.

Reader walks the nodes and collects Issues at `file:line:col`; it checks shapes (mappings,
keys, texts), builds plain values (numbers are Decimal from their source text, never
float), compiles `when` expressions, checks `because` templates and reads actions.
Anchors and aliases are refused. Used by engine.core.rule_files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import Compiled, ExpressionError, compile_expression, did_you_mean
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

    def actions(self, node: Node, what: str) -> tuple[Action, ...] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list of actions, e.g. [approve]")
            return None
        result = [self.action(item) for item in node.value]
        return None if any(a is None for a in result) else tuple(a for a in result if a)

    def action(self, node: Node) -> Action | None:
        if isinstance(node, ScalarNode):
            name = self.string(node, "an action name")
            return Action(name, {}) if name else None
        items = self.items(node, "an action")
        if items is None:
            return None
        if len(items) != 1:
            self.error(node, "an action is a name or a mapping with one key: {name: {params}}")
            return None
        name, key, params = items[0]
        if isinstance(params, ScalarNode) and params.tag == "tag:yaml.org,2002:null":
            return Action(name, {})
        if not isinstance(params, MappingNode):
            self.error(params, f"parameters of '{name}' must be a mapping")
            return None
        return Action(name, self.value(params))

