"""Rule sets: load a YAML rule file with positions, check it, evaluate it, run its tests.

A rule file has `rule_set`, `version`, `on` (the event, a key of the fact schemas),
`hit_policy` (first | collect | unique), `rules` and optional `tests`. Loading never
returns a partial rule set: any problem is an Issue at `file:line:col` and the result is
None. Rules are kept in evaluation order: priority descending, then file order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import (
    Compiled,
    EvaluationError,
    ExpressionError,
    compile_expression,
    did_you_mean,
    lookup,
)
from engine.core.facts import FACTS, FactDecl
from engine.core.records import Issue

HIT_POLICIES = ("first", "collect", "unique")
TOP_KEYS = ("rule_set", "version", "on", "hit_policy", "rules", "tests")
RULE_KEYS = ("id", "priority", "when", "then", "because")
TEST_KEYS = ("name", "facts", "expect")
EXPECT_KEYS = ("outcome", "fired", "effects")

Schema = Mapping[str, FactDecl]


@dataclass(frozen=True)
class Action:
    """One effect of a rule: a name and its parameters (numbers are Decimal)."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    priority: int
    when: Compiled
    then: tuple[Action, ...]
    because: str | None
    line: int


@dataclass(frozen=True)
class RuleTest:
    """A test case from the file; `expect` holds outcome (str), fired and effects tuples."""

    name: str
    facts: Mapping[str, Any]
    expect: Mapping[str, Any]
    line: int
    col: int = 1


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set; `rules` are in evaluation order, `source` names the file."""

    name: str
    version: str
    on: str
    hit_policy: str
    rules: tuple[Rule, ...]
    tests: tuple[RuleTest, ...]
    sha256: str
    source: str


@dataclass(frozen=True)
class TraceStep:
    rule_id: str
    matched: bool
    message: str


@dataclass(frozen=True)
class Decision:
    """What a rule set decided for one set of facts, and why."""

    rule_set: str
    version: str
    sha256: str
    outcome: str
    effects: tuple[Action, ...]
    fired: tuple[str, ...]
    trace: tuple[TraceStep, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: Decimals and dates become strings."""
        return {
            "rule_set": self.rule_set,
            "version": self.version,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "effects": [{"name": a.name, "params": json_safe(a.params)} for a in self.effects],
            "fired": list(self.fired),
            "trace": [
                {"rule_id": s.rule_id, "matched": s.matched, "message": s.message}
                for s in self.trace
            ],
        }


class RuleConflict(Exception):
    """Under hit policy `unique`, more than one rule matched."""

    def __init__(self, rule_set: str, rule_ids: Sequence[str]) -> None:
        self.rule_set = rule_set
        self.rule_ids = tuple(rule_ids)
        names = ", ".join(self.rule_ids)
        super().__init__(f"rule set '{rule_set}' (hit policy unique): rules {names} all match")


# ------------------------------------------------------------------------- values


