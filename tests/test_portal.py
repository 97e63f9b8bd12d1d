"""The customer portal on SQLite and PostgreSQL: one customer never sees another's data,
expired and revoked links stop working, disputes and promises become holds that the
dunning run honours, an accepted quote becomes an order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select, update

from engine.runtime import Runtime
from engine.services import dunning, portal
from engine.store.models import (
    AuditEntry,
    Customer,
    DunningNotice,
    Hold,
    Invoice,
    Order,
    OutboxMessage,
    PortalLink,
    Quote,
    utcnow,
)
from tests.test_api import TODAY, Seeded, seed
from web.app import create_app


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime, testing=True)


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return seed(runtime)


def path_of(url: str) -> str:
    return url[url.index("/portal/"):]


def csrf(client: FlaskClient, page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert match, "the portal page has no CSRF token"
    return match.group(1)


def ids_of(seeded: Seeded, prefix: str) -> list[int]:
    return [i for number, i in seeded.invoices.items() if number.startswith(prefix)]


def test_a_customer_sees_only_their_own_invoices(app: Flask, runtime: Runtime,
                                                 seeded: Seeded) -> None:
    a = path_of(portal.make_link(runtime, "K-A", "test"))
    client = app.test_client()
    page = client.get(a)
    assert page.status_code == 200
    assert "RE-2026-A1" in page.text and "RE-2026-A2" in page.text
    assert "RE-2026-B1" not in page.text and "Kunde B" not in page.text
    assert page.text.count('alt="GiroCode') == 1  # only the open invoice A1 gets one
    assert "AN-2026-0001" in page.text  # the open quote
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    own = client.get(f"{a}/invoices/{seeded.invoices['RE-2026-A1']}.pdf")
    assert own.status_code == 200 and own.data == b"%PDF-1.7 invoice A1"
    assert client.get(f"{a}/invoices/{seeded.invoices['RE-2026-A1']}.xml").data == (
        b"<Invoice>A1</Invoice>")
    # guessing ids: every invoice id that is not A's answers 404, as does a made-up one
    for invoice_id in ids_of(seeded, "RE-2026-B") + [9999]:
        for kind in ("pdf", "xml"):
            assert client.get(f"{a}/invoices/{invoice_id}.{kind}").status_code == 404
    token = csrf(client, a)
    for invoice_id in ids_of(seeded, "RE-2026-B"):
        assert client.post(f"{a}/invoices/{invoice_id}/dispute", data={
            "csrf_token": token, "reason": "not ours"}).status_code == 404
        assert client.post(f"{a}/invoices/{invoice_id}/promise", data={
            "csrf_token": token, "until": str(TODAY)}).status_code == 404
    b = path_of(portal.make_link(runtime, "K-B", "test"))
    assert client.get(f"{a}/quotes/{seeded.quote}.pdf").data == b"%PDF-1.7 quote"
    assert client.get(f"{b}/quotes/{seeded.quote}.pdf").status_code == 404
    assert client.post(f"{b}/quotes/{seeded.quote}/accept",
                       data={"csrf_token": csrf(client, b)}).status_code == 404
    b_page = client.get(b)
    assert "RE-2026-B1" in b_page.text and "RE-2026-A1" not in b_page.text
    assert "Open invoices" in b_page.text  # B reads English, A German
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(Hold.id)) is None
        assert s.scalar(select(Quote.status).where(Quote.id == seeded.quote)) == "sent"


def test_forged_expired_and_revoked_links_stop_working(app: Flask, runtime: Runtime,
                                                       seeded: Seeded) -> None:
    client = app.test_client()
    url = path_of(portal.make_link(runtime, "K-A", "test", days=3))
    assert client.get(url).status_code == 200
    token = url.rsplit("/", 1)[1]
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 404
    access = portal.resolve(runtime, token)
    assert access is not None
    link_id, expires = access.link_id, access.expires_at.isoformat()
    signer = portal._serializer(runtime)  # noqa: SLF001
    assert signer.loads(token) == [link_id, seeded.customers["A"], expires]
    # the same payload signed with another key; A's link claimed for customer B, or with
    # another expiry (as a link whose id was handed out again after a rollback)
    forged = URLSafeSerializer("not-our-key", salt=portal.SALT).dumps(
        [link_id, seeded.customers["A"], expires])
    assert client.get(f"/portal/{forged}").status_code == 404
    for payload in ([link_id, seeded.customers["B"], expires],
                    [link_id, seeded.customers["A"], "2099-01-01T00:00:00"],
                    [link_id, seeded.customers["A"]], "just text"):
        assert client.get(f"/portal/{signer.dumps(payload)}").status_code == 404
    with runtime.db.unit_of_work() as s:
        link = s.get(PortalLink, link_id)
        assert link is not None
        assert timedelta(days=2, hours=23) < link.expires_at - utcnow() <= timedelta(days=3)
        link.expires_at = utcnow() - timedelta(seconds=1)
    expired = client.get(url)
    assert expired.status_code == 404 and "abgelaufen" in expired.text
    assert client.get(f"{url}/invoices/{seeded.invoices['RE-2026-A1']}.pdf").status_code == 404
    second = path_of(portal.make_link(runtime, "K-A", "test"))
    assert client.get(second).status_code == 200
    portal.revoke_link(runtime, portal.resolve(runtime, second.rsplit("/", 1)[1]).link_id,  # type: ignore[union-attr]
                       "test")
    assert client.get(second).status_code == 404
    assert client.get(f"{second}/invoices/{seeded.invoices['RE-2026-A1']}.xml").status_code == 404


def test_dispute_and_promise_become_holds_the_dunning_run_honours(
        app: Flask, runtime: Runtime, seeded: Seeded) -> None:
    a = path_of(portal.make_link(runtime, "K-A", "test"))
    client = app.test_client()
    a1 = seeded.invoices["RE-2026-A1"]
    assert client.post(f"{a}/invoices/{a1}/dispute",
                       data={"reason": "no token"}).status_code == 400  # CSRF
    token = csrf(client, a)
    empty = client.post(f"{a}/invoices/{a1}/dispute", data={"csrf_token": token,
                                                            "reason": "  "},
                        follow_redirects=True)
    assert empty.status_code == 200 and "was an der Rechnung nicht stimmt" in empty.text
    far = client.post(f"{a}/invoices/{a1}/promise", data={
        "csrf_token": token, "until": str(TODAY + timedelta(days=200))}, follow_redirects=True)
    assert "Das Zahlungsdatum muss zwischen dem" in far.text
    paid = client.post(f"{a}/invoices/{seeded.invoices['RE-2026-A2']}/dispute", data={
        "csrf_token": token, "reason": "x"}, follow_redirects=True)
    assert "RE-2026-A2 ist bereits bezahlt" in paid.text
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(Hold.id)) is None
    promised = client.post(f"{a}/invoices/{a1}/promise", data={
        "csrf_token": token, "until": str(TODAY + timedelta(days=3))}, follow_redirects=True)
    assert promised.status_code == 200 and "RE-2026-A1" in promised.text
    until = TODAY + timedelta(days=3)  # the page shows the hold, in the customer's language
    assert f"Angehalten: Zahlung zugesagt bis {until:%d.%m.%Y}" in promised.text
    with runtime.db.unit_of_work() as s:
        hold = s.scalar(select(Hold))
        assert hold is not None and (hold.kind, hold.invoice_id, hold.created_by) == (
            "promise", a1, "portal:K-A")
    first = dunning.run(runtime, TODAY)
    assert first["reminders"] == 1  # B1 only: A1 waits for the promised date
    with runtime.db.unit_of_work() as s:
        noticed = set(s.scalars(select(Invoice.number).join(
            DunningNotice, DunningNotice.invoice_id == Invoice.id)))
        assert noticed == {"RE-2026-B1"}
    later = dunning.run(runtime, TODAY + timedelta(days=4))  # the promise has passed
    with runtime.db.unit_of_work() as s:
        noticed = set(s.scalars(select(Invoice.number).join(
            DunningNotice, DunningNotice.invoice_id == Invoice.id)))
    assert "RE-2026-A1" in noticed and later["reminders"] >= 1
    # a dispute stops dunning until someone releases it
    b = path_of(portal.make_link(runtime, "K-B", "test"))
    b1 = seeded.invoices["RE-2026-B1"]
    disputed = client.post(f"{b}/invoices/{b1}/dispute", data={
        "csrf_token": csrf(client, b), "reason": "goods damaged"}, follow_redirects=True)
    assert "RE-2026-B1" in disputed.text
    assert dunning.run(runtime, TODAY + timedelta(days=60))["reminders"] == 1  # A1 only
    with runtime.db.unit_of_work() as s:
        levels = list(s.scalars(select(DunningNotice.level).where(
            DunningNotice.invoice_id == b1)))
        assert levels == [1]
        dispute = s.scalar(select(Hold).where(Hold.kind == "dispute"))
        assert dispute is not None and dispute.reason == "goods damaged"
        assert {"hold.dispute", "hold.promise"} <= set(s.scalars(select(AuditEntry.action)))


def test_accepting_a_quote_creates_the_order(app: Flask, runtime: Runtime,
                                             seeded: Seeded) -> None:
    a = path_of(portal.make_link(runtime, "K-A", "test"))
    client = app.test_client()
    response = client.post(f"{a}/quotes/{seeded.quote}/accept",
                           data={"csrf_token": csrf(client, a)}, follow_redirects=True)
    assert response.status_code == 200
    with runtime.db.unit_of_work() as s:
        order = s.scalar(select(Order).where(Order.quote_id == seeded.quote))
        assert order is not None and order.status == "received"
        assert order.customer_reference == "AN-2026-0001"
        assert [(x.sku, x.quantity) for x in order.lines] == [("P-1", 3)]
        assert str(order.gross_amount) == "357.00"
        assert s.scalar(select(Quote.status).where(Quote.id == seeded.quote)) == "accepted"
        actors = set(s.scalars(select(AuditEntry.actor).where(
            AuditEntry.action == "quote.accepted")))
        assert actors == {"portal:K-A"}
    assert order.number in response.text
    assert "AN-2026-0001" not in response.text.split("Offene Angebote")[1].split("Bezahlte")[0]
    again = client.post(f"{a}/quotes/{seeded.quote}/accept",
                        data={"csrf_token": csrf(client, a)}, follow_redirects=True)
    assert "kann nicht mehr angenommen werden (Status: angenommen)" in again.text
    with runtime.db.unit_of_work() as s:
        assert len(s.scalars(select(Order).where(Order.quote_id == seeded.quote)).all()) == 1
        s.execute(update(Quote).values(status="sent", valid_until=TODAY - timedelta(days=1)))
    with pytest.raises(portal.PortalError, match="expired"):
        access = portal.resolve(runtime, a.rsplit("/", 1)[1])
        assert access is not None
        portal.accept_quote(runtime, access, seeded.quote, TODAY)


def test_portal_link_command(runtime: Runtime, seeded: Seeded) -> None:
    from web.cli import main

    config = str(runtime.config.base_dir / "config.yaml")
    runner = CliRunner()
    made = runner.invoke(main, ["--config", config, "portal", "link", "K-A", "--days", "5"])
    assert made.exit_code == 0, made.output
    url = made.output.strip()
    assert url.startswith(runtime.config["web.base_url"] + "/portal/")
    access = portal.resolve(runtime, url.rsplit("/", 1)[1])
    assert access is not None and access.customer_number == "K-A"
    assert timedelta(days=4) < access.expires_at - utcnow() <= timedelta(days=5)
    listed = runner.invoke(main, ["--config", config, "portal", "list", "K-A"])
    assert f"{access.link_id:>6}" in listed.output and "active" in listed.output
    revoked = runner.invoke(main, ["--config", config, "portal", "revoke",
                                   str(access.link_id)])
    assert revoked.exit_code == 0 and portal.resolve(runtime, url.rsplit("/", 1)[1]) is None
    missing = runner.invoke(main, ["--config", config, "portal", "link", "K-Z"])
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_a_link_made_inside_the_callers_transaction(runtime: Runtime, seeded: Seeded) -> None:
    with runtime.db.unit_of_work() as s:  # as an invoice or reminder being issued would
        customer = s.get(Customer, seeded.customers["B"])
        assert customer is not None
        url = portal.link_in(s, runtime, customer, "system:invoicing")
    access = portal.resolve(runtime, url.rsplit("/", 1)[1])
    assert access is not None and access.customer_number == "K-B"
    assert access.expires_at - utcnow() > timedelta(days=runtime.config["web.portal_days"] - 1)
    with pytest.raises(RuntimeError), runtime.db.unit_of_work() as s:
        customer = s.get(Customer, seeded.customers["B"])
        assert customer is not None
        lost = portal.link_in(s, runtime, customer, "system:invoicing")
        raise RuntimeError("the invoice was not issued")
    assert portal.resolve(runtime, lost.rsplit("/", 1)[1]) is None  # rolled back with it


def test_a_reminder_mail_carries_a_working_link_to_that_customers_portal(
        app: Flask, runtime: Runtime, seeded: Seeded) -> None:
    assert dunning.run(runtime, TODAY)["reminders"] == 2
    with runtime.db.unit_of_work() as s:
        bodies = dict(s.execute(select(OutboxMessage.recipient, OutboxMessage.body)
                                .where(OutboxMessage.kind == "reminder")).all())
    urls = {who: re.search(r"https?://\S+/portal/\S+", body) for who, body in bodies.items()}
    assert all(urls.values()) and "Ihre Rechnungen ansehen" in bodies["A@example.com"]
    client = app.test_client()
    page = client.get(path_of(urls["A@example.com"].group(0)))  # type: ignore[union-attr]
    assert page.status_code == 200 and "RE-2026-A1" in page.text
    assert "RE-2026-B1" not in page.text
