"""What every back-office page shares: the `views` blueprint, the signed-in actor, today,
and amounts and dates in the user's locale. The pages live in web/views_*.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import format_date, format_datetime, format_decimal
from werkzeug.wrappers import Response

from web.views_text import said_lines

bp = Blueprint("views", __name__)

PAGE_SIZE = 200


def actor() -> str:
    return str(session["user"])


def today() -> date:
    return date.today()


def money(value: Decimal | str | None) -> str:
    """An amount with two decimals in the user's locale: 1.234,50 or 1,234.50."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return str(format_decimal(amount, format="#,##0.00"))


def day(value: date | datetime | str | None) -> str:
    """A date (or a moment) in the user's locale."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return str(format_datetime(value, "short"))
    return str(format_date(value, "medium"))


def qty(value: Decimal | None) -> str:
    """A quantity or rate without trailing zeros, in the user's locale: 40, 2,5 / 2.5."""
    return "" if value is None else str(format_decimal(value))


def percent(value: Decimal | None) -> str:
    return "–" if value is None else f"{format_decimal(value, format='#,##0.0')} %"


def parse_amount(text: str) -> Decimal:
    """An amount typed by a person, in either locale's way: 1.234,50 / 1,234.50 / 12.5."""
    cleaned = text.strip().replace(" ", "").replace("€", "")
    if "," in cleaned and "." in cleaned:
        cleaned = (cleaned.replace(".", "").replace(",", ".")
                   if cleaned.rfind(",") > cleaned.rfind(".") else cleaned.replace(",", ""))
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"'{text}' is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"'{text}' is not an amount")
    return amount


def back(endpoint: str, **values: Any) -> Response:
    """Redirect to where the form came from when it is one of ours, else to `endpoint`."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for(endpoint, **values))


def register_filters(app: Any) -> None:
    app.jinja_env.filters.update(money=money, day=day, percent=percent, qty=qty,
                                 said=said_lines)
