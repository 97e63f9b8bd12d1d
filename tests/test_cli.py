"""The `o2c` CLI: help everywhere, init, ingest and run on a workspace, config errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import write_config
from tests.test_extract import po
from web.cli import main

COMMANDS = ["init", "serve", "worker", "demo", "ingest", "run", "user", "rules", "parse",
            "import", "match", "dunning", "archive", "outbox", "sepa", "token", "portal", "statement"]


@pytest.mark.parametrize("args", [[], *[[c] for c in COMMANDS], ["user", "reset-password"],
                                  ["outbox", "resolve"], ["sepa", "collect"],
                                  ["dunning", "plan"], ["archive", "verify"]])
def test_help_everywhere(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_init_ingest_run(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'o2c.sqlite'}")
    runner = CliRunner()
    first = runner.invoke(main, ["--config", str(config), "init"])
    assert first.exit_code == 0, first.output
    assert "admin user: admin  password: " in first.output
    again = runner.invoke(main, ["--config", str(config), "init"])
    assert again.exit_code == 0 and "password" not in again.output  # seeded once
    pdf = tmp_path / "po.pdf"
    pdf.write_bytes(po("en"))
    ingested = runner.invoke(main, ["--config", str(config), "ingest", str(pdf)])
    assert ingested.exit_code == 0 and "document 1 needs_review" in ingested.output
    ran = runner.invoke(main, ["--config", str(config), "run", "all", "--today", "2026-09-02"])
    assert ran.exit_code == 0 and '"dunning"' in ran.output
    bad = runner.invoke(main, ["--config", str(config), "run", "dunning", "--today", "2026-13-01"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_a_bad_config_stops_with_its_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///x.sqlite", limits={"upload_mb": 0})
    result = CliRunner().invoke(main, ["--config", str(config), "init"])
    assert result.exit_code == 1
    assert "config.yaml:" in result.output and "limits.upload_mb must be" in result.output


def test_user_reset_password_prints_a_new_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'o2c.sqlite'}")
    runner = CliRunner()
    one = runner.invoke(main, ["--config", str(config), "user", "reset-password", "admin"])
    two = runner.invoke(main, ["--config", str(config), "user", "reset-password", "admin"])
    assert one.exit_code == two.exit_code == 0 and one.output != two.output
    wrong = runner.invoke(main, ["--config", str(config), "user", "reset-password", "x",
                                 "--role", "king"])
    assert wrong.exit_code == 1 and "role must be one of" in wrong.output


def test_outbox_list_on_an_empty_workspace(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'o2c.sqlite'}")
    runner = CliRunner()
    assert runner.invoke(main, ["--config", str(config), "init"]).exit_code == 0
    shown = runner.invoke(main, ["--config", str(config), "outbox", "list"])
    assert shown.exit_code == 0 and "nothing needs a person" in shown.output
    plan = runner.invoke(main, ["--config", str(config), "sepa", "collect", "--dry-run",
                                "--date", "2026-12-01"])
    assert plan.exit_code == 0 and "total 0.00 in 0 debits" in plan.output
