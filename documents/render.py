"""Jinja2 HTML templates → PDF with WeasyPrint. German or English by the customer's language.

Templates live in documents/templates/; a company may override any of them from a folder
named in the configuration. Rendering is the only place that knows about HTML.

What does not change between documents is prepared once per process and reused: the Jinja2
environment per template folder, one WeasyPrint `FontConfiguration`, and the parsed
stylesheet `document.css` (from the override folder when it has one). A forked worker
starts with fresh ones.

A broken template (syntax, an undefined name under StrictUndefined, a missing template)
raises `TemplateError`, which names the template file and line.
"""

from __future__ import annotations

import os
import types
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from weasyprint.text.fonts import FontConfiguration

from engine.core.money import format_amount

TEMPLATES = Path(__file__).with_name("templates")
STYLESHEET = "document.css"

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
        "statement": "Kontoauszug", "period": "Zeitraum", "as_of": "Stand",
        "debit": "Soll", "credit": "Haben", "balance": "Saldo",
        "opening_balance": "Saldovortrag", "closing_balance": "Saldo",
        "open_items": "Offene Posten", "overdue_days": "Tage überfällig",
        "payment": "Zahlung", "deduction": "Abzug", "dunning_charges": "Mahnkosten",
        "text": "Text", "settlement": "Verrechnung",
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
        "statement": "Statement of account", "period": "Period", "as_of": "As of",
        "debit": "Debit", "credit": "Credit", "balance": "Balance",
        "opening_balance": "Balance brought forward", "closing_balance": "Balance",
        "open_items": "Open items", "overdue_days": "Days overdue",
        "payment": "Payment", "deduction": "Deduction", "dunning_charges": "Dunning charges",
        "text": "Text", "settlement": "Settlement",
    },
}


class TemplateError(Exception):
    """A template cannot be rendered: `file` and `line` say where, `reason` what."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        super().__init__(f"{file}:{line or '?'}: {reason}")


def _money(value: Decimal | None, lang: str = "de") -> str:
    return "" if value is None else format_amount(value, lang)


def grouped_iban(value: str | None) -> str:
    """An IBAN as it is printed: in groups of four (DE89 3704 0044 0532 0130 00)."""
    compact = (value or "").replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def format_date(value: date | None, lang: str = "de") -> str:
    """A date as a letter in `lang` prints it: 01.09.2026, or 01 Sep 2026."""
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if lang == "de" else value.strftime("%d %b %Y")


def _qty(value: Decimal, lang: str = "de") -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",") if lang == "de" else text


def _folders(override: str | None) -> list[str]:
    return [override, str(TEMPLATES)] if override else [str(TEMPLATES)]


@cache
def environment(override: str | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(f) for f in _folders(override)]
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined)
    env.filters.update(money=_money, date=format_date, qty=_qty, iban=grouped_iban)
    return env


@cache
def fonts() -> FontConfiguration:
    """One font configuration per process, shared by every document."""
    return FontConfiguration()


def _stylesheet_path(override: str | None) -> Path | None:
    return next((p for p in (Path(f) / STYLESHEET for f in _folders(override)) if p.is_file()),
                None)


@cache
def stylesheets(override: str | None = None) -> tuple[weasyprint.CSS, ...]:
    """The parsed document.css (the override folder's, if it has one), parsed once."""
    path = _stylesheet_path(override)
    return () if path is None else (weasyprint.CSS(filename=str(path), font_config=fonts()),)


def _forget_after_fork() -> None:
    for cached in (environment, fonts, stylesheets):
        cached.cache_clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _template_frame(tb: types.TracebackType | None, folders: list[str]) -> tuple[str, int]:
    """The innermost traceback frame that runs template code (Jinja2 maps those frames to
    the template file and line)."""
    found = ("", 0)
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if any(name.startswith(f) for f in folders) or name.endswith((".html", ".css")):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def render_html(template: str, context: dict[str, Any], *, override: str | None = None) -> str:
    """The template filled in; `lang` picks the words, `logo` (a file URI) the letterhead's
    image. Raises TemplateError naming the template file and line."""
    lang = context.get("lang", "de")
    env = environment(override)
    values = {"logo": None, **context, "lang": lang, "t": WORDS.get(lang, WORDS["de"])}
    try:
        return env.get_template(template).render(values)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(err.filename or err.name or template, err.lineno,
                            f"template syntax: {err.message}") from err
    except jinja2.TemplateNotFound as err:
        raise TemplateError(template, None, f"template not found: {err.name} "
                            f"(looked in {', '.join(_folders(override))})") from err
    except jinja2.TemplateError as err:  # UndefinedError and the like, raised while rendering
        file, line = _template_frame(err.__traceback__, _folders(override))
        raise TemplateError(file or template, line or None, str(err.message or err)) from err


def pdf_of(html: str, *, override: str | None = None, pdf_variant: str | None = None) -> bytes:
    """HTML → PDF with the shared fonts and the parsed stylesheet."""
    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    return bytes(document.write_pdf(stylesheets=list(stylesheets(override)),
                                    font_config=fonts(), pdf_variant=pdf_variant))


def render_pdf(template: str, context: dict[str, Any], *, override: str | None = None,
               pdf_variant: str | None = None) -> bytes:
    """Render to PDF; pdf_variant 'pdf/a-3b' for Factur-X invoices."""
    html = render_html(template, context, override=override)
    return pdf_of(html, override=override, pdf_variant=pdf_variant)


def standalone_html(template: str, context: dict[str, Any], *,
                    override: str | None = None) -> str:
    """The filled template with document.css inlined: one self-contained HTML page (what a
    plain `weasyprint.HTML(string=...)` renders the same as `render_pdf`)."""
    html = render_html(template, context, override=override)
    path = _stylesheet_path(override)
    css = "" if path is None else path.read_text("utf-8")
    return html.replace("<head>", f"<head><style>{css}</style>", 1)


def logo_uri(path: Path | None) -> str | None:
    """The letterhead logo as a file URI for <img src>, or None."""
    return path.resolve().as_uri() if path else None
