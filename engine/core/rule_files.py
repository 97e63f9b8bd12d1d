"""Loading a rule file: YAML text to a checked RuleSet, or Issues at `file:line:col`.

A rule file has `rule_set`, `version`, `on` (the event, a key of the schemas),
`hit_policy` (first | collect | unique), `rules` and optional `tests`. A rule has `id`,
optional `priority` and `because`, and either `when` (an expression) or `conditions`
(the business-rules form, engine.core.rule_conditions), and either `then` or `actions`
(the business-rules form); actions are checked against the event's declared actions.
Loading never returns a partial rule set: any problem is an Issue at `file:line:col` and
the result is None. Rules are kept in evaluation order: priority descending, then file
order. Under `first`, a rule after the default rule or with the same condition as a rule
above it is an error (it can never fire). load_rule_set is re-exported by
engine.core.rules; untested_rules lists the rules that no test of the file exercises.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import EvaluationError, did_you_mean
from engine.core.facts import EVENTS, ActionDecl, EventSchema
from engine.core.records import Issue
from engine.core.rule_conditions import read_actions, read_conditions
from engine.core.rule_reader import Reader
from engine.core.rule_records import HIT_POLICIES, Action, Rule, RuleSet, RuleTest, Schema

TOP_KEYS = ("rule_set", "version", "on", "hit_policy", "rules", "tests")
RULE_KEYS = ("id", "priority", "when", "then", "conditions", "actions", "because")
TEST_KEYS = ("name", "facts", "expect")
EXPECT_KEYS = ("outcome", "fired", "effects")


# --------------------------------------------------------------------------- loading


Schemas = Mapping[str, EventSchema | Schema]
Actions = Mapping[str, ActionDecl] | None


MAX_FILE_CHARS = 1_000_000


def load_rule_set(
    text: str, source: str, schemas: Schemas = EVENTS
) -> tuple[RuleSet | None, list[Issue]]:
    """Parse and check a rule file; (rule set, []) or (None, issues), never partial.

    `schemas` maps each event to an EventSchema (facts and actions; the default, EVENTS,
    holds the declarations of engine.core.facts) or to a plain mapping of facts, in
    which case actions are not checked.
    """
    if len(text) > MAX_FILE_CHARS:
        return None, [Issue(f"{source}:1:1", f"the file has {len(text):,} characters; a rule "
                            f"file may have at most {MAX_FILE_CHARS:,}")]
    reader = Reader(text, source)
    try:
        root = reader.compose()
        if root is None:
            return None, reader.issues
        events = {e: s if isinstance(s, EventSchema) else EventSchema(s)
                  for e, s in schemas.items()}
        rule_set = _read_rule_set(reader, root, events, text)
    except (RecursionError, MemoryError):
        return None, [*reader.issues, Issue(f"{source}:1:1", "nested too deeply to read")]
    if reader.issues or rule_set is None:
        return None, reader.issues
    return rule_set, []


def _read_rule_set(
    reader: Reader, root: Node, schemas: Mapping[str, EventSchema], text: str
) -> RuleSet | None:
    top = reader.fields(root, TOP_KEYS, TOP_KEYS[:5], "the rule file")
    if top is None:
        return None
    name = reader.string(top["rule_set"], "'rule_set'") if "rule_set" in top else None
    version = reader.string(top["version"], "'version'") if "version" in top else None
    event = _read_event(reader, top.get("on"), schemas)
    schema = schemas[event].facts if event else None
    actions = schemas[event].actions if event else None
    policy = _read_policy(reader, top.get("hit_policy"))
    rules = _read_rules(reader, top.get("rules"), schema, actions)
    if rules is not None and policy == "first" and isinstance(top["rules"], SequenceNode):
        _check_default(reader, top["rules"], rules)
        _check_shadowed(reader, top["rules"], rules)
    tests = _read_tests(reader, top.get("tests"), schema, rules or (), actions)
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


def _read_event(
    reader: Reader, node: Node | None, schemas: Mapping[str, EventSchema]
) -> str | None:
    event = reader.string(node, "'on'") if node is not None else None
    if node is None or event is None:
        return None
    if event not in schemas:
        hint = did_you_mean(event, sorted(schemas)) or f" (events: {', '.join(sorted(schemas))})"
        reader.error(node, f"unknown event '{event}'{hint}")
        return None
    return event


def _read_policy(reader: Reader, node: Node | None) -> str | None:
    policy = reader.string(node, "'hit_policy'") if node is not None else None
    if node is None or policy is None:
        return None
    if policy not in HIT_POLICIES:
        hint = did_you_mean(policy, HIT_POLICIES) or f" (one of: {', '.join(HIT_POLICIES)})"
        reader.error(node, f"unknown hit policy '{policy}'{hint}")
        return None
    return policy


def _read_rules(
    reader: Reader, node: Node | None, schema: Schema | None, actions: Actions
) -> tuple[Rule, ...] | None:
    if node is None:
        return None
    if not isinstance(node, SequenceNode) or not node.value:
        reader.error(node, "'rules' must be a non-empty list")
        return None
    rules: list[Rule] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(node.value):
        rule = _read_rule(reader, item, index, schema, actions)
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


def _read_rule(
    reader: Reader, node: Node, index: int, schema: Schema | None, actions: Actions
) -> Rule | None:
    """A rule with `when` and `then`, or the business-rules form `conditions`, `actions`."""
    name = _rule_name(node, index)
    fields = reader.fields(node, RULE_KEYS, ("id",), name)
    if fields is None:
        return None
    condition_ok = _one_of(reader, node, fields, ("when", "conditions"), name)
    if not (_one_of(reader, node, fields, ("then", "actions"), name) and condition_ok):
        return None
    rule_id = reader.string(fields["id"], "'id'") if "id" in fields else None
    priority = _read_priority(reader, fields.get("priority"))
    if "when" in fields:
        when = reader.expression(fields["when"], schema, "'when'")
    else:
        when = read_conditions(reader, fields["conditions"], schema)
    then: tuple[Action, ...] | None
    if "then" in fields:
        then = reader.actions(fields["then"], "'then'", actions)
    else:
        then = read_actions(reader, fields["actions"], actions)
    because = reader.template(fields["because"], schema) if "because" in fields else None
    if rule_id is None or priority is None or when is None or then is None:
        return None
    if "because" in fields and because is None:
        return None
    return Rule(rule_id, priority, when, then, because, node.start_mark.line + 1)


def _one_of(
    reader: Reader, node: Node, fields: Mapping[str, Node], pair: tuple[str, str], name: str
) -> bool:
    """Exactly one key of the pair, e.g. `when` or `conditions`."""
    first, second = pair
    if first in fields and second in fields:
        reader.error(fields[second], f"{name} has both '{first}' and '{second}': keep one")
        return False
    if first not in fields and second not in fields:
        reader.error(node, f"{name} needs '{first}' (or '{second}')")
        return False
    return True


def _rule_name(node: Node, index: int) -> str:
    """'rule 'id'' when the rule has a readable id, else 'rule N' (1-based)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            named = isinstance(value, ScalarNode) and bool(value.value)
            if getattr(key, "value", None) == "id" and named:
                return f"rule '{value.value}'"
    return f"rule {index + 1}"


