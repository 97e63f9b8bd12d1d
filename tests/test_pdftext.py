"""Reading a PDF's text layer with positions (pdfium), lines built from the same words, and
pdfplumber as the fallback: the boxes are where the words are printed, in PDF points."""

from __future__ import annotations

import io

import pdfplumber
import pytest

from documents import pdftext
from documents.pdftext import OcrText, PageText, Word, read_pdf
from documents.samples import (
    SAMPLE_BUYER,
    SAMPLE_SELLER,
    sample_order,
    scanned,
)

SELLER, BUYER = SAMPLE_SELLER, SAMPLE_BUYER
po = sample_order


def placed(*texts: tuple[float, float, str], size: str = "A4") -> bytes:
    """A page with each text absolutely placed at (left, top) points, 10 pt Helvetica-ish."""
    import weasyprint

    body = "".join(f'<div style="position:absolute;left:{x}pt;top:{y}pt;white-space:pre">'
                   f"{t}</div>" for x, y, t in texts)
    css = f"@page {{ size: {size}; margin: 0 }} body {{ margin: 0; font: 10pt/12pt sans-serif }}"
    return bytes(weasyprint.HTML(string=f"<style>{css}</style>{body}").write_pdf())


def word(page: PageText, text: str) -> Word:
    found = [w for w in page.words if w.text == text]
    assert len(found) == 1, (text, page.words)
    return found[0]


@pytest.mark.parametrize("lang", ["de", "en"])
def test_lines_are_the_words_and_read_like_pdfplumber(lang: str) -> None:
    data = po(lang)
    (page,), issues = read_pdf(data, "po.pdf", max_pages=5)
    assert issues == [] and not page.ocr
    assert (round(page.width), round(page.height)) == (595, 842)
    assert " ".join(page.lines).split() == [w.text for w in page.words]
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = pdf.pages[0].extract_text()
    assert list(page.lines) == [" ".join(x.split()) for x in text.splitlines() if x.strip()]
    for w in page.words:
        assert 0 <= w.x0 < w.x1 <= page.width and 0 <= w.top < w.bottom <= page.height, w


def test_boxes_are_where_the_words_are_printed() -> None:
    (page,), _ = read_pdf(placed((72, 144, "Bestellnummer: 4711"), (300, 400, "Brutto 119,00")),
                          "placed.pdf", max_pages=1)
    label, number = word(page, "Bestellnummer:"), word(page, "4711")
    assert abs(label.x0 - 72) < 1.5 and label.top + 1 >= 144 and label.bottom <= 144 + 13
    assert label.x1 < number.x0 and abs(number.top - label.top) < 0.5
    brutto = word(page, "Brutto")
    assert abs(brutto.x0 - 300) < 1.5 and abs(brutto.top - label.top - 256) < 1.5
    assert page.lines == ("Bestellnummer: 4711", "Brutto 119,00")


def test_a_line_is_read_left_to_right_whatever_the_order_it_was_written_in() -> None:
    data = placed((400, 100, "Gesamtbetrag"), (500, 100, "119,00 EUR"), (72, 100, "Summe:"),
                  (72, 300, "unten"), (72, 200, "Mitte"))
    (page,), _ = read_pdf(data, "order.pdf", max_pages=1)
    assert page.lines == ("Summe: Gesamtbetrag 119,00 EUR", "Mitte", "unten")
    assert [w.text for w in page.words] == ["Summe:", "Gesamtbetrag", "119,00", "EUR", "Mitte",
                                            "unten"]


def test_pages_keep_their_numbers_and_sizes() -> None:
    import weasyprint

    html = ('<style>@page { size: A5 landscape }</style><p style="page-break-after: always">'
            'Seite eins</p><p>Seite zwei</p>')
    pages, _ = read_pdf(bytes(weasyprint.HTML(string=html).write_pdf()), "two.pdf", max_pages=2)
    assert [(p.number, p.lines) for p in pages] == [(1, ("Seite eins",)), (2, ("Seite zwei",))]
    assert (round(pages[1].width), round(pages[1].height)) == (595, 420)


