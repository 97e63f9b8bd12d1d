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
from engine.core.records import Address, Party


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


# One sample seller, buyer and order for tests and benchmarks (valid VAT ids and IBANs).
SAMPLE_SELLER = Party("Muster Maschinenbau GmbH",
                      Address("Industriestraße 12", "70565", "Stuttgart"),
                      vat_id="DE123456788", iban="DE89370400440532013000")
SAMPLE_BUYER = Buyer("K-10001", "Hoffmann Bau AG", "Am Hafen 3", "20457", "Hamburg",
                     "DE136695976", "DE02120300000000202051", "Jens Hoffmann")
SAMPLE_LINES = (
    OrderedLine(1, "HM-200", "Hydraulikmotor HM 200", Decimal(10), "Stk", Decimal("1250.00")),
    OrderedLine(2, "DS-15", "Dichtungssatz 15 mm", Decimal(40), "Stk", Decimal("12.35")))
LONG_LINES = tuple(OrderedLine(i, f"AB-{100 + i}", f"Stahlwinkel Typ {i}", Decimal(i % 7 + 1),
                               "Stk", Decimal(f"{10 + i}.{i * 7 % 100:02d}"))
                   for i in range(1, 41))


def sample_order(lang: str = "de", lines: Sequence[OrderedLine] = SAMPLE_LINES) -> bytes:
    """Purchase order B-2026-4711 of the sample buyer, naming quote AN-2026-0001."""
    return purchase_order_pdf(seller=SAMPLE_SELLER, buyer=SAMPLE_BUYER, number="B-2026-4711",
                              order_date=date(2026, 9, 2), delivery_date=date(2026, 9, 15),
                              lines=list(lines), lang=lang, quote="AN-2026-0001")
