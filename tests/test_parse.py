"""`parse_file` / `parse_document`: one file read and extracted without a database.

Structured data wins (embedded XML before text, text before OCR); the JSON has issue 4's
shape and names; the intake keeps the extractor's names; bad input is one error, never an
exception. The public samples run when ../shared/corpora is present.
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import parse as parse_module
from documents.camt import write_camt053
from documents.cii import facturx_pdf, invoice_xml
from documents.errors import ReadError
from documents.ocr import tesseract_available
from documents.parse import (
    FIELD_ORDER,
    INTAKE_NAMES,
    ReadOptions,
    canonical,
    coverage_report,
    failed,
    parse_document,
    parse_file,
    rename,
)
from documents.pdftext import render_page_png
from documents.samples import Buyer, OrderedLine, purchase_order_pdf, scanned
from engine.core.records import (
    Address,
    Field,
    ParsedDocument,
    ParsedLine,
    Party,
    Statement,
    StatementEntry,
)
from tests.test_xml_documents import BILLION_LAUGHS, invoice, order_x

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(),
                                   reason=f"public samples not found at {CORPORA} "
                                          "(../shared absent in this checkout)")
needs_tesseract = pytest.mark.skipif(not tesseract_available(), reason="Tesseract is not installed")
KEYS = {"file", "kind", "source", "fields", "lines", "issues"}
LINE_KEYS = {"position", "sku", "description", "quantity", "unit", "unit_price", "net_amount",
             "tax_rate", "where"}

SELLER = Party("Muster Maschinenbau GmbH", Address("Industriestraße 12", "70565", "Stuttgart"),
               vat_id="DE123456788", iban="DE89370400440532013000")
BUYER = Buyer("K-10001", "Hoffmann Bau AG", "Am Hafen 3", "20457", "Hamburg", "DE136695976",
              "DE02120300000000202051", "Jens Hoffmann")
ORDERED = [OrderedLine(1, "HM-200", "Hydraulikmotor HM 200", D(10), "Stk", D("1250.00")),
           OrderedLine(2, "DS-15", "Dichtungssatz 15 mm", D(40), "Stk", D("12.35"))]


def po_pdf() -> bytes:
    return purchase_order_pdf(seller=SELLER, buyer=BUYER, number="B-2026-4711",
                              order_date=date(2026, 9, 2), delivery_date=date(2026, 9, 15),
                              lines=ORDERED, lang="de", quote="AN-2026-0001")


def plain_pdf(text: str = "Rechnung RE-2026-00042", pages: int = 1) -> bytes:
    import weasyprint

    body = "".join(f'<p style="page-break-after: always">{text} {n}</p>' for n in range(pages))
    return bytes(weasyprint.HTML(string=body).write_pdf())


def with_attachment(pdf: bytes, name: str, data: bytes) -> bytes:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        doc.new_attachment(name).set_data(data)
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
    finally:
        doc.close()


def no_ocr(*_args: object) -> str:
    raise AssertionError("OCR must not run here")


def values(result: dict[str, Any]) -> dict[str, Any]:
    return {name: f["value"] for name, f in result["fields"].items()}


# --- the ways in -----------------------------------------------------------------------------


def test_text_pdf_purchase_order_in_issue_4_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_module, "ocr_pages", no_ocr)
    result = parse_file(po_pdf(), "po.pdf")
    assert set(result) == KEYS and json.loads(json.dumps(result)) == result
    assert (result["kind"], result["source"]) == ("purchase_order", "text")
    got = values(result)
    assert {k: got.get(k) for k in ("number", "issue_date", "delivery_date", "currency",
                                    "total_net", "total_tax", "total_gross", "buyer_vat_id",
                                    "quote_reference")} == {
        "number": "B-2026-4711", "issue_date": "2026-09-02", "delivery_date": "2026-09-15",
        "currency": "EUR", "total_net": "12994.00", "total_tax": "2468.86",
        "total_gross": "15462.86", "buyer_vat_id": "DE136695976",
        "quote_reference": "AN-2026-0001"}
    assert result["fields"]["number"]["where"].startswith("po.pdf p1 l")
    assert [(x["sku"], x["quantity"], x["unit_price"], x["net_amount"]) for x in result["lines"]] \
        == [("HM-200", "10", "1250.00", "12500.00"), ("DS-15", "40", "12.35", "494.00")]
    assert all(set(line) == LINE_KEYS for line in result["lines"])
    assert result["issues"] == [] and not failed(result)
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    known = [n for n in result["fields"] if n in order]
    assert known == sorted(known, key=order.__getitem__)


def test_the_intake_keeps_the_extractors_names() -> None:
    doc = parse_document(po_pdf(), "po.pdf")
    assert doc.kind == "purchase_order"
    assert doc.value("order_number") == "B-2026-4711"
    assert doc.value("order_date") == date(2026, 9, 2)
    assert doc.value("vat_id") == "DE136695976"
    assert (doc.value("net_amount"), doc.value("gross_amount")) == (D("12994.00"), D("15462.86"))
    assert "number" not in doc.fields and "total_net" not in doc.fields


def test_facturx_pdf_is_read_from_its_xml_without_text_or_ocr(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_module, "ocr_pages", no_ocr)
    monkeypatch.setattr(parse_module, "read_pdf", no_ocr)
    doc = invoice()
    pdf = facturx_pdf(plain_pdf("Rechnung RE-2026-00042"), invoice_xml(doc))
    result = parse_file(pdf, "re.pdf")
    assert (result["kind"], result["source"]) == ("invoice", "embedded_xml")
    got = values(result)
    assert got["number"] == "RE-2026-00042" and got["issue_date"] == "2026-09-20"
    assert got["total_gross"] == f"{doc.totals.gross:f}" and got["credit_note"] is False
    assert result["fields"]["number"] == {
        "value": "RE-2026-00042", "confidence": 1.0,
        "where": "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"}
    assert [x["tax_rate"] for x in result["lines"]] == ["19.00", "7.00"]
    assert result["issues"] == []


def test_xml_under_another_name_and_utf16_xml_are_found() -> None:
    xml = invoice_xml(invoice())
    pdf = with_attachment(plain_pdf(), "Rechnungsdaten\x07.XML", xml)
    result = parse_file(pdf, "re.pdf")
    assert (result["source"], values(result)["number"]) == ("embedded_xml", "RE-2026-00042")
    utf16 = xml.replace(b"encoding='UTF-8'", b"encoding='UTF-16'").decode().encode("utf-16")
    result = parse_file(utf16, "re16.xml")
    assert (result["source"], values(result)["number"]) == ("xml", "RE-2026-00042")


def test_order_x_goes_to_the_intake_as_a_purchase_order() -> None:
    doc = parse_document(order_x(invoice_xml(invoice())), "order.xml")
    assert doc.kind == "purchase_order"
    assert doc.value("order_number") == "RE-2026-00042"  # the order's own number
    assert doc.value("vat_id") == "DE136695976"  # the buyer's: our customer
    assert doc.value("seller_vat_id") == "DE123456788"
    assert doc.value("currency") == "EUR" and doc.value("net_amount") == D("12599.80")
    assert all(isinstance(x, ParsedLine) for x in doc.lines) and len(doc.lines) == 2


def test_unreadable_embedded_xml_falls_back_to_the_page_text() -> None:
    pdf = with_attachment(po_pdf(), "factur-x.xml", BILLION_LAUGHS)
    result = parse_file(pdf, "po.pdf")
    assert (result["kind"], result["source"]) == ("purchase_order", "text")
    assert values(result)["number"] == "B-2026-4711"
    warning = result["issues"][0]
    assert warning["severity"] == "warning"
    assert warning["message"].startswith("po.pdf (factur-x.xml): not well-formed XML")
    assert "reading the printed pages instead" in warning["message"] and not failed(result)


@needs_tesseract
def test_a_scan_goes_through_ocr() -> None:
    result = parse_file(scanned(po_pdf()), "scan.pdf")
    assert (result["kind"], result["source"]) == ("purchase_order", "ocr")
    assert values(result)["number"] == "B-2026-4711"
    assert [x["sku"] for x in result["lines"]] == ["HM-200", "DS-15"]


@needs_tesseract
def test_an_image_goes_through_ocr() -> None:
    result = parse_file(render_page_png(po_pdf(), 0, dpi=200), "po.png")
    assert (result["kind"], result["source"]) == ("purchase_order", "ocr")
    assert values(result)["total_gross"] == "15462.86"


def test_a_camt_statement_keeps_its_statements() -> None:
    entry = StatementEntry(date(2026, 9, 20), date(2026, 9, 20), D("1190.00"), "EUR",
                           "Hoffmann Bau AG", "DE02120300000000202051", "", "RE-1", "")
    camt = write_camt053(Statement("DE89370400440532013000", "EUR", "1", D("0"), D("1190.00"),
                                   (entry,)), message_id="M1",
                         created=datetime(2026, 9, 21, tzinfo=UTC), owner_name="Us")
    result = parse_file(camt, "camt.xml")
    assert (result["kind"], result["source"]) == ("bank_statement", "xml")
    assert result["statements"][0]["entries"][0]["amount"] == "1190.00"
    assert parse_document(camt, "camt.xml").statements[0].entries[0].amount == D("1190.00")


@pytest.mark.parametrize("first_line", ["Bestellung", "Hallo, anbei, wie besprochen, unsere"])
def test_a_mail_body_is_read_by_the_text_extractor(first_line: str) -> None:
    text = f"{first_line}\nBestellung\nBestellnummer: 4711\nDatum: 02.09.2026\n" \
           "Gesamtbetrag: 119,00 EUR\n"
    result = parse_file(text.encode("cp1252"), "mail.txt")  # not UTF-8: read as cp1252
    assert (result["kind"], result["source"]) == ("purchase_order", "text")
    assert values(result)["number"] == "4711" and values(result)["total_gross"] == "119.00"


# --- bad input -------------------------------------------------------------------------------


def encrypted_pdf() -> bytes:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(plain_pdf()))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def giant_png(side: int = 20000) -> bytes:
    """Only a PNG header saying 20000 × 20000 pixels: a decompression bomb's calling card."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + \
            struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) \
        + chunk(b"IEND", b"")