def json_safe(value: Any) -> Any:
    """Decimal → plain string, date → ISO string, mappings and sequences recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal | float):
        return format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def format_value(value: Any) -> str:
    """A fact value as a trace message shows it: Decimals plainly, booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def render(template: str, facts: Mapping[str, Any]) -> str:
    """Fill `{fact.path}` placeholders; `{{` and `}}` are literal braces."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group(1) is None:
            return token[0]
        path = match.group(1).strip()
        try:
            return format_value(lookup(facts, path))
        except EvaluationError:
            return f"<missing {path}>"

    return _PLACEHOLDER.sub(fill, template)


def format_action(action: Action) -> str:
    if not action.params:
        return action.name
    params = ", ".join(f"{k}={format_value(v)}" for k, v in action.params.items())
    return f"{action.name}({params})"


# ---------------------------------------------------------------------------- YAML


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


_Values.add_constructor("tag:yaml.org,2002:int", _Values.construct_decimal_int)
_Values.add_constructor("tag:yaml.org,2002:float", _Values.construct_decimal_float)

_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


class _Reader:
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
        result = []
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
        for match in _PLACEHOLDER.finditer(text):
            token, path = match.group(0), match.group(1)
            where = self.inside(node, 1, match.start() + 1) if "\n" not in text else None
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


# --------------------------------------------------------------------------- loading


def load_rule_set(
    text: str, source: str, schemas: Mapping[str, Schema] = FACTS
) -> tuple[RuleSet | None, list[Issue]]:
    """Parse and check a rule file; (rule set, []) or (None, issues), never partial."""
    reader = _Reader(text, source)
    root = reader.compose()
    if root is None:
        return None, reader.issues
    rule_set = _read_rule_set(reader, root, schemas, text)
    if reader.issues or rule_set is None:
        return None, reader.issues
    return rule_set, []


def _read_rule_set(
    reader: _Reader, root: Node, schemas: Mapping[str, Schema], text: str
) -> RuleSet | None:
    top = reader.fields(root, TOP_KEYS, TOP_KEYS[:5], "the rule file")
    if top is None:
        return None
    name = reader.string(top["rule_set"], "'rule_set'") if "rule_set" in top else None
    version = reader.string(top["version"], "'version'") if "version" in top else None
    event = _read_event(reader, top.get("on"), schemas)
    schema = schemas.get(event) if event else None
    policy = _read_policy(reader, top.get("hit_policy"))
    rules = _read_rules(reader, top.get("rules"), schema)
    if rules is not None and policy == "first" and isinstance(top["rules"], SequenceNode):
        _check_default(reader, top["rules"], rules)
    tests = _read_tests(reader, top.get("tests"), schema, rules or ())
    if None in (name, version, event, policy, rules, tests) or reader.issues:
        return None
    return RuleSet(
        name=name or "",
        version=version or "",
        on=event or "",
        hit_policy=policy or "",
        rules=rules or (),
        tests=tests or (),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=reader.source,
    )


def _read_event(reader: _Reader, node: Node | None, schemas: Mapping[str, Schema]) -> str | None:
    event = reader.string(node, "'on'") if node is not None else None
    if node is None or event is None:
        return None
    if event not in schemas:
        hint = did_you_mean(event, sorted(schemas)) or f" (events: {', '.join(sorted(schemas))})"
        reader.error(node, f"unknown event '{event}'{hint}")
        return None
    return event


def _read_policy(reader: _Reader, node: Node | None) -> str | None:
    policy = reader.string(node, "'hit_policy'") if node is not None else None
    if node is None or policy is None:
        return None
    if policy not in HIT_POLICIES:
        hint = did_you_mean(policy, HIT_POLICIES) or f" (one of: {', '.join(HIT_POLICIES)})"
        reader.error(node, f"unknown hit policy '{policy}'{hint}")
        return None
    return policy


def _read_rules(
    reader: _Reader, node: Node | None, schema: Schema | None
) -> tuple[Rule, ...] | None:
    if node is None:
        return None
    if not isinstance(node, SequenceNode) or not node.value:
        reader.error(node, "'rules' must be a non-empty list")
        return None
    rules: list[Rule] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(node.value):
        rule = _read_rule(reader, item, index, schema)
        if rule is None:
            continue
        if rule.id in first_line:
            first = first_line[rule.id]
            reader.error(item, f"duplicate rule id '{rule.id}' (first at line {first})")
            continue
        first_line[rule.id] = rule.line
        rules.append(rule)
    if len(rules) != len(node.value):
        return None
    order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
    return tuple(rules[i] for i in order)


def _read_rule(reader: _Reader, node: Node, index: int, schema: Schema | None) -> Rule | None:
    fields = reader.fields(node, RULE_KEYS, ("id", "when", "then"), _rule_name(node, index))
    if fields is None:
        return None
    rule_id = reader.string(fields["id"], "'id'") if "id" in fields else None
    priority = _read_priority(reader, fields.get("priority"))
    when = reader.expression(fields["when"], schema, "'when'") if "when" in fields else None
    then = reader.actions(fields["then"], "'then'") if "then" in fields else None
    because = reader.template(fields["because"], schema) if "because" in fields else None
    if rule_id is None or priority is None or when is None or then is None:
        return None
    if "because" in fields and because is None:
        return None
    return Rule(rule_id, priority, when, then, because, node.start_mark.line + 1)


def _rule_name(node: Node, index: int) -> str:
    """'rule 'id'' when the rule has a readable id, else 'rule N' (1-based)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            named = isinstance(value, ScalarNode) and bool(value.value)
            if getattr(key, "value", None) == "id" and named:
                return f"rule '{value.value}'"
    return f"rule {index + 1}"


