"""The JSON API under /api/v1 through Flask's test client, on SQLite and PostgreSQL: token
auth, uploads through intake, reads with pagination, JSON errors, the OpenAPI document."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from io import BytesIO

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.core.checks import rf_reference
from engine.runtime import Runtime
from engine.services import tokens
from engine.store.models import (
    Allocation,
    ApiToken,
    AuditEntry,
    BankStatement,
    BankTransaction,
    Customer,
    DecisionRow,
    Document,
    Invoice,
    Order,
    OrderLine,
    Product,
    Quote,
    QuoteLine,
)
from tests.test_extract import po
from web.app import create_app
from web.users import ROLES

TODAY = date.today()


@dataclass(frozen=True)
class Seeded:
    """Ids of what `seed` made: customer A and B, each with invoices, A with an order,
    a quote, a decision and a payment."""

    customers: dict[str, int]
    invoices: dict[str, int]  # number → id
    order: int
    quote: int
    decision: int
    payment: int


def seed(rt: Runtime) -> Seeded:
    """Two customers with open invoices (PDF and XML stored), a paid invoice of A with its
    payment, an order of A with a decision, and an open quote of A."""
    files = {}
    for name in ("A1", "A2", "B1"):
        files[name] = (rt.blobs.put(f"%PDF-1.7 invoice {name}".encode()),
                       rt.blobs.put(f"<Invoice>{name}</Invoice>".encode()))
    with rt.db.unit_of_work() as s:
        product = Product(sku="P-1", name="Pumpe", unit_price=D("100.00"))
        s.add(product)
        customers = {}
        for key, lang in (("A", "de"), ("B", "en")):
            c = Customer(number=f"K-{key}", name=f"Kunde {key} GmbH", email=f"{key}@example.com",
                         language=lang)
            s.add(c)
            s.flush()
            customers[key] = c.id
        invoices = {}
        for name, status in (("A1", "open"), ("A2", "paid"), ("B1", "open")):
            number = f"RE-2026-{name}"
            inv = Invoice(number=number, customer_id=customers[name[0]],
                          issue_date=TODAY - timedelta(days=40),
                          delivery_date=TODAY - timedelta(days=40),
                          due_date=TODAY - timedelta(days=26),
                          payment_reference=rf_reference(number), net_amount=D("100.00"),
                          tax_amount=D("19.00"), gross_amount=D("119.00"), status=status,
                          pdf_sha256=files[name][0], xml_sha256=files[name][1])
            s.add(inv)
            s.flush()
            invoices[number] = inv.id
        statement = BankStatement(account="DE89370400440532013000", statement_id="1",
                                  currency="EUR")
        s.add(statement)
        s.flush()
        tx = BankTransaction(statement_id=statement.id, dedupe_key="tx-1", booking_date=TODAY,
                             amount=D("119.00"), currency="EUR", counterparty_name="Kunde A",
                             reference="RE-2026-A2", status="matched")
        s.add(tx)
        s.flush()
        s.add(Allocation(invoice_id=invoices["RE-2026-A2"], transaction_id=tx.id,
                         amount=D("119.00"), kind="payment", created_by="auto"))
        order = Order(number="AU-2026-90001", customer_id=customers["A"], order_date=TODAY,
                      status="approved", net_amount=D("200.00"), tax_amount=D("38.00"),
                      gross_amount=D("238.00"))
        s.add(order)
        s.flush()
        s.add(OrderLine(order_id=order.id, position=1, sku="P-1", description="Pumpe",
                        quantity=D("2"), unit="Stk", unit_price=D("100.00"), vat_rate=D("19")))
        decision = DecisionRow(event="order.received", subject_type="order",
                               subject_id=order.id, rule_set="approval", version="1",
                               sha256="0" * 64, outcome="approve", effects=[],
                               trace=[{"rule_id": "small", "matched": True,
                                       "message": "net 200.00 below 5000"}],
                               facts={"order": {"net_amount": "200.00"}}, today=TODAY)
        s.add(decision)
        quote = Quote(number="AN-2026-0001", customer_id=customers["A"], issue_date=TODAY,
                      pdf_sha256=rt.blobs.put(b"%PDF-1.7 quote"),
                      valid_until=TODAY + timedelta(days=30), net_amount=D("300.00"),
                      tax_amount=D("57.00"), gross_amount=D("357.00"))
        s.add(quote)
        s.flush()
        s.add(QuoteLine(quote_id=quote.id, position=1, sku="P-1", description="Pumpe",
                        quantity=D("3"), unit="Stk", unit_price=D("100.00"), vat_rate=D("19")))
        s.flush()
        return Seeded(customers, invoices, order.id, quote.id, decision.id, tx.id)


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime, testing=True)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clerk(runtime: Runtime) -> dict[str, str]:
    return bearer(tokens.create(runtime, "erp", "clerk", "test"))


def assert_error(response: TestResponse, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json
    assert body is not None
    assert set(body) == {"error"} and body["error"]["status"] == status, body
    assert body["error"]["message"]
    return dict(body["error"])


def test_requests_without_a_valid_token_get_401(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    assert_error(client.get("/api/v1/orders"), 401)
    assert_error(client.get("/api/v1/orders", headers=bearer("o2c_guessed")), 401)
    assert_error(client.get("/api/v1/orders", headers={"Authorization": "Basic eDp5"}), 401)
    token = tokens.create(runtime, "old", "admin", "test")
    assert client.get("/api/v1/orders", headers=bearer(token)).status_code == 200
    tokens.revoke(runtime, "old", "test")
    assert_error(client.get("/api/v1/orders", headers=bearer(token)), 401)


def test_tokens_are_stored_hashed_and_note_their_use(app: Flask, runtime: Runtime) -> None:
    token = tokens.create(runtime, "shop", "viewer", "test")
    with runtime.db.unit_of_work() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "shop"))
        assert row is not None and token not in row.token_hash
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.last_used_at is None
    app.test_client().get("/api/v1/invoices", headers=bearer(token))
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "shop"))
    with pytest.raises(ValueError, match="exists already"):
        tokens.create(runtime, "shop", "viewer", "test")
    with pytest.raises(ValueError, match="role must be"):
        tokens.create(runtime, "x", "root", "test")
    assert tokens.ROLES == ROLES


def test_upload_goes_through_intake_and_dedupes(app: Flask, runtime: Runtime,
                                                clerk: dict[str, str]) -> None:
    client = app.test_client()  # no session, no CSRF token: the bearer token is enough
    data = po("de")
    response = client.post("/api/v1/documents", headers=clerk, data={
        "files": [(BytesIO(data), "po-1.pdf"), (BytesIO(b"hello"), "note.txt")]},
        content_type="multipart/form-data")
    assert response.status_code == 201, response.text
    docs = response.json["documents"]
    assert [d["filename"] for d in docs] == ["po-1.pdf", "note.txt"]
    assert docs[0]["sha256"] == hashlib.sha256(data).hexdigest() and docs[0]["new"] is True
    assert docs[0]["state"] == "needs_review"  # unknown customer: a person looks
    assert docs[1]["state"] == "failed"
    again = client.post("/api/v1/documents", headers=clerk,
                        data={"files": [(BytesIO(data), "same-again.pdf")]},
                        content_type="multipart/form-data")
    assert again.status_code == 201
    assert again.json["documents"][0]["id"] == docs[0]["id"]
    assert again.json["documents"][0]["new"] is False
    one = client.get(f"/api/v1/documents/{docs[0]['id']}", headers=clerk)
    assert one.status_code == 200 and one.json["state"] == "needs_review"
    assert one.json["fields"]["order_number"]["value"]
    with runtime.db.unit_of_work() as s:
        assert [d.origin for d in s.scalars(select(Document).order_by(Document.id))] == [
            "api", "api"]
        entries = s.scalars(select(AuditEntry).where(
            AuditEntry.action == "api.documents_uploaded")).all()
        assert [e.actor for e in entries] == ["api:erp", "api:erp"]


def test_upload_errors(app: Flask, runtime: Runtime, clerk: dict[str, str]) -> None:
    client = app.test_client()
    assert_error(client.post("/api/v1/documents", headers=clerk, data={},
                             content_type="multipart/form-data"), 400)
    assert_error(client.post("/api/v1/documents", headers=clerk, data={
        "files": [(BytesIO(b""), "empty.pdf")]}, content_type="multipart/form-data"), 422)
    viewer = bearer(tokens.create(runtime, "reader", "viewer", "test"))
    assert_error(client.post("/api/v1/documents", headers=viewer, data={
        "files": [(BytesIO(b"x"), "x.pdf")]}, content_type="multipart/form-data"), 403)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    big = assert_error(client.post("/api/v1/documents", headers=clerk, data={
        "files": [(BytesIO(b"%PDF" + b"0" * 8000), "big.pdf")]},
        content_type="multipart/form-data"), 413)
    assert "MB" in str(big["message"])
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(Document.id)) is None


def test_flask_errors_are_json_under_api(app: Flask, clerk: dict[str, str]) -> None:
    client = app.test_client()
    assert_error(client.get("/api/v1/nothing-here", headers=clerk), 404)
    assert_error(client.get("/api/v1/orders/999", headers=clerk), 404)
    assert_error(client.delete("/api/v1/orders", headers=clerk), 405)
    assert_error(client.get("/api/v1/orders?page=0", headers=clerk), 400)
    assert_error(client.get("/api/v1/orders?per_page=abc", headers=clerk), 400)
    assert_error(client.get("/api/v1/decisions?subject_id=x", headers=clerk), 400)
    page = client.get("/nothing-here")  # outside the API: the usual HTML page
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_reads_orders_invoices_payments_decisions(app: Flask, runtime: Runtime,
                                                  clerk: dict[str, str]) -> None:
    seeded = seed(runtime)
    client = app.test_client()
    orders = client.get("/api/v1/orders", headers=clerk).json
    assert orders["total"] == 1 and orders["items"][0]["number"] == "AU-2026-90001"
    order = client.get(f"/api/v1/orders/{seeded.order}", headers=clerk).json
    assert order["gross_amount"] == "238.00" and order["customer"]["number"] == "K-A"
    assert order["lines"][0]["quantity"] == "2.0000" and order["decisions"] == [
        seeded.decision]
    decision = client.get(f"/api/v1/decisions/{seeded.decision}", headers=clerk).json
    assert decision["trace"][0]["message"] == "net 200.00 below 5000"
    assert decision["sha256"] == "0" * 64
    listed = client.get(f"/api/v1/decisions?subject_type=order&subject_id={seeded.order}",
                        headers=clerk).json
    assert [d["id"] for d in listed["items"]] == [seeded.decision]
    assert client.get("/api/v1/decisions?subject_id=999",
                      headers=clerk).json["total"] == 0
    a2 = client.get(f"/api/v1/invoices/{seeded.invoices['RE-2026-A2']}", headers=clerk).json
    assert a2["open_amount"] == "0.00" and a2["status"] == "paid"
    b1 = client.get(f"/api/v1/invoices/{seeded.invoices['RE-2026-B1']}", headers=clerk).json
    assert b1["open_amount"] == "119.00"
    pdf = client.get(b1["files"]["pdf"], headers=clerk)
    assert pdf.status_code == 200 and pdf.data == b"%PDF-1.7 invoice B1"
    assert pdf.mimetype == "application/pdf"
    assert client.get(b1["files"]["xml"], headers=clerk).data == b"<Invoice>B1</Invoice>"
    by_customer = client.get("/api/v1/invoices?customer=K-A", headers=clerk).json
    assert sorted(i["number"] for i in by_customer["items"]) == ["RE-2026-A1", "RE-2026-A2"]
    payment = client.get(f"/api/v1/payments/{seeded.payment}", headers=clerk).json
    assert payment["allocations"] == [{
        "invoice_id": seeded.invoices["RE-2026-A2"], "invoice_number": "RE-2026-A2",
        "amount": "119.00", "kind": "payment", "created_by": "auto", "active": True}]
    assert client.get("/api/v1/payments?status=matched", headers=clerk).json["total"] == 1


def test_pagination_walks_every_item_once(app: Flask, runtime: Runtime,
                                          clerk: dict[str, str]) -> None:
    seed(runtime)
    client = app.test_client()
    seen, url = [], "/api/v1/invoices?per_page=2"
    pages = 0
    while url:
        body = client.get(url, headers=clerk).json
        assert body["total"] == 3 and len(body["items"]) <= 2
        seen += [i["number"] for i in body["items"]]
        url, pages = body["next"], pages + 1
    assert pages == 2 and sorted(seen) == ["RE-2026-A1", "RE-2026-A2", "RE-2026-B1"]
    assert len(set(seen)) == 3


def test_openapi_lists_every_api_route(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/api/v1/openapi.json")  # public: no token needed
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    routes = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert len(routes) >= 12
    operation_ids = set()
    for rule in routes:
        path = rule.rule.replace("<int:", "{").replace("<any(pdf, xml):", "{").replace(
            "<", "{").replace(">", "}")
        assert path in doc["paths"], f"{rule.rule} is not in the OpenAPI document"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            op = doc["paths"][path][method.lower()]
            operation_ids.add(op["operationId"])
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(rule.arguments), rule.rule
            assert op["responses"]
    assert len(operation_ids) == sum(len((r.methods or set()) - {"HEAD", "OPTIONS"})
                                     for r in routes)

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [str(v) for k, v in node.items() if k == "$ref"] + [
                x for v in node.values() for x in refs(v)]
        if isinstance(node, list):
            return [x for v in node for x in refs(v)]
        return []

    for ref in refs(doc["paths"]):
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"]
    kinds = doc["paths"]["/api/v1/invoices/{invoice_id}.{kind}"]["get"]["parameters"]
    assert [p["schema"] for p in kinds if p["name"] == "kind"] == [
        {"type": "string", "enum": ["pdf", "xml"]}]
    upload = doc["paths"]["/api/v1/documents"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert upload["security"] == [{"bearer": []}] and "201" in upload["responses"]


def test_token_commands(runtime: Runtime) -> None:
    from web.cli import main

    config = str(runtime.config.base_dir / "config.yaml")
    runner = CliRunner()
    made = runner.invoke(main, ["--config", config, "token", "create", "erp", "--role",
                                "clerk"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    holder = tokens.authenticate(runtime, token)
    assert holder is not None and holder.role == "clerk"
    listed = runner.invoke(main, ["--config", config, "token", "list"])
    assert "erp" in listed.output and token not in listed.output
    revoked = runner.invoke(main, ["--config", config, "token", "revoke", "erp"])
    assert revoked.exit_code == 0 and tokens.authenticate(runtime, token) is None
    again = runner.invoke(main, ["--config", config, "token", "revoke", "erp"])
    assert again.exit_code != 0 and "no active token" in again.output
    with runtime.db.unit_of_work() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(
            AuditEntry.object_type == "api_token")))
        assert actions == {"api_token.created", "api_token.revoked"}
