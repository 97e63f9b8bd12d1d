"""XRechnung in UBL 2.1 syntax (Invoice, CreditNote), validated with CEN's EN 16931 UBL
rules from ../shared (skipped with the reason when absent), from the same documents the CII
tests use."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from documents.invoice_files import invoice_files, xrechnung_file
from documents.ubl import CREDIT_NOTE_NS, INVOICE_NS, NS, ubl_xml
from documents.validation import en16931_errors
from engine.core.records import DocumentLine
from engine.core.totals import compute_totals
from tests.conftest import CORPORA, corpus_dir
from tests.test_cii import BUYER, SELLER, _credit_note, _invoice


@pytest.fixture(scope="module")
def ubl_rules() -> Path:
    folder = corpus_dir(CORPORA / "en16931" / "ubl" / "xslt")
    return folder / "EN16931-UBL-validation.xslt"


def text(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=dict(NS))]


def test_invoice_and_credit_note_pass_the_cen_ubl_rules(ubl_rules: Path) -> None:
    skonto = _invoice(cash_discount_percent=Decimal("2"), cash_discount_days=10)
    for doc in (skonto, _credit_note()):
        assert en16931_errors(ubl_xml(doc), stylesheet=ubl_rules, warnings=True) == []


@pytest.mark.parametrize("category", ["K", "G"])
def test_zero_rated_categories_pass(ubl_rules: Path, category: str) -> None:
    lines = tuple(DocumentLine(x.position, x.sku, x.description, x.quantity, x.unit,
                               x.unit_price, Decimal("0")) for x in _invoice().lines)
    buyer = replace(BUYER, vat_id="FR11123456782") if category == "K" else BUYER
    doc = _invoice(lines=lines, buyer=buyer,
                   totals=compute_totals(lines, category_for_zero=category))
    xml = ubl_xml(doc)
    assert en16931_errors(xml, stylesheet=ubl_rules) == []
    assert set(text(xml, "//cac:TaxCategory/cbc:ID/text()")) == {category}
    assert text(xml, "//cac:TaxCategory/cbc:TaxExemptionReasonCode/text()") == [
        f"VATEX-EU-{'IC' if category == 'K' else 'G'}"]


def test_tampered_totals_fail_with_their_rule(ubl_rules: Path) -> None:
    xml = ubl_xml(_invoice()).replace(b'<cbc:PayableAmount currencyID="EUR">',
                                      b'<cbc:PayableAmount currencyID="EUR">1')
    assert "BR-CO-16" in [f.id for f in en16931_errors(xml, stylesheet=ubl_rules)]


def test_fields_land_where_the_ubl_binding_expects_them() -> None:
    seller = replace(SELLER, contact_name="Erika Mustermann")
    buyer = replace(BUYER, buyer_reference="04011000-12345-67")
    xml = ubl_xml(_invoice(seller=seller, buyer=buyer))
    root = etree.fromstring(xml)
    assert root.tag == f"{{{INVOICE_NS}}}Invoice"
    assert text(xml, "/*/cbc:BuyerReference/text()") == ["04011000-12345-67"]
    assert text(xml, "//cac:AccountingSupplierParty//cac:Contact/cbc:Name/text()") == [
        "Erika Mustermann"]
    assert text(xml, "//cac:PaymentMeans/cbc:PaymentMeansCode/text()") == ["58"]
    assert text(xml, "//cac:PayeeFinancialAccount/cbc:ID/text()") == [SELLER.iban]
    assert text(xml, "/*/cbc:CustomizationID/text()") == [
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"]
    credit = ubl_xml(_credit_note())
    assert etree.fromstring(credit).tag == f"{{{CREDIT_NOTE_NS}}}CreditNote"
    assert text(credit, "//cac:BillingReference//cbc:ID/text()") == ["RE-2024-0001"]
    assert text(credit, "//cac:PaymentMeans/cbc:PaymentMeansCode/text()") == ["97"]
    assert len(text(credit, "//cac:CreditNoteLine")) == 1


def test_the_default_stylesheet_refuses_ubl_with_a_reason() -> None:
    failures = en16931_errors(ubl_xml(_invoice()))
    assert [f.id for f in failures] == ["UBL"]


def test_the_configured_syntax_picks_the_file() -> None:
    doc = _invoice()
    assert etree.fromstring(xrechnung_file(doc, "ubl")).tag == f"{{{INVOICE_NS}}}Invoice"
    assert b"CrossIndustryInvoice" in xrechnung_file(doc, "cii")
    with pytest.raises(ValueError, match="cii or ubl"):
        xrechnung_file(doc, "edifact")
    files = invoice_files(doc, syntax="ubl")
    assert files.failures == () and files.xml.startswith(b"<?xml")
    assert etree.fromstring(files.xml).tag == f"{{{INVOICE_NS}}}Invoice"