def test_pdfplumber_reads_a_page_pdfium_cannot(monkeypatch: pytest.MonkeyPatch) -> None:
    data = po("de")
    (expected,), _ = read_pdf(data, "po.pdf", max_pages=5)

    def broken(*_args: object) -> list[list[Word]]:
        raise RuntimeError("pdfium cannot read this page")

    monkeypatch.setattr(pdftext, "page_rows", broken)
    (page,), issues = read_pdf(data, "po.pdf", max_pages=5)
    assert issues == [] and page.lines == expected.lines
    assert [w.text for w in page.words] == [w.text for w in expected.words]
    ours, theirs = word(expected, "B-2026-4711"), word(page, "B-2026-4711")
    assert abs(ours.x0 - theirs.x0) < 1 and abs(ours.x1 - theirs.x1) < 1


def test_pages_without_text_go_to_ocr_with_or_without_positions() -> None:
    scan = scanned(po("de"))
    pages, issues = read_pdf(scan, "scan.pdf", max_pages=5)
    assert pages == [] and [str(i) for i in issues] == ["scan.pdf p1: no text layer and OCR is off"]

    seen: list[tuple[int, str]] = []

    def plain(png: bytes, where: str) -> str:
        assert png.startswith(b"\x89PNG")
        seen.append((0, where))
        return "Bestellung | B-1\n\n  Netto  10,00 "

    (page,), _ = read_pdf(scan, "scan.pdf", max_pages=5, ocr=plain)
    assert seen == [(0, "scan.pdf p1")] and page.ocr and page.words == ()
    assert page.lines == ("Bestellung B-1", "Netto 10,00")

    boxes = OcrText(("Bestellung B-1",), (Word("Bestellung", 72, 80, 130, 92),
                                          Word("B-1", 135, 80, 150, 92)))

    def all_at_once(pdf: bytes, wheres: object) -> list[OcrText]:
        assert pdf == scan and wheres == [(0, "scan.pdf p1")]
        return [boxes]

    (page,), _ = read_pdf(scan, "scan.pdf", max_pages=5, ocr_all=all_at_once)
    assert page.ocr and page.words == boxes.words and page.lines == boxes.lines
    assert (round(page.width), round(page.height)) == (595, 842)


def turned(data: bytes, how: str) -> bytes:
    """The same page drawn in other PDF coordinates that show it alike: drawn sideways with
    /Rotate making it upright again, or with the page's origin moved."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
    page = writer.pages[0]
    w, h = float(page.mediabox.width), float(page.mediabox.height)
    matrix, box, rotate = {
        "rotate-90": ([0, 1, -1, 0, h, 0], (0, 0, h, w), 90),
        "rotate-180": ([-1, 0, 0, -1, w, h], (0, 0, w, h), 180),
        "rotate-270": ([0, -1, 1, 0, 0, w], (0, 0, h, w), 270),
        "moved-origin": ([1, 0, 0, 1, 100, -50], (100, -50, w + 100, h - 50), 0),
    }[how]
    page.add_transformation(matrix)
    page.mediabox = pypdf.generic.RectangleObject(box)
    page.cropbox = pypdf.generic.RectangleObject(box)
    if rotate:
        page.rotation = rotate
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("how", ["rotate-90", "rotate-180", "rotate-270", "moved-origin"])
def test_boxes_are_as_the_page_is_shown(how: str) -> None:
    data = po("en")
    (upright,), _ = read_pdf(data, "po.pdf", max_pages=1)
    (page,), issues = read_pdf(turned(data, how), "po.pdf", max_pages=1)
    assert issues == [] and (round(page.width), round(page.height)) == (595, 842)
    assert page.lines == upright.lines
    for ours, theirs in zip(page.words, upright.words, strict=True):
        assert ours.text == theirs.text
        assert max(abs(ours.x0 - theirs.x0), abs(ours.top - theirs.top), abs(ours.x1 - theirs.x1),
                   abs(ours.bottom - theirs.bottom)) < 0.6, (ours, theirs)
