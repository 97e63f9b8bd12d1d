"""The EPC QR code (GiroCode, EPC069-12 version 002): the payload line by line against the
guidelines, and the QR code decoded back (zxing-cpp) or at least deterministic."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal as D
from urllib.parse import unquote

import pytest

from documents.girocode import (
    epc_payload,
    invoice_girocode,
    invoice_payload,
    qr_code,
    svg_data_uri,
)
from engine.core.checks import rf_reference
from tests.test_cii import _credit_note, _invoice

IBAN = "DE89370400440532013000"
REF = rf_reference("RE-2026-00001")  # RF25RE202600001


def test_payload_line_by_line() -> None:
    payload = epc_payload(name="Muster Maschinenbau GmbH", iban="DE89 3704 0044 0532 0130 00",
                          amount=D("1234.5"), reference=REF, bic="COBADEFFXXX")
    assert payload.split("\n") == [
        "BCD",  # 1 service tag
        "002",  # 2 version
        "1",  # 3 character set: UTF-8
        "SCT",  # 4 identification: SEPA credit transfer
        "COBADEFFXXX",  # 5 BIC
        "Muster Maschinenbau GmbH",  # 6 beneficiary name
        IBAN,  # 7 IBAN, without spaces
        "EUR1234.50",  # 8 amount: EUR, two decimals, a point
        "",  # 9 purpose: none
        "RF25RE202600001",  # 10 structured creditor reference (ISO 11649)
    ]  # 11 and 12 are empty and left out: no separator after the last element
    assert not payload.endswith("\n") and "\r" not in payload


def test_bic_is_optional_and_text_replaces_the_reference() -> None:
    payload = epc_payload(name="Muster GmbH", iban=IBAN, amount=D("1"), text="RE-2026-00001")
    lines = payload.split("\n")
    assert lines[4] == "" and lines[7] == "EUR1.00"
    assert lines[9:] == ["", "RE-2026-00001"]  # 10 empty, 11 the unstructured text
    assert len(lines) == 11


def test_utf8_names_and_the_byte_limit() -> None:
    payload = epc_payload(name="Müller & Söhne GmbH", iban=IBAN, amount=D("0.01"), reference=REF)
    assert payload.split("\n")[5] == "Müller & Söhne GmbH"
    assert len(payload.encode("utf-8")) <= 331
    longest = epc_payload(name="N" * 70, iban="LC14BOSL123456789012345678901234", amount=D(
        "999999999.99"), text="T" * 140, bic="COBADEFFXXX")
    assert len(longest.encode("utf-8")) <= 331
    assert longest.split("\n")[7] == "EUR999999999.99"


@pytest.mark.parametrize(("change", "message"), [
    ({"name": "N" * 71}, "1 to 70 characters"),
    ({"name": " "}, "1 to 70 characters"),
    ({"iban": "DE00370400440532013000"}, "not a valid IBAN"),
    ({"bic": "COBADEF"}, "8 or 11"),
    ({"amount": D("0")}, "from 0.01 to 999999999.99"),
    ({"amount": D("1000000000.00")}, "from 0.01 to 999999999.99"),
    ({"amount": D("-5")}, "from 0.01"),
    ({"reference": "RF00RE202600001"}, "ISO 11649"),
    ({"reference": REF, "text": "also text"}, "not both"),
    ({"text": "T" * 141}, "140 characters"),
])
def test_what_does_not_fit_the_guidelines_is_refused(change: dict[str, object],
                                                     message: str) -> None:
    args: dict[str, object] = {"name": "Muster GmbH", "iban": IBAN, "amount": D("10")}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        epc_payload(**args)  # type: ignore[arg-type]


def test_qr_code_is_level_m_small_and_deterministic() -> None:
    payload = epc_payload(name="Muster GmbH", iban=IBAN, amount=D("244.29"), reference=REF)
    first, second = qr_code(payload), qr_code(payload)
    assert first.error == "M" and first.mode == "byte" and not first.is_micro
    assert isinstance(first.version, int) and first.version <= 13  # EPC: version 13 at most
    assert first.matrix == second.matrix
    assert qr_code(payload.replace("244.29", "244.30")).matrix != first.matrix
    uri = svg_data_uri(payload)
    assert uri.startswith("data:image/svg+xml") and "<svg" in unquote(uri)


def test_qr_code_decodes_back_to_the_payload() -> None:
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (QR decoder) not installed")
    from PIL import Image

    payload = epc_payload(name="Müller & Söhne GmbH", iban=IBAN, amount=D("1234.50"),
                          reference=REF, bic="COBADEFFXXX")
    buffer = io.BytesIO()
    qr_code(payload).save(buffer, kind="png", scale=4)
    buffer.seek(0)
    found = zxingcpp.read_barcodes(Image.open(buffer))
    assert [r.bytes.decode("utf-8") for r in found] == [payload]


def test_invoices_get_a_code_credit_notes_do_not() -> None:
    doc = _invoice(payment_reference=REF)
    payload = invoice_payload(doc)
    assert payload is not None
    lines = payload.split("\n")
    assert lines[5:8] == ["Muster GmbH", IBAN, "EUR244.29"]
    assert lines[4] == "COBADEFFXXX" and lines[9] == REF
    assert invoice_girocode(doc) == svg_data_uri(payload)
    # the reference is not an RF one: the invoice number becomes the remittance text
    plain = invoice_payload(replace(doc, payment_reference="RE-1"))
    assert plain is not None and plain.split("\n")[9:] == ["", "RE-2024-0001"]
    assert invoice_payload(_credit_note()) is None
    assert invoice_girocode(_credit_note()) is None
    assert invoice_payload(replace(doc, currency="CHF")) is None
    assert invoice_payload(replace(doc, seller=replace(doc.seller, iban=""))) is None
