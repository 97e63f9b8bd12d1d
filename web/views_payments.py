"""Payments and reconciliation: bank credits with their ranked suggestions; confirm one,
allocate by hand, or undo a match (engine.services.payments does the booking)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, render_template, request
from flask_babel import gettext
from sqlalchemy import select

from engine.services import payments, reconcile
from engine.store.models import Allocation, BankTransaction, Invoice
from web.auth import login_required, runtime
from web.i18n import word
from web.views_common import PAGE_SIZE, actor, back, bp, parse_amount, today
from web.views_orders import decisions_of
from web.views_text import said

PAYMENT_STATES = ("review", "new", "matched", "partially_matched", "ignored")
MANUAL_ROWS = 4


@bp.route("/payments")
@login_required()
def payment_list() -> Any:
    status = request.args.get("status", "")
    with runtime().db.unit_of_work() as s:
        query = select(BankTransaction).order_by(BankTransaction.id.desc()).limit(PAGE_SIZE)
        if status:
            query = query.where(BankTransaction.status == status)
        rows = list(s.scalars(query))
        s.expunge_all()
    return render_template("payments.html", rows=rows, status=status, states=PAYMENT_STATES)


@bp.route("/payments/<int:tx_id>")
@login_required()
def payment(tx_id: int) -> Any:
    with runtime().db.unit_of_work() as s:
        tx = s.get(BankTransaction, tx_id)
        if tx is None:
            abort(404)
        allocations = [(a, number) for a, number in s.execute(
            select(Allocation, Invoice.number).join(Invoice, Invoice.id == Allocation.invoice_id)
            .where(Allocation.transaction_id == tx_id).order_by(Allocation.id))]
        decisions = decisions_of(s, "transaction", tx_id)
        s.expunge_all()
    return render_template("payment.html", tx=tx, allocations=allocations, decisions=decisions,
                           manual_rows=MANUAL_ROWS)


@bp.route("/payments/<int:tx_id>/confirm", methods=["POST"])
@login_required("clerk")  # clerks confirm suggested matches (DESIGN.md: users)
def confirm_payment(tx_id: int) -> Any:
    choice = request.form.get("choice", "0")
    try:
        status = payments.confirm_suggestion(runtime(), tx_id, actor(), today(),
                                             int(choice) if choice.isdigit() else 0)
        flash(gettext("payment %(id)s: %(status)s", id=tx_id, status=word(status)))
    except ValueError as exc:
        flash(said(exc))
    return back("views.payment", tx_id=tx_id)


@bp.route("/payments/<int:tx_id>/unmatch", methods=["POST"])
@login_required("finance")
def unmatch_payment(tx_id: int) -> Any:
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash(gettext("Say why the match is undone."))
        return back("views.payment", tx_id=tx_id)
    try:
        status = payments.unmatch(runtime(), tx_id, actor(), reason)
        flash(gettext("payment %(id)s: %(status)s", id=tx_id, status=word(status)))
    except (ValueError, PermissionError) as exc:
        flash(said(exc))
    return back("views.payment", tx_id=tx_id)


def _wanted() -> list[tuple[str, Decimal]]:
    wanted = []
    for number, amount in zip(request.form.getlist("invoice"), request.form.getlist("amount"),
                              strict=False):
        if number.strip() or amount.strip():
            if not number.strip() or not amount.strip():
                raise ValueError("each row needs an invoice number and an amount")
            value = parse_amount(amount)
            if value <= 0:
                raise ValueError(f"{number}: the amount must be more than zero")
            wanted.append((number.strip(), value))
    if not wanted:
        raise ValueError("name at least one invoice and its amount")
    return wanted


@bp.route("/payments/<int:tx_id>/allocate", methods=["POST"])
@login_required("finance")
def allocate_payment(tx_id: int) -> Any:
    try:
        status = reconcile.allocate_by_hand(runtime(), tx_id, _wanted(), actor())
        flash(gettext("payment %(id)s: %(status)s", id=tx_id, status=word(status)))
    except ValueError as exc:
        flash(said(exc))
    return back("views.payment", tx_id=tx_id)


@bp.route("/payments/<int:tx_id>/dismiss", methods=["POST"])
@login_required("finance")
def dismiss_payment(tx_id: int) -> Any:
    try:
        status = reconcile.dismiss(runtime(), tx_id, actor(), request.form.get("reason", ""))
        flash(gettext("payment %(id)s: %(status)s", id=tx_id, status=word(status)))
    except ValueError as exc:
        flash(said(exc))
    return back("views.payment", tx_id=tx_id)
