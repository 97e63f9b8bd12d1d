"""PDF text with positions, and pages without a text layer through OCR.

A page is one `PageText`: its lines in reading order and the words with their boxes, so
extraction can say where a value was found (`po.pdf p1 (72,140)`).

Text comes from pdfium's text API (pypdfium2): one call per character for its code point
and two per word for its box and baseline, many times faster than pdfminer. Lines are
built from the same words (grouped by baseline, sorted by x), so lines and words agree.
pdfplumber stays as the fallback for a document or page pdfium cannot read.

Pages without text go to OCR: `ocr_all(data, [(page index, where), …])` reads them all at
once (in parallel, see `documents.ocr.ocr_pages`), or `ocr(png, where)` one at a time.
Either may answer with plain text or with an `OcrText` (text and word boxes in points).
"""

from __future__ import annotations

import ctypes
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pypdfium2
import pypdfium2.raw as pdfium_c

from engine.core.records import Issue

OCR_DPI = 300
MAX_PIXELS = 150_000_000  # config `limits.image_megapixels`: a page or image OCR may decode


@dataclass(frozen=True)
class Word:
    """One word and its box in PDF points, origin at the page's top left."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based
    lines: tuple[str, ...]
    ocr: bool = False
    words: tuple[Word, ...] = ()  # in reading order; empty where positions are unknown
    width: float = 0.0  # page size in points
    height: float = 0.0


@dataclass(frozen=True)
class OcrText:
    """What OCR read on one page: its lines, and its words with boxes in points."""

    lines: tuple[str, ...]
    words: tuple[Word, ...] = ()
    width: float = 0.0  # the image's size in points
    height: float = 0.0


class PdfError(Exception):
    """The PDF cannot be read (corrupt, encrypted, too many pages, giant images)."""


OcrOne = Callable[[bytes, str], "str | OcrText"]
OcrAll = Callable[[bytes, Sequence[tuple[int, str]]], "Sequence[str | OcrText]"]


def read_pdf(data: bytes, source: str, *, max_pages: int, ocr: OcrOne | None = None,
             ocr_all: OcrAll | None = None,
             max_pixels: int = MAX_PIXELS) -> tuple[list[PageText], list[Issue]]:
    """Lines and words per page; pages with no text go to `ocr_all` or `ocr` when given."""
    try:
        pdf = pypdfium2.PdfDocument(data)
    except Exception as exc:  # PdfiumError; ctypes and OS errors on odd input
        if _encrypted(exc):
            raise PdfError(f"{source}: not a readable PDF (it is encrypted)") from exc
        return _read_with_pdfplumber(data, source, max_pages, exc)
    issues: list[Issue] = []
    pages: dict[int, PageText] = {}
    scanned: list[tuple[int, float, float]] = []
    plumber: _Plumber | None = None
    try:
        count = len(pdf)
        if count > max_pages:
            raise PdfError(f"{source}: {count} pages, more than the limit {max_pages}")
        for index in range(count):
            number = index + 1
            page = None
            try:
                page = pdf[index]
                width, height = page.get_size()  # as shown, after /Rotate
                try:
                    rows = page_rows(page)
                except Exception:  # noqa: BLE001 - pdfium could not read the text: try pdfminer
                    plumber = plumber or _Plumber(data)
                    rows = plumber.rows(index)
                if rows:
                    pages[number] = _page(number, rows, width, height)
                elif ocr is not None or ocr_all is not None:
                    _check_pixels(page, width, height, f"{source} p{number}", max_pixels)
                    scanned.append((index, width, height))
                else:
                    issues.append(Issue(f"{source} p{number}", "no text layer and OCR is off"))
            except PdfError:
                raise
            except Exception as exc:  # noqa: BLE001 - one unreadable page is a warning
                issues.append(Issue(f"{source} p{number}", f"page unreadable: {_reason(exc)}"))
            finally:
                if page is not None:
                    page.close()
        if count == 0 or (issues and not pages and not scanned and all(
                i.message.startswith("page unreadable") for i in issues)):
            raise PdfError(f"{source}: not a readable PDF (no page could be read"
                           f"{': ' + issues[0].message if issues else ''})")
    finally:
        pdf.close()
        if plumber is not None:
            plumber.close()
    if scanned:
        wheres = [(index, f"{source} p{index + 1}") for index, _, _ in scanned]
        if ocr_all is not None:
            results = list(ocr_all(data, wheres))
        else:
            assert ocr is not None
            results = [ocr(_rendered(data, index, where), where) for index, where in wheres]
        for (index, width, height), result in zip(scanned, results, strict=True):
            text = result if isinstance(result, OcrText) else ocr_text_of(result)
            pages[index + 1] = PageText(index + 1, text.lines, True, text.words, width, height)
    return [pages[n] for n in sorted(pages)], issues


def _page(number: int, rows: list[list[Word]], width: float, height: float) -> PageText:
    lines = tuple(" ".join(w.text for w in row) for row in rows)
    return PageText(number, lines, False, tuple(w for row in rows for w in row), width, height)


def page_rows(page: pypdfium2.PdfPage) -> list[list[Word]]:
    """The words of one page in lines, with their boxes as the page is shown (top-left
    origin, after the crop box and /Rotate), from pdfium's text API."""
    textpage = page.get_textpage()
    try:
        return _rows(textpage, page.get_bbox(), page.get_rotation() % 360)
    finally:
        textpage.close()


