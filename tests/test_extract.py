"""Reading customers' purchase orders and remittance advices: generated PDFs in German and
English layouts, a scan through real Tesseract, and the cross-checks that lower confidence."""

from datetime import date
from decimal import Decimal as D

import pytest

from documents.extract import extract
from documents.ocr import ocr_png, tesseract_available
from documents.pdftext import PageText, PdfError, read_pdf
from documents.samples import (
    SAMPLE_BUYER,
    SAMPLE_SELLER,
    PaidInvoice,
    remittance_advice_pdf,
    sample_order,
    scanned,
)
from documents.sniff import sniff

SELLER, BUYER = SAMPLE_SELLER, SAMPLE_BUYER
po = sample_order


def check_order(doc, source: str) -> None:  # type: ignore[no-untyped-def]
    assert doc.kind == "purchase_order", doc
    assert doc.value("number") == "B-2026-4711"
    assert doc.value("issue_date") == date(2026, 9, 2)
    assert doc.value("delivery_date") == date(2026, 9, 15)
    assert doc.value("quote_reference") == "AN-2026-0001"
    assert doc.value("buyer_vat_id") == "DE136695976"
    assert doc.value("total_net") == D("12994.00")
    assert doc.value("total_tax") == D("2468.86")
    assert doc.value("total_gross") == D("15462.86")
    assert [(x.sku, x.quantity, x.unit_price, x.amount) for x in doc.lines] == [
        ("HM-200", D(10), D("1250.00"), D("12500.00")), ("DS-15", D(40), D("12.35"), D("494.00"))]
    assert doc.issues == ()
    assert doc.fields["number"].source.startswith(f"{source} p1 l")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_text_pdf_in_both_layouts(lang: str) -> None:
    data = po(lang)
    assert sniff(data) == "pdf"
    pages, issues = read_pdf(data, f"po-{lang}.pdf", max_pages=5)
    assert issues == [] and not pages[0].ocr
    doc = extract(pages, f"po-{lang}.pdf")
    check_order(doc, f"po-{lang}.pdf")
    assert doc.confidence >= 0.8  # above the review threshold: no person needed
    assert all(doc.fields[n].confidence >= 0.9 for n in ("number", "issue_date", "total_gross",
                                                         "currency", "buyer_vat_id"))
    assert doc.value("buyer_name") == "Hoffmann Bau AG"


@pytest.mark.skipif(not tesseract_available(), reason="Tesseract is not installed")
def test_scan_goes_through_tesseract() -> None:
    pages, _ = read_pdf(scanned(po("de")), "scan.pdf", max_pages=5,
                        ocr=lambda png, _w: ocr_png(png, "deu+eng"))
    assert pages[0].ocr
    doc = extract(pages, "scan.pdf")
    assert [x.sku for x in doc.lines] == ["HM-200", "DS-15"]
    assert doc.value("total_net") == D("12994.00")
    assert 0.8 <= doc.confidence < 0.95  # OCR is less sure than a text layer


def test_sum_mismatch_lowers_confidence_and_names_the_place() -> None:
    page = PageText(1, ("Bestellung", "Bestellnummer: 77", "1 HM-200 Motor 2 Stk 10,00 20,00",
                        "Nettobetrag: 25,00 EUR"))
    doc = extract([page], "po.pdf")
    assert doc.fields["total_net"].confidence == 0.5
    assert [str(i) for i in doc.issues] == ["po.pdf p1 l4: net 25,00 ≠ sum of lines 20,00"]


def test_bad_line_arithmetic_and_vat_checksum() -> None:
    page = PageText(1, ("Purchase Order", "PO Number: 1", "VAT ID: DE136695977",
                        "1 HM-200 Motor 2 Stk 10.00 25.00", "Subtotal: 25.00"))
    doc = extract([page], "po.pdf")
    messages = [str(i) for i in doc.issues]
    assert "po.pdf p1 l3: VAT id DE136695977 fails its checksum" in messages
    assert "po.pdf p1 l4: quantity 2 × price 10.00 = 20.00, but the line says 25.00" in messages
    assert doc.confidence <= 0.5


def test_remittance_advice() -> None:
    lines = [PaidInvoice("RE-2026-00002", date(2026, 9, 1), D("3473.61"), D("69.47"),
                         D("3404.14")),
             PaidInvoice("RE-2026-00006", date(2026, 9, 9), D("2118.20"), D("0"), D("2118.20"))]
    data = remittance_advice_pdf(seller=SELLER, buyer=BUYER, payment_date=date(2026, 9, 21),
                                 reference="ZA-778", lines=lines)
    doc = extract(read_pdf(data, "avis.pdf", max_pages=5)[0], "avis.pdf")
    assert doc.kind == "remittance_advice"
    assert [(r.invoice_number, r.amount, r.deduction) for r in doc.remittance] == [
        ("RE-2026-00002", D("3404.14"), D("69.47")), ("RE-2026-00006", D("2118.20"), D("0.00"))]
    assert doc.value("total_gross") == D("5522.34") and doc.issues == ()
    assert doc.value("payment_date") == date(2026, 9, 21)


def test_broken_pdfs_give_a_clear_error() -> None:
    with pytest.raises(PdfError, match="broken.pdf: not a readable PDF"):
        read_pdf(b"%PDF-1.7\n garbage", "broken.pdf", max_pages=5)
    with pytest.raises(PdfError, match="more than the limit 0"):
        read_pdf(po("de"), "big.pdf", max_pages=0)


def test_amounts_under_a_header_of_records_are_no_document_total() -> None:
    """'Zahlbetrag' heading a column of per-invoice amounts is not the advice's amount."""
    page = PageText(1, ("Zahlungsavis", "Zahler: Weber & Söhne GmbH",
                        "Rechnung Datum Rechnungsbetrag Abzug Zahlbetrag",
                        "RE-2026-00002 01.09.2026 3.473,61 0,00 3.473,61",
                        "RE-2026-00006 09.09.2026 2.118,20 0,00 2.118,20",
                        "Gesamtbetrag: 5.591,81 EUR"))
    doc = extract([page], "avis.pdf")
    assert doc.value("total_gross") == D("5591.81")
    assert doc.value("amount_due") in (None, D("5591.81"))
    assert doc.confidence >= 0.8


def test_a_bill_without_a_readable_title_is_an_invoice_not_the_order_it_names() -> None:
    """OCR lost the big 'INVOICE' title; 'Balance Due' still says what the paper is, so
    the number is the invoice's, not the PO number it quotes."""
    page = PageText(1, ("Sammy Maystone N VV E", "# invoice_number_1", "Date: Jan 1, 2022",
                        "Payment Terms: Net 30 days", "Due Date: Jan 31, 2022",
                        "PO Number: po_number_123", "Balance Due: $127.50",
                        "Total: $127.50"))
    doc = extract([page], "bill.png")
    assert doc.kind == "invoice"
    assert doc.value("number") == "invoice_number_1"
    assert doc.value("order_reference") == "po_number_123"
