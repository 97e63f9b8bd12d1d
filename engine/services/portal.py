"""The customer portal's use cases: signed links, what a customer may see, and what they
may do (dispute an invoice, promise a payment date, accept a quote).

A link is `{web.base_url}/portal/{token}`; the token is the link's id, customer id and
expiry, signed with the app's secret key (itsdangerous). The `portal_links` row decides whether
it still works: not revoked and not expired. Every function here takes the customer id
the link resolved to and only ever reads or changes that customer's rows, so an invoice
or quote id of another customer is simply "not found".

Invoices and reminders print a link with (both return the URL)

    make_link(rt, customer_number, actor="system:invoicing")        # its own transaction
    link_in(session, rt, customer, actor="system:invoicing")        # inside the caller's
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.girocode import epc_payload, svg_data_uri
from engine.core.checks import rf_valid
from engine.core.totals import compute_totals
from engine.runtime import Runtime
from engine.services import holds
from engine.services.convert import lines_of
from engine.services.ledger import open_items
from engine.services.records import audit, next_number
from engine.services.tokens import secret_key
from engine.store.models import (
    Customer,
    Hold,
    Invoice,
    Order,
    OrderLine,
    PortalLink,
    Product,
    Quote,
    utcnow,
)

SALT = "o2c-portal-link"
MAX_PROMISE_DAYS = 90
MAX_REASON = 2000


class PortalError(ValueError):
    """What the customer asked for cannot be done; the message says why."""


@dataclass(frozen=True)
class Access:
    link_id: int
    customer_id: int
    customer_number: str
    customer_name: str
    language: str
    expires_at: datetime

    @property
    def actor(self) -> str:
        return f"portal:{self.customer_number}"


def _serializer(rt: Runtime) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(rt), salt=SALT)


def make_link(rt: Runtime, customer_number: str, actor: str, days: int | None = None) -> str:
    """A new link for the customer, valid `days` (default: web.portal_days); the URL."""
    with rt.db.unit_of_work() as session:
        customer = session.scalar(select(Customer).where(Customer.number == customer_number))
        if customer is None:
            raise ValueError(f"customer {customer_number} does not exist")
        return link_in(session, rt, customer, actor, days)


def link_in(session: Session, rt: Runtime, customer: Customer, actor: str,
            days: int | None = None) -> str:
    """`make_link` inside the caller's transaction (an invoice or reminder being issued:
    on SQLite a second writing transaction would wait for this one)."""
    days = rt.config["web.portal_days"] if days is None else days
    if not 1 <= days <= 730:
        raise ValueError(f"a portal link is valid 1 to 730 days, not {days}")
    link = PortalLink(customer_id=customer.id, created_by=actor,
                      expires_at=utcnow() + timedelta(days=days))
    session.add(link)
    session.flush()
    audit(session, actor, "portal_link.created", "portal_link", link.id,
          customer=customer.number, expires=link.expires_at.isoformat(timespec="seconds"))
    token = _serializer(rt).dumps([link.id, customer.id, link.expires_at.isoformat()])
    return f"{rt.config['web.base_url'].rstrip('/')}/portal/{token}"


def mail_line(session: Session, rt: Runtime, customer: Customer, actor: str) -> str:
    """The sentence with a fresh portal link that invoice and reminder mails carry, in the
    customer's language; nothing for a customer without an e-mail address (no mail)."""
    if not customer.email:
        return ""
    url = link_in(session, rt, customer, actor)
    if customer.language == "de":
        return f"Ihre Rechnungen ansehen, bezahlen oder Fragen dazu stellen: {url}"
    return f"See, pay or query your invoices online: {url}"


def revoke_link(rt: Runtime, link_id: int, actor: str) -> None:
    with rt.db.unit_of_work() as session:
        link = session.get(PortalLink, link_id)
        if link is None or link.revoked_at is not None:
            raise ValueError(f"portal link {link_id} is not active")
        link.revoked_at = utcnow()
        audit(session, actor, "portal_link.revoked", "portal_link", link.id)


