"""Orders: record a parsed purchase order, decide its approval by the rules, let a person
approve or reject, and confirm approved orders (Auftragsbestätigung)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.render import WORDS
from engine.core.records import ParsedDocument
from engine.core.rules import evaluate
from engine.core.totals import compute_totals
from engine.runtime import Runtime
from engine.services.convert import info_rows, lines_of, party_of
from engine.services.ledger import customer_exposure
from engine.services.publish import greeting, mail, render_document
from engine.services.records import audit, next_number, record_decision
from engine.store.models import (
    Approval,
    Customer,
    Document,
    Order,
    OrderLine,
    Product,
    Quote,
    QuoteLine,
    utcnow,
)


def _key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def find_customer(session: Session, parsed: ParsedDocument) -> Customer | None:
    number, vat = parsed.value("customer_number"), parsed.value("vat_id")
    for customer in session.scalars(select(Customer)):
        if number and _key(customer.number) == _key(str(number)):
            return customer
    if vat:
        return session.scalar(select(Customer).where(Customer.vat_id == _key(str(vat))))
    return None


def record_order(session: Session, parsed: ParsedDocument, doc: Document,
                 today: date) -> list[str]:
    """Create the order from a purchase order, or return why a person must look at it."""
    where = doc.filename
    customer = find_customer(session, parsed)
    if customer is None:
        return [f"{where}: customer {parsed.value('customer_number') or '?'} "
                f"(VAT id {parsed.value('vat_id') or '?'}) is not known"]
    reference = str(parsed.value("order_number") or "")
    duplicate = session.scalar(select(Order).where(Order.customer_id == customer.id,
                                                   Order.customer_reference == reference))
    if duplicate is not None:
        return [f"{where}: order {reference} of {customer.number} is already {duplicate.number}"]
    problems: list[str] = []
    products: dict[int, Product] = {}
    for line in parsed.lines:
        product = session.scalar(select(Product).where(Product.sku == line.sku))
        if product is None:
            problems.append(f"{line.source}: article {line.sku} is not in the catalogue")
        else:
            products[line.position] = product
    quote = None
    if parsed.value("quote_reference"):
        quote = session.scalar(select(Quote).where(
            Quote.number == str(parsed.value("quote_reference")).strip()))
        if quote is None or quote.customer_id != customer.id:
            problems.append(f"{where}: quote {parsed.value('quote_reference')} is not "
                            f"one of ours for {customer.number}")
    if problems:
        return problems
    order_date = parsed.value("order_date") or today
    order = Order(number=next_number(session, "AU", today.year), customer_id=customer.id,
                  customer_reference=reference, order_date=order_date,
                  requested_date=parsed.value("delivery_date"),
                  quote_id=quote.id if quote else None, document_id=doc.id, status="received",
                  currency=str(parsed.value("currency") or "EUR"))
    session.add(order)
    session.flush()
    for line in parsed.lines:
        product = products[line.position]
        session.add(OrderLine(order_id=order.id, position=line.position, sku=line.sku,
                              description=line.description, quantity=line.quantity,
                              unit=line.unit, unit_price=line.unit_price,
                              vat_rate=product.vat_rate, product_id=product.id))
    session.flush()
    session.refresh(order)
    totals = compute_totals(lines_of(order.lines))
    order.net_amount, order.tax_amount, order.gross_amount = totals.net, totals.tax, totals.gross
    if quote is not None:
        quote.status = "accepted"
    audit(session, "system:intake", "order.recorded", "order", order.id, number=order.number,
          customer=customer.number, reference=reference)
    return []


def quote_deviations(session: Session, order: Order) -> int:
    """Lines whose article, quantity or price differ from the quote (0 without a quote)."""
    if order.quote_id is None:
        return 0
    quoted = {q.sku: q for q in session.scalars(
        select(QuoteLine).where(QuoteLine.quote_id == order.quote_id))}
    count = sum(1 for line in order.lines if line.sku not in quoted
                or quoted[line.sku].quantity != line.quantity
                or quoted[line.sku].unit_price != line.unit_price)
    return count + len(set(quoted) - {line.sku for line in order.lines})


def approval_facts(session: Session, order: Order, today: date) -> dict[str, dict[str, object]]:
    customer = order.customer
    open_amount, overdue = customer_exposure(session, customer.id, today)
    previous = session.scalar(select(func.count(Order.id)).where(
        Order.customer_id == customer.id, Order.id != order.id)) or 0
    discounts = []
    for line in order.lines:
        product = session.get(Product, line.product_id) if line.product_id else None
        if product and product.unit_price > 0:
            discounts.append((product.unit_price - line.unit_price) / product.unit_price * 100)
    doc = session.get(Document, order.document_id) if order.document_id else None
    return {
        "order": {
            "net_amount": order.net_amount, "gross_amount": order.gross_amount,
            "discount_percent": max(discounts, default=Decimal("0")).quantize(Decimal("0.01")),
            "line_count": len(order.lines), "currency": order.currency,
            "from_quote": order.quote_id is not None,
            "quote_deviations": quote_deviations(session, order),
            "confidence": doc.confidence if doc and doc.confidence is not None else Decimal(1),
        },
        "customer": {
            "number": customer.number, "b2b": customer.b2b, "country": customer.country,
            "has_vat_id": bool(customer.vat_id), "credit_limit": customer.credit_limit,
            "open_amount": open_amount, "overdue_amount": overdue, "order_count": previous,
        },
    }


def decide_approvals(rt: Runtime, today: date) -> dict[str, int]:
    """Orders just received → approved, or waiting for a person with the role the rules name."""
    counts = {"approved": 0, "pending_approval": 0}
    rule_set = rt.rule_set("order.received")
    with rt.db.unit_of_work() as session:
        for order in session.scalars(select(Order).where(Order.status == "received")
                                     .order_by(Order.id).with_for_update(skip_locked=True)):
            facts = approval_facts(session, order, today)
            decision = evaluate(rule_set, facts)
            row = record_decision(session, event="order.received", subject_type="order",
                                  subject_id=order.id, decision=decision, facts=facts,
                                  today=today)
            holds = [a for a in decision.effects if a.name == "require_approval"]
            if holds:
                reasons = "; ".join(s.message for s in decision.trace if s.matched)
                for action in holds:
                    session.add(Approval(order_id=order.id, role=str(action.params.get(
                        "role", "sales_manager")), reason=reasons, decision_id=row.id))
                order.status = "pending_approval"
            elif decision.outcome == "reject":
                order.status = "rejected"
            else:
                order.status = "approved"
            counts[order.status] = counts.get(order.status, 0) + 1
            audit(session, "system:approval", f"order.{order.status}", "order", order.id,
                  decision=row.id, fired=list(decision.fired))
    return counts


def decide_by_person(rt: Runtime, order_id: int, actor: str, approve: bool,
                     comment: str = "") -> str:
    with rt.db.unit_of_work() as session:
        order = session.get(Order, order_id)
        if order is None or order.status != "pending_approval":
            raise ValueError(f"order {order_id} is not waiting for approval")
        for approval in session.scalars(select(Approval).where(
                Approval.order_id == order.id, Approval.status == "pending")):
            approval.status = "approved" if approve else "rejected"
            approval.decided_by, approval.decided_at = actor, utcnow()
            approval.comment = comment
        order.status = "approved" if approve else "rejected"
        audit(session, actor, f"order.{order.status}", "order", order.id, comment=comment)
        return order.status


def confirm_approved(rt: Runtime, today: date) -> int:
    """Send an order confirmation for every approved order."""
    count = 0
    with rt.db.unit_of_work() as session:
        for order in session.scalars(select(Order).where(Order.status == "approved")
                                     .order_by(Order.id).with_for_update(skip_locked=True)):
            customer = order.customer
            lang = customer.language
            t = WORDS[lang]
            lines = lines_of(order.lines)
            delivery = order.requested_date or today + timedelta(days=7)
            issued = render_document(rt, "confirmations", f"{order.number}.pdf", "document.html", {
                "company": rt.config.company, "recipient": party_of(customer), "lang": lang,
                "title": f"{t['confirmation']} {order.number}",
                "info": info_rows(t, ("number", order.number), ("date", today),
                                  ("customer_number", customer.number),
                                  ("your_order", order.customer_reference),
                                  ("delivery_date", delivery), lang=lang),
                "intro": ("Vielen Dank für Ihre Bestellung. Wir bestätigen sie wie folgt:"
                          if lang == "de" else "Thank you for your order, which we confirm:"),
                "lines": lines, "show_prices": True, "totals": compute_totals(lines),
                "currency": order.currency,
                "notes": [f"Zahlungsbedingungen: {customer.payment_terms_days} Tage netto."
                          if lang == "de" else
                          f"Payment terms: {customer.payment_terms_days} days net."]},
                session=session)
            mail(session, key=f"confirmation-{order.number}", kind="confirmation",
                 recipient=customer.email, subject=f"{t['confirmation']} {order.number}",
                 body=greeting(lang, t["confirmation"], order.number), files=[issued])
            order.status = "confirmed"
            audit(session, "system:orders", "order.confirmed", "order", order.id)
            count += 1
    return count