BAD: dict[str, tuple[Any, str]] = {
    "empty": (lambda: b"", "the file is empty"),
    "garbage": (lambda: bytes(range(256)) * 4, "not a PDF, image"),
    "broken-pdf": (lambda: b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "not a readable PDF"),
    "truncated-pdf": (lambda: plain_pdf()[:300], "not a readable PDF"),
    "encrypted-pdf": (encrypted_pdf, "encrypted"),
    "too-many-pages": (lambda: plain_pdf(pages=3), "3 pages, more than the limit 2"),
    "entities": (lambda: BILLION_LAUGHS, "evil: "),
    "unknown-xml": (lambda: b"<html><body>hi</body></html>", "does not read"),
    "broken-image": (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image"),
    "giant-image": (giant_png, "DecompressionBomb"),
    "mail": (lambda: b"From: a@b.de\nSubject: PO\n\nhello", "mail intake"),
    "not-a-statement": (lambda: b"a;b;c\n1;2;3\n", "mappings"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_error_and_no_exception(case: str) -> None:
    make, reason = BAD[case]
    result = parse_file(make(), "evil", ReadOptions(max_pages=2))
    assert failed(result) and set(result) == KEYS
    assert (result["kind"], result["source"], result["fields"]) == ("unknown", None, {})
    errors = [i for i in result["issues"] if i["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["message"].startswith("evil")
    assert reason in errors[0]["message"], errors[0]["message"]
    with pytest.raises(ReadError):
        parse_document(make(), "evil", ReadOptions(max_pages=2))


def test_a_hostile_file_name_is_only_a_name() -> None:
    result = parse_file(b"", "../../etc/passwd")
    assert result["file"] == "../../etc/passwd" and failed(result)


PREFIXES = [b"", b"%PDF-1.4\n", b"<?xml version='1.0'?>", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04",
            b"II*\x00", b"\xff\xd8\xff", b":20:X\n:25:Y\n", b"From: x\n"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PREFIXES), st.binary(max_size=1500))
def test_random_bytes_never_raise(prefix: bytes, data: bytes) -> None:
    result = parse_file(prefix + data, "fuzz.bin", ReadOptions(max_pages=3))
    assert set(result) >= KEYS
    json.dumps(result)
    for issue in result["issues"]:
        assert issue["severity"] in ("error", "warning")
    expect = pytest.raises(ReadError) if failed(result) else contextlib.nullcontext()
    with expect:
        parse_document(prefix + data, "fuzz.bin", ReadOptions(max_pages=3))


_PDF = purchase_order_pdf(seller=SELLER, buyer=BUYER, number="B-1", order_date=date(2026, 9, 2),
                          delivery_date=date(2026, 9, 15), lines=ORDERED)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_PDF) - 1), st.integers(0, 255)), max_size=8),
       st.integers(200, len(_PDF)))
