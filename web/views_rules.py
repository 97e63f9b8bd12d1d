"""The rule editor: each rule file's YAML in an editor; saving keeps a draft and shows
every error at its line and column; the file's tests on a click; a simulation against
the stored decisions; activation, history and rollback (process owners and admins only).

Drafts live under <storage>/rule_drafts/, never in the rules folder: the rule set in
force is the one activated in the database, and a draft with a typo harms nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from sqlalchemy import select

from engine import rulebook
from engine.core.facts import ACTIONS, FACTS
from engine.core.records import Issue
from engine.core.rules import load_rule_set, run_tests
from engine.services.records import audit
from engine.store.models import RuleSetVersion
from web.auth import login_required, runtime
from web.views_common import actor, bp

F = TypeVar("F", bound=Callable[..., Any])
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
WHERE = re.compile(r":(\d+):(\d+)$|:(\d+)$")
ACTIVATORS = ("process_owner", "admin")


def only(*roles: str) -> Callable[[F], F]:
    """Narrower than login_required's "at least": exactly these roles (inside it)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if session.get("role") not in roles:
                abort(403)
            return view(*args, **kwargs)

        inner.only_roles = roles  # type: ignore[attr-defined]  # for the route x role test
        return inner  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class Shown:
    """An issue as the editor shows it: line and column (0 when unknown) and the text."""

    line: int
    col: int
    text: str


def shown(issues: tuple[Issue, ...] | list[Issue], name: str) -> list[Shown]:
    out = []
    for issue in issues:
        match = WHERE.search(issue.where)
        line = int(match.group(1) or match.group(3)) if match else 0
        col = int(match.group(2)) if match and match.group(2) else 0
        place = f"{name}.yaml" + (f":{line}" if line else "") + (f":{col}" if col else "")
        out.append(Shown(line, col, f"{place}: {issue.message}"))
    return sorted(out, key=lambda s: (s.line, s.col))


def _folder() -> Path:
    return runtime().config.path("storage.rules")


def _drafts() -> Path:
    return runtime().config.path("storage.dir") / "rule_drafts"


def _file(name: str) -> Path:
    if not NAME.match(name) or not (_folder() / f"{name}.yaml").is_file():
        abort(404)
    return _folder() / f"{name}.yaml"


def _draft(name: str) -> Path:
    return _drafts() / f"{name}.yaml"


def _rule_set_name(path: Path) -> str:
    proposal = rulebook.read_proposal(path, with_tests=False)
    if proposal.rule_set is not None:
        return proposal.rule_set.name
    found = re.search(r"^rule_set:\s*(\S+)", proposal.text, re.MULTILINE)
    return found.group(1) if found else path.stem


def _versions(name: str) -> list[RuleSetVersion]:
    with runtime().db.unit_of_work() as s:
        rows = list(s.scalars(select(RuleSetVersion).where(RuleSetVersion.name == name)
                              .order_by(RuleSetVersion.id.desc())))
        s.expunge_all()
    return rows


def _source(name: str) -> tuple[Path, bool]:
    """The text to edit: the draft, else the file of the rules folder (the proposal).
    Returns (path, whether it is a draft)."""
    draft = _draft(name)
    if draft.is_file():
        return draft, True
    return _file(name), False


def _proposal(name: str, *, with_tests: bool) -> rulebook.Proposal:
    """The draft (or the file) read as if it were the file of the rules folder, so the
    issues and the stored source name rules/<name>.yaml, not the draft's path."""
    path, _ = _source(name)
    text = path.read_text("utf-8")
    rule_set, issues = load_rule_set(text, str(_file(name)))
    if rule_set is not None and with_tests:
        issues += run_tests(rule_set)
    return rulebook.Proposal(_file(name), text, rule_set, tuple(issues))


def _event_of(text: str) -> str:
    found = re.search(r"^on:\s*(\S+)", text, re.MULTILINE)
    return found.group(1) if found else ""


def _editor(name: str, *, text: str | None = None, issues: list[Shown] | None = None,
            tests: dict[str, Any] | None = None, simulation: Any = None,
            status: int = 200) -> Any:
    path, is_draft = _source(name)
    if text is None:
        text = path.read_text("utf-8")
    if issues is None:
        issues = shown(_proposal(name, with_tests=False).issues, name) if is_draft else []
    versions = _versions(_rule_set_name(path))
    event = next((v.event for v in versions), None) or _event_of(text)
    return render_template("rule_edit.html", name=name, text=text, issues=issues,
                           facts=list(FACTS.get(event, {}).values()),
                           actions=list(ACTIONS.get(event, {}).values()),
                           bad_lines=",".join(str(i.line) for i in issues if i.line),
                           tests=tests, simulation=simulation, versions=versions,
                           draft=is_draft, can_activate=session.get("role") in ACTIVATORS), status