def _read_priority(reader: Reader, node: Node | None) -> int | None:
    if node is None:
        return 0
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:int":
        value = reader.value(node)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
    reader.error(node, "'priority' must be a whole number")
    return None


def _check_default(reader: Reader, node: SequenceNode, rules: tuple[Rule, ...]) -> None:
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


def _check_shadowed(reader: Reader, node: SequenceNode, rules: tuple[Rule, ...]) -> None:
    """Under `first`, a rule with the same condition as one above it can never fire.

    Conditions are compared by their syntax tree, so spacing does not matter. Rules after
    the default rule are left to _check_default.
    """
    items = {item.start_mark.line + 1: item for item in node.value}
    seen: dict[str, Rule] = {}
    for rule in rules:
        key = _condition_key(rule.when.text)
        earlier = seen.setdefault(key, rule)
        if earlier is not rule:
            reader.error(items[rule.line], f"rule '{rule.id}' can never fire: rule "
                                           f"'{earlier.id}' above has the same condition")
        if rule.when.literal_true:
            return


def _condition_key(text: str) -> str:
    try:
        return ast.dump(ast.parse(text.replace("\r", " ").replace("\n", " ").strip(),
                                  mode="eval"))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return text


def untested_rules(rule_set: RuleSet) -> list[str]:
    """Ids of the rules whose condition is true for no test's facts, in evaluation order.

    Each rule's condition is checked on its own against every test's facts (as under hit
    policy collect); a condition that cannot be evaluated for a test counts as false.
    """
    untested = []
    for rule in rule_set.rules:
        if not any(_holds(rule, test.facts) for test in rule_set.tests):
            untested.append(rule.id)
    return untested


def _holds(rule: Rule, facts: Mapping[str, Any]) -> bool:
    try:
        return bool(rule.when(facts))
    except EvaluationError:
        return False


# ----------------------------------------------------------------------------- tests


def _read_tests(
    reader: Reader, node: Node | None, schema: Schema | None, rules: Sequence[Rule],
    actions: Actions,
) -> tuple[RuleTest, ...] | None:
    if node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return ()
    if not isinstance(node, SequenceNode):
        reader.error(node, "'tests' must be a list")
        return None
    tests = [_read_test(reader, item, i, schema, rules, actions)
             for i, item in enumerate(node.value)]
    return None if any(t is None for t in tests) else tuple(t for t in tests if t)


def _read_test(
    reader: Reader, node: Node, index: int, schema: Schema | None, rules: Sequence[Rule],
    actions: Actions,
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
    expect = _read_expect(reader, fields["expect"], rules, actions) if "expect" in fields else None
    if name is None or expect is None:
        return None
    return RuleTest(name, facts, expect, node.start_mark.line + 1, node.start_mark.column + 1)


def _check_fact_paths(reader: Reader, node: Node, prefix: str, schema: Schema) -> None:
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


def _read_expect(
    reader: Reader, node: Node, rules: Sequence[Rule], actions: Actions
) -> dict[str, Any] | None:
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
        effects = reader.actions(fields["effects"], "'effects'", actions)
        expect["effects"] = effects
        ok = ok and effects is not None
    return expect if ok else None


def _read_fired(reader: Reader, node: Node, rules: Sequence[Rule]) -> tuple[str, ...] | None:
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