def _rows(textpage: Any, bbox: tuple[float, float, float, float],
          rotation: int) -> list[list[Word]]:
    raw = textpage.raw
    count = pdfium_c.FPDFText_CountChars(raw)
    if count <= 0:
        return []
    text = _page_string(raw, count)
    rect = pdfium_c.FS_RECTF()
    rect_p = ctypes.byref(rect)
    ox, oy = ctypes.c_double(), ctypes.c_double()
    ox_p, oy_p = ctypes.byref(ox), ctypes.byref(oy)
    loose_box = pdfium_c.FPDFText_GetLooseCharBox
    origin = pdfium_c.FPDFText_GetCharOrigin
    found: list[tuple[str, float, float, float, float, float, float]] = []
    for match in _WORD.finditer(text):
        first, last = match.start(), match.end() - 1
        if not loose_box(raw, first, rect_p):
            continue
        left, bottom, right, top = rect.left, rect.bottom, rect.right, rect.top
        if last != first and loose_box(raw, last, rect_p):
            left, bottom = min(left, rect.left), min(bottom, rect.bottom)
            right, top = max(right, rect.right), max(top, rect.top)
        if not origin(raw, first, ox_p, oy_p):
            ox.value, oy.value = left, bottom
        found.append((match.group(), left, bottom, right, top, ox.value, oy.value))
    return _reading_order(_shown(found, bbox, rotation))


def _shown(found: list[tuple[str, float, float, float, float, float, float]],
           bbox: tuple[float, float, float, float],
           rotation: int) -> list[tuple[float, Word]]:
    """(baseline, word) in the page as shown: origin top left, y down, after /Rotate."""
    x_min, y_min, x_max, y_max = bbox
    words = []
    for text, left, bottom, right, top, ox, oy in found:
        if rotation == 90:
            box, base = (bottom - y_min, left - x_min, top - y_min, right - x_min), ox - x_min
        elif rotation == 180:
            box, base = (x_max - right, bottom - y_min, x_max - left, top - y_min), oy - y_min
        elif rotation == 270:
            box, base = (y_max - top, x_max - right, y_max - bottom, x_max - left), x_max - ox
        else:
            box, base = (left - x_min, y_max - top, right - x_min, y_max - bottom), y_max - oy
        if "\x02" in text:
            text = text.replace("\x02", "-")
        words.append((base, Word(text, round(box[0], 2), round(box[1], 2), round(box[2], 2),
                                 round(box[3], 2))))
    return words


# Anything but blanks and control characters; U+0002 is pdfium's mark for a hyphen at the
# end of a line and stays in its word (as "-").
_WORD = re.compile("[^\x00\x01\x03-\x20\x7f\xa0\u2000-\u200b\u3000\ufeff\ufffd-\uffff]+")


def _page_string(raw: Any, count: int) -> str:
    """The page's characters, one per character index: one call for the whole page when
    pdfium's text has exactly one UTF-16 unit per character (nearly always), else one call
    per character."""
    buffer = (ctypes.c_ushort * (count + 1))()
    units = pdfium_c.FPDFText_GetText(raw, 0, count, buffer) - 1  # without the final NUL
    if units == count:
        text = bytes(buffer)[: 2 * count].decode("utf-16-le", errors="replace")
        if len(text) == count:
            return text
    codes = (pdfium_c.FPDFText_GetUnicode(raw, i) for i in range(count))
    return "".join(chr(c) if c < 0xD800 or 0xDFFF < c <= 0x10FFFF else "\ufffd" for c in codes)


