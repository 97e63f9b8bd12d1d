"""JSON API reads: orders, invoices (with their PDF and XML), payments (bank transactions
with their allocations) and decisions with their rule traces. Routes join web.api's
blueprint; money is a decimal string."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.services.ledger import allocated
from engine.services.records import jsonable
from engine.store.models import (
    Allocation,
    Approval,
    BankTransaction,
    Customer,
    DecisionRow,
    Invoice,
    Order,
)
from web.api import bp, detail, endpoint, int_arg, newest, paginate
from web.auth import runtime
from web.downloads import INVOICE, issued_file
from web.openapi import Param

STATUS = Param("status", "only rows with this status")
CUSTOMER = Param("customer", "only this customer's rows (customer number)")


def _party(customer: Customer) -> dict[str, str]:
    return {"number": customer.number, "name": customer.name}


def _lines(lines: list[Any]) -> list[dict[str, Any]]:
    return [{"position": x.position, "sku": x.sku, "description": x.description,
             "quantity": x.quantity, "unit": x.unit, "unit_price": x.unit_price,
             "vat_rate": x.vat_rate} for x in lines]


def _totals(row: Any) -> dict[str, Any]:
    return {"currency": row.currency, "net_amount": row.net_amount,
            "tax_amount": row.tax_amount, "gross_amount": row.gross_amount}


def _order(order: Order, session: Session | None = None) -> dict[str, Any]:
    out = {"id": order.id, "number": order.number, "customer": _party(order.customer),
           "customer_reference": order.customer_reference, "order_date": order.order_date,
           "requested_date": order.requested_date, "status": order.status,
           "quote_id": order.quote_id, "document_id": order.document_id, **_totals(order)}
    if session is not None:
        out["lines"] = _lines(order.lines)
        out["approvals"] = [
            {"role": a.role, "status": a.status, "reason": a.reason, "decided_by": a.decided_by,
             "comment": a.comment, "decision_id": a.decision_id}
            for a in session.scalars(select(Approval).where(Approval.order_id == order.id)
                                     .order_by(Approval.id))]
        out["decisions"] = list(session.scalars(select(DecisionRow.id).where(
            DecisionRow.subject_type == "order", DecisionRow.subject_id == order.id)
            .order_by(DecisionRow.id)))
    return out


def _invoice(invoice: Invoice, paid: Decimal, full: bool = False) -> dict[str, Any]:
    files = {kind: url_for("api.invoice_file", invoice_id=invoice.id, kind=kind)
             if sha else None
             for kind, sha in (("pdf", invoice.pdf_sha256), ("xml", invoice.xml_sha256))}
    out = {"id": invoice.id, "number": invoice.number, "customer": _party(invoice.customer),
           "order_id": invoice.order_id, "issue_date": invoice.issue_date,
           "delivery_date": invoice.delivery_date, "due_date": invoice.due_date,
           "status": invoice.status, "payment_reference": invoice.payment_reference,
           "open_amount": max(invoice.gross_amount - paid, Decimal("0.00")),
           "decision_id": invoice.decision_id, "files": files, **_totals(invoice)}
    if full:
        out["lines"] = _lines(invoice.lines)
    return out


@bp.route("/orders")
@endpoint("viewer", "List orders, newest first", "Order", paginated=True,
          query=(STATUS, CUSTOMER))
def order_list() -> Any:
    query = newest(Order, status=Order.status, customer=Customer.number)
    if request.args.get("customer"):
        query = query.join(Customer)
    return paginate(query, lambda o, _: _order(o))


@bp.route("/orders/<int:order_id>")
@endpoint("viewer", "An order with its lines, approvals and decisions", "Order")
def order(order_id: int) -> Any:
    return detail(Order, order_id, "order", _order)


@bp.route("/invoices")
@endpoint("viewer", "List invoices, newest first", "Invoice", paginated=True,
          query=(STATUS, CUSTOMER))
def invoice_list() -> Any:
    query = newest(Invoice, status=Invoice.status, customer=Customer.number)
    if request.args.get("customer"):
        query = query.join(Customer)
    return paginate(query, lambda i, s: _invoice(i, allocated(s, [i.id]).get(i.id, Decimal(0))))


@bp.route("/invoices/<int:invoice_id>")
@endpoint("viewer", "An invoice with its lines, open amount and file links", "Invoice")
def invoice(invoice_id: int) -> Any:
    with runtime().db.unit_of_work() as session:
        row = session.get(Invoice, invoice_id)
        if row is None:
            abort(404, f"invoice {invoice_id} does not exist")
        paid = allocated(session, [row.id]).get(row.id, Decimal(0))
        return jsonify(jsonable(_invoice(row, paid, full=True)))


@bp.route("/invoices/<int:invoice_id>.<any(pdf, xml):kind>")
@endpoint("viewer", "The invoice as issued: PDF (Factur-X) or XML", media=(
    "application/pdf", "application/xml"))
def invoice_file(invoice_id: int, kind: str) -> Any:
    return issued_file(Invoice, invoice_id, kind, INVOICE)


def _payment(tx: BankTransaction, session: Session) -> dict[str, Any]:
    allocations = session.execute(
        select(Allocation, Invoice.number).join(Invoice, Allocation.invoice_id == Invoice.id)
        .where(Allocation.transaction_id == tx.id).order_by(Allocation.id)).all()
    return {"id": tx.id, "booking_date": tx.booking_date, "value_date": tx.value_date,
            "amount": tx.amount, "currency": tx.currency,
            "counterparty_name": tx.counterparty_name,
            "counterparty_iban": tx.counterparty_iban, "reference": tx.reference,
            "remittance_info": tx.remittance_info, "status": tx.status,
            "match_confidence": (None if tx.match_confidence is None
                                 else str(tx.match_confidence)),
            "decision_id": tx.decision_id, "suggestions": tx.suggestions,
            "allocations": [{"invoice_id": a.invoice_id, "invoice_number": number,
                             "amount": a.amount, "kind": a.kind, "created_by": a.created_by,
                             "active": a.active} for a, number in allocations]}


@bp.route("/payments")
@endpoint("viewer", "List bank transactions with their allocations, newest first",
          "Payment", paginated=True, query=(STATUS,))
def payment_list() -> Any:
    return paginate(newest(BankTransaction, status=BankTransaction.status), _payment)


@bp.route("/payments/<int:payment_id>")
@endpoint("viewer", "A bank transaction with its allocations and suggestions", "Payment")
def payment(payment_id: int) -> Any:
    return detail(BankTransaction, payment_id, "payment", _payment)


def _decision(row: DecisionRow) -> dict[str, Any]:
    return {"id": row.id, "event": row.event, "subject_type": row.subject_type,
            "subject_id": row.subject_id, "rule_set": row.rule_set, "version": row.version,
            "sha256": row.sha256, "outcome": row.outcome, "effects": row.effects,
            "trace": row.trace, "facts": row.facts, "today": row.today,
            "created_at": row.created_at.isoformat(timespec="seconds")}


@bp.route("/decisions")
@endpoint("viewer", "List automated decisions with their traces, newest first", "Decision",
          paginated=True, query=(
              Param("event", "only this event, like order.received"),
              Param("subject_type", "order, invoice, bank_transaction, …"),
              Param("subject_id", "with subject_type: the subject's id", {"type": "integer"})))
def decision_list() -> Any:
    query = newest(DecisionRow, event=DecisionRow.event, subject_type=DecisionRow.subject_type)
    subject_id = int_arg("subject_id")
    if subject_id is not None:
        query = query.where(DecisionRow.subject_id == subject_id)
    return paginate(query, lambda d, _: _decision(d))


@bp.route("/decisions/<int:decision_id>")
@endpoint("viewer", "A decision: its inputs, the rules' trace and the rule set's sha256",
          "Decision")
def decision(decision_id: int) -> Any:
    return detail(DecisionRow, decision_id, "decision", lambda d, _: _decision(d))
