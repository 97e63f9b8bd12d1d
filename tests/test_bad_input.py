"""Bad PDFs for the page reader: corrupt, truncated, encrypted, too many pages, giant pages
and images. Each is a `PdfError` naming the file (and page), never pdfium's or pdfminer's
own exception, and nothing is rendered or OCRed before the limits are checked."""

from __future__ import annotations

import io
import json
import zlib

import pypdfium2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import pdftext
from documents.parse import ReadOptions, failed, parse_file
from documents.pdftext import MAX_PIXELS, PdfError, read_pdf
from engine.core.config import SCHEMA
from tests.test_pdftext import po

PO = po("de")


def no_ocr(*_args: object) -> str:
    raise AssertionError("nothing may be rendered or OCRed here")


def hand_made_pdf(page: bytes, *objects: bytes, size: tuple[int, int] = (595, 842)) -> bytes:
    """One page whose content stream is `page`; `objects` become objects 5, 6, …"""
    body = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
            b"/Resources << /XObject << /Im0 5 0 R >> >> >>" % size,
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(page), page), *objects]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, obj in enumerate(body, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, obj))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % at for at in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(body) + 1, xref))
    return out.getvalue()


def image_pdf(width: int, height: int) -> bytes:
    """A scanned-looking page: one grey image of width × height pixels, no text."""
    pixels = zlib.compress(b"\x80" * 64)  # a bomb needs not be big on disk
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
             % (width, height, len(pixels), pixels))
    return hand_made_pdf(b"q 595 0 0 842 0 0 cm /Im0 Do Q", image)


def many_pages(count: int) -> bytes:
    pdf = pypdfium2.PdfDocument.new()
    for _ in range(count):
        pdf.new_page(595, 842)
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()


def encrypted(user_password: str) -> bytes:
    import pypdf  # comes with factur-x

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(PO))
    writer.encrypt(user_password, "owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("data", [b"%PDF-1.7\n" + bytes(range(256)) * 8,
                                  b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj trailer",
                                  PO.replace(b"xref", b"xxxx").replace(b"obj", b"jbo")],
                         ids=["garbage", "no-pages", "mangled"])
def test_corrupt_pdfs_are_a_pdf_error_naming_the_file(data: bytes) -> None:
    with pytest.raises(PdfError, match=r"^bad\.pdf: not a readable PDF \(.+\)$"):
        read_pdf(data, "bad.pdf", max_pages=5, ocr=no_ocr)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_pdfs_are_a_pdf_error(keep: float) -> None:
    with pytest.raises(PdfError, match=r"^cut\.pdf: not a readable PDF"):
        read_pdf(PO[:int(len(PO) * keep)], "cut.pdf", max_pages=5, ocr=no_ocr)


def test_a_pdf_that_needs_a_password_is_named_encrypted() -> None:
    with pytest.raises(PdfError, match=r"^locked\.pdf: not a readable PDF \(it is encrypted\)$"):
        read_pdf(encrypted("user-secret"), "locked.pdf", max_pages=5)
    result = parse_file(encrypted("user-secret"), "locked.pdf")
    assert failed(result) and "encrypted" in result["issues"][0]["message"]


def test_a_pdf_encrypted_only_against_changes_is_read() -> None:
    (page,), issues = read_pdf(encrypted(""), "signed.pdf", max_pages=5)
    assert issues == [] and "Bestellnummer: B-2026-4711" in page.lines


def test_thousands_of_pages_stop_at_the_limit_before_reading_any() -> None:
    data = many_pages(2500)
    with pytest.raises(PdfError, match=r"^huge\.pdf: 2500 pages, more than the limit 2000$"):
        read_pdf(data, "huge.pdf", max_pages=2000, ocr=no_ocr)  # the most config allows
    result = parse_file(data, "huge.pdf", ReadOptions(max_pages=50))
    assert [i["message"] for i in result["issues"]] == [
        "huge.pdf: 2500 pages, more than the limit 50"]


def test_a_giant_page_is_not_rasterised() -> None:
    data = hand_made_pdf(b"", size=(14400, 14400))  # 200 × 200 inches, no text
    with pytest.raises(PdfError, match=r"^poster\.pdf p1: at 300 dpi of 60000×60000 pixels, "
                                       r"more than the limit 150 megapixels$"):
        read_pdf(data, "poster.pdf", max_pages=5, ocr=no_ocr)


def test_a_giant_image_is_not_decoded() -> None:
    with pytest.raises(PdfError, match=r"^bomb\.pdf p1: an image of 40000×30000 pixels, "
                                       r"more than the limit 150 megapixels$"):
        read_pdf(image_pdf(40000, 30000), "bomb.pdf", max_pages=5, ocr=no_ocr)
    with pytest.raises(PdfError, match=r"limit 1 megapixels"):
        read_pdf(image_pdf(1200, 1000), "small.pdf", max_pages=5, ocr=no_ocr,
                 max_pixels=1_000_000)
    seen: list[str] = []
    read_pdf(image_pdf(1200, 1000), "ok.pdf", max_pages=5,
             ocr=lambda _png, where: seen.append(where) or "Bestellung")
    assert seen == ["ok.pdf p1"]


def test_the_limit_is_the_configs_default() -> None:
    assert SCHEMA["limits.image_megapixels"][0] * 1_000_000 == MAX_PIXELS


def test_pdfminer_errors_are_wrapped_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def pdfium_cannot(*_args: object) -> None:
        raise pypdfium2.PdfiumError("Failed to load document")

    monkeypatch.setattr(pdftext.pypdfium2, "PdfDocument", pdfium_cannot)
    (page,), _ = read_pdf(PO, "po.pdf", max_pages=5)  # pdfplumber reads what pdfium cannot
    assert "Bestellnummer: B-2026-4711" in page.lines and page.words
    with pytest.raises(PdfError, match=r"^po\.pdf: 1 pages, more than the limit 0$"):
        read_pdf(PO, "po.pdf", max_pages=0)
    for data in (b"%PDF-1.7\n garbage", PO[: len(PO) // 2], hand_made_pdf(b"BT /F1 12 Tf ET")):
        with pytest.raises(PdfError, match=r"^po\.pdf: not a readable PDF \(.+\)$"):
            read_pdf(data, "po.pdf", max_pages=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(PO) - 1), st.integers(0, 255)), max_size=12),
       st.integers(0, len(PO)))
def test_damaged_pdfs_only_ever_raise_pdf_error(flips: list[tuple[int, int]], keep: int) -> None:
    data = bytearray(PO[:keep])
    for at, byte in flips:
        if at < len(data):
            data[at] = byte
    try:
        pages, _ = read_pdf(bytes(data), "damaged.pdf", max_pages=3, ocr=lambda _p, _w: "")
    except PdfError as exc:
        assert str(exc).startswith("damaged.pdf")
    else:
        for page in pages:
            assert " ".join(page.lines).split() == [w.text for w in page.words] or page.ocr


def test_an_image_over_the_pixel_limit_is_refused_before_ocr() -> None:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (1200, 1000), 255).save(out, format="PNG")
    result = parse_file(out.getvalue(), "huge.png", ReadOptions(max_megapixels=1))
    assert failed(result)
    assert "1200×1000 pixels, more than the limit of 1 megapixels" in json.dumps(
        result, ensure_ascii=False)
