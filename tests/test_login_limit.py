"""Safety of the web: the login rate limit (kept in the database, so every process sees
it), secure session cookies behind HTTPS, the upload size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.runtime import Runtime
from engine.services import tokens
from engine.settings import load_config
from engine.store.db import upgrade
from engine.store.models import AuditEntry, LoginFailure, utcnow
from tests.conftest import write_config
from web.app import create_app
from web.users import set_password


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime, testing=True)


def attempt(client: FlaskClient, email: str, password: str) -> int:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": match.group(1)}).status_code


def from_ip(app: Flask, ip: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_five_failures_block_the_sixth_attempt(app: Flask, runtime: Runtime) -> None:
    password = set_password(runtime, "clerk@example.com", "clerk")
    client = from_ip(app, "10.0.0.1")
    assert [attempt(client, "clerk@example.com", "wrong") for _ in range(5)] == [401] * 5
    assert attempt(client, "clerk@example.com", password) == 429  # even the right one
    assert attempt(client, "Clerk@Example.com ", password) == 429  # spelt differently
    other = from_ip(app, "10.0.0.2")  # the same user elsewhere is not locked out
    assert attempt(other, "clerk@example.com", password) == 302
    with runtime.db.unit_of_work() as s:
        failed = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "user.login_failed")).all()
        assert len(failed) == 5 and failed[0].actor == "anonymous@10.0.0.1"
        # the window passes: failures older than 15 minutes no longer count
        s.execute(update(LoginFailure).values(at=utcnow() - tokens.LOGIN_WINDOW
                                              - timedelta(seconds=1)))
    assert attempt(client, "clerk@example.com", password) == 302


def test_a_success_clears_the_count(app: Flask, runtime: Runtime) -> None:
    password = set_password(runtime, "po@example.com", "process_owner")
    client = from_ip(app, "10.0.0.3")
    for _ in range(2):
        assert [attempt(client, "po@example.com", "wrong") for _ in range(4)] == [401] * 4
        assert attempt(client, "po@example.com", password) == 302  # 8 failures, never 5 in a row


def test_one_address_trying_many_users_is_blocked(app: Flask, runtime: Runtime) -> None:
    password = set_password(runtime, "fin@example.com", "finance")
    client = from_ip(app, "10.0.0.4")
    for n in range(tokens.LOGIN_LIMIT_PER_IP):
        assert attempt(client, f"guess{n}@example.com", "x") == 401
    assert attempt(client, "fin@example.com", password) == 429
    assert attempt(from_ip(app, "10.0.0.5"), "fin@example.com", password) == 302


@pytest.fixture
def https_runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    config = write_config(tmp_path / "https", database_url, web={"https": True},
                          limits={"upload_mb": 1})
    rt = Runtime.open(load_config(config))
    upgrade(rt.config.database_url)
    yield rt
    rt.close()


def test_session_cookies_are_secure_behind_https(app: Flask, runtime: Runtime,
                                                 https_runtime: Runtime) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    secure = create_app(https_runtime, testing=True)
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    page = secure.test_client().get("/login", base_url="https://o2c.example.com")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = app.test_client().get("/login").headers["Set-Cookie"]
    assert "Secure" not in plain


def test_uploads_over_the_limit_answer_413(https_runtime: Runtime) -> None:
    app = create_app(https_runtime, testing=True)
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(user="clerk@example.com", role="clerk", csrf="t")
    data = b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10)
    response = client.post("/documents/upload", data={"csrf_token": "t", "files": [
        (BytesIO(data), "big.pdf")]}, content_type="multipart/form-data",
        base_url="https://o2c.example.com")
    assert response.status_code == 413 and response.mimetype == "text/html"
    token = tokens.create(https_runtime, "erp", "clerk", "test")
    api = client.post("/api/v1/documents", data={"files": [(BytesIO(data), "big.pdf")]},
                      headers={"Authorization": f"Bearer {token}"},
                      content_type="multipart/form-data", base_url="https://o2c.example.com")
    assert api.status_code == 413 and api.json["error"]["status"] == 413
    assert "1 MB" in api.json["error"]["message"]