def _read_priority(reader: _Reader, node: Node | None) -> int | None:
    if node is None:
        return 0
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:int":
        value = reader.value(node)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
    reader.error(node, "'priority' must be a whole number")
    return None


def _check_default(reader: _Reader, node: SequenceNode, rules: tuple[Rule, ...]) -> None:
    defaults = [r for r in rules if r.when.literal_true]
    if not defaults:
        reader.error(node, "hit policy 'first' needs a default rule: add a rule with 'when: true'")
        return
    items = {item.start_mark.line + 1: item for item in node.value}
    after = rules[rules.index(defaults[0]) + 1 :]
    for rule in sorted(after, key=lambda r: r.line):
        reader.error(
            items[rule.line],
            f"rule '{rule.id}' can never fire: the default rule '{defaults[0].id}' comes "
            "first (give the default rule a lower priority)",
        )


# ----------------------------------------------------------------------------- tests


def _read_tests(
    reader: _Reader, node: Node | None, schema: Schema | None, rules: Sequence[Rule]
) -> tuple[RuleTest, ...] | None:
    if node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return ()
    if not isinstance(node, SequenceNode):
        reader.error(node, "'tests' must be a list")
        return None
    tests = [_read_test(reader, item, i, schema, rules) for i, item in enumerate(node.value)]
    return None if any(t is None for t in tests) else tuple(t for t in tests if t)


def _read_test(
    reader: _Reader, node: Node, index: int, schema: Schema | None, rules: Sequence[Rule]
) -> RuleTest | None:
    fields = reader.fields(node, TEST_KEYS, ("name", "expect"), f"test {index + 1}")
    if fields is None:
        return None
    name = reader.string(fields["name"], "a test's 'name'") if "name" in fields else None
    facts: Any = {}
    if "facts" in fields:
        facts = reader.value(fields["facts"])
        if not isinstance(facts, dict):
            reader.error(fields["facts"], "'facts' must be a mapping")
            return None
        if schema is not None:
            _check_fact_paths(reader, fields["facts"], "", schema)
    expect = _read_expect(reader, fields["expect"], rules) if "expect" in fields else None
    if name is None or expect is None:
        return None
    return RuleTest(name, facts, expect, node.start_mark.line + 1, node.start_mark.column + 1)


def _check_fact_paths(reader: _Reader, node: Node, prefix: str, schema: Schema) -> None:
    if not isinstance(node, MappingNode):
        return
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        path = f"{prefix}{key.value}"
        if path in schema:
            continue
        if isinstance(value, MappingNode) and any(p.startswith(path + ".") for p in schema):
            _check_fact_paths(reader, value, path + ".", schema)
        else:
            reader.error(key, f"unknown fact '{path}'{did_you_mean(path, sorted(schema))}")


def _read_expect(reader: _Reader, node: Node, rules: Sequence[Rule]) -> dict[str, Any] | None:
    fields = reader.fields(node, EXPECT_KEYS, (), "'expect'")
    if fields is None:
        return None
    if not fields:
        reader.error(node, "'expect' needs outcome, fired or effects")
        return None
    expect: dict[str, Any] = {}
    ok = True
    if "outcome" in fields:
        names = sorted({a.name for r in rules for a in r.then} | {"none"})
        outcome = reader.string(fields["outcome"], "'outcome'")
        if outcome is not None and rules and outcome not in names:
            hint = did_you_mean(outcome, names)
            reader.error(fields["outcome"], f"no rule has the action '{outcome}'{hint}")
        expect["outcome"] = outcome
        ok = ok and outcome is not None
    if "fired" in fields:
        fired = _read_fired(reader, fields["fired"], rules)
        expect["fired"] = fired
        ok = ok and fired is not None
    if "effects" in fields:
        effects = reader.actions(fields["effects"], "'effects'")
        expect["effects"] = effects
        ok = ok and effects is not None
    return expect if ok else None


