"""`o2c rules …`: check, test, evaluate, simulate, activate and roll back rule sets."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import select

from engine.core.expressions import EvaluationError
from engine.core.facts import FACTS
from engine.core.rules import RuleConflict, evaluate, json_safe
from engine.core.simulation import revive
from engine.rulebook import (
    RulesError,
    activate,
    read_proposal,
    rollback,
    rule_files,
    simulate_proposal,
)
from engine.store.db import upgrade
from engine.store.models import RuleSetVersion
from web.cli_common import State, date_option


def _paths(state: State, given: tuple[str, ...]) -> list[Path]:
    if given:
        return rule_files(Path(p) for p in given)
    return rule_files([state.config.path("storage.rules")])


@click.group()
def rules() -> None:
    """Rule sets: check, test, eval, simulate, activate, history, rollback, facts."""


@rules.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.pass_obj
def check(state: State, paths: tuple[str, ...]) -> None:
    """Load rule files (default: the rules folder); print every error as FILE:LINE:COL."""
    problems = 0
    for path in _paths(state, paths):
        proposal = read_proposal(path, with_tests=False)
        for issue in proposal.issues:
            click.echo(str(issue))
        problems += len(proposal.issues)
    sys.exit(1 if problems else 0)


@rules.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.pass_obj
def test_command(state: State, paths: tuple[str, ...]) -> None:
    """Run the tests in the files; report failures and rules no test exercises."""
    from engine.core.rule_files import untested_rules

    failed = 0
    for path in _paths(state, paths):
        proposal = read_proposal(path)
        for issue in proposal.issues:
            click.echo(str(issue))
        failed += len(proposal.issues)
        if proposal.rule_set is not None:
            count = len(proposal.rule_set.tests)
            untested = untested_rules(proposal.rule_set)
            note = f"; no test exercises: {', '.join(untested)}" if untested else ""
            status = "ok" if not proposal.issues else "FAILED"
            click.echo(f"{path}: {count} tests {status}{note}")
    sys.exit(1 if failed else 0)


@rules.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--facts", "facts_file", required=True, type=click.Path(exists=True),
              help="JSON lines, one nested object of facts per line.")
@click.option("--trace", is_flag=True, help="Add the rule trace to each line.")
def eval_command(file: str, facts_file: str, trace: bool) -> None:
    """Evaluate a rule file for each line of facts; print one JSON line each."""
    proposal = read_proposal(Path(file), with_tests=False)
    if proposal.rule_set is None:
        raise click.ClickException("\n".join(str(i) for i in proposal.issues))
    schema = FACTS[proposal.rule_set.on]
    with open(facts_file, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                facts = revive(schema, json.loads(line, parse_float=Decimal))
                decision = evaluate(proposal.rule_set, facts)
            except (ValueError, EvaluationError, RuleConflict) as exc:
                click.echo(json.dumps({"line": number, "error": f"{facts_file}:{number}: {exc}"}))
                continue
            out = {"fired": list(decision.fired), "outcome": decision.outcome,
                   "effects": [{"name": a.name, "params": json_safe(a.params)}
                               for a in decision.effects]}
            if trace:
                out["trace"] = decision.to_json()["trace"]
            click.echo(json.dumps(out, ensure_ascii=False))


@rules.command()
@click.argument("event", type=click.Choice(sorted(FACTS)))
@click.option("--json", "as_json", is_flag=True, help="In the shape of export_rule_data.")
def facts(event: str, as_json: bool) -> None:
    """The facts and actions an event offers to its rules."""
    from engine.core.rule_schema import export_rule_data

    data = export_rule_data(event)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    for var in data["variables"]:
        click.echo(f"{var['name']:32} {var['field_type']:16} {var['label']}")
    for action in data["actions"]:
        params = ", ".join(p["name"] for p in action["params"])
        click.echo(f"action {action['name']}({params})")


@rules.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--since", callback=date_option, help="Only decisions made on or after this date.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def simulate(state: State, path: str, since: date | None, as_json: bool) -> None:
    """Replay past decisions through the proposed file; report every outcome that changes."""
    rt = state.runtime()
    proposal = read_proposal(Path(path))
    try:
        with rt.db.unit_of_work() as session:
            report = simulate_proposal(session, proposal, since)
    except RulesError as exc:
        raise click.ClickException(str(exc)) from None
    data = report.to_json()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"replayed {data['replayed']} decisions; {data['changed']} would change; "
               f"money affected {data['money_affected']}")
    for transition, count in data["transitions"].items():
        click.echo(f"  {transition}: {count}")
    for rule, count in data["by_rule"].items():
        click.echo(f"  rule {rule}: {count}")
    for example in data["examples"]:
        click.echo(f"  e.g. decision {example['decision']} ({example['subject']}, "
                   f"{example['date']}): {example['before']} -> {example['after']}")
    for error in data["errors"]:
        click.echo(f"  error: {error}")


@rules.command(name="activate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--by", "actor", default="cli", show_default=True, help="Who activates.")
@click.pass_obj
def activate_command(state: State, paths: tuple[str, ...], actor: str) -> None:
    """Activate rule files; refused unless they check clean and their tests pass."""
    rt = state.runtime()
    upgrade(rt.config.database_url)
    proposals = [read_proposal(p) for p in rule_files(Path(p) for p in paths)]
    problems = [str(i) for p in proposals for i in p.issues]
    if problems:
        click.echo("\n".join(problems))
        raise click.ClickException("not activated: the active rule sets stay in force")
    with rt.db.unit_of_work() as session:
        for proposal in proposals:
            row = activate(session, proposal, actor)
            name = proposal.rule_set.name if proposal.rule_set else proposal.path.name
            click.echo(f"{name}: " + (f"activated as version {row.id} ({row.sha256[:12]})"
                                      if row else "already active"))


@rules.command()
@click.argument("name", required=False)
@click.pass_obj
def history(state: State, name: str | None) -> None:
    """Every activation: id, rule set, version, sha256, who, when, active."""
    rt = state.runtime()
    with rt.db.unit_of_work() as session:
        query = select(RuleSetVersion).order_by(RuleSetVersion.id)
        if name:
            query = query.where(RuleSetVersion.name == name)
        for row in session.scalars(query):
            mark = "*" if row.active else " "
            click.echo(f"{mark} {row.id:4} {row.name:12} v{row.version:6} {row.sha256[:12]} "
                       f"{row.activated_at:%Y-%m-%d %H:%M} {row.activated_by}")


@rules.command(name="rollback")
@click.argument("version_id", type=int)
@click.option("--by", "actor", default="cli", show_default=True)
@click.pass_obj
def rollback_command(state: State, version_id: int, actor: str) -> None:
    """Activate an earlier version again (see `o2c rules history`)."""
    rt = state.runtime()
    try:
        with rt.db.unit_of_work() as session:
            row = rollback(session, version_id, actor)
            click.echo(f"{row.name}: version {version_id} active again as {row.id}")
    except RulesError as exc:
        raise click.ClickException(str(exc)) from None
