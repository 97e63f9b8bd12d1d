"""Factur-X, ZUGFeRD, XRechnung and Order-X XML embedded in a PDF, found with pypdfium2.

A hybrid PDF carries its e-invoice (or order) as a file attachment; when it does, that
XML is the truth and nobody needs to read the printed page. The attachment is chosen by
its standard name first (`factur-x.xml`, `zugferd-invoice.xml`, ZUGFeRD 1's
`ZUGFeRD-invoice.xml`, `xrechnung.xml`, `order-x.xml`), then any other `.xml` attachment
whose content looks like CII, UBL or Order-X.

Why not `facturx.get_xml_from_pdf`: it walks the PDF with pypdf and parses each XML
attachment with lxml's default parser before we see it; untrusted XML must only ever go
through `documents.xml_documents.parse_xml`, and pdfium (already used to rasterise) is
fast and tolerant of damaged files.
"""

from __future__ import annotations

from dataclasses import dataclass

import pypdfium2

from documents.errors import ReadError
from documents.sniff import sniff

MAX_XML_BYTES = 20 * 1024 * 1024  # far beyond any real invoice; larger is an attack
STANDARD_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")
_XML_MARKERS = (b"CrossIndustryDocument",)  # ZUGFeRD 1, which sniff() calls plain "xml"


@dataclass(frozen=True)
class EmbeddedXml:
    """One XML attachment of a PDF: its file name inside the PDF and its bytes."""

    name: str
    data: bytes


def find_embedded_xml(data: bytes, source: str, *, max_pages: int | None = None
                      ) -> EmbeddedXml | None:
    """The e-invoice or order XML attached to a PDF, or None when it carries none.

    Only `.xml` attachments are ever unpacked (a delivery note PDF beside the invoice is
    not), and none larger than `MAX_XML_BYTES`. Raises `ReadError` when pdfium cannot open
    the PDF (damaged, encrypted) or when it has more than `max_pages` pages.
    """
    attachments = xml_attachments(data, source, max_pages=max_pages)
    by_name = {name.casefold(): (name, blob) for name, blob in attachments}
    for standard in STANDARD_NAMES:
        if standard in by_name:
            name, blob = by_name[standard]
            return EmbeddedXml(name, blob)
    for name, blob in attachments:
        if _looks_like_business_xml(blob):
            return EmbeddedXml(name, blob)
    return None


def xml_attachments(data: bytes, source: str, *, max_pages: int | None = None
                    ) -> list[tuple[str, bytes]]:
    """(name, bytes) of every `.xml` file attached to the PDF, in the PDF's order."""
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise ReadError(source, f"not a readable PDF ({_reason(exc)})") from exc
    try:
        pages = len(pdf)
        if max_pages is not None and pages > max_pages:
            raise ReadError(source, f"{pages} pages, more than the limit {max_pages}")
        found: list[tuple[str, bytes]] = []
        for index in range(pdf.count_attachments()):
            try:
                attachment = pdf.get_attachment(index)
                name = attachment.get_name()
                if name.casefold().endswith(".xml"):
                    blob = bytes(attachment.get_data())
                    if len(blob) <= MAX_XML_BYTES:
                        found.append((name, blob))
            except pypdfium2.PdfiumError:
                continue  # a damaged attachment is no e-invoice; the page text still is
        return found
    except pypdfium2.PdfiumError as exc:
        raise ReadError(source, f"not a readable PDF ({_reason(exc)})") from exc
    finally:
        pdf.close()


def _looks_like_business_xml(blob: bytes) -> bool:
    return sniff(blob) in ("cii", "ubl", "order_x") or any(m in blob[:65536]
                                                           for m in _XML_MARKERS)


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "password" in text.lower():
        return "it is encrypted"
    return " ".join(text.split())[:200] or type(exc).__name__
