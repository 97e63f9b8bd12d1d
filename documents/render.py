"""Jinja2 HTML templates → PDF with WeasyPrint. German or English by the customer's language.

Templates live in documents/templates/; a company may override any of them from a folder
named in the configuration. Rendering is the only place that knows about HTML.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import weasyprint

from engine.core.money import format_amount

TEMPLATES = Path(__file__).with_name("templates")

WORDS = {
    "de": {
        "quote": "Angebot", "confirmation": "Auftragsbestätigung", "delivery_note": "Lieferschein",
        "invoice": "Rechnung", "credit_note": "Gutschrift (Rechnungskorrektur)",
        "reminder": "Zahlungserinnerung", "dunning": "Mahnung", "pos": "Pos.",
        "sku": "Art.-Nr.", "description": "Bezeichnung", "quantity": "Menge", "unit": "Einheit",
        "unit_price": "Einzelpreis", "amount": "Betrag", "net": "Nettobetrag",
        "vat": "Umsatzsteuer", "gross": "Gesamtbetrag", "number": "Nummer", "date": "Datum",
        "customer_number": "Kundennummer", "your_order": "Ihre Bestellung",
        "delivery_date": "Liefer-/Leistungsdatum", "due_date": "Fällig am", "page": "Seite",
        "backordered": "rückständig", "delivered": "geliefert", "order": "Auftrag",
        "tax_number": "Steuernummer", "vat_id": "USt-IdNr.", "invoice_no": "Rechnung",
        "open": "offen", "fee": "Mahngebühr", "valid_until": "gültig bis",
        "reference": "Verwendungszweck", "total_due": "Zu zahlen",
        "interest": "Verzugszinsen", "flat_fee": "Verzugspauschale (§ 288 Abs. 5 BGB)",
        "interest_note": "Verzugszinsen {rate} % p. a. (§ 288 BGB) seit {since}",
    },
    "en": {
        "quote": "Quotation", "confirmation": "Order confirmation", "delivery_note": "Delivery note",
        "invoice": "Invoice", "credit_note": "Credit note", "reminder": "Payment reminder",
        "dunning": "Reminder", "pos": "Item", "sku": "Part no.", "description": "Description",
        "quantity": "Qty", "unit": "Unit", "unit_price": "Unit price", "amount": "Amount",
        "net": "Net amount", "vat": "VAT", "gross": "Total", "number": "Number", "date": "Date",
        "customer_number": "Customer no.", "your_order": "Your order",
        "delivery_date": "Delivery date", "due_date": "Due date", "page": "Page",
        "backordered": "back-ordered", "delivered": "delivered", "order": "Order",
        "tax_number": "Tax number", "vat_id": "VAT ID", "invoice_no": "Invoice",
        "open": "open", "fee": "Fee", "valid_until": "valid until",
        "reference": "Payment reference", "total_due": "Amount due",
        "interest": "Default interest", "flat_fee": "Flat-rate compensation (§ 288 (5) BGB)",
        "interest_note": "Default interest at {rate} % p.a. (§ 288 BGB) since {since}",
    },
}


def _money(value: Decimal | None, lang: str = "de") -> str:
    return "" if value is None else format_amount(value, lang)


def _date(value: date | None, lang: str = "de") -> str:
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if lang == "de" else value.strftime("%d %b %Y")


def _qty(value: Decimal, lang: str = "de") -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",") if lang == "de" else text


@cache
def environment(override: str | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(TEMPLATES))]
    if override:
        loaders.insert(0, jinja2.FileSystemLoader(override))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    env.filters.update(money=_money, date=_date, qty=_qty)
    return env


def render_html(template: str, context: dict[str, Any], *, override: str | None = None) -> str:
    lang = context.get("lang", "de")
    return environment(override).get_template(template).render(
        {**context, "lang": lang, "t": WORDS.get(lang, WORDS["de"])})


def render_pdf(template: str, context: dict[str, Any], *, override: str | None = None,
               pdf_variant: str | None = None) -> bytes:
    """Render to PDF; pdf_variant 'pdf/a-3b' for Factur-X invoices."""
    html = render_html(template, context, override=override)
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    return bytes(document.write_pdf(pdf_variant=pdf_variant))
