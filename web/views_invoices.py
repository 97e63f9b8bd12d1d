"""Invoices: the list with what is still open, one invoice with its lines, payments,
credit notes and reminders, PDF and XML download, send again, and credit notes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, render_template, request
from flask_babel import gettext
from sqlalchemy import func, select

from documents.render import WORDS
from engine.services import invoicing
from engine.services.ledger import allocated
from engine.services.outbox import InvalidRecipient, enqueue
from engine.services.publish import greeting
from engine.services.records import audit
from engine.store.models import (
    Allocation,
    CreditNote,
    DunningNotice,
    Hold,
    Invoice,
    OutboxMessage,
)
from web.auth import login_required, runtime
from web.downloads import CREDIT_NOTE, INVOICE, issued_file
from web.views_common import PAGE_SIZE, actor, back, bp, today
from web.views_orders import decisions_of
from web.views_text import said

ZERO = Decimal("0.00")


@bp.route("/invoices")
@login_required()
def invoice_list() -> Any:
    status = request.args.get("status", "")
    with runtime().db.unit_of_work() as s:
        query = select(Invoice).order_by(Invoice.id.desc()).limit(PAGE_SIZE)
        if status:
            query = query.where(Invoice.status == status)
        invoices = list(s.scalars(query))
        paid = allocated(s, [i.id for i in invoices])
        rows = [(i, i.customer.name, i.gross_amount - paid.get(i.id, ZERO)) for i in invoices]
        s.expunge_all()
    return render_template("invoices.html", rows=rows, status=status)


@bp.route("/invoices/<int:invoice_id>")
@login_required()
def invoice(invoice_id: int) -> Any:
    with runtime().db.unit_of_work() as s:
        row = s.get(Invoice, invoice_id)
        if row is None:
            abort(404)
        customer, lines = row.customer, list(row.lines)
        allocations = list(s.scalars(select(Allocation).where(
            Allocation.invoice_id == invoice_id).order_by(Allocation.id)))
        open_amount = row.gross_amount - allocated(s, [invoice_id]).get(invoice_id, ZERO)
        notes = list(s.scalars(select(CreditNote).where(CreditNote.invoice_id == invoice_id)))
        reminders = list(s.scalars(select(DunningNotice).where(
            DunningNotice.invoice_id == invoice_id).order_by(DunningNotice.level)))
        holds = list(s.scalars(select(Hold).where(Hold.invoice_id == invoice_id)))
        decisions = decisions_of(s, "invoice", invoice_id)
        sent = s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.idempotency_key.like(f"%{row.number}%"))) or 0
        s.expunge_all()
    return render_template("invoice.html", invoice=row, customer=customer, lines=lines,
                           allocations=allocations, open_amount=open_amount, notes=notes,
                           reminders=reminders, holds=holds, decisions=decisions, sent=sent)


@bp.route("/invoices/<int:invoice_id>.<kind>")
@login_required()
def invoice_file(invoice_id: int, kind: str) -> Any:
    return issued_file(Invoice, invoice_id, kind, INVOICE)


@bp.route("/credit-notes/<int:note_id>.<kind>")
@login_required()
def credit_note_file(note_id: int, kind: str) -> Any:
    return issued_file(CreditNote, note_id, kind, CREDIT_NOTE)


@bp.route("/invoices/<int:invoice_id>/send", methods=["POST"])
@login_required("clerk")
def send_invoice(invoice_id: int) -> Any:
    """Queue the invoice's PDF and XML to the customer again (a new, numbered mail)."""
    who = actor()
    try:
        with runtime().db.unit_of_work() as s:
            row = s.get(Invoice, invoice_id)
            if row is None:
                abort(404)
            customer = row.customer
            recipient = request.form.get("recipient", "").strip() or customer.email
            if not recipient:
                raise ValueError(f"customer {customer.number} has no e-mail address")
            earlier = s.scalar(select(func.count(OutboxMessage.id)).where(
                OutboxMessage.idempotency_key.like(f"invoice-resend-{row.number}-%"))) or 0
            t = WORDS[customer.language]
            files = [{"filename": f"{row.number}.{kind}", "sha256": sha, "type": mime}
                     for kind, sha, mime in (("pdf", row.pdf_sha256, "application/pdf"),
                                             ("xml", row.xml_sha256, "application/xml"))
                     if sha]
            enqueue(s, key=f"invoice-resend-{row.number}-{earlier + 1}", kind="invoice",
                    recipient=recipient, subject=f"{t['invoice']} {row.number}",
                    body=greeting(customer.language, t["invoice"], row.number),
                    attachments=files)
            audit(s, who, "invoice.sent", "invoice", row.id, recipient=recipient,
                  copy=earlier + 1)
        flash(gettext("invoice %(id)s: queued for %(recipient)s", id=invoice_id,
                      recipient=recipient))
    except (ValueError, InvalidRecipient) as exc:
        flash(said(exc))
    return back("views.invoice", invoice_id=invoice_id)


@bp.route("/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@login_required("finance")
def credit_note(invoice_id: int) -> Any:
    positions = [int(p) for p in request.form.getlist("position") if p.isdigit()]
    reason = request.form.get("reason", "").strip()
    if not positions or not reason:
        flash(gettext("Choose the positions to credit and say why."))
        return back("views.invoice", invoice_id=invoice_id)
    try:
        number = invoicing.issue_credit_note(runtime(), invoice_id, positions, reason, actor(),
                                             today())
        flash(gettext("credit note %(number)s issued", number=number))
    except ValueError as exc:
        flash(said(exc))
    return back("views.invoice", invoice_id=invoice_id)
