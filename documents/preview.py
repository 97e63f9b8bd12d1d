"""A page of a PDF as a PNG picture for the review screen, rasterised with pypdfium2.

Errors are PreviewError naming the file and page; the caller shows them instead of the
picture. Images (PNG, JPEG, TIFF scans) are converted to PNG as they are."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image

MAX_WIDTH = 2000


class PreviewError(Exception):
    """The page cannot be shown (not a PDF or image, encrypted, no such page)."""


def page_count(data: bytes, source: str) -> int:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PreviewError(f"{source}: cannot open the PDF: {exc}") from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def page_png(data: bytes, source: str, page: int = 1, *, width: int = 900) -> bytes:
    """Page `page` (1-based) of a PDF, or an image file, as PNG `width` pixels wide."""
    width = max(100, min(width, MAX_WIDTH))
    if not data.startswith(b"%PDF"):
        return _image(data, source, width)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PreviewError(f"{source}: cannot open the PDF: {exc}") from exc
    try:
        if not 1 <= page <= len(pdf):
            raise PreviewError(f"{source}: there is no page {page} (it has {len(pdf)})")
        pdf_page = pdf[page - 1]
        scale = width / pdf_page.get_width()
        bitmap = pdf_page.render(scale=scale)
        picture = bitmap.to_pil()
        out = io.BytesIO()
        picture.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        pdf.close()


def _image(data: bytes, source: str, width: int) -> bytes:
    try:
        opened = Image.open(io.BytesIO(data))
        opened.load()
    except Exception as exc:  # Pillow raises many kinds for bad input
        raise PreviewError(f"{source}: not a PDF or an image that can be shown") from exc
    picture: Image.Image = opened
    if picture.width > width:
        picture = picture.resize((width, round(picture.height * width / picture.width)))
    out = io.BytesIO()
    picture.convert("RGB").save(out, format="PNG")
    return out.getvalue()
