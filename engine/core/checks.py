"""Checksums: IBAN (ISO 13616), German VAT id (ISO 7064 MOD 11,10), RF creditor
reference (ISO 11649)."""

from __future__ import annotations

import re


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def iban_valid(iban: str) -> bool:
    s = re.sub(r"\s", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    return _mod97(s[4:] + s[:4]) == 1


def de_vat_id_valid(vat_id: str) -> bool:
    """DE + 9 digits with the MOD 11,10 check digit; other countries: shape only."""
    s = re.sub(r"\s", "", vat_id).upper()
    if not s.startswith("DE"):
        return re.fullmatch(r"[A-Z]{2}[0-9A-Z+*]{2,13}", s) is not None
    if not re.fullmatch(r"DE\d{9}", s):
        return False
    return make_de_vat_id(s[2:10]) == s


def rf_reference(base: str) -> str:
    """ISO 11649 structured creditor reference for an invoice number: 'RF18 …'."""
    body = re.sub(r"[^A-Z0-9]", "", base.upper())
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def rf_valid(reference: str) -> bool:
    s = re.sub(r"\s", "", reference).upper()
    if not re.fullmatch(r"RF\d{2}[A-Z0-9]{1,21}", s):
        return False
    return _mod97(s[4:] + s[:4]) == 1


def make_iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits for a country and its basic bank account number."""
    check = 98 - _mod97(bban + country + "00")
    return f"{country}{check:02d}{bban}"


def make_de_vat_id(base8: str) -> str:
    """A German VAT id with the right check digit for eight digits (for sample data)."""
    product = 10
    for digit in base8:
        total = (int(digit) + product) % 10 or 10
        product = (2 * total) % 11
    return f"DE{base8}{(11 - product) % 10}"
