"""The back office's words for the messages engine services raise in English.

The engine speaks English (its messages also go to the audit log, the CLI and the API).
A page shows such a message through `said`: a message of a known shape comes out in the
user's language, with its values (numbers, amounts, names) kept; any other text as it
is. Each known shape is a msgid below whose `%(name)s` placeholders stand for the values;
the English msgid is the engine's text, so an English page shows exactly what the engine
said. Placeholders called `status` are status words and are translated too."""

from __future__ import annotations

import re
from functools import cache

from flask_babel import gettext

from web.i18n import N_, word

KNOWN = (
    # holds
    N_("a hold is one of %(kinds)s, not '%(kind)s'"),
    N_("a dispute needs a reason"),
    N_("a promise to pay needs the date it is promised for"),
    N_("customer %(number)s does not exist"),
    N_("invoice %(number)s does not exist"),
    N_("hold %(id)s is not active"),
    # tasks, orders, invoices
    N_("task %(id)s is not open"),
    N_("order %(id)s is not waiting for approval"),
    N_("%(number)s: no positions %(positions)s to credit"),
    N_("customer %(number)s has no e-mail address"),
    N_("outbox message '%(key)s': recipient %(recipient)s is not a valid e-mail address: "
       "%(problem)s"),
    # payments and reconciliation
    N_("transaction %(id)s is not waiting for review"),
    N_("transaction %(id)s has no suggestion %(n)s"),
    N_("invoice %(number)s is no longer open for %(amount)s; the suggestion is out of date"),
    N_("no transaction %(id)s"),
    N_("transaction %(id)s was matched by a person; automation does not undo it"),
    N_("transaction %(id)s: its credit was refunded to the customer; the refund must be "
       "settled before it can be unmatched"),
    N_("name at least one invoice and its amount"),
    N_("each row needs an invoice number and an amount"),
    N_("%(number)s: the amount must be more than zero"),
    N_("'%(text)s' is not an amount"),
    N_("payment %(id)s is not waiting for a person"),
    N_("invoice %(number)s is not open"),
    N_("invoice %(number)s is open for %(open)s, not %(amount)s"),
    N_("the allocations (%(total)s) exceed the payment (%(amount)s)"),
    N_("say why this credit is no customer payment"),
    # documents and review
    N_("%(file)s: the file is empty"),
    N_("%(file)s: %(size)s bytes, more than the limit of %(limit)s MB"),
    N_("document %(id)s is not waiting for review"),
    N_("say why the document is rejected"),
    N_("%(file)s: a %(kind)s document cannot be confirmed here; reject it or import it "
       "where it belongs"),
    N_("%(file)s: no order lines were read; the order cannot be recorded from this document"),
    N_("%(field)s: '%(text)s' is not a date (YYYY-MM-DD)"),
    N_("%(field)s: '%(text)s' is not an amount"),
    N_("no field to learn: type the right values first"),
    # portal links
    N_("a portal link is valid 1 to 730 days, not %(days)s"),
)

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each msgid as a pattern matching the English text it stands for."""
    out = []
    for msgid in KNOWN:
        parts = PLACEHOLDER.split(msgid)  # literal, name, literal, name, …, literal
        regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                        for i, part in enumerate(parts))
        out.append((re.compile(f"^{regex}$", re.DOTALL), msgid))
    return tuple(out)


def said(message: object) -> str:
    """A service's message (or exception) in the user's language when its shape is known."""
    text = str(message)
    for pattern, msgid in _patterns():
        found = pattern.match(text)
        if found:
            values = found.groupdict()
            if "status" in values:
                values["status"] = word(values["status"])
            return gettext(msgid, **values)
    return text


def said_lines(text: str | None) -> str:
    """`said` for each line of a stored reason (a document's problems, one per line)."""
    return "\n".join(said(line) for line in (text or "").splitlines())
