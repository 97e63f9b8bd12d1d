"""Every route of the app × every kind of caller, built from `app.url_map`, so a new route
cannot be forgotten.

What a route allows is read from the route itself: back-office views carry `min_role`
(set by `web.auth.login_required`), API views `api_role` (set by `web.api.endpoint`;
None: public), portal views `portal` (set by `web.portal.portal_view`). A route with none
of these that is not in PUBLIC below fails the test. Callers: nobody (a visitor
with a session, not signed in), a signed-in user of each role, customer A holding their portal link, and an API token of the role `viewer`.

Expected: the back office sends callers without a session to the login page, answers 403
below the route's role and lets the rest in; the API answers 401 to every caller without a
token (cookies count for nothing there) and 403 below the route's role; the portal answers
404 to anyone without a valid link and lets customer A in with theirs. "Let in" means: no
401, no 403, no redirect to the login page, and no server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import Rule

from engine.runtime import Runtime
from engine.services import portal, tokens
from tests.test_api import Seeded, seed
from web.app import create_app
from web.users import ROLES

# Routes anyone may call, with why. Keep it small: everything else must say who may call it.
PUBLIC = {
    "auth.login": "the login page itself",
    "auth.logout": "ends whatever session there is (CSRF-checked)",
    "static": "CSS, scripts and images of the pages",
}
SESSION_ROLES = list(ROLES)
CALLERS = ["anonymous", *SESSION_ROLES, "portal_customer_a", "api_token"]
TOKEN_ROLE = "viewer"
CSRF = "matrix-csrf-token"
BAD_LINK = "not-a-valid-link"


def rank(role: str) -> int:
    return ROLES.index(role)


def kind_of(app: Flask, rule: Rule) -> str:
    view = app.view_functions[rule.endpoint]
    if rule.endpoint in PUBLIC:
        return "public"
    if hasattr(view, "min_role"):
        return "back_office"
    if hasattr(view, "api_role"):
        return "api"
    if getattr(view, "portal", False):
        return "portal"
    return "undeclared"


def arguments(rule: Rule, seeded: Seeded, link: str) -> dict[str, Any]:
    """Concrete values for the rule's arguments: ids of customer A's rows where there are."""
    known: dict[str, Any] = {
        "invoice_id": seeded.invoices["RE-2026-A1"], "order_id": seeded.order,
        "quote_id": seeded.quote, "decision_id": seeded.decision,
        "payment_id": seeded.payment, "tx_id": seeded.payment,
        "customer_id": seeded.customers["A"], "kind": "pdf", "token": link,
        "filename": "no-such-file.css", "name": "approval", "page": 1}
    values = {}
    for name in rule.arguments:
        converter = type(rule._converters[name]).__name__  # noqa: SLF001
        values[name] = known.get(name, 1 if converter == "IntegerConverter" else "x")
    return values


def expectation(kind: str, view: Any, caller: str, method: str, endpoint: str
                ) -> Callable[[Any], bool] | None:
    """A predicate on the response, or None when there is nothing to assert."""
    def let_in(r: Any) -> bool:
        return (r.status_code < 500 and r.status_code not in (401, 403)
                and "/login" not in r.headers.get("Location", ""))

    if caller == "api_token" and method == "POST" and kind != "api":
        return lambda r: r.status_code == 400  # no cookie, so no CSRF token: refused first
    if kind == "public":
        if endpoint == "auth.login" and method == "POST":
            return lambda r: r.status_code in (401, 429)  # no such user
        return lambda r: r.status_code < 500
    if kind == "back_office":
        if caller not in SESSION_ROLES:
            return lambda r: r.status_code == 302 and "/login" in r.headers["Location"]
        only = getattr(view, "only_roles", None)  # narrower than "at least" (rule activation)
        if rank(caller) < rank(view.min_role) or (only is not None and caller not in only):
            return lambda r: r.status_code == 403
        return let_in
    if kind == "api":
        if view.api_role is None:
            return lambda r: r.status_code == 200
        if caller != "api_token":
            return lambda r: r.status_code == 401 and r.json["error"]["status"] == 401
        if rank(TOKEN_ROLE) < rank(view.api_role):
            return lambda r: r.status_code == 403 and r.json["error"]["status"] == 403
        return let_in
    if kind == "portal":
        if caller != "portal_customer_a":
            return lambda r: r.status_code == 404
        if method == "GET":
            return lambda r: r.status_code == 200
        return let_in
    return None


@pytest.fixture
def world(runtime: Runtime) -> tuple[Flask, Seeded, str, str]:
    seeded = seed(runtime)
    link = portal.make_link(runtime, "K-A", "test").rsplit("/", 1)[1]
    token = tokens.create(runtime, "matrix", TOKEN_ROLE, "test")
    app = create_app(runtime)  # not testing: a server error is a 500 answer, not a raise
    return app, seeded, link, token


def call(app: Flask, caller: str, method: str, url: str, token: str) -> Any:
    client = app.test_client()
    headers = {}
    if caller in SESSION_ROLES:
        with client.session_transaction() as session:
            session.update(user=f"{caller}@example.com", role=caller, csrf=CSRF)
    elif caller != "api_token":  # a visitor's session (from the login page or the portal)
        with client.session_transaction() as session:
            session["csrf"] = CSRF
    elif caller == "api_token":
        headers["Authorization"] = f"Bearer {token}"
    data = {"csrf_token": CSRF} if method == "POST" else None
    response = client.open(url, method=method, data=data, headers=headers)
    response.get_data()  # a streamed answer runs to its end here
    response.close()
    return response


def test_every_route_against_every_caller(world: tuple[Flask, Seeded, str, str]) -> None:
    app, seeded, link, token = world
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    undeclared = [f"{r.rule} ({r.endpoint})" for r in rules if kind_of(app, r) == "undeclared"]
    assert not undeclared, ("routes that say nobody may call them (no login_required, "
                            f"no API/portal declaration, not in PUBLIC): {undeclared}")
    failures, checked, seen_kinds = [], 0, set()
    for rule in rules:
        kind = kind_of(app, rule)
        seen_kinds.add(kind)
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for caller in CALLERS:
                own_link = link if caller == "portal_customer_a" else BAD_LINK
                with app.test_request_context():
                    url = url_for(rule.endpoint, **arguments(rule, seeded, own_link))
                response = call(app, caller, method, url, token)
                check = expectation(kind, view, caller, method, rule.endpoint)
                assert check is not None
                checked += 1
                if not check(response):
                    failures.append(f"{method} {url} as {caller}: {response.status_code} "
                                    f"{response.headers.get('Location', '')}")
    assert {"public", "back_office", "api", "portal"} <= seen_kinds
    assert checked >= 8 * 60
    assert not failures, "\n".join(failures)


def test_the_matrix_catches_an_undeclared_route(world: tuple[Flask, Seeded, str, str]
                                                ) -> None:
    app = world[0]
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "forgotten")
    assert kind_of(app, rule) == "undeclared"
