"""The review screen's edges: the original file, a viewer sees but cannot confirm,
documents of other kinds cannot be confirmed, and "save as this sender's layout" (wired to
documents.layouts.save_correction, writing into the workspace's rules/layouts only)."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.runtime import Runtime
from engine.services import intake
from engine.settings import load_config
from engine.store.db import upgrade
from engine.store.models import Document
from tests.conftest import ROOT, write_config
from tests.test_extract import po
from tests.test_web import login, token
from web.app import create_app
from web.users import set_password
from web.views_documents import layouts_available


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Runtime]:
    """SQLite, with its own copy of the rules folder (a saved layout lands there)."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    config = write_config(tmp_path / "ws", f"sqlite:///{tmp_path / 'o2c.sqlite'}",
                          storage={"rules": str(rules)})
    rt = Runtime.open(load_config(config))
    upgrade(rt.config.database_url)
    yield rt
    rt.close()


def _document(rt: Runtime, data: bytes, name: str) -> int:
    received = intake.receive(rt, data, name, "upload")
    intake.process(rt, received.document_id, date.today())
    return received.document_id


def _client(app: Flask, rt: Runtime, role: str) -> FlaskClient:
    client = app.test_client()
    login(client, f"{role}@example.com", set_password(rt, f"{role}@example.com", role))
    return client


def test_a_viewer_sees_the_review_screen_but_cannot_confirm(workspace: Runtime) -> None:
    doc_id = _document(workspace, po("en"), "po.pdf")
    app = create_app(workspace, testing=True)
    viewer = _client(app, workspace, "viewer")
    page = viewer.get(f"/documents/{doc_id}").text
    assert 'id="f_order_number"' in page and 'id="confirm"' not in page
    original = viewer.get(f"/documents/{doc_id}/original")
    assert original.data == po("en")
    assert 'filename="po.pdf"' in original.headers["Content-Disposition"]
    assert viewer.post(f"/documents/{doc_id}/confirm", data={
        "csrf_token": token(viewer, "/review")}).status_code == 403
    assert viewer.get("/documents/999").status_code == 404
    assert viewer.get(f"/documents/{doc_id}/page/3.png").status_code == 404


def test_a_document_of_another_kind_cannot_be_confirmed(workspace: Runtime) -> None:
    doc_id = _document(workspace, b"%PDF-1.4 this is not a real pdf", "broken.pdf")
    with workspace.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.status == "failed"
    app = create_app(workspace, testing=True)
    clerk = _client(app, workspace, "clerk")
    response = clerk.post(f"/documents/{doc_id}/confirm", data={
        "csrf_token": token(clerk, "/review")}, follow_redirects=True)
    assert f"document {doc_id} is not waiting for review" in response.text
    refused = clerk.post(f"/documents/{doc_id}/reject", data={
        "csrf_token": token(clerk, "/review"), "reason": " "}, follow_redirects=True)
    assert "say why the document is rejected" in refused.text


def test_save_as_the_senders_layout(workspace: Runtime) -> None:
    doc_id = _document(workspace, po("de"), "bestellung.pdf")
    app = create_app(workspace, testing=True)
    clerk = _client(app, workspace, "clerk")
    page = clerk.get(f"/documents/{doc_id}").text
    data = {"csrf_token": token(clerk, "/review"), "layout_name": "hoffmann",
            "keywords": "Hoffmann Bau AG", "vat_id": "DE136695976",
            "f_order_number": "B-2026-4711", "f_quote_reference": ""}
    response = clerk.post(f"/documents/{doc_id}/layout", data=data, follow_redirects=True)
    folder = workspace.config.path("storage.rules") / "layouts"
    if not layouts_available():  # documents.layouts not there: the button is not offered
        assert 'id="save-layout"' not in page and response.status_code == 404
        assert not folder.exists() or not any(folder.iterdir())
        return
    assert 'id="save-layout"' in page
    assert "saved the sender&#39;s layout as hoffmann.yaml (number)" in response.text, \
        response.text  # the one field given with a value, under the layout's name
    saved = folder / "hoffmann.yaml"
    layouts = importlib.import_module("documents.layouts")
    [layout] = layouts.load_layouts(folder)
    assert "number" in saved.read_text("utf-8") and layout.name == "hoffmann"
    missing = clerk.post(f"/documents/{doc_id}/layout", data={
        **data, "layout_name": "other", "f_order_number": "NOT-ON-THE-PAGE"},
        follow_redirects=True)
    assert "the layout was not saved" in missing.text
    assert not (folder / "other.yaml").exists()
    assert not (ROOT / "rules" / "layouts" / "hoffmann.yaml").exists()
    with workspace.db.unit_of_work() as s:
        assert s.scalar(select(Document.status).where(Document.id == doc_id)) == "needs_review"
