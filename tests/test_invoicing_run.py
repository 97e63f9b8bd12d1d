"""Invoicing by the rules on both databases: on shipment with the customer's terms and
Skonto, and collective monthly invoices for customers who get one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import select

from engine.runtime import Runtime
from engine.services import fulfilment, invoicing
from engine.store.models import Customer, Delivery, Invoice, Order, OrderLine, Product


def confirmed_order(rt: Runtime, customer: str, number: str, qty: str) -> None:
    with rt.db.unit_of_work() as s:
        c = s.scalar(select(Customer).where(Customer.number == customer))
        p = s.scalar(select(Product))
        assert c is not None and p is not None
        order = Order(number=number, customer_id=c.id, order_date=date(2026, 9, 1),
                      status="confirmed")
        s.add(order)
        s.flush()
        s.add(OrderLine(order_id=order.id, position=1, sku=p.sku, description=p.name,
                        quantity=D(qty), unit="Stk", unit_price=p.unit_price, vat_rate=D(19),
                        product_id=p.id))


def seed(rt: Runtime) -> None:
    with rt.db.unit_of_work() as s:
        s.add(Product(sku="VS-8", name="Ventilsteuerung", unit_price=D("349.00"),
                      stock=D(100)))
        s.add(Customer(number="K-M", name="Monatskunde GmbH", email="m@example.com",
                       collective_invoice=True, payment_terms_days=30))
        s.add(Customer(number="K-S", name="Skonto GmbH", email="s@example.com",
                       payment_terms_days=30))


def test_skonto_and_collective_monthly_invoices(runtime: Runtime) -> None:
    seed(runtime)
    confirmed_order(runtime, "K-M", "AU-1", "2")
    confirmed_order(runtime, "K-S", "AU-2", "1")
    assert fulfilment.ship(runtime, date(2026, 9, 10)) == 2
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 1  # K-S only
    confirmed_order(runtime, "K-M", "AU-3", "3")
    fulfilment.ship(runtime, date(2026, 9, 20))
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 29)) == 0  # not month end
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 30)) == 1  # collective
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 30)) == 0  # once
    with runtime.db.unit_of_work() as s:
        skonto, monthly = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert (skonto.cash_discount_percent, skonto.cash_discount_days) == (D(2), 10)
        assert skonto.due_date == date(2026, 10, 10)
        assert [(x.quantity, x.sku) for x in monthly.lines] == [(D(2), "VS-8"), (D(3), "VS-8")]
        # 5 × 349.00 = 1,745.00 net; 19 % = 331.55; gross 2,076.55
        assert monthly.gross_amount == D("2076.55") and monthly.order_id is None
        assert monthly.delivery_date == date(2026, 9, 20)
        assert {d.status for d in s.scalars(select(Delivery))} == {"invoiced"}
    assert (runtime.out_dir / "invoices" / f"{monthly.number}.xml").exists()
