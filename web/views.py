"""Back-office pages: dashboard, documents (with upload), orders, invoices, payments,
reminders and tasks. Thin: each view reads rows or calls one service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select

from engine.core.money import format_amount
from engine.services import intake, orders, payments
from engine.services.ledger import open_items
from engine.store.models import (
    BankTransaction,
    Customer,
    Document,
    DunningNotice,
    Invoice,
    Order,
    Task,
)
from web.auth import login_required, runtime

bp = Blueprint("views", __name__)


def _money(value: Decimal | None) -> str:
    return "" if value is None else format_amount(value, "de")


@bp.route("/")
@login_required()
def dashboard() -> Any:
    rt, today = runtime(), date.today()
    with rt.db.unit_of_work() as s:
        items = open_items(s)
        counts = {
            "documents in review": s.scalar(select(func.count(Document.id)).where(
                Document.status == "needs_review")),
            "orders waiting for approval": s.scalar(select(func.count(Order.id)).where(
                Order.status == "pending_approval")),
            "payments in review": s.scalar(select(func.count(BankTransaction.id)).where(
                BankTransaction.status == "review")),
            "open tasks": s.scalar(select(func.count(Task.id)).where(Task.status == "open")),
        }
    open_total = sum((i.open_amount for i in items), Decimal(0))
    overdue = sum((i.open_amount for i in items if i.due_date < today), Decimal(0))
    return render_template("dashboard.html", counts=counts, open_total=_money(open_total),
                           overdue=_money(overdue), open_count=len(items))


@bp.route("/documents")
@login_required()
def documents() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = [(d.id, d.filename, d.file_type, d.kind, d.status,
                 d.confidence if d.confidence is not None else "", d.reason[:120],
                 f"{d.created_at:%Y-%m-%d %H:%M}")
                for d in s.scalars(select(Document).order_by(Document.id.desc()).limit(500))]
    return render_template("documents.html", rows=rows)


@bp.route("/documents/upload", methods=["POST"])
@login_required("clerk")
def upload() -> Any:
    rt = runtime()
    files = request.files.getlist("files")
    if not files or not any(f.filename for f in files):
        flash("Choose one or more files to upload.")
        return redirect(url_for("views.documents"))
    for storage in files:
        try:
            received = intake.receive(rt, storage.read(), storage.filename or "upload", "upload")
        except intake.RejectedFile as exc:
            flash(f"refused: {exc}")
            continue
        status = intake.process(rt, received.document_id, date.today())
        flash(f"{intake.safe_filename(storage.filename or '')}: {status}"
              + ("" if received.new else " (the same file arrived before)"))
    return redirect(url_for("views.documents"))


@bp.route("/orders")
@login_required()
def order_list() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = [(o.id, o.number, o.customer.name, o.customer_reference, o.order_date,
                 _money(o.net_amount), o.status)
                for o in s.scalars(select(Order).order_by(Order.id.desc()).limit(500))]
    return render_template("orders.html", rows=rows)


@bp.route("/orders/<int:order_id>/decide", methods=["POST"])
@login_required("clerk")
def decide(order_id: int) -> Any:
    approve = request.form.get("decision") == "approve"
    try:
        orders.decide_by_person(runtime(), order_id, session["user"], approve,
                                request.form.get("comment", ""))
    except ValueError as exc:
        flash(str(exc))
    return redirect(url_for("views.order_list"))


@bp.route("/invoices")
@login_required()
def invoice_list() -> Any:
    with runtime().db.unit_of_work() as s:
        still_open = {i.invoice_id: i.open_amount for i in open_items(s)}
        rows = [(i.id, i.number, i.customer.name, i.issue_date, i.due_date,
                 _money(i.gross_amount), _money(still_open.get(i.id, Decimal(0))), i.status)
                for i in s.scalars(select(Invoice).order_by(Invoice.id.desc()).limit(500))]
    return render_template("invoices.html", rows=rows)


@bp.route("/invoices/<int:invoice_id>.<kind>")
@login_required()
def invoice_file(invoice_id: int, kind: str) -> Any:
    rt = runtime()
    with rt.db.unit_of_work() as s:
        invoice = s.get(Invoice, invoice_id)
        if invoice is None or kind not in ("pdf", "xml"):
            abort(404)
        sha = invoice.pdf_sha256 if kind == "pdf" else invoice.xml_sha256
        number = invoice.number
    if not sha:
        abort(404)
    mime = "application/pdf" if kind == "pdf" else "application/xml"
    return Response(rt.blobs.get(sha), mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="{number}.{kind}"'})


@bp.route("/payments")
@login_required()
def payment_list() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = [(t.id, t.booking_date, _money(t.amount), t.counterparty_name,
                 (t.reference + " " + t.remittance_info).strip()[:80], t.status,
                 t.match_confidence if t.match_confidence is not None else "",
                 t.suggestions[0]["reason"] if t.suggestions else "")
                for t in s.scalars(select(BankTransaction).order_by(
                    BankTransaction.id.desc()).limit(500))]
    return render_template("payments.html", rows=rows)


@bp.route("/payments/<int:tx_id>/confirm", methods=["POST"])
@login_required("finance")
def confirm_payment(tx_id: int) -> Any:
    try:
        payments.confirm_suggestion(runtime(), tx_id, session["user"], date.today())
    except ValueError as exc:
        flash(str(exc))
    return redirect(url_for("views.payment_list"))


@bp.route("/reminders")
@login_required()
def reminder_list() -> Any:
    with runtime().db.unit_of_work() as s:
        notices = s.execute(select(DunningNotice, Invoice, Customer)
                            .join(Invoice, DunningNotice.invoice_id == Invoice.id)
                            .join(Customer, Invoice.customer_id == Customer.id)
                            .order_by(DunningNotice.id.desc()).limit(500)).all()
        rows = [(n.notice_date, c.name, i.number, n.level, _money(n.open_amount), _money(n.fee))
                for n, i, c in notices]
        tasks = [(t.id, t.role, t.subject, t.due_date, t.status)
                 for t in s.scalars(select(Task).order_by(Task.id.desc()).limit(200))]
    return render_template("reminders.html", rows=rows, tasks=tasks)
