"""The rule sets in force: read from the rules folder, validated, tested, versioned.

A rule set with any error or a failing test is refused as a whole (RulesError names
file:line:col); the one in force stays in force.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.records import Issue
from engine.core.rules import RuleSet, load_rule_set, run_tests
from engine.store.models import RuleSetVersion


class RulesError(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def load_rules(folder: Path) -> dict[str, RuleSet]:
    """Every *.yaml directly in the folder, by the event it handles (`on`)."""
    by_event: dict[str, RuleSet] = {}
    issues: list[Issue] = []
    for path in sorted(folder.glob("*.yaml")):
        rule_set, problems = load_rule_set(path.read_text(encoding="utf-8"), str(path))
        issues += problems
        if rule_set is None:
            continue
        issues += run_tests(rule_set)
        if rule_set.on in by_event:
            issues.append(Issue(str(path), f"a second rule set for '{rule_set.on}' "
                                f"(the first is {by_event[rule_set.on].source})"))
        by_event[rule_set.on] = rule_set
    if issues:
        raise RulesError(issues)
    return by_event


def record_versions(session: Session, rules: dict[str, RuleSet], actor: str) -> list[str]:
    """Store each rule set whose sha256 is new, with a diff against the previous one."""
    activated = []
    for rule_set in rules.values():
        known = session.scalar(select(RuleSetVersion).where(
            RuleSetVersion.name == rule_set.name, RuleSetVersion.sha256 == rule_set.sha256))
        if known:
            continue
        previous = session.scalar(select(RuleSetVersion).where(
            RuleSetVersion.name == rule_set.name).order_by(RuleSetVersion.id.desc()).limit(1))
        content = Path(rule_set.source).read_text(encoding="utf-8")
        diff = "" if previous is None else "".join(difflib.unified_diff(
            previous.content.splitlines(True), content.splitlines(True),
            f"{rule_set.name} {previous.version}", f"{rule_set.name} {rule_set.version}"))
        session.add(RuleSetVersion(name=rule_set.name, version=str(rule_set.version),
                                   sha256=rule_set.sha256, content=content,
                                   activated_by=actor, diff=diff))
        activated.append(rule_set.name)
    return activated
