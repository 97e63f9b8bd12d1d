"""OCR through real Tesseract: one single-threaded Tesseract per worker process, pages in
parallel and in order, word boxes in PDF points that match where the text is printed."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytesseract
import pytest
from PIL import Image

from documents.ocr import OcrError, OcrJob, ocr_page, ocr_pages, ocr_text, tesseract_available
from documents.parse import parse_file
from documents.pdftext import read_pdf, render_page_png
from documents.samples import scanned
from tests.test_pdftext import placed, po, word

needs_tesseract = pytest.mark.skipif(not tesseract_available(), reason="Tesseract is not installed")


def two_pages() -> bytes:
    import weasyprint

    html = ('<style>body { font: 14pt sans-serif }</style>'
            '<p style="page-break-after: always">Bestellung Nummer 4711</p>'
            '<p>Lieferung Seite zwei</p>')
    return bytes(weasyprint.HTML(string=html).write_pdf())


def test_tesseract_rows_become_lines_and_words_in_points() -> None:
    data = {"level": [1, 4, 5, 5, 5, 4, 5, 5],
            "block_num": [0, 1, 1, 1, 1, 1, 1, 1], "par_num": [0, 1, 1, 1, 1, 1, 1, 1],
            "line_num": [0, 1, 1, 1, 1, 2, 2, 2],
            "left": [0, 100, 100, 400, 600, 100, 100, 500],
            "top": [0, 300, 300, 300, 302, 400, 400, 400],
            "width": [0, 0, 250, 20, 100, 0, 300, 200], "height": [0, 0, 50, 50, 48, 0, 50, 50],
            "text": ["", "", "Netto", "|", "10,00", "", "Summe|", "a|b"]}
    got = ocr_text(data, 72 / 300)
    assert got.lines == ("Netto 10,00", "Summe a b")
    netto = got.words[0]
    assert (netto.text, netto.x0, netto.top, netto.x1, netto.bottom) == ("Netto", 24, 72, 84, 84)
    a, b = got.words[3:]
    assert (a.text, b.text) == ("a", "b") and a.x0 == 120 and a.x1 < b.x0 and b.x1 == 168


@needs_tesseract
def test_ocr_boxes_match_the_text_layer() -> None:
    data = placed((72, 144, "Bestellnummer: 4711"), (300, 400, "Gesamtbetrag 119,00 EUR"))
    (text_page,), _ = read_pdf(data, "placed.pdf", max_pages=1)
    got = ocr_page(OcrJob(data, 0, "deu+eng"))
    assert got.lines == text_page.lines
    assert (round(got.width), round(got.height)) == (595, 842)
    for name in ("Bestellnummer:", "4711", "Gesamtbetrag", "EUR"):
        ocr_box, text_box = word(text_page, name), [w for w in got.words if w.text == name][0]
        assert abs(ocr_box.x0 - text_box.x0) < 3 and abs(ocr_box.x1 - text_box.x1) < 3, name
        assert text_box.top >= ocr_box.top - 1 and text_box.bottom <= ocr_box.bottom + 1, name


@needs_tesseract
def test_pages_run_in_parallel_processes_with_single_threaded_tesseract(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "tesseract"
    wrapper.write_text(f'#!/bin/sh\necho "$PPID ${{OMP_THREAD_LIMIT:-unset}}" >> {log}\n'
                       f'exec {pytesseract.pytesseract.tesseract_cmd} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(wrapper))
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    data = two_pages()
    jobs = [OcrJob(data, 1), OcrJob(data, 0), OcrJob(data, 1), OcrJob(data, 0)]
    got = ocr_pages(jobs, workers=2)
    assert [t.lines for t in got] == [("Lieferung Seite zwei",), ("Bestellung Nummer 4711",)] * 2
    calls = [line.split() for line in log.read_text().splitlines()]
    assert len(calls) == 4 and {limit for _, limit in calls} == {"1"}
    assert len({parent for parent, _ in calls}) == 2  # two worker processes
    assert str(os.getpid()) not in {parent for parent, _ in calls}


@needs_tesseract
@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_page_is_named(workers: int) -> None:
    png = render_page_png(two_pages(), 0, dpi=100)
    with pytest.raises(OcrError) as caught:
        ocr_pages([OcrJob(png), OcrJob(b"\x89PNG\r\n\x1a\n broken")], workers=workers)
    assert caught.value.index == 1 and str(caught.value).startswith("OCR failed (")


@needs_tesseract
def test_a_multi_page_scan_goes_through_ocr_page_by_page() -> None:
    result = parse_file(scanned(two_pages(), dpi=300), "scan.pdf")
    assert result["source"] == "ocr" and not any(i["severity"] == "error"
                                                 for i in result["issues"])
    pages, _ = read_pdf(scanned(two_pages(), dpi=300), "scan.pdf", max_pages=5,
                        ocr_all=lambda pdf, wheres: ocr_pages([OcrJob(pdf, i) for i, _ in wheres]))
    assert [(p.number, p.ocr, p.lines) for p in pages] == [
        (1, True, ("Bestellung Nummer 4711",)), (2, True, ("Lieferung Seite zwei",))]
    assert [w.text for w in pages[1].words] == ["Lieferung", "Seite", "zwei"]


@needs_tesseract
def test_a_multi_frame_tiff_is_read_frame_by_frame() -> None:
    frames = [Image.open(io.BytesIO(render_page_png(two_pages(), 1, dpi=200))).convert("L"),
              Image.open(io.BytesIO(render_page_png(po("de"), 0, dpi=200))).convert("L")]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200))
    result = parse_file(out.getvalue(), "fax.tif")
    assert (result["kind"], result["source"]) == ("purchase_order", "ocr")
    number = result["fields"]["number"]
    assert number["value"] == "B-2026-4711" and number["where"].startswith("fax.tif p2")
    assert result["fields"]["total_gross"]["value"] == "15462.86"


@needs_tesseract
def test_a_missing_tesseract_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    result = parse_file(scanned(two_pages()), "scan.pdf")
    errors = [i["message"] for i in result["issues"] if i["severity"] == "error"]
    assert errors == ["scan.pdf p1: OCR is not available: Tesseract is not installed"]