def links(rt: Runtime, customer_number: str
          ) -> list[tuple[int, datetime, datetime, datetime | None, str]]:
    """(id, created, expires, revoked, created by) of the customer's links, newest first."""
    with rt.db.unit_of_work() as session:
        customer = session.scalar(select(Customer).where(Customer.number == customer_number))
        if customer is None:
            raise ValueError(f"customer {customer_number} does not exist")
        return [(x.id, x.created_at, x.expires_at, x.revoked_at, x.created_by)
                for x in session.scalars(select(PortalLink).where(
                    PortalLink.customer_id == customer.id).order_by(PortalLink.id.desc()))]


def resolve(rt: Runtime, token: str) -> Access | None:
    """The access a token grants now, or None (forged, unknown, revoked or expired)."""
    try:
        link_id, customer_id, expires = _serializer(rt).loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    with rt.db.unit_of_work() as session:
        link = session.get(PortalLink, link_id) if isinstance(link_id, int) else None
        # the expiry in the token tells this row from a row that got the id of a link
        # whose transaction was rolled back (SQLite hands out such ids again)
        if (link is None or link.customer_id != customer_id or link.revoked_at is not None
                or link.expires_at.isoformat() != expires or link.expires_at <= utcnow()):
            return None
        customer = session.get(Customer, link.customer_id)
        assert customer is not None
        return Access(link.id, customer.id, customer.number, customer.name,
                      customer.language, link.expires_at)


@dataclass(frozen=True)
class PortalInvoice:
    id: int
    number: str
    issue_date: date
    due_date: date
    gross_amount: Decimal
    open_amount: Decimal
    currency: str
    has_pdf: bool
    has_xml: bool
    hold: str  # "", "dispute" or "promise"
    hold_until: date | None  # the promised date
    girocode: str | None  # an SVG data URI for open invoices in euro


@dataclass(frozen=True)
class PortalQuote:
    id: int
    number: str
    issue_date: date
    valid_until: date
    gross_amount: Decimal
    currency: str
    has_pdf: bool


def invoices(rt: Runtime, access: Access, today: date) -> list[PortalInvoice]:
    """The customer's invoices, newest first, with what is still open and any hold."""
    company = rt.config.company
    with rt.db.unit_of_work() as session:
        still_open = {i.invoice_id: i.open_amount for i in open_items(session, access.customer_id)}
        active = {h.invoice_id: h for h in session.scalars(select(Hold).where(
            Hold.customer_id == access.customer_id, Hold.released_at.is_(None)))
            if h.until is None or h.until >= today}
        rows = []
        for inv in session.scalars(select(Invoice).where(
                Invoice.customer_id == access.customer_id).order_by(Invoice.id.desc())):
            rest = still_open.get(inv.id, Decimal("0.00"))
            hold = active.get(inv.id)
            code = None
            if rest > 0 and inv.currency == "EUR" and company.iban:
                ref = inv.payment_reference if rf_valid(inv.payment_reference) else ""
                code = svg_data_uri(epc_payload(
                    name=company.name[:70], iban=company.iban, amount=rest, reference=ref,
                    text="" if ref else inv.number, bic=company.bic))
            rows.append(PortalInvoice(inv.id, inv.number, inv.issue_date, inv.due_date,
                                      inv.gross_amount, rest, inv.currency,
                                      bool(inv.pdf_sha256), bool(inv.xml_sha256),
                                      hold.kind if hold else "", hold.until if hold else None,
                                      code))
        return rows


def open_quotes(rt: Runtime, access: Access, today: date) -> list[PortalQuote]:
    with rt.db.unit_of_work() as session:
        return [PortalQuote(q.id, q.number, q.issue_date, q.valid_until, q.gross_amount,
                            q.currency, bool(q.pdf_sha256))
                for q in session.scalars(select(Quote).where(
                    Quote.customer_id == access.customer_id, Quote.status == "sent",
                    Quote.valid_until >= today).order_by(Quote.id.desc()))]


