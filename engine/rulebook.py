"""The rule sets in force. Files are proposals; the database holds what is active.

A rule set is activated only if it loads without an error and its tests pass; each
activation is stored with who, when, its sha256, its text and the diff to the one
before. The chain evaluates only the active versions; `reload` picks up an activation
made by another process. With an empty database the files in the rules folder are
activated once (by `o2c init`, or on first use).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.facts import FACTS
from engine.core.records import Issue
from engine.core.rules import RuleSet, load_rule_set, run_tests
from engine.core.simulation import PastDecision, Report, simulate
from engine.services.records import audit
from engine.store.models import DecisionRow, RuleSetVersion


class RulesError(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class Proposal:
    """A rule file as read from disk: its rule set (None when it has errors) and text."""

    path: Path
    text: str
    rule_set: RuleSet | None
    issues: tuple[Issue, ...]


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders contribute their *.yaml, sorted."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    return found


def read_proposal(path: Path, *, with_tests: bool = True) -> Proposal:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Proposal(path, "", None, (Issue(f"{path}:1:1", f"cannot read: {exc}"),))
    rule_set, issues = load_rule_set(text, str(path))
    if rule_set is not None and with_tests:
        issues += run_tests(rule_set)
    return Proposal(path, text, rule_set, tuple(issues))


def load_rules(folder: Path) -> dict[str, RuleSet]:
    """Every rule file of a folder, by event; any error or failing test refuses them all."""
    by_event: dict[str, RuleSet] = {}
    issues: list[Issue] = []
    for proposal in map(read_proposal, rule_files([folder])):
        issues += proposal.issues
        rule_set = proposal.rule_set
        if rule_set is None:
            continue
        if rule_set.on in by_event:
            issues.append(Issue(str(proposal.path), f"a second rule set for '{rule_set.on}' "
                                f"(the first is {by_event[rule_set.on].source})"))
        by_event[rule_set.on] = rule_set
    if issues:
        raise RulesError(issues)
    return by_event


def activate(session: Session, proposal: Proposal, actor: str) -> RuleSetVersion | None:
    """Make the proposal the active version of its event; None if it already is.

    Refused (RulesError) when it has any error or failing test: the active one stays.
    """
    if proposal.rule_set is None or proposal.issues:
        raise RulesError(list(proposal.issues))
    rule_set = proposal.rule_set
    current = active_version(session, rule_set.on)
    if current is not None and current.sha256 == rule_set.sha256:
        return None
    diff = "" if current is None else "".join(difflib.unified_diff(
        current.content.splitlines(True), proposal.text.splitlines(True),
        f"{current.name} v{current.version} ({current.sha256[:12]})",
        f"{rule_set.name} v{rule_set.version} ({rule_set.sha256[:12]})"))
    if current is not None:
        current.active = False
        session.flush()
    row = RuleSetVersion(name=rule_set.name, event=rule_set.on, version=str(rule_set.version),
                         sha256=rule_set.sha256, source=str(proposal.path),
                         content=proposal.text, active=True, activated_by=actor, diff=diff)
    session.add(row)
    session.flush()
    audit(session, actor, "rules.activated", "rule_set_version", row.id, name=rule_set.name,
          version=row.version, sha256=row.sha256)
    return row


def rollback(session: Session, version_id: int, actor: str) -> RuleSetVersion:
    """Activate an earlier stored version again (as a new activation, so history stays)."""
    old = session.get(RuleSetVersion, version_id)
    if old is None:
        raise RulesError([Issue("rollback", f"there is no rule set version {version_id}")])
    proposal = Proposal(Path(old.source), old.content, *_load_stored(old))
    row = activate(session, proposal, actor)
    if row is None:
        raise RulesError([Issue(old.source, f"version {version_id} is already active")])
    return row


def _load_stored(row: RuleSetVersion) -> tuple[RuleSet | None, tuple[Issue, ...]]:
    rule_set, issues = load_rule_set(row.content, row.source)
    return rule_set, tuple(issues)


def active_version(session: Session, event: str) -> RuleSetVersion | None:
    return session.scalar(select(RuleSetVersion).where(RuleSetVersion.event == event,
                                                       RuleSetVersion.active.is_(True)))


def activate_folder(session: Session, folder: Path, actor: str) -> list[str]:
    """Activate every file of the folder that differs from what is active (all or none)."""
    load_rules(folder)  # refuses the whole folder on any error
    done = []
    for proposal in map(read_proposal, rule_files([folder])):
        if activate(session, proposal, actor) is not None:
            assert proposal.rule_set is not None
            done.append(proposal.rule_set.name)
    return done


class ActiveRules:
    """The active rule sets of one process, re-read when another process activates one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.by_event: dict[str, RuleSet] = {}
        self.shas: dict[str, str] = {}

    def reload(self, session: Session) -> None:
        rows = {r.event: r for r in session.scalars(
            select(RuleSetVersion).where(RuleSetVersion.active.is_(True)))}
        if not rows:
            activate_folder(session, self.folder, "system:first-start")
            return self.reload(session)
        for event, row in rows.items():
            if self.shas.get(event) == row.sha256:
                continue
            rule_set, issues = _load_stored(row)
            if rule_set is None:  # stored versions were checked on activation
                raise RulesError(list(issues))
            self.by_event[event], self.shas[event] = rule_set, row.sha256


def past_decisions(session: Session, event: str, since: date | None) -> list[PastDecision]:
    query = select(DecisionRow).where(DecisionRow.event == event).order_by(DecisionRow.id)
    if since is not None:
        query = query.where(DecisionRow.today >= since)
    return [PastDecision(row.id, f"{row.subject_type} {row.subject_id}", row.today, row.facts,
                         row.outcome, tuple(s["rule_id"] for s in row.trace if s["matched"]))
            for row in session.scalars(query)]


def simulate_proposal(session: Session, proposal: Proposal, since: date | None) -> Report:
    """Replay the stored inputs of past decisions of the proposal's event through it."""
    if proposal.rule_set is None:
        raise RulesError(list(proposal.issues))
    event = proposal.rule_set.on
    return simulate(proposal.rule_set, FACTS[event], past_decisions(session, event, since))
