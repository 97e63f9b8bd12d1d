"""E-mail addresses as people enter them: checked and normalised with email-validator.

Pure: the syntax is checked, never the network (`check_deliverability=False`), so a
check gives the same answer offline, in tests and in a request handler. Special-use
domains that can never receive mail (`.test`, `.invalid`, `.local`, `localhost`) are
refused; `example.com` and `*.example` are accepted, as the demo data uses them.

Call `valid_email` wherever an address enters the system (forms, imports, the API) and
store what it returns; `email_problem` gives the reason to show beside the field.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def _check(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, the reason it is not an address)."""
    if not isinstance(text, str):
        return None, "an e-mail address must be text"
    candidate = text.strip()
    if not candidate:
        return None, "the e-mail address is empty"
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return checked.normalized, None


def valid_email(text: str) -> str | None:
    """The address normalised (surrounding spaces dropped, domain lower-cased, Unicode
    NFC), or None when `text` is not a single valid e-mail address.

    >>> valid_email(" Anna.Schmidt@Beispiel.DE ")
    'Anna.Schmidt@beispiel.de'
    >>> valid_email("anna@") is None
    True
    """
    return _check(text)[0]


def email_problem(text: str) -> str | None:
    """Why `text` is not a valid e-mail address, in a sentence; None when it is one."""
    return _check(text)[1]
