"""Customers, products, settings (the configuration, read only, secrets hidden), the
audit log, and the language switch."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import abort, flash, render_template, request, session
from flask_babel import gettext
from sqlalchemy import func, select

from engine.services import portal
from engine.services.holds import holding
from engine.services.ledger import open_by_customer, open_items
from engine.store.models import AuditEntry, Customer, Invoice, Order, Product
from web.auth import login_required, runtime
from web.i18n import LANGUAGES
from web.views_common import PAGE_SIZE, actor, back, bp, today
from web.views_text import said

SECRET = re.compile(r"password|secret|token|key", re.IGNORECASE)
ZERO = Decimal("0.00")


@bp.route("/customers")
@login_required()
def customer_list() -> Any:
    q = request.args.get("q", "").strip()
    with runtime().db.unit_of_work() as s:
        query = select(Customer).order_by(Customer.number).limit(PAGE_SIZE)
        if q:
            like = f"%{q}%"
            query = query.where(Customer.name.ilike(like) | Customer.number.ilike(like))
        rows = list(s.scalars(query))
        owed = open_by_customer(s, [c.id for c in rows])
        s.expunge_all()
    return render_template("customers.html", rows=rows, owed=owed, q=q)


@bp.route("/customers/<int:customer_id>")
@login_required()
def customer(customer_id: int) -> Any:
    with runtime().db.unit_of_work() as s:
        row = s.get(Customer, customer_id)
        if row is None:
            abort(404)
        items = open_items(s, customer_id)
        invoices = list(s.scalars(select(Invoice).where(Invoice.customer_id == customer_id)
                                  .order_by(Invoice.id.desc()).limit(50)))
        orders = list(s.scalars(select(Order).where(Order.customer_id == customer_id)
                                .order_by(Order.id.desc()).limit(50)))
        blocked = customer_id in holding(s, today())[1]
        s.expunge_all()
    open_total = sum((i.open_amount for i in items), ZERO)
    return render_template("customer.html", customer=row, invoices=invoices, orders=orders,
                           open_total=open_total, blocked=blocked)


@bp.route("/customers/<int:customer_id>/portal-link", methods=["POST"])
@login_required("clerk")
def portal_link(customer_id: int) -> Any:
    """A new signed, expiring portal link for the customer, shown once to pass on."""
    rt = runtime()
    with rt.db.unit_of_work() as s:
        row = s.get(Customer, customer_id)
        if row is None:
            abort(404)
        number = row.number
    days = request.form.get("days", "")
    try:
        url = portal.make_link(rt, number, actor(), int(days) if days.isdigit() else None)
    except ValueError as exc:
        flash(said(exc))
    else:
        flash(gettext("portal link for %(number)s: %(url)s", number=number, url=url))
    return back("views.customer", customer_id=customer_id)


@bp.route("/products")
@login_required()
def product_list() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = list(s.scalars(select(Product).order_by(Product.sku).limit(1000)))
        s.expunge_all()
    return render_template("products.html", rows=rows)


def visible_settings(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The configuration as (key, shown value); secrets and credentials are masked."""
    shown = []
    for key in sorted(values):
        value = values[key]
        if SECRET.search(key) and value:
            text = "••••••"
        elif key == "database.url":
            text = re.sub(r"//([^:/@]+):[^@]+@", r"//\1:••••••@", str(value))
        else:
            text = str(value)
        shown.append((key, text))
    return shown


@bp.route("/settings")
@login_required("admin")
def settings() -> Any:
    config = runtime().config
    return render_template("settings.html", rows=visible_settings(dict(config.values)),
                           source=config.source)


@bp.route("/audit")
@login_required("finance")
def audit_log() -> Any:
    args = request.args
    page = max(args.get("page", 1, int), 1)
    with runtime().db.unit_of_work() as s:
        query = select(AuditEntry)
        for name, column in (("actor", AuditEntry.actor), ("action", AuditEntry.action),
                             ("object_type", AuditEntry.object_type)):
            if args.get(name):
                query = query.where(column.ilike(f"%{args[name]}%"))
        if args.get("object_id", "").isdigit():
            query = query.where(AuditEntry.object_id == int(args["object_id"]))
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = list(s.scalars(query.order_by(AuditEntry.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
        s.expunge_all()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    filters = {k: args.get(k, "") for k in ("actor", "action", "object_type", "object_id")}
    return render_template("audit.html", rows=rows, page=page, pages=pages, total=total,
                           filters=filters)


@bp.route("/language", methods=["POST"])
@login_required()
def set_language() -> Any:
    lang = request.form.get("lang", "")
    if lang not in LANGUAGES:
        abort(400, gettext("language must be one of %(languages)s",
                           languages=", ".join(LANGUAGES)))
    session["lang"] = lang
    return back("views.dashboard")
