"""Orders and approvals (with the rule trace; approve or reject with a comment) and
deliveries."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from engine.services import orders
from engine.store.models import Approval, DecisionRow, Delivery, Invoice, Order
from web.auth import login_required, runtime
from web.i18n import word
from web.views_common import PAGE_SIZE, actor, back, bp
from web.views_text import said

ORDER_STATES = ("received", "pending_approval", "approved", "confirmed", "delivered",
                "invoiced", "rejected")


def decisions_of(s: Any, subject_type: str, subject_id: int) -> list[DecisionRow]:
    return list(s.scalars(select(DecisionRow).where(
        DecisionRow.subject_type == subject_type, DecisionRow.subject_id == subject_id)
        .order_by(DecisionRow.id)))


@bp.route("/orders")
@login_required()
def order_list() -> Any:
    status = request.args.get("status", "")
    with runtime().db.unit_of_work() as s:
        query = select(Order).order_by(Order.id.desc()).limit(PAGE_SIZE)
        if status:
            query = query.where(Order.status == status)
        rows = [(o, o.customer.name) for o in s.scalars(query)]
        s.expunge_all()
    return render_template("orders.html", rows=rows, status=status, states=ORDER_STATES)


@bp.route("/orders/<int:order_id>")
@login_required()
def order(order_id: int) -> Any:
    with runtime().db.unit_of_work() as s:
        row = s.get(Order, order_id)
        if row is None:
            abort(404)
        customer, lines = row.customer, list(row.lines)
        approvals = list(s.scalars(select(Approval).where(Approval.order_id == order_id)
                                   .order_by(Approval.id)))
        decisions = decisions_of(s, "order", order_id)
        deliveries = list(s.scalars(select(Delivery).where(Delivery.order_id == order_id)
                                    .order_by(Delivery.id)))
        invoices = list(s.scalars(select(Invoice).where(Invoice.order_id == order_id)))
        s.expunge_all()
    return render_template("order.html", order=row, customer=customer, lines=lines,
                           approvals=approvals, decisions=decisions, deliveries=deliveries,
                           invoices=invoices)


@bp.route("/orders/<int:order_id>/decide", methods=["POST"])
@login_required("clerk")
def decide(order_id: int) -> Any:
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400, gettext("decision must be approve or reject"))
    comment = request.form.get("comment", "").strip()
    if decision == "reject" and not comment:
        flash(gettext("Say why the order is rejected."))
        return back("views.order", order_id=order_id)
    try:
        status = orders.decide_by_person(runtime(), order_id, actor(), decision == "approve",
                                         comment)
        flash(gettext("order %(id)s: %(status)s", id=order_id, status=word(status)))
    except ValueError as exc:
        flash(said(exc))
    return back("views.order", order_id=order_id)


@bp.route("/deliveries")
@login_required()
def delivery_list() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = [(d, d.order.number, d.order.customer.name, len(d.lines))
                for d in s.scalars(select(Delivery).order_by(Delivery.id.desc())
                                   .limit(PAGE_SIZE))]
        s.expunge_all()
    return render_template("deliveries.html", rows=rows)