def test_damaged_pdfs_never_raise(flips: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(_PDF[:keep])
    for at, byte in flips:
        if at < len(data):
            data[at] = byte
    result = parse_file(bytes(data), "damaged.pdf", ReadOptions(max_pages=3))
    assert set(result) >= KEYS and (not failed(result) or result["source"] is None)


# --- vocabularies ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(INTAKE_NAMES))
def test_the_two_vocabularies_map_one_to_one(kind: str) -> None:
    names = INTAKE_NAMES[kind]
    assert len(set(names.values())) == len(names)
    assert not set(names.values()) & (set(FIELD_ORDER) - set(names))  # no name means two things
    fields = {n: Field(n, 1.0, "x") for n in (*FIELD_ORDER, "customer_number", "payment_date")}
    doc = ParsedDocument(kind, "x", fields)
    assert canonical(rename(doc, names)) == doc


# --- the public samples ----------------------------------------------------------------------


@needs_corpora
def test_the_facturx_sample_pdf_is_its_embedded_xml() -> None:
    pdf = (CORPORA / "facturx/pdf/invoice_EN16931.pdf").read_bytes()
    result = parse_file(pdf, "invoice_EN16931.pdf")
    assert (result["kind"], result["source"]) == ("invoice", "embedded_xml")
    assert {k: values(result).get(k) for k in FIELD_ORDER} == {
        "number": "F20260023", "issue_date": "2026-01-31", "due_date": "2026-03-02",
        "delivery_date": "2026-01-28", "currency": "EUR", "total_net": "100.00",
        "total_tax": "4.90", "total_gross": "104.90", "amount_due": "104.90",
        "seller_name": "LE FOURNISSEUR", "seller_vat_id": "FR11123456782",
        "buyer_name": "LE CLIENT", "buyer_vat_id": "FR05987654321",
        "order_reference": "PO201925478", "iban": "FR2012542547256985425874698",
        "payment_reference": "F20260023BUYER"}
    assert len(result["lines"]) == 3 and result["issues"] == []


def corpus_files() -> list[Path]:
    folders = ("en16931/cii/examples", "en16931/ubl/examples", "facturx/xml", "facturx/pdf",
               "invoice2data")
    return [p for folder in folders for p in sorted((CORPORA / folder).iterdir())
            if p.suffix.lower() in (".xml", ".pdf")]


@needs_corpora
def test_report_which_fields_each_source_found(capsys: pytest.CaptureFixture[str]) -> None:
    results = [parse_file(p.read_bytes(), p.name) for p in corpus_files()]
    assert not [r["file"] for r in results if failed(r)]
    report = coverage_report(results)
    with capsys.disabled():
        print("\nfields found per source (public samples)\n" + report)
    structured = [r for r in results if r["source"] in ("xml", "embedded_xml")]
    assert len(structured) >= 48
    for name in ("number", "issue_date", "currency", "total_net", "total_gross", "seller_name",
                 "buyer_name"):
        assert all(r["fields"].get(name, {}).get("value") for r in structured), name
