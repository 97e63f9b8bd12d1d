"""PDF text with positions (pdfplumber), and pages without a text layer through OCR.

A page is one `PageText`: its lines in reading order and the words with their boxes, so
extraction can say where a value was found (`po.pdf p1 (72,140)`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pdfplumber
import pypdfium2

from engine.core.records import Issue


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based
    lines: tuple[str, ...]
    ocr: bool = False


class PdfError(Exception):
    """The PDF cannot be read (corrupt, encrypted, too many pages)."""


def read_pdf(data: bytes, source: str, *, max_pages: int,
             ocr: Callable[[bytes, str], str] | None = None) -> tuple[list[PageText], list[Issue]]:
    """Text lines per page; pages with no text go to `ocr(png_bytes, where)` when given."""
    issues: list[Issue] = []
    pages: list[PageText] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer raises many types for broken files
        raise PdfError(f"{source}: not a readable PDF ({_reason(exc)})") from exc
    with pdf:
        if len(pdf.pages) > max_pages:
            raise PdfError(f"{source}: {len(pdf.pages)} pages, more than the limit {max_pages}")
        for number, page in enumerate(pdf.pages, start=1):
            try:
                text = page.extract_text(layout=False) or ""
            except Exception as exc:
                issues.append(Issue(f"{source} p{number}", f"text unreadable: {_reason(exc)}"))
                text = ""
            if text.strip():
                pages.append(PageText(number, tuple(_clean(text))))
            elif ocr is not None:
                png = render_page_png(data, number - 1)
                # OCR reads table rules as bars; they are never content
                text = ocr(png, f"{source} p{number}").replace("|", " ")
                pages.append(PageText(number, tuple(_clean(text)), ocr=True))
            else:
                issues.append(Issue(f"{source} p{number}", "no text layer and OCR is off"))
    return pages, issues


def render_page_png(data: bytes, index: int, dpi: int = 300) -> bytes:
    """Rasterise one page with pypdfium2 (fast, no Ghostscript)."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        image = pdf[index].render(scale=dpi / 72).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    finally:
        pdf.close()


def _clean(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    if "Encrypt" in name or "Password" in name or "password" in str(exc).lower():
        return "it is encrypted"
    return f"{name}: {exc}"[:200]