def _read_fired(reader: _Reader, node: Node, rules: Sequence[Rule]) -> tuple[str, ...] | None:
    if not isinstance(node, SequenceNode):
        reader.error(node, "'fired' must be a list of rule ids")
        return None
    ids = sorted(r.id for r in rules)
    fired = []
    for item in node.value:
        rule_id = reader.string(item, "a rule id")
        if rule_id is not None and rules and rule_id not in ids:
            reader.error(item, f"unknown rule id '{rule_id}'{did_you_mean(rule_id, ids)}")
        fired.append(rule_id)
    return None if None in fired else tuple(f for f in fired if f)


# -------------------------------------------------------------------------- evaluation


def _matches(rule: Rule, facts: Mapping[str, Any]) -> bool:
    try:
        return bool(rule.when(facts))
    except EvaluationError as exc:
        raise EvaluationError(exc.path, f"rule '{rule.id}': {exc.message}") from exc


def _message(rule: Rule, facts: Mapping[str, Any]) -> str:
    return render(rule.because, facts) if rule.because is not None else rule.when.text


def evaluate(rule_set: RuleSet, facts: Mapping[str, Any]) -> Decision:
    """Apply the rule set to the facts under its hit policy; pure."""
    trace: list[TraceStep] = []
    fired: list[Rule] = []
    for rule in rule_set.rules:
        matched = _matches(rule, facts)
        trace.append(TraceStep(rule.id, matched, _message(rule, facts) if matched else ""))
        if matched:
            fired.append(rule)
            if rule_set.hit_policy == "first":
                break
    if rule_set.hit_policy == "unique" and len(fired) > 1:
        raise RuleConflict(rule_set.name, [r.id for r in fired])
    effects = tuple(action for rule in fired for action in rule.then)
    return Decision(
        rule_set=rule_set.name,
        version=rule_set.version,
        sha256=rule_set.sha256,
        outcome=effects[0].name if effects else "none",
        effects=effects,
        fired=tuple(r.id for r in fired),
        trace=tuple(trace),
    )


def run_tests(rule_set: RuleSet) -> list[Issue]:
    """Run the file's tests; one Issue per failing test, at the test's position."""
    issues = []
    for test in rule_set.tests:
        problem = _test_problem(rule_set, test)
        if problem:
            where = f"{rule_set.source}:{test.line}:{test.col}"
            issues.append(Issue(where, f"test '{test.name}': {problem}"))
    return issues


def _test_problem(rule_set: RuleSet, test: RuleTest) -> str | None:
    try:
        decision = evaluate(rule_set, test.facts)
    except (EvaluationError, RuleConflict) as exc:
        return f"error: {exc}"
    fired = ", ".join(decision.fired) or "no rule"
    problems = []
    expect = test.expect
    if "outcome" in expect and expect["outcome"] != decision.outcome:
        problems.append(f"expected outcome {expect['outcome']}, got {decision.outcome}")
    if "fired" in expect and tuple(expect["fired"]) != decision.fired:
        wanted, got = ", ".join(expect["fired"]), ", ".join(decision.fired)
        problems.append(f"expected fired [{wanted}], got [{got}]")
    if "effects" in expect and tuple(expect["effects"]) != decision.effects:
        wanted = ", ".join(format_action(a) for a in expect["effects"])
        got = ", ".join(format_action(a) for a in decision.effects)
        problems.append(f"expected effects [{wanted}], got [{got}]")
    return f"{'; '.join(problems)} (fired: {fired})" if problems else None
