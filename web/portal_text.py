"""The customer portal's words, in the customer's language (not the browser's): the texts
are msgids of the catalogue under web/translations/, looked up with the customer's
locale forced. The portal's use cases (engine/services/portal.py) say why something
cannot be done in English; `said` gives the known ones in the customer's language."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import force_locale, gettext

from web.i18n import DEFAULT, LANGUAGES, N_, WORDS

TEXTS: dict[str, str] = {
    "title": N_("Customer portal"),
    "welcome": N_("Your invoices and quotes from"),
    "valid_until": N_("This link is valid until"),
    "quote_valid": N_("Valid until"),
    "open": N_("Open invoices"),
    "paid": N_("Paid invoices"),
    "quotes": N_("Open quotes"),
    "number": N_("Number"),
    "issued": N_("Date"),
    "due": N_("Due"),
    "gross": N_("Amount"),
    "still_open": N_("Open"),
    "files": N_("Files"),
    "pay": N_("Pay"),
    "girocode": N_("Scan with your banking app (GiroCode)"),
    "dispute": N_("Dispute"),
    "reason": N_("What is wrong?"),
    "promise": N_("Promise payment"),
    "promise_date": N_("We will pay by"),
    "accept": N_("Accept quote"),
    "none": N_("None."),
    "on_hold": N_("On hold"),
    "hold_dispute": N_("dispute under review"),
    "hold_promise": N_("payment promised by"),
    "invalid": N_("This link is not valid or has expired. Please ask us for a new one."),
    "bad_date": N_("Please give a date as YYYY-MM-DD."),
}

# what the customer did, confirmed (with %(name)s values)
DISPUTED = N_("Thank you, we will look into your dispute of invoice %(number)s.")
PROMISED = N_("Thank you, we expect your payment of invoice %(number)s by %(until)s.")
ACCEPTED = N_("Thank you, we have received your order %(order)s.")

# engine/services/portal.py's reasons; the English msgid is the service's own text
REFUSALS = (
    (re.compile(r"^invoice (?P<number>\S+) is paid$"), N_("invoice %(number)s is paid")),
    (re.compile(r"^please tell us what is wrong with the invoice$"),
     N_("please tell us what is wrong with the invoice")),
    (re.compile(r"^the payment date must be from (?P<first>\d{4}-\d\d-\d\d) to "
                r"(?P<last>\d{4}-\d\d-\d\d)$"),
     N_("the payment date must be from %(first)s to %(last)s")),
    (re.compile(r"^quote (?P<number>\S+) can no longer be accepted \((?P<status>\w+)\)$"),
     N_("quote %(number)s can no longer be accepted (%(status)s)")),
)


def language(lang: str) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def words(lang: str) -> dict[str, str]:
    """Every text of the portal's pages in `lang` (English for a language not offered)."""
    with force_locale(language(lang)):
        return {key: gettext(text) for key, text in TEXTS.items()}


def day(value: date, lang: str) -> str:
    """A date the way the portal shows it: 31.12.2026 in German, 2026-12-31 otherwise."""
    return f"{value:%d.%m.%Y}" if language(lang) == "de" else value.isoformat()


def say(lang: str, msgid: str, **values: object) -> str:
    """One of the messages above in `lang`, its placeholders filled."""
    with force_locale(language(lang)):
        return gettext(msgid, **values)


def said(lang: str, message: object) -> str:
    """A portal service's refusal in the customer's language when it is a known one; any
    other text as it is."""
    text = str(message)
    for pattern, msgid in REFUSALS:
        found = pattern.match(text)
        if found:
            values: dict[str, object] = dict(found.groupdict())
            for key in ("first", "last"):
                if key in values:
                    values[key] = day(date.fromisoformat(str(values[key])), lang)
            with force_locale(language(lang)):
                if "status" in values:
                    status = str(values["status"])
                    values["status"] = gettext(status) if status in WORDS else status
                return gettext(msgid, **values)
    return text