def invoice_file(rt: Runtime, access: Access, invoice_id: int,
                 kind: str) -> tuple[bytes, str] | None:
    """(bytes, file name) of the customer's own invoice PDF or XML, else None."""
    with rt.db.unit_of_work() as session:
        inv = session.get(Invoice, invoice_id)
        if inv is None or inv.customer_id != access.customer_id or kind not in ("pdf", "xml"):
            return None
        sha = inv.pdf_sha256 if kind == "pdf" else inv.xml_sha256
        number = inv.number
    return None if not sha else (rt.blobs.get(sha), f"{number}.{kind}")


def quote_file(rt: Runtime, access: Access, quote_id: int) -> tuple[bytes, str] | None:
    with rt.db.unit_of_work() as session:
        quote = session.get(Quote, quote_id)
        if quote is None or quote.customer_id != access.customer_id or not quote.pdf_sha256:
            return None
        sha, number = quote.pdf_sha256, quote.number
    return rt.blobs.get(sha), f"{number}.pdf"


def _own_invoice_number(rt: Runtime, access: Access, invoice_id: int) -> str:
    with rt.db.unit_of_work() as session:
        inv = session.get(Invoice, invoice_id)
        if inv is None or inv.customer_id != access.customer_id:
            raise LookupError(invoice_id)
        if inv.status != "open":
            raise PortalError(f"invoice {inv.number} is paid")
        return inv.number


def dispute(rt: Runtime, access: Access, invoice_id: int, reason: str) -> str:
    """A dispute hold on the customer's own open invoice; LookupError for any other id.
    Returns the invoice number."""
    number = _own_invoice_number(rt, access, invoice_id)
    reason = reason.strip()
    if not reason:
        raise PortalError("please tell us what is wrong with the invoice")
    holds.place(rt, "dispute", actor=access.actor, invoice_number=number,
                reason=reason[:MAX_REASON])
    return number


def promise(rt: Runtime, access: Access, invoice_id: int, until: date, today: date) -> str:
    """A promise to pay by `until` (today … today + 90 days) pauses dunning until then."""
    number = _own_invoice_number(rt, access, invoice_id)
    if not today <= until <= today + timedelta(days=MAX_PROMISE_DAYS):
        raise PortalError(f"the payment date must be from {today} to "
                          f"{today + timedelta(days=MAX_PROMISE_DAYS)}")
    holds.place(rt, "promise", actor=access.actor, invoice_number=number,
                reason="promised in the customer portal", until=until)
    return number


def accept_quote(rt: Runtime, access: Access, quote_id: int, today: date) -> str:
    """The customer accepts their open quote: an order with the quote's lines and prices,
    status `received`, which the approval rules then decide like any other order."""
    with rt.db.unit_of_work() as session:
        quote = session.scalar(select(Quote).where(Quote.id == quote_id)
                               .with_for_update())
        if quote is None or quote.customer_id != access.customer_id:
            raise LookupError(quote_id)
        if quote.status != "sent" or quote.valid_until < today:
            raise PortalError(f"quote {quote.number} can no longer be accepted "
                              f"({'expired' if quote.status == 'sent' else quote.status})")
        order = Order(number=next_number(session, "AU", today.year),
                      customer_id=quote.customer_id, customer_reference=quote.number,
                      order_date=today, quote_id=quote.id, status="received",
                      currency=quote.currency)
        session.add(order)
        session.flush()
        for line in quote.lines:
            product = session.scalar(select(Product).where(Product.sku == line.sku))
            session.add(OrderLine(order_id=order.id, position=line.position, sku=line.sku,
                                  description=line.description, quantity=line.quantity,
                                  unit=line.unit, unit_price=line.unit_price,
                                  vat_rate=line.vat_rate,
                                  product_id=product.id if product else None))
        session.flush()
        session.refresh(order)
        totals = compute_totals(lines_of(order.lines))
        order.net_amount, order.tax_amount, order.gross_amount = (totals.net, totals.tax,
                                                                   totals.gross)
        quote.status = "accepted"
        audit(session, access.actor, "quote.accepted", "quote", quote.id, number=quote.number,
              order=order.number, link=access.link_id)
        audit(session, access.actor, "order.recorded", "order", order.id, number=order.number,
              customer=access.customer_number, reference=quote.number)
        return order.number