@bp.route("/rules")
@login_required()
def rule_list() -> Any:
    rows = []
    for path in rulebook.rule_files([_folder()]):
        proposal = rulebook.read_proposal(path, with_tests=False)
        versions = _versions(_rule_set_name(path))
        active = next((v for v in versions if v.active), None)
        rows.append({"name": path.stem, "rule_set": proposal.rule_set,
                     "problems": len(proposal.issues), "active": active,
                     "activations": len(versions), "draft": _draft(path.stem).is_file()})
    return render_template("rules.html", rows=rows)


@bp.route("/rules/<name>")
@login_required()
def rule_edit(name: str) -> Any:
    return _editor(name)


@bp.route("/rules/<name>", methods=["POST"])
@login_required("process_owner")
def rule_save(name: str) -> Any:
    _file(name)
    text = request.form.get("text", "").replace("\r\n", "\n")
    draft = _draft(name)
    draft.parent.mkdir(parents=True, exist_ok=True)
    draft.write_text(text, "utf-8")
    issues = shown(_proposal(name, with_tests=False).issues, name)
    with runtime().db.unit_of_work() as s:
        audit(s, actor(), "rules.draft_saved", "rule_file", None, file=f"{name}.yaml",
              problems=len(issues))
    if not issues:
        flash(gettext("%(file)s: saved as a draft, no errors", file=name + ".yaml"))
    return _editor(name, text=text, issues=issues, status=422 if issues else 200)


@bp.route("/rules/<name>/discard", methods=["POST"])
@login_required("process_owner")
def rule_discard(name: str) -> Any:
    _file(name)
    _draft(name).unlink(missing_ok=True)
    with runtime().db.unit_of_work() as s:
        audit(s, actor(), "rules.draft_discarded", "rule_file", None, file=f"{name}.yaml")
    flash(gettext("%(file)s: draft discarded", file=name + ".yaml"))
    return redirect(url_for("views.rule_edit", name=name))


@bp.route("/rules/<name>/test", methods=["POST"])
@login_required("process_owner")
def rule_test(name: str) -> Any:
    proposal = _proposal(name, with_tests=True)
    issues = shown(proposal.issues, name)
    count = len(proposal.rule_set.tests) if proposal.rule_set else 0
    failed = sum(1 for i in proposal.issues if "test '" in i.message)
    return _editor(name, issues=issues, tests={"count": count, "failed": failed,
                                               "loaded": proposal.rule_set is not None})


@bp.route("/rules/<name>/simulate", methods=["POST"])
@login_required("process_owner")
def rule_simulate(name: str) -> Any:
    proposal = _proposal(name, with_tests=False)
    if proposal.rule_set is None:
        return _editor(name, issues=shown(proposal.issues, name), status=422)
    since_text = request.form.get("since", "").strip()
    try:
        since = date.fromisoformat(since_text) if since_text else None
    except ValueError:
        flash(gettext("'%(text)s' is not a date", text=since_text))
        return _editor(name)
    with runtime().db.unit_of_work() as s:
        report = rulebook.simulate_proposal(s, proposal, since)
    return _editor(name, simulation=report)


@bp.route("/rules/<name>/activate", methods=["POST"])
@login_required("process_owner")
@only(*ACTIVATORS)
def rule_activate(name: str) -> Any:
    path, is_draft = _source(name)
    proposal = _proposal(name, with_tests=True)
    rt = runtime()
    try:
        with rt.db.unit_of_work() as s:
            row = rulebook.activate(s, proposal, actor())
            version = row.version if row else None
    except rulebook.RulesError as exc:
        flash(gettext("%(file)s was not activated: the rule set in force stays",
                      file=name + ".yaml"))
        return _editor(name, issues=shown(exc.issues, name), status=422)
    rt.reload_rules()
    if is_draft:
        path.unlink(missing_ok=True)
    flash(gettext("%(file)s: version %(version)s is now active", file=name + ".yaml",
                  version=version) if version
          else gettext("%(file)s: this version is already active", file=name + ".yaml"))
    return redirect(url_for("views.rule_edit", name=name))


@bp.route("/rules/versions/<int:version_id>/rollback", methods=["POST"])
@login_required("process_owner")
@only(*ACTIVATORS)
def rule_rollback(version_id: int) -> Any:
    rt = runtime()
    name = request.form.get("name", "")
    try:
        with rt.db.unit_of_work() as s:
            row = rulebook.rollback(s, version_id, actor())
            flash(gettext("%(name)s: version %(version)s (%(sha)s) is active again",
                          name=row.name, version=row.version, sha=row.sha256[:12]))
    except rulebook.RulesError as exc:
        flash("; ".join(i.message for i in exc.issues))
    rt.reload_rules()
    if NAME.match(name):
        return redirect(url_for("views.rule_edit", name=name))
    return redirect(url_for("views.rule_list"))
