"""The Flask app factory. Nothing happens at import; `create_app(runtime)` builds the app."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from engine.runtime import Runtime


def _secret_key(folder: Path) -> str:
    """A random key kept under the storage folder, made on the first start."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(rt: Runtime, *, testing: bool = False) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(rt.config.path("storage.dir")),
        MAX_CONTENT_LENGTH=rt.config["limits.upload_mb"] * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TESTING=testing,
    )
    app.extensions["o2c"] = rt

    from web import auth, views

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.before_request(auth.check_csrf)
    app.jinja_env.globals["csrf_token"] = auth.csrf_token
    return app
