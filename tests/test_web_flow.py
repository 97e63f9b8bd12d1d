"""The back office as a clerk, an approver and finance use it, through Flask's test
client: a purchase order uploaded, corrected and confirmed in review, the order approved
with a comment (its rule trace shown), delivered and invoiced, the invoice's files, send
and credit note, a bank statement uploaded and matched, unmatch, confirm and manual
allocation, holds, the dunning run, tasks, and the dashboard's numbers after all that."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from io import BytesIO

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from documents.camt import write_camt053
from engine.core.records import Statement, StatementEntry
from engine.demo import seed
from engine.runtime import Runtime
from engine.services import fulfilment, invoicing, orders, portal
from engine.store.models import (
    Allocation,
    AuditEntry,
    BankTransaction,
    CreditNote,
    Customer,
    Delivery,
    Document,
    Hold,
    Invoice,
    Order,
    OutboxMessage,
    Task,
)
from tests.test_extract import po
from tests.test_web import login, token
from web.app import create_app
from web.users import ensure_admin, set_password


@pytest.fixture
def client(runtime: Runtime) -> Iterator[FlaskClient]:
    seed(runtime)
    app: Flask = create_app(runtime, testing=True)
    with app.test_client() as c:
        login(c, "admin", ensure_admin(runtime))
        yield c


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None,
         **kw: object) -> object:
    return client.post(path, data={"csrf_token": token(client, "/"), **(data or {})}, **kw)


def flashed(text: str) -> list[str]:
    return re.findall(r'<div class="flash">([^<]*)</div>', text)


def upload(client: FlaskClient, name: str, data: bytes) -> str:
    response = client.post("/documents/upload", data={
        "csrf_token": token(client, "/documents"), "files": [(BytesIO(data), name)]},
        content_type="multipart/form-data")
    assert response.status_code == 200
    return response.text


def reviewed_order(client: FlaskClient, runtime: Runtime) -> tuple[int, Order]:
    """Upload the purchase order; it waits in review (its quote is not ours); the clerk
    clears the quote field and confirms: the order is recorded."""
    page = upload(client, "bestellung.pdf", po("de"))
    assert 'class="status needs_review"' in page
    with runtime.db.unit_of_work() as s:
        doc = s.scalars(select(Document)).one()
        doc_id = doc.id
        assert "quote AN-2026-0001 is not one of ours" in doc.reason
    queue = client.get("/review").text
    assert f'href="/documents/{doc_id}"' in queue
    screen = client.get(f"/documents/{doc_id}").text
    assert f'src="/documents/{doc_id}/page/1.png"' in screen
    assert re.search(r'<tr class="conf-high"><td><label for="f_order_number" title="order_number">Order number</label>', screen)
    assert 'value="B-2026-4711"' in screen and 'id="confirm"' in screen
    picture = client.get(f"/documents/{doc_id}/page/1.png")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")
    response = post(client, f"/documents/{doc_id}/confirm", {"f_quote_reference": "",
                                                             "f_order_number": "B-2026-4711"})
    assert response.status_code == 302 and response.headers["Location"] == "/review"
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.status == "recorded"
        order = s.scalars(select(Order)).one()
        assert order.customer_reference == "B-2026-4711" and order.document_id == doc_id
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "document.confirmed"))
        assert entry is not None and entry.actor == "admin"
        assert entry.details["corrections"] == {"quote_reference": ""}
        s.expunge(order)
    return doc_id, order


def test_review_keeps_what_is_still_wrong(client: FlaskClient, runtime: Runtime) -> None:
    upload(client, "bestellung.pdf", po("de"))
    with runtime.db.unit_of_work() as s:
        doc_id = s.scalars(select(Document.id)).one()
    response = post(client, f"/documents/{doc_id}/confirm", {"f_customer_number": "K-99999",
                                                             "f_quote_reference": ""},
                    follow_redirects=True)
    assert "customer K-99999" in response.text and "is not known" in response.text
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.status == "needs_review"
        assert doc.parsed["fields"]["customer_number"]["value"] == "K-99999"
        assert s.scalar(select(Order)) is None
    bad_date = post(client, f"/documents/{doc_id}/confirm", {"f_order_date": "2.9.2026"},
                    follow_redirects=True)
    assert "order_date: &#39;2.9.2026&#39; is not a date" in bad_date.text
    rejected = post(client, f"/documents/{doc_id}/reject", {"reason": "a test order"},
                    follow_redirects=True)
    assert f"document {doc_id}: rejected" in rejected.text
    with runtime.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and (doc.status, doc.reason) == ("rejected", "a test order")


def test_from_purchase_order_to_paid_invoice(client: FlaskClient, runtime: Runtime) -> None:
    today = date.today()
    _, order = reviewed_order(client, runtime)
    assert orders.decide_approvals(runtime, today) == {"approved": 0, "pending_approval": 1}
    page = client.get(f"/orders/{order.id}").text
    assert 'id="approve"' in page and "large-order" in page and "is above 10,000 EUR" in page
    refused = post(client, f"/orders/{order.id}/decide", {"decision": "reject"},
                   follow_redirects=True)
    assert "Say why the order is rejected." in refused.text
    post(client, f"/orders/{order.id}/decide", {"decision": "approve", "comment": "known customer"})
    with runtime.db.unit_of_work() as s:
        row = s.get(Order, order.id)
        assert row is not None and row.status == "approved"
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "order.approved",
                                                 AuditEntry.actor == "admin")) is not None
    assert "known customer" in client.get(f"/orders/{order.id}").text

    orders.confirm_approved(runtime, today)
    assert fulfilment.ship(runtime, today) >= 1
    assert invoicing.invoice_deliveries(runtime, today) == 1
    with runtime.db.unit_of_work() as s:
        delivery_number = s.scalars(select(Delivery.number)).one()
    assert delivery_number in client.get("/deliveries").text
    with runtime.db.unit_of_work() as s:
        invoice = s.scalars(select(Invoice)).one()
        invoice_id, number, gross, reference = (invoice.id, invoice.number,
                                                invoice.gross_amount, invoice.payment_reference)
    page = client.get(f"/invoices/{invoice_id}").text
    assert number in page and 'id="send"' in page
    pdf = client.get(f"/invoices/{invoice_id}.pdf")
    xml = client.get(f"/invoices/{invoice_id}.xml")
    assert pdf.data.startswith(b"%PDF-") and b"CrossIndustryInvoice" in xml.data
    assert f'filename="{number}.pdf"' in pdf.headers["Content-Disposition"]
    post(client, f"/invoices/{invoice_id}/send", {"recipient": "ap@hoffmann-bau.example"})
    with runtime.db.unit_of_work() as s:
        resent = s.scalar(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"invoice-resend-{number}-1"))
        assert resent is not None and resent.recipient == "ap@hoffmann-bau.example"
        assert [a["filename"] for a in resent.attachments] == [f"{number}.pdf", f"{number}.xml"]

    # a bank statement pays it in full with the payment reference: matched automatically
    seller_iban = runtime.config.company.iban
    entry = StatementEntry(today, today, gross, "EUR", "Hoffmann Bau AG",
                           "DE02120300000000202051", reference, "", "E2E-1", "BR1")
    xml_statement = write_camt053(
        Statement(seller_iban, "EUR", "S-1", D("0"), gross, (entry,)), message_id="M1",
        created=datetime.now(UTC), owner_name="us")
    progress = upload(client, "camt053.xml", xml_statement)
    assert "1 booked, 0 for review" in progress
    with runtime.db.unit_of_work() as s:
        tx = s.scalars(select(BankTransaction)).one()
        tx_id = tx.id
        assert tx.status == "matched"
    dashboard = client.get("/").text
    assert re.search(r'id="auto-matched">100[.,]0 %', dashboard)
    assert re.search(r'id="no-person">0[.,]0 %', dashboard)  # reviewed and approved
    assert 'id="ageing-chart"' in dashboard and "<polyline" in dashboard

    # undo the match: it waits in review; confirm its first suggestion again
    refused = post(client, f"/payments/{tx_id}/unmatch", {}, follow_redirects=True)
    assert "Say why the match is undone." in refused.text
    post(client, f"/payments/{tx_id}/unmatch", {"reason": "wrong customer"})
    page = client.get(f"/payments/{tx_id}").text
    assert 'class="status review"' in page and "allocate-form" in page
    post(client, f"/payments/{tx_id}/confirm", {"choice": "0"})
    with runtime.db.unit_of_work() as s:
        tx = s.get(BankTransaction, tx_id)
        assert tx is not None and tx.status == "matched"
        mine = s.scalars(select(Allocation).where(Allocation.active.is_(True))).all()
        assert [a.created_by for a in mine] == ["admin"]
    assert re.search(r'id="auto-matched">0[.,]0 %', client.get("/").text)

    # manual allocation: over the open amount is refused, then a part is booked by hand
    post(client, f"/payments/{tx_id}/unmatch", {"reason": "split it"})
    too_much = post(client, f"/payments/{tx_id}/allocate",
                    {"invoice": [number], "amount": [str(gross + 1)]}, follow_redirects=True)
    assert f"invoice {number} is open for {gross}" in too_much.text
    post(client, f"/payments/{tx_id}/allocate", {"invoice": [number, ""],
                                                 "amount": ["1.000,00", ""]})
    with runtime.db.unit_of_work() as s:
        active = s.scalars(select(Allocation).where(Allocation.active.is_(True))).all()
        assert [(a.amount, a.created_by) for a in active] == [(D("1000.00"), "admin")]
        tx = s.get(BankTransaction, tx_id)
        assert tx is not None and tx.status == "partially_matched"

    # a credit note for position 2, then a dispute hold and its release
    post(client, f"/invoices/{invoice_id}/credit-note", {"position": ["2"], "reason": "damaged"})
    with runtime.db.unit_of_work() as s:
        note = s.scalars(select(CreditNote)).one()
        assert note.invoice_id == invoice_id and note.reason == "damaged"
        note_id = note.id
    assert client.get(f"/credit-notes/{note_id}.pdf").data.startswith(b"%PDF-")
    post(client, "/dunning/holds", {"kind": "dispute", "invoice_number": number,
                                    "reason": "the seal leaks"})
    dunning_page = client.get("/dunning").text
    assert "the seal leaks" in dunning_page
    with runtime.db.unit_of_work() as s:
        hold_id = s.scalars(select(Hold.id)).one()
    post(client, f"/dunning/holds/{hold_id}/release")
    with runtime.db.unit_of_work() as s:
        hold = s.get(Hold, hold_id)
        assert hold is not None and hold.released_by == "admin"
    run = post(client, "/dunning/run")
    assert run.status_code == 200 and 'data-step="3"' in run.text  # type: ignore[attr-defined]
    assert "letters: 0" in run.text  # type: ignore[attr-defined]  # nothing is overdue yet

    # every page still renders with all this data, in English and in German
    for page_path in ("/", "/orders", f"/orders/{order.id}", "/invoices", "/payments",
                      f"/payments/{tx_id}", "/deliveries", "/customers", "/products",
                      "/audit", "/dunning", "/tasks", "/documents", "/review"):
        assert client.get(page_path).status_code == 200, page_path
    post(client, "/language", {"lang": "de", "next": "/invoices"})
    german = client.get("/invoices").text
    assert "Rechnungen" in german and f"{gross:,.2f}".replace(",", "X").replace(
        ".", ",").replace("X", ".") in german


def test_tasks_are_closed_by_a_person(client: FlaskClient, runtime: Runtime) -> None:
    with runtime.db.unit_of_work() as s:
        task = Task(kind="review_overdue", role="clerk", subject="look at document 1",
                    object_type="document", object_id=1, due_date=date(2026, 9, 1))
        s.add(task)
        s.flush()
        task_id = task.id
    assert "look at document 1" in client.get("/tasks").text
    post(client, f"/tasks/{task_id}/close")
    with runtime.db.unit_of_work() as s:
        row = s.get(Task, task_id)
        assert row is not None and row.status == "done"
    assert "look at document 1" not in client.get("/tasks").text
    assert post(client, f"/tasks/{task_id}/close", follow_redirects=True).status_code == 200


def test_customers_portal_link_products_and_audit(client: FlaskClient, runtime: Runtime) -> None:
    listing = client.get("/customers?q=bright").text
    assert "Brightwater Engineering GmbH" in listing and "Hoffmann Bau AG" not in listing
    with runtime.db.unit_of_work() as s:
        customer_id = s.scalars(select(Customer.id).where(Customer.number == "K-10002")).one()
    page = client.get(f"/customers/{customer_id}").text
    assert "purchasing@brightwater.example" in page and 'id="portal-link"' in page
    made = post(client, f"/customers/{customer_id}/portal-link", {"days": "7"},
                follow_redirects=True)
    [message] = flashed(made.text)  # type: ignore[attr-defined]
    assert message.startswith("portal link for K-10002: ") and "/portal/" in message
    token_part = message.rsplit("/", 1)[1]
    assert portal.resolve(runtime, token_part) is not None
    too_long = post(client, f"/customers/{customer_id}/portal-link", {"days": "999"},
                    follow_redirects=True)
    assert "valid 1 to 730 days" in too_long.text  # type: ignore[attr-defined]
    assert client.get("/customers/999").status_code == 404
    assert "Hydraulikmotor HM 200" in client.get("/products").text
    audit = client.get("/audit?action=portal_link&object_type=portal").text
    assert "portal_link.created" in audit and "user.login" not in audit
    assert client.get("/reminders").headers["Location"] == "/dunning"


def test_clerks_confirm_matches_finance_undoes_them(runtime: Runtime) -> None:
    app = create_app(runtime, testing=True)
    with app.test_client() as clerk:
        login(clerk, "clerk@example.com", set_password(runtime, "clerk@example.com", "clerk"))
        assert post(clerk, "/payments/1/confirm").status_code == 302  # type: ignore[attr-defined]
        assert "transaction 1 is not waiting for review" in clerk.get("/payments").text
        for path in ("/payments/1/unmatch", "/payments/1/allocate", "/dunning/run",
                     "/dunning/holds", "/invoices/1/credit-note"):
            assert post(clerk, path).status_code == 403, path  # type: ignore[attr-defined]
