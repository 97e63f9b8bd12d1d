"""The customer portal: one customer's invoices and quotes behind a signed, expiring link.

Every route carries the link's token in its path and resolves it on every request, so a
revoked or expired link stops working at once; an invalid link answers 404. The views only
pass the resolved customer to engine/services/portal.py, which never returns another
customer's rows. Forms carry the session's CSRF token (checked by web.auth.check_csrf).
The token sits in the URL, so responses forbid caching and referrers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.core.money import format_amount
from engine.services import portal
from web.auth import runtime
from web.downloads import MIME, attachment
from web.portal_text import ACCEPTED, DISPUTED, PROMISED, day, said, say, words

bp = Blueprint("portal", __name__, url_prefix="/portal")


def portal_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Resolve the link in the path; the view gets the Access instead of the token."""

    @wraps(view)
    def inner(token: str, **kwargs: Any) -> Any:
        access = portal.resolve(runtime(), token)
        if access is None:
            return render_template("portal/invalid.html", t=words("de"),
                                   t_en=words("en")), 404
        return view(access, token=token, **kwargs)

    inner.portal = True  # type: ignore[attr-defined]  # read by the route x role test
    return inner


@bp.after_request
def private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.route("/<token>")
@portal_view
def index(access: portal.Access, token: str) -> Any:
    rt, today = runtime(), date.today()
    invoices = portal.invoices(rt, access, today)
    lang = access.language

    def money(value: Any) -> str:
        return format_amount(value, lang)

    def shown_day(value: date) -> str:
        return day(value, lang)

    return render_template(
        "portal/index.html", t=words(lang), access=access, token=token, money=money,
        day=shown_day,
        company=rt.config.company, today=today,
        open_invoices=[i for i in invoices if i.open_amount > 0],
        paid_invoices=[i for i in invoices if i.open_amount <= 0],
        quotes=portal.open_quotes(rt, access, today))


def _download(found: tuple[bytes, str] | None, mime: str) -> Any:
    if found is None:
        abort(404)
    data, name = found
    return attachment(data, name, mime)


@bp.route("/<token>/invoices/<int:invoice_id>.<kind>")
@portal_view
def invoice_file(access: portal.Access, token: str, invoice_id: int, kind: str) -> Any:
    if kind not in MIME:
        abort(404)
    return _download(portal.invoice_file(runtime(), access, invoice_id, kind), MIME[kind])


@bp.route("/<token>/quotes/<int:quote_id>.pdf")
@portal_view
def quote_file(access: portal.Access, token: str, quote_id: int) -> Any:
    return _download(portal.quote_file(runtime(), access, quote_id), "application/pdf")


def _back(token: str) -> Any:
    return redirect(url_for("portal.index", token=token))


@bp.route("/<token>/invoices/<int:invoice_id>/dispute", methods=["POST"])
@portal_view
def dispute(access: portal.Access, token: str, invoice_id: int) -> Any:
    lang = access.language
    try:
        number = portal.dispute(runtime(), access, invoice_id, request.form.get("reason", ""))
    except LookupError:
        abort(404)
    except ValueError as exc:
        flash(said(lang, exc))
        return _back(token)
    flash(say(lang, DISPUTED, number=number))
    return _back(token)


@bp.route("/<token>/invoices/<int:invoice_id>/promise", methods=["POST"])
@portal_view
def promise(access: portal.Access, token: str, invoice_id: int) -> Any:
    lang = access.language
    try:
        until = date.fromisoformat(request.form.get("until", ""))
    except ValueError:
        flash(words(lang)["bad_date"])
        return _back(token)
    try:
        number = portal.promise(runtime(), access, invoice_id, until, date.today())
    except LookupError:
        abort(404)
    except ValueError as exc:
        flash(said(lang, exc))
        return _back(token)
    flash(say(lang, PROMISED, number=number, until=day(until, lang)))
    return _back(token)


@bp.route("/<token>/quotes/<int:quote_id>/accept", methods=["POST"])
@portal_view
def accept(access: portal.Access, token: str, quote_id: int) -> Any:
    try:
        order = portal.accept_quote(runtime(), access, quote_id, date.today())
    except LookupError:
        abort(404)
    except ValueError as exc:
        flash(said(access.language, exc))
        return _back(token)
    flash(say(access.language, ACCEPTED, order=order))
    return _back(token)

