"""Customers' documents for the demo and the tests: purchase orders (German and English
layouts, or a scan without a text layer) and a remittance advice, as PDFs."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from documents.render import render_pdf
from engine.core.money import round_money
from engine.core.records import Party


@dataclass(frozen=True)
class Buyer:
    number: str
    name: str
    street: str
    postal_code: str
    city: str
    vat_id: str
    iban: str
    contact: str


@dataclass(frozen=True)
class OrderedLine:
    position: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return round_money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class PaidInvoice:
    number: str
    date: date
    gross: Decimal
    deduction: Decimal
    paid: Decimal


def purchase_order_pdf(*, seller: Party, buyer: Buyer, number: str, order_date: date,
                       delivery_date: date, lines: Sequence[OrderedLine], lang: str = "de",
                       quote: str = "", vat_rate: Decimal = Decimal("19")) -> bytes:
    net = sum((line.amount for line in lines), Decimal("0"))
    tax = round_money(net * vat_rate / 100)
    return render_pdf(f"samples/purchase_order_{lang}.html", {
        "seller": seller, "buyer": buyer, "number": number, "order_date": order_date,
        "delivery_date": delivery_date, "lines": lines, "quote": quote,
        "net": net, "tax": tax, "gross": net + tax, "lang": lang})


def remittance_advice_pdf(*, seller: Party, buyer: Buyer, payment_date: date, reference: str,
                          lines: Sequence[PaidInvoice]) -> bytes:
    total = sum((line.paid for line in lines), Decimal("0"))
    return render_pdf("samples/remittance_advice.html", {
        "seller": seller, "buyer": buyer, "payment_date": payment_date, "reference": reference,
        "lines": lines, "total": total})


def scanned(pdf: bytes, dpi: int = 200) -> bytes:
    """The same pages as images only, as a scanner would deliver them (no text layer)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        images = [page.render(scale=dpi / 72, grayscale=True).to_pil() for page in doc]
    finally:
        doc.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()
