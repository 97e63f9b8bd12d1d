"""Loading a rule file: YAML text to a checked RuleSet, or Issues at `file:line:col`.

A rule file has `rule_set`, `version`, `on` (the event, a key of the fact schemas),
`hit_policy` (first | collect | unique), `rules` and optional `tests`. Loading never
returns a partial rule set: any problem is an Issue at `file:line:col` and the result is
None. Rules are kept in evaluation order: priority descending, then file order.
load_rule_set is re-exported by engine.core.rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.core.expressions import did_you_mean
from engine.core.facts import FACTS
from engine.core.records import Issue
from engine.core.rule_reader import Reader
from engine.core.rule_records import HIT_POLICIES, Rule, RuleSet, RuleTest, Schema

TOP_KEYS = ("rule_set", "version", "on", "hit_policy", "rules", "tests")
RULE_KEYS = ("id", "priority", "when", "then", "because")
TEST_KEYS = ("name", "facts", "expect")
EXPECT_KEYS = ("outcome", "fired", "effects")


# --------------------------------------------------------------------------- loading


def load_rule_set(
    text: str, source: str, schemas: Mapping[str, Schema] = FACTS
) -> tuple[RuleSet | None, list[Issue]]:
    """Parse and check a rule file; (rule set, []) or (None, issues), never partial."""
    reader = Reader(text, source)
    root = reader.compose()
    if root is None:
        return None, reader.issues
    rule_set = _read_rule_set(reader, root, schemas, text)
    if reader.issues or rule_set is None:
        return None, reader.issues
    return rule_set, []


def _read_rule_set(
    reader: Reader, root: Node, schemas: Mapping[str, Schema], text: str
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


def _read_event(reader: Reader, node: Node | None, schemas: Mapping[str, Schema]) -> str | None:
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
    reader: Reader, node: Node | None, schema: Schema | None
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


def _read_rule(reader: Reader, node: Node, index: int, schema: Schema | None) -> Rule | None:
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


# ----------------------------------------------------------------------------- tests


def _read_tests(
    reader: Reader, node: Node | None, schema: Schema | None, rules: Sequence[Rule]
) -> tuple[RuleTest, ...] | None:
    if node is None or (isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
        return ()
    if not isinstance(node, SequenceNode):
        reader.error(node, "'tests' must be a list")
        return None
    tests = [_read_test(reader, item, i, schema, rules) for i, item in enumerate(node.value)]
    return None if any(t is None for t in tests) else tuple(t for t in tests if t)


def _read_test(
    reader: Reader, node: Node, index: int, schema: Schema | None, rules: Sequence[Rule]
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


def _read_expect(reader: Reader, node: Node, rules: Sequence[Rule]) -> dict[str, Any] | None:
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
