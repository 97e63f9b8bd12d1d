"""Fulfilment: ship confirmed orders from stock with a delivery note (Lieferschein);
lines beyond stock are delivered partly and the rest back-ordered until stock arrives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.render import WORDS
from engine.core.availability import OpenLine, allot
from engine.core.records import DocumentLine
from engine.runtime import Runtime
from engine.services.convert import info_rows, party_of
from engine.services.publish import greeting, mail, render_document
from engine.services.records import audit, next_number
from engine.store.models import Delivery, DeliveryLine, Order, Product

SHIPPABLE = ("confirmed", "partially_delivered")


def ship(rt: Runtime, today: date) -> int:
    """Post one delivery per order that has something to ship today; returns how many."""
    count = 0
    with rt.db.unit_of_work() as session:
        orders = list(session.scalars(select(Order).where(Order.status.in_(SHIPPABLE))
                                      .order_by(Order.id).with_for_update(skip_locked=True)))
        for order in orders:
            open_lines = [OpenLine(line.id, line.sku, line.quantity - line.delivered_quantity)
                          for line in order.lines if line.quantity > line.delivered_quantity]
            products = {p.sku: p for p in session.scalars(select(Product).where(
                Product.sku.in_([line.sku for line in open_lines])).with_for_update())}
            allotments = allot(open_lines, {sku: p.stock for sku, p in products.items()})
            if not any(a.ship > 0 for a in allotments):
                continue
            delivery = Delivery(number=next_number(session, "LS", today.year),
                                order_id=order.id, delivery_date=today,
                                is_backorder=order.status == "partially_delivered")
            session.add(delivery)
            session.flush()
            by_id = {line.id: line for line in order.lines}
            printed = []
            for a in allotments:
                line = by_id[a.line_id]
                line.backordered_quantity = a.backorder
                if a.ship > 0:
                    line.delivered_quantity += a.ship
                    products[a.sku].stock -= a.ship
                    session.add(DeliveryLine(delivery_id=delivery.id, order_line_id=line.id,
                                             quantity=a.ship))
                printed.append(_printed_line(line.position, line.sku, line.description,
                                             a.ship, line.unit, a.backorder,
                                             order.customer.language))
            done = all(line.delivered_quantity >= line.quantity for line in order.lines)
            order.status = "delivered" if done else "partially_delivered"
            _note(rt, session, order, delivery, printed, today)
            audit(session, "system:fulfilment", "delivery.posted", "delivery", delivery.id,
                  order=order.number, complete=done)
            count += 1
    return count


def _printed_line(position: int, sku: str, description: str, shipped: Decimal, unit: str,
                  backorder: Decimal, lang: str) -> DocumentLine:
    note = ""
    if backorder > 0:
        word = WORDS[lang]["backordered"]
        note = f"{backorder.normalize():f} {unit} {word}"
    return DocumentLine(position, sku, description, shipped, unit, Decimal("0"), Decimal("0"),
                        note)


def _note(rt: Runtime, session: Session, order: Order, delivery: Delivery,
          lines: list[DocumentLine], today: date) -> None:
    customer = order.customer
    lang = customer.language
    t = WORDS[lang]
    issued = render_document(rt, "delivery_notes", f"{delivery.number}.pdf", "document.html", {
        "company": rt.config.company, "recipient": party_of(customer), "lang": lang,
        "title": f"{t['delivery_note']} {delivery.number}",
        "info": info_rows(t, ("number", delivery.number), ("date", today),
                          ("customer_number", customer.number), ("order", order.number),
                          ("your_order", order.customer_reference), lang=lang),
        "intro": "", "lines": lines, "show_prices": False, "totals": None,
        "currency": order.currency, "notes": []}, session=session)
    delivery.note_sha256 = issued.sha256
    mail(session, key=f"delivery-note-{delivery.number}", kind="delivery_note",
         recipient=customer.email, subject=f"{t['delivery_note']} {delivery.number}",
         body=greeting(lang, t["delivery_note"], delivery.number), files=[issued])


def receive_goods(rt: Runtime, sku: str, quantity: Decimal, actor: str) -> Decimal:
    """Goods receipt: stock goes up; back-orders ship on the next fulfilment run."""
    with rt.db.unit_of_work() as session:
        product = session.scalar(select(Product).where(Product.sku == sku).with_for_update())
        if product is None:
            raise ValueError(f"article {sku} does not exist")
        product.stock += quantity
        audit(session, actor, "stock.received", "product", product.id, quantity=quantity)
        return product.stock
