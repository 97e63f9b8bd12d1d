"""The rule editor through Flask's test client: a typo shown at its line and column as
the draft is saved (the rules folder untouched), the file's tests on a click, the
simulation against stored decisions, activation refused on a failing test, activation,
history and rollback, and who may do what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.core.rules import evaluate
from engine.runtime import Runtime
from engine.services.records import record_decision
from engine.store.models import AuditEntry, RuleSetVersion
from tests.conftest import ROOT
from tests.test_web import login, token
from web.app import create_app
from web.users import ensure_admin, set_password

APPROVAL = (ROOT / "rules" / "approval.yaml").read_text("utf-8")


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    runtime.reload_rules()  # the first start activates the files of the rules folder
    return create_app(runtime, testing=True)


@pytest.fixture
def admin(app: Flask, runtime: Runtime) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        login(client, "admin", ensure_admin(runtime))
        yield client


def save(client: FlaskClient, text: str) -> object:
    return client.post("/rules/approval", data={"csrf_token": token(client, "/rules"),
                                                "text": text})


def action(client: FlaskClient, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": token(client, "/rules"), **data})


def test_the_list_shows_each_file_and_its_active_version(admin: FlaskClient) -> None:
    page = admin.get("/rules").text
    for name in ("approval", "dunning", "invoicing", "matching"):
        assert f'href="/rules/{name}"' in page
    assert "system:first-start" in page
    editor = admin.get("/rules/approval").text
    assert "large-order" in editor and 'id="activate"' in editor
    assert 'data-insert="order.net_amount"' in editor  # the event's facts, to insert
    assert 'data-insert="require_approval"' in editor and "customer.credit_limit" in editor
    assert admin.get("/rules/nonsense").status_code == 404
    assert admin.get("/rules/..%2Fconfig").status_code == 404


def test_a_typo_is_shown_at_its_line_and_column(admin: FlaskClient, runtime: Runtime) -> None:
    typo = APPROVAL.replace("    when: order.net_amount > 10000", "    whem: order.net_amount > 10000")
    line = typo.splitlines().index("    whem: order.net_amount > 10000") + 1
    response = save(admin, typo)
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = response.text  # type: ignore[attr-defined]
    assert f"approval.yaml:{line}:5: unknown key &#39;whem&#39;" in page
    assert "did you mean &#39;when&#39;?" in page
    assert f'data-goto-line="{line}" data-goto-col="5"' in page
    assert re.search(rf'data-bad-lines="[^"]*\b{line}\b', page)
    assert (ROOT / "rules" / "approval.yaml").read_text("utf-8") == APPROVAL  # untouched
    draft = runtime.config.path("storage.dir") / "rule_drafts" / "approval.yaml"
    assert draft.read_text("utf-8") == typo
    again = admin.get("/rules/approval").text  # the draft stays, with its problems
    assert "whem: order.net_amount" in again and "unknown key" in again
    tests = action(admin, "/rules/approval/test").text  # type: ignore[attr-defined]
    assert "The file does not load; its tests cannot run." in tests
    refused = action(admin, "/rules/approval/activate")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    action(admin, "/rules/approval/discard")
    assert not draft.exists()
    with runtime.db.unit_of_work() as s:
        assert [(e.action, e.details.get("problems"))
                for e in s.scalars(select(AuditEntry).where(AuditEntry.object_type == "rule_file")
                                   .order_by(AuditEntry.id))] == [
            ("rules.draft_saved", 2), ("rules.draft_discarded", None)]


def test_tests_simulation_activation_and_rollback(admin: FlaskClient, runtime: Runtime) -> None:
    rule_set = runtime.rule_set("order.received")
    large = rule_set.tests[1]  # "a large order waits for the sales manager"
    with runtime.db.unit_of_work() as s:
        record_decision(s, event="order.received", subject_type="order", subject_id=7,
                        decision=evaluate(rule_set, large.facts), facts=dict(large.facts),
                        today=date(2026, 9, 1))
    raised = APPROVAL.replace("order.net_amount > 10000", "order.net_amount > 20000")
    assert save(admin, raised).status_code == 200  # type: ignore[attr-defined]
    tests = action(admin, "/rules/approval/test").text  # type: ignore[attr-defined]
    assert re.search(r"1 of \d+ tests failed", tests)
    assert "a large order waits for the sales manager" in tests
    simulated = action(admin, "/rules/approval/simulate", since="2026-01-01").text  # type: ignore[attr-defined]
    assert "1 past decisions replayed, 1 would change" in simulated
    assert re.search(r"<td>order 7</td>.*require_approval \(large-order\).*approve \(default\)",
                     simulated, re.S)
    refused = action(admin, "/rules/approval/activate")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "was not activated" in refused.text  # type: ignore[attr-defined]

    reworded = APPROVAL.replace("version: 1", "version: 2").replace(
        "is above 10,000 EUR", "exceeds 10,000 EUR")
    save(admin, reworded)
    assert re.search(r"all \d+ tests passed",
                     action(admin, "/rules/approval/test").text)  # type: ignore[attr-defined]
    done = action(admin, "/rules/approval/activate")
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert runtime.rule_set("order.received").version == "2"
    with runtime.db.unit_of_work() as s:
        rows = s.scalars(select(RuleSetVersion).where(RuleSetVersion.name == "approval")
                         .order_by(RuleSetVersion.id)).all()
        assert [(r.version, r.active, r.activated_by) for r in rows] == [
            ("1", False, "system:first-start"), ("2", True, "admin")]
        assert rows[1].source == str(runtime.config.path("storage.rules") / "approval.yaml")
        assert "+  because: \"net amount {order.net_amount} EUR exceeds" in rows[1].diff \
            or "exceeds 10,000 EUR" in rows[1].diff
        first = rows[0].id
    history = admin.get("/rules/approval").text
    assert f'action="/rules/versions/{first}/rollback"' in history
    action(admin, f"/rules/versions/{first}/rollback", name="approval")
    runtime.reload_rules()
    assert runtime.rule_set("order.received").version == "1"
    with runtime.db.unit_of_work() as s:
        active = s.scalars(select(RuleSetVersion).where(RuleSetVersion.name == "approval",
                                                        RuleSetVersion.active.is_(True))).one()
        assert (active.version, active.activated_by) == ("1", "admin")


@pytest.mark.parametrize("role, save_status, activate_status", [
    ("clerk", 403, 403), ("finance", 200, 403), ("process_owner", 200, 302)])
def test_only_process_owners_and_admins_activate(app: Flask, runtime: Runtime, role: str,
                                                 save_status: int, activate_status: int) -> None:
    password = set_password(runtime, f"{role}@example.com", role)
    with app.test_client() as client:
        login(client, f"{role}@example.com", password)
        page = client.get("/rules/approval").text
        assert ('id="activate"' in page) == (activate_status == 302)
        assert save(client, APPROVAL.replace("version: 1", "version: 3")).status_code \
            == save_status  # type: ignore[attr-defined]
        assert action(client, "/rules/approval/activate").status_code \
            == activate_status  # type: ignore[attr-defined]


def test_drafts_never_land_in_the_rules_folder(admin: FlaskClient, runtime: Runtime) -> None:
    folder = runtime.config.path("storage.rules")
    before = {p.name: p.read_bytes() for p in Path(folder).glob("*.yaml")}
    save(admin, "rule_set: [")
    assert {p.name: p.read_bytes() for p in Path(folder).glob("*.yaml")} == before
