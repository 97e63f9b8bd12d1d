"""Rule sets in force: activation only when clean, history with diff, rollback, the chain
using the active version, simulation against stored decisions, and the `o2c rules` CLI."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.core.rules import evaluate
from engine.rulebook import (
    RulesError,
    activate,
    activate_folder,
    active_version,
    read_proposal,
    rollback,
    simulate_proposal,
)
from engine.runtime import Runtime
from engine.services.records import record_decision
from engine.store.models import RuleSetVersion
from tests.conftest import ROOT, write_config
from web.cli import main

APPROVAL = (ROOT / "rules" / "approval.yaml").read_text("utf-8")


def proposal_with(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "approval.yaml"
    assert old in APPROVAL
    path.write_text(APPROVAL.replace(old, new), "utf-8")
    return path


def test_activation_history_and_rollback(runtime: Runtime, tmp_path: Path) -> None:
    with runtime.db.unit_of_work() as s:
        assert sorted(activate_folder(s, ROOT / "rules", "init")) == [
            "approval", "dunning", "invoicing", "matching"]
        assert activate_folder(s, ROOT / "rules", "init") == []  # nothing new
    first = runtime.rule_set("order.received")
    changed = proposal_with(tmp_path, "order.net_amount > 10000", "order.net_amount > 5000")
    with runtime.db.unit_of_work() as s:
        row = activate(s, read_proposal(changed), "owner@example.com")
        assert row is not None and "-    when: order.net_amount > 10000" in row.diff
        assert "+    when: order.net_amount > 5000" in row.diff
    runtime.reload_rules()
    second = runtime.rule_set("order.received")
    assert second.sha256 != first.sha256
    facts = {"order": {"net_amount": D(6000), "gross_amount": D(7140), "discount_percent": D(0),
                       "from_quote": False, "quote_deviations": 0},
             "customer": {"open_amount": D(0), "credit_limit": D(100000)}}
    assert evaluate(second, facts).outcome == "require_approval"
    with runtime.db.unit_of_work() as s:
        original = s.scalar(select(RuleSetVersion.id).where(
            RuleSetVersion.sha256 == first.sha256))
        assert original is not None
        rollback(s, original, "owner@example.com")
    runtime.reload_rules()
    assert runtime.rule_set("order.received").sha256 == first.sha256
    with runtime.db.unit_of_work() as s:
        rows = s.scalars(select(RuleSetVersion).where(RuleSetVersion.name == "approval")).all()
        assert [r.active for r in rows] == [False, False, True]


def test_a_broken_or_failing_file_is_refused_and_the_active_one_stays(
        runtime: Runtime, tmp_path: Path) -> None:
    runtime.reload_rules()
    before = runtime.rule_set("order.received").sha256
    typo = proposal_with(tmp_path, "order.net_amount > 10000", "order.net_amout > 10000")
    failing = tmp_path / "failing.yaml"
    failing.write_text(APPROVAL.replace("expect: {outcome: approve, fired: [default]}",
                                        "expect: {outcome: require_approval}"), "utf-8")
    for path in (typo, failing):
        with runtime.db.unit_of_work() as s, pytest.raises(RulesError):
            activate(s, read_proposal(path), "owner@example.com")
    with runtime.db.unit_of_work() as s:
        row = active_version(s, "order.received")
        assert row is not None and row.sha256 == before


def test_simulation_reports_what_would_change(runtime: Runtime, tmp_path: Path) -> None:
    runtime.reload_rules()
    rule_set = runtime.rule_set("order.received")
    with runtime.db.unit_of_work() as s:
        for i, net in enumerate(("900", "6000", "12000")):
            facts = {"order": {"net_amount": D(net), "gross_amount": D(net) * D("1.19"),
                               "discount_percent": D(0), "from_quote": False,
                               "quote_deviations": 0},
                     "customer": {"open_amount": D(0), "credit_limit": D(100000)}}
            record_decision(s, event="order.received", subject_type="order", subject_id=i,
                            decision=evaluate(rule_set, facts), facts=facts,
                            today=date(2026, 9, 1 + i))
    proposal = read_proposal(proposal_with(tmp_path, "order.net_amount > 10000",
                                           "order.net_amount > 5000"))
    with runtime.db.unit_of_work() as s:
        report = simulate_proposal(s, proposal, None)
        later = simulate_proposal(s, proposal, date(2026, 9, 3))
    assert report.replayed == 3 and len(report.changes) == 1
    change = report.changes[0]
    assert (change.before, change.after, change.fired_after) == (
        "approve", "require_approval", ("large-order",))
    assert report.money_affected == D("7140.00")
    assert report.to_json()["by_rule"] == {"large-order": 1, "-default": 1}
    assert later.replayed == 1 and later.changes == []


def test_rules_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["rules", "check", str(ROOT / "rules")])
    assert ok.exit_code == 0 and ok.output == ""
    typo = proposal_with(tmp_path, "order.net_amount > 10000", "order.net_amout > 10000")
    bad = runner.invoke(main, ["rules", "check", str(typo)])
    line = next(i for i, t in enumerate(typo.read_text().splitlines(), 1) if "net_amout" in t)
    assert bad.exit_code == 1
    assert bad.output.startswith(f"{typo}:{line}:11: ") and "did you mean" in bad.output
    facts = tmp_path / "facts.jsonl"
    facts.write_text('{"order": {"net_amount": 12000.50, "gross_amount": 14280.60, '
                     '"discount_percent": 0, "from_quote": false, "quote_deviations": 0}, '
                     '"customer": {"open_amount": 0, "credit_limit": 50000}}\n'
                     '{"order": {}}\n', "utf-8")
    out = runner.invoke(main, ["rules", "eval", str(ROOT / "rules" / "approval.yaml"),
                               "--facts", str(facts), "--trace"])
    first, second = (json.loads(x) for x in out.output.splitlines())
    assert first["fired"] == ["large-order"] and first["outcome"] == "require_approval"
    assert first["trace"][0]["message"] == "net amount 12000.50 EUR is above 10,000 EUR"
    assert "order.net_amount" in second["error"]


def test_activate_and_history_cli(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'o2c.sqlite'}")
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "init"]).exit_code == 0
    changed = proposal_with(tmp_path, "order.net_amount > 10000", "order.net_amount > 8000")
    done = runner.invoke(main, ["--config", str(config), "rules", "activate", str(changed),
                                "--by", "anna"])
    assert done.exit_code == 0 and "approval: activated as version 5" in done.output
    shown = runner.invoke(main, ["--config", str(config), "rules", "history", "approval"])
    lines = shown.output.splitlines()
    assert len(lines) == 2 and lines[0].startswith("     1 approval") and "anna" in lines[1]
    assert lines[1].startswith("*    5")
    back = runner.invoke(main, ["--config", str(config), "rules", "rollback", "1"])
    assert back.exit_code == 0 and "version 1 active again as 6" in back.output