def _reading_order(words: list[tuple[float, Word]]) -> list[list[Word]]:
    """Group words into lines by baseline (a few points apart at most), then left to right."""
    rows: list[tuple[float, list[Word]]] = []
    for baseline, word in sorted(words, key=lambda bw: (bw[0], bw[1].x0)):
        size = word.bottom - word.top
        if rows and baseline - rows[-1][0] <= max(2.0, 0.3 * size):
            rows[-1][1].append(word)
        else:
            rows.append((baseline, [word]))
    return [sorted(row, key=lambda w: w.x0) for _, row in rows]


def ocr_text_of(text: str) -> OcrText:
    """OCR text without positions (an `ocr` callback that answers with a string)."""
    return OcrText(tuple(_clean(text.replace("|", " "))))  # table rules are never content


def render_page_png(data: bytes, index: int, dpi: int = OCR_DPI) -> bytes:
    """Rasterise one page with pypdfium2 (fast, no Ghostscript)."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        image = pdf[index].render(scale=dpi / 72).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    finally:
        pdf.close()


def _rendered(data: bytes, index: int, where: str) -> bytes:
    try:
        return render_page_png(data, index)
    except Exception as exc:  # noqa: BLE001 - pdfium, Pillow and memory errors
        raise PdfError(f"{where}: cannot be rasterised for OCR ({_reason(exc)})") from exc


def _check_pixels(page: pypdfium2.PdfPage, width: float, height: float, where: str,
                  max_pixels: int) -> None:
    """A page to rasterise, and each image on it, must stay below `max_pixels`."""
    scale = OCR_DPI / 72
    sizes = [(round(width * scale), round(height * scale), f"at {OCR_DPI} dpi")]
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=3):
        w, h = obj.get_px_size()
        sizes.append((w, h, "an image"))
    for w, h, what in sizes:
        if w * h > max_pixels:
            raise PdfError(f"{where}: {what} of {w}×{h} pixels, more than the limit "
                           f"{max_pixels // 1_000_000} megapixels")


class _Plumber:
    """pdfplumber, opened once, for the pages pdfium cannot read."""

    def __init__(self, data: bytes) -> None:
        import pdfplumber

        self.pdf = pdfplumber.open(io.BytesIO(data))

    def rows(self, index: int) -> list[list[Word]]:
        page = self.pdf.pages[index]
        found = page.extract_words(keep_blank_chars=False, use_text_flow=False)
        words = [(float(w["bottom"]), Word(w["text"], float(w["x0"]), float(w["top"]),
                                           float(w["x1"]), float(w["bottom"]))) for w in found]
        return _reading_order(words)

    def close(self) -> None:
        self.pdf.close()


def _read_with_pdfplumber(data: bytes, source: str, max_pages: int,
                          pdfium_error: Exception) -> tuple[list[PageText], list[Issue]]:
    """The whole document through pdfminer, when pdfium cannot open it (no OCR here)."""
    try:
        plumber = _Plumber(data)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many types for broken files
        raise PdfError(f"{source}: not a readable PDF ({_reason(pdfium_error)})") from exc
    pages: list[PageText] = []
    issues: list[Issue] = []
    try:
        count = len(plumber.pdf.pages)
        if count > max_pages:
            raise PdfError(f"{source}: {count} pages, more than the limit {max_pages}")
        for index, page in enumerate(plumber.pdf.pages):
            try:
                rows = plumber.rows(index)
            except Exception as exc:  # noqa: BLE001 - one unreadable page is a warning
                issues.append(Issue(f"{source} p{index + 1}", f"text unreadable: {_reason(exc)}"))
                continue
            if rows:
                pages.append(_page(index + 1, rows, float(page.width), float(page.height)))
            else:
                issues.append(Issue(f"{source} p{index + 1}", "no text layer that pdfium can "
                                    "render for OCR"))
    except PdfError:
        raise
    except Exception as exc:  # noqa: BLE001 - pdfminer fails lazily too
        raise PdfError(f"{source}: not a readable PDF ({_reason(exc)})") from exc
    finally:
        plumber.close()
    if not pages:
        raise PdfError(f"{source}: not a readable PDF ({_reason(pdfium_error)})")
    return pages, issues


def _clean(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _encrypted(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return "encrypt" in text or "password" in text


def _reason(exc: Exception) -> str:
    if _encrypted(exc):
        return "it is encrypted"
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
