"""The web app through Flask's test client: login, roles, CSRF, every page, upload."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.runtime import Runtime
from engine.store.models import AuditEntry, Document
from tests.test_extract import po
from web.app import create_app
from web.users import ensure_admin, set_password

PAGES = ["/", "/review", "/documents", "/orders", "/deliveries", "/invoices", "/payments",
         "/dunning", "/tasks", "/customers", "/products", "/rules", "/settings", "/audit"]


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime, testing=True)


def token(client: FlaskClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, user: str, password: str) -> None:
    response = client.post("/login", data={"email": user, "password": password,
                                           "csrf_token": token(client)})
    assert response.status_code == 302, response.text


@pytest.fixture
def admin(app: Flask, runtime: Runtime) -> Iterator[FlaskClient]:
    password = ensure_admin(runtime)
    assert password and len(password) >= 12
    with app.test_client() as client:
        login(client, "admin", password)
        yield client


def test_anonymous_users_are_sent_to_login(app: Flask) -> None:
    client = app.test_client()
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused(app: Flask, runtime: Runtime) -> None:
    ensure_admin(runtime)
    client = app.test_client()
    response = client.post("/login", data={"email": "admin", "password": "admin",
                                           "csrf_token": token(client)})
    assert response.status_code == 401 and "wrong password" in response.text


def test_forms_without_csrf_are_refused(app: Flask, runtime: Runtime) -> None:
    password = ensure_admin(runtime)
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"email": "admin", "password": password})
    assert response.status_code == 400


def test_every_page_renders_for_the_admin(admin: FlaskClient) -> None:
    for page in PAGES:
        response = admin.get(page)
        assert response.status_code == 200, (page, response.text[:2000])
        assert "Log out" in response.text


def test_upload_goes_through_intake(admin: FlaskClient, runtime: Runtime) -> None:
    from io import BytesIO

    response = admin.post("/documents/upload", data={
        "csrf_token": token(admin, "/documents"),
        "files": [(BytesIO(po("de")), "bestellung.pdf"), (BytesIO(po("de")), "again.pdf")]},
        content_type="multipart/form-data")
    assert response.status_code == 200
    rows = re.findall(r'<tr data-step="(\d)">.*?>([^<]+)</a></td><td><span class="status '
                      r'(\w+)">.*?<td>([^<]*)</td></tr>', response.text, re.S)
    assert [(n, name, status) for n, name, status, _ in rows] == [
        ("1", "bestellung.pdf", "needs_review"),  # unknown customer: a person looks
        ("2", "again.pdf", "needs_review")]
    assert rows[1][3] == "the same file arrived before"
    assert 'id="upload-done"' in response.text
    with runtime.db.unit_of_work() as s:
        docs = s.scalars(select(Document)).all()
        assert [(d.filename, d.origin) for d in docs] == [("bestellung.pdf", "upload")]
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "user.login"))


def test_a_viewer_may_look_but_not_upload(app: Flask, runtime: Runtime) -> None:
    password = set_password(runtime, "viewer@example.com", "viewer")
    with app.test_client() as client:
        login(client, "viewer@example.com", password)
        assert client.get("/invoices").status_code == 200
        response = client.post("/documents/upload",
                               data={"csrf_token": token(client, "/documents")})
        assert response.status_code == 403
