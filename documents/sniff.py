"""Tell a file's type by its content, never by its name."""

from __future__ import annotations

import re

XML_KINDS = (
    (b"urn:iso:std:iso:20022:tech:xsd:camt.05", "camt"),
    (b"CrossIndustryInvoice", "cii"),
    (b"SCRDMCCBDACIOMessageStructure", "order_x"),
    (b"CrossIndustryOrder", "order_x"),
    (b"urn:oasis:names:specification:ubl:schema:xsd:Invoice", "ubl"),
    (b"urn:oasis:names:specification:ubl:schema:xsd:CreditNote", "ubl"),
)


def sniff(data: bytes) -> str:
    """One of: pdf png jpeg tiff zip camt cii ubl order_x xml mt940 eml csv text unknown."""
    head = data[:4096]
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        sample = data[:65536]
        for marker, kind in XML_KINDS:
            if marker in sample:
                return kind
        return "xml"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    if re.search(r"^:20:", text, re.M) and re.search(r"^:6[02][FM]:", text, re.M):
        return "mt940"
    if re.search(r"^(From|Received|Message-ID|MIME-Version|Subject): ", text, re.M | re.I):
        return "eml"
    if "\x00" in text:
        return "unknown"
    first = text.splitlines()[0] if text.splitlines() else ""
    if first.count(";") >= 2 or first.count(",") >= 2:
        return "csv"
    return "text" if text.strip() else "unknown"
