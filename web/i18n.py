"""German and English with Flask-Babel. The catalogues are kept as .po files under
web/translations/ and compiled to .mo under the storage folder when the app starts (no
build step, nothing fetched at run time). The user's choice wins, then the browser's.

Views translate with gettext and named placeholders; words stored in the database (status,
kind, role) are marked here with N_ and shown through `word` or `_(value)`; messages engine
services raise in English are mapped in web/views_text.py (back office) and
web/portal_text.py (portal, in the customer's language). tests/test_i18n.py checks that
every marked text has a German translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request, session
from flask_babel import Babel, get_locale, gettext

LANGUAGES = ("de", "en")
DEFAULT = "en"
SOURCE = Path(__file__).with_name("translations")


def N_(text: str) -> str:
    """Marks a msgid for extraction where the text is translated later, by `word` or by
    `_(value)` in a template (tests/test_i18n.py checks every marked one is translated)."""
    return text


# The status, kind and step words the pages show as `_(value)` or through `word`: the
# values stored in the database and the keys of service results.
WORDS = (
    # documents
    N_("reading"), N_("needs_review"), N_("recorded"), N_("failed"), N_("rejected"),
    N_("refused"), N_("extracted"),
    # orders, approvals, deliveries, quotes
    N_("received"), N_("pending_approval"), N_("approved"), N_("confirmed"),
    N_("partially_delivered"), N_("delivered"), N_("invoiced"), N_("pending"),
    N_("posted"), N_("deferred"), N_("sent"), N_("accepted"), N_("expired"),
    # invoices, payments, allocations, credits
    N_("open"), N_("paid"), N_("new"), N_("review"), N_("matched"), N_("partially_matched"),
    N_("ignored"), N_("payment"), N_("deduction"), N_("credit_note"), N_("credit"),
    N_("costs"), N_("interest"), N_("fee"), N_("flat_fee"), N_("used"), N_("refunded"),
    N_("void"), N_("applied"),
    # dunning, holds, tasks
    N_("dispute"), N_("promise"), N_("block"), N_("escalation"), N_("reescalation"),
    N_("approval_overdue"), N_("review_overdue"), N_("no_statement"),
    N_("invoice_rejected"), N_("done"), N_("all"), N_("letters"), N_("reminders"),
    N_("escalations"), N_("locked"),
    # documents' kinds
    N_("purchase_order"), N_("remittance_advice"), N_("bank_statement"), N_("invoice"),
    # roles
    N_("viewer"), N_("clerk"), N_("process_owner"), N_("finance"), N_("admin"),
    # job steps
    N_("skipped"), N_("matching"),
    # outbox
    N_("handed_over"), N_("uncertain"),
)


# Texts other modules hand to templates that show them as `_(value)`: the login page's
# errors (web/auth.py), the dashboard's queues and ageing (web/queries.py), the audit
# log's filters (web/views_admin.py).
SHOWN = (
    N_("Unknown user or wrong password."),
    N_("Too many failed sign-ins: please wait 15 minutes and try again."),
    N_("documents in review"), N_("orders waiting for approval"), N_("payments in review"),
    N_("open tasks"), N_("not due"),
    N_("actor"), N_("action"), N_("object_type"), N_("object_id"),
)


# The extracted fields as the review screen names them (the intake's field names).
FIELD_LABELS = {
    "number": N_("Document number"), "order_number": N_("Order number"),
    "order_date": N_("Order date"), "issue_date": N_("Issue date"),
    "delivery_date": N_("Delivery date"), "due_date": N_("Due date"),
    "customer_number": N_("Customer number"), "quote_reference": N_("Our quote"),
    "order_reference": N_("Order reference"), "vat_id": N_("VAT id"),
    "buyer_vat_id": N_("Buyer's VAT id"), "seller_vat_id": N_("Seller's VAT id"),
    "buyer_name": N_("Buyer"), "seller_name": N_("Seller"), "payer": N_("Payer"),
    "net_amount": N_("Net amount"), "tax_amount": N_("VAT amount"),
    "gross_amount": N_("Gross amount"), "total_net": N_("Net amount"),
    "total_tax": N_("VAT amount"), "total_gross": N_("Gross amount"),
    "amount_due": N_("Amount due"), "currency": N_("Currency"), "iban": N_("IBAN"),
    "payment_reference": N_("Payment reference"), "payment_date": N_("Payment date"),
}


def field_label(name: str) -> str:
    """A field's name on the review screen in the user's language; unknown ones as they are."""
    return gettext(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def word(value: str) -> str:
    """A status, kind or step word in the user's language; any other text as it is."""
    return gettext(value) if value in WORDS else value


def compile_catalogues(source: Path, target: Path) -> list[Path]:
    """Every <lang>/LC_MESSAGES/*.po below `source` → the same path below `target` as .mo,
    rewritten only when the .po is newer. Returns the .mo files."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parts[-3])
            with mo.open("wb") as f:
                write_mo(f, catalog)
        written.append(mo)
    return written


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def init_babel(app: Flask, storage: Path) -> None:
    target = storage / "translations"
    compile_catalogues(SOURCE, target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(languages=LANGUAGES, get_locale=get_locale,
                                 field_label=field_label)
