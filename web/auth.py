"""Login, roles and CSRF. Every route but the login page needs a signed-in user."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext

from engine.runtime import Runtime
from engine.services import tokens
from engine.services.records import audit
from web.users import ROLES, authenticate

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["o2c"]
    return rt


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf() -> None:
    """Every POST carries the session's token (form field or X-CSRF-Token header). The
    JSON API is exempt: it takes bearer tokens only, never the session cookie."""
    if request.method != "POST" or request.path.startswith("/api/"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent, session.get("csrf", "\x00")):
        abort(400, gettext("The form is stale or forged (its security token is missing); "
                           "reload the page and try again."))


def role_at_least(role: str) -> bool:
    user_role = session.get("role")
    return user_role in ROLES and ROLES.index(user_role) >= ROLES.index(role)


def login_required(role: str = "viewer") -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if "user" not in session:
                return redirect(url_for("auth.login", next=request.path))
            if not role_at_least(role):
                abort(403)
            return view(*args, **kwargs)

        inner.min_role = role  # type: ignore[attr-defined]  # read by the route x role test
        return inner  # type: ignore[return-value]

    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = ""
    if request.method == "POST":
        email, ip = request.form.get("email", ""), request.remote_addr or "unknown"
        if tokens.login_blocked(runtime(), email, ip):  # the limit: engine/services/tokens.py
            return render_template("login.html", error="Too many failed sign-ins: please "
                                   "wait 15 minutes and try again."), 429
        user = authenticate(runtime(), email, request.form.get("password", ""))
        if user is None:
            tokens.login_failed(runtime(), email, ip)
            error = "Unknown user or wrong password."
        else:
            tokens.login_succeeded(runtime(), email, ip)
            session.clear()
            session.update(user=user.email, role=user.role, csrf=secrets.token_urlsafe(32))
            with runtime().db.unit_of_work() as s:
                audit(s, user.email, "user.login", "user", user.id)
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//")
                            else url_for("views.dashboard"))
    return render_template("login.html", error=error), 401 if error else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))
