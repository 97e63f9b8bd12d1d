"""The EPC QR code ("GiroCode") that lets a customer pay an invoice with a banking app.

`epc_payload` writes the payload of EPC069-12 version 002 (the European Payments Council's
"Quick Response Code: guidelines to enable data capture for the initiation of a SEPA
credit transfer"), one element per line, separated by LF, UTF-8 (character set 1):

    1 BCD           service tag
    2 002           version
    3 1             character set: UTF-8
    4 SCT           SEPA credit transfer
    5 BIC           optional in version 002 (empty line when not given)
    6 name          of the beneficiary, at most 70 characters
    7 IBAN          of the beneficiary
    8 EUR12.34      amount in euro with two decimals, 0.01 … 999999999.99
    9 purpose       (empty: none)
   10 reference     structured creditor reference (ISO 11649 RF), at most 35 characters
   11 text          unstructured remittance information, at most 140 characters,
                    only when there is no structured reference
   12 information   to the originator (not used)

Trailing empty elements are left out (the last populated element ends the payload, without
a separator); the payload has at most 331 bytes. `svg_data_uri` renders it with segno as
a QR code (error correction level M, as the guidelines ask) for the PDF template, and
`invoice_girocode` does both for an invoice (not for credit notes, nor for currencies other
than the euro).
"""

from __future__ import annotations

import re
from decimal import Decimal

import segno

from engine.core.checks import iban_valid, rf_valid
from engine.core.records import InvoiceDocument

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_BYTES = 331


def epc_payload(*, name: str, iban: str, amount: Decimal, reference: str = "", text: str = "",
                bic: str = "") -> str:
    """The EPC069-12 v002 payload; ValueError names the element that does not fit."""
    name, iban = name.strip(), re.sub(r"\s", "", iban).upper()
    bic, reference, text = re.sub(r"\s", "", bic).upper(), re.sub(r"\s", "", reference), text.strip()
    if not 0 < len(name) <= 70:
        raise ValueError(f"EPC QR: the beneficiary name must have 1 to 70 characters: {name!r}")
    if not iban_valid(iban):
        raise ValueError(f"EPC QR: not a valid IBAN: {iban!r}")
    if bic and not re.fullmatch(r"[A-Z0-9]{8}([A-Z0-9]{3})?", bic):
        raise ValueError(f"EPC QR: a BIC has 8 or 11 characters: {bic!r}")
    amount = amount.quantize(Decimal("0.01"))
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise ValueError(f"EPC QR: the amount must be from {MIN_AMOUNT} to {MAX_AMOUNT} EUR, "
                         f"not {amount}")
    if reference and text:
        raise ValueError("EPC QR: either a structured reference or a text, not both")
    if reference and not (len(reference) <= 35 and rf_valid(reference)):
        raise ValueError(f"EPC QR: not an ISO 11649 creditor reference: {reference!r}")
    if len(text) > 140:
        raise ValueError(f"EPC QR: the remittance text has more than 140 characters: {text!r}")
    elements = ["BCD", "002", "1", "SCT", bic, name, iban, f"EUR{amount:f}", "", reference, text]
    while elements[-1] == "":
        elements.pop()
    payload = "\n".join(elements)
    if len(payload.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"EPC QR: the payload has more than {MAX_BYTES} bytes")
    return payload


def qr_code(payload: str) -> segno.QRCode:
    """The QR code of `payload`: byte mode, UTF-8, level M (not raised), no ECI."""
    return segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")


def svg_data_uri(payload: str) -> str:
    """`payload` as a QR code in an SVG data URI, for an <img> in the PDF template."""
    return str(qr_code(payload).svg_data_uri(scale=4, border=4))


def invoice_payload(doc: InvoiceDocument) -> str | None:
    """The EPC payload of an invoice: seller, IBAN, gross amount, the RF reference as the
    structured reference (else the invoice number as text); None when there is nothing to
    pay by credit transfer (a credit note, another currency, no IBAN, an amount out of range)."""
    amount = doc.totals.gross
    if doc.type_code != "380" or doc.currency != "EUR" or not doc.seller.iban:
        return None
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        return None
    reference = doc.payment_reference if rf_valid(doc.payment_reference) else ""
    text = "" if reference else f"{doc.number}"
    return epc_payload(name=doc.seller.name[:70], iban=doc.seller.iban, amount=amount,
                       reference=reference, text=text, bic=doc.seller.bic)


def invoice_girocode(doc: InvoiceDocument) -> str | None:
    """The GiroCode of an invoice as an SVG data URI, or None (see `invoice_payload`)."""
    payload = invoice_payload(doc)
    return None if payload is None else svg_data_uri(payload)
