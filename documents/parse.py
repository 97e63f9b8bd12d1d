"""One file → what it says, without a database: the read + extract path of `o2c parse`
and of the intake.

Structured data wins. By content (`sniff`), never by name:

- CII, ZUGFeRD 1, UBL, Order-X XML → `xml_documents` (source `xml`); camt → statements.
- PDF with embedded Factur-X / ZUGFeRD / XRechnung / Order-X XML → that XML
  (`embedded_xml`), no text and no OCR; if the attachment is unreadable, a warning and on.
- Other PDFs → page text (`text`); pages without a text layer go through Tesseract, and
  then the source is `ocr` (the weaker source names the whole document).
- PNG / JPEG / TIFF → OCR (`ocr`), one page per TIFF frame.
- MT940, CSV, zipped camt → bank statements; plain text (a mail body) → statements if it
  is one, else the text extractor (`text`); so is CSV that is no statement but reads as
  an order, remittance advice or invoice.

Two vocabularies. The readers (XML and the text extractor) and `o2c parse` speak issue
4's field names (number, issue_date, total_net, buyer_vat_id, …); the intake speaks its
own (order_number, order_date, net_amount, vat_id, …). `INTAKE_NAMES` maps the one to
the other per kind; names not in it are the same in both (delivery_date, currency, iban,
payment_reference, customer_number, quote_reference, payment_date, seller_name, …).
`read_document` returns issue 4's names; `parse_document` the intake's.

`parse_file` never raises: a file that cannot be read is a result whose issues hold one
`error`; all other issues are `warning`s. `parse_document` raises `ReadError` instead.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from documents.embedded import find_embedded_xml
from documents.errors import ReadError
from documents.extract import extract
from documents.layouts import Layout, LayoutError, load_layouts
from documents.ocr import OcrError, OcrJob, ocr_pages
from documents.pdftext import OcrText, PageText, PdfError, Word, read_pdf
from documents.sniff import sniff
from documents.statements import read_statement, statement_json
from documents.xml_documents import LineItem, read_xml_document
from engine.core.config import Config
from engine.core.records import Field, Issue, ParsedDocument

FIELD_ORDER = ("number", "issue_date", "due_date", "delivery_date", "currency", "total_net",
               "total_tax", "total_gross", "amount_due", "seller_name", "seller_vat_id",
               "buyer_name", "buyer_vat_id", "order_reference", "iban", "payment_reference")
_SHARED = {"issue_date": "order_date", "total_net": "net_amount", "total_tax": "tax_amount",
           "total_gross": "gross_amount"}
_INVOICE = {**_SHARED, "order_reference": "order_number", "seller_vat_id": "vat_id"}
INTAKE_NAMES: Mapping[str, Mapping[str, str]] = {
    # The one who sends a purchase order or a remittance advice is our customer, the
    # buyer: the VAT id the extractor finds on them is taken as the buyer's.
    "purchase_order": {**_SHARED, "number": "order_number", "buyer_vat_id": "vat_id"},
    "remittance_advice": {**_SHARED, "order_reference": "order_number",
                          "buyer_vat_id": "vat_id", "buyer_name": "payer"},
    "invoice": _INVOICE,
    "unknown": _INVOICE,
    "bank_statement": {},
}
LAYOUTS = Path(__file__).resolve().parent.parent / "rules" / "layouts"  # per-sender layouts
IMAGE_TYPES = ("png", "jpeg", "tiff")
STATEMENT_TYPES = ("camt", "zip", "mt940", "csv")
XML_TYPES = ("cii", "ubl", "order_x", "xml")


@dataclass(frozen=True)
class ReadOptions:
    """How files are read: OCR languages, the limits (config `limits`) and the folder of
    the senders' layouts (`storage.rules`/layouts)."""

    ocr_languages: str = "deu+eng"
    max_pages: int = 50
    max_megapixels: int = 150
    layouts: Path = LAYOUTS

    @classmethod
    def of(cls, config: Config) -> ReadOptions:
        return cls(config["ocr.languages"], config["limits.pdf_pages"],
                   config["limits.image_megapixels"], config.path("storage.rules") / "layouts")


DEFAULT = ReadOptions()


@dataclass(frozen=True)
class Reading:
    """What reading one file gave: the source it was read from and the document (issue 4
    field names), or `error` when it could not be read at all."""

    file: str
    source: str  # xml | embedded_xml | text | ocr; "" when unreadable
    document: ParsedDocument
    error: Issue | None = None


def parse_file(data: bytes, name: str, options: ReadOptions = DEFAULT) -> dict[str, Any]:
    """The JSON object `o2c parse --json` prints for one file; never raises."""
    return reading_json(read_file(data, name, options))


def parse_document(data: bytes, name: str, options: ReadOptions = DEFAULT) -> ParsedDocument:
    """The intake's view of one file (the extractor's field names); `ReadError` if unreadable."""
    reading = read_document(data, name, options)
    return rename(reading.document, INTAKE_NAMES.get(reading.document.kind, {}))


def read_file(data: bytes, name: str, options: ReadOptions = DEFAULT) -> Reading:
    """`read_document`, with an unreadable file as a `Reading` with its `error`."""
    try:
        return read_document(data, name, options)
    except ReadError as exc:
        return Reading(name, "", ParsedDocument("unknown", name), exc.issue)


def read_document(data: bytes, name: str, options: ReadOptions = DEFAULT) -> Reading:
    """Read one file by its content (see the module docstring); `ReadError` if unreadable."""
    if not data:
        raise ReadError(name, "the file is empty")
    file_type = sniff(data)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") and data[2:].lstrip(b" \t\r\n\x00")[:1] in b"<":
        file_type = "xml"  # UTF-16 with a byte order mark; sniff() looks for ASCII only
    if file_type in XML_TYPES:
        return Reading(name, "xml", read_xml_document(data, name))
    if file_type == "pdf":
        return _read_pdf(data, name, options)
    if file_type in IMAGE_TYPES:
        images = _image_pages(data, name, options)
        texts = _ocr([OcrJob(png, None, options.ocr_languages) for png in images],
                     [f"{name} p{n}" for n in range(1, len(images) + 1)])
        pages = [PageText(n, t.lines, True, t.words, t.width, t.height)
                 for n, t in enumerate(texts, start=1)]
        return Reading(name, "ocr", _extract(pages, name, options.layouts))
    if file_type in STATEMENT_TYPES or file_type == "text":
        statements, issues = read_statement(data, name)
        if statements:
            source = "xml" if file_type in ("camt", "zip") else "text"
            document = ParsedDocument("bank_statement", name, {}, (), (), statements,
                                      tuple(issues))
            return Reading(name, source, document)
        if file_type in ("csv", "text"):  # a mail body with commas sniffs as CSV
            document = _extract([_text_page(_decode(data))], name, options.layouts)
            if file_type == "text" or document.kind != "unknown":
                return Reading(name, "text", document)
        raise ReadError(name, "; ".join(i.message for i in issues) or "no statement found")
    if file_type == "eml":
        raise ReadError(name, "an e-mail: its body and attachments are read by the mail intake")
    raise ReadError(name, "not a PDF, image, e-invoice or order XML, bank statement or text "
                          f"file (the content is {file_type})")


def _read_pdf(data: bytes, name: str, options: ReadOptions) -> Reading:
    notes: list[Issue] = []
    pdfium_error: ReadError | None = None
    try:
        embedded = find_embedded_xml(data, name, max_pages=options.max_pages)
    except ReadError as exc:
        embedded, pdfium_error = None, exc  # pdfplumber below may still read the text
    if embedded is not None:
        inner = "".join(c for c in embedded.name if c.isprintable())[:100]  # the PDF's word
        where = f"{name} ({inner})"
        try:
            return Reading(name, "embedded_xml", read_xml_document(embedded.data, where))
        except ReadError as exc:
            notes.append(Issue(exc.where, f"{exc.reason}; reading the printed pages instead"))
    try:
        pages, issues = read_pdf(
            data, name, max_pages=options.max_pages,
            max_pixels=options.max_megapixels * 1_000_000,
            ocr_all=lambda pdf, wheres: _ocr([OcrJob(pdf, index, options.ocr_languages)
                                              for index, _ in wheres], [w for _, w in wheres]))
    except ReadError:
        raise
    except Exception as exc:  # PdfError, and pdfminer's many types for damaged files
        if pdfium_error is not None and "encrypted" in pdfium_error.reason:
            raise pdfium_error from exc  # pdfminer often cannot say why
        reason = str(exc).removeprefix(f"{name}: ") if isinstance(exc, PdfError) else \
            f"not a readable PDF ({_reason(exc)})"
        raise ReadError(name, reason) from exc
    document = _extract(pages, name, options.layouts)
    document = replace(document, issues=tuple(notes) + document.issues + tuple(issues))
    return Reading(name, "ocr" if any(p.ocr for p in pages) else "text", document)


def _extract(pages: list[PageText], name: str, folder: Path = LAYOUTS) -> ParsedDocument:
    """The text extractor with the senders' layouts of rules/layouts (a broken layout file
    is a warning: the generic extractor still reads the document)."""
    try:
        layouts = sender_layouts(folder)
    except LayoutError as exc:
        document = extract(pages, name)
        return replace(document, issues=(Issue(exc.where, exc.message), *document.issues))
    return extract(pages, name, layouts)


_LAYOUT_CACHE: dict[Path, tuple[tuple[tuple[str, float], ...], list[Layout]]] = {}


def sender_layouts(folder: Path = LAYOUTS) -> list[Layout]:
    """The layouts in `folder`, read again only when a file changed."""
    stamp = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.yaml"))) \
        if folder.is_dir() else ()
    cached = _LAYOUT_CACHE.get(folder)
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_layouts(folder))
        _LAYOUT_CACHE[folder] = cached
    return cached[1]


def _ocr(jobs: list[OcrJob], wheres: list[str]) -> list[OcrText]:
    """The pages through Tesseract, in parallel (one process per core); `ReadError` naming
    the page that failed."""
    try:
        return ocr_pages(jobs)
    except OcrError as exc:
        where = wheres[exc.index] if exc.index is not None else wheres[0]
        raise ReadError(where, exc.message) from exc


def _image_pages(data: bytes, name: str, options: ReadOptions) -> list[bytes]:
    """The image itself, or each frame of a multi-page TIFF as PNG (each frame within the
    pixel limit; Pillow's own bomb check stays on as well)."""
    from PIL import Image

    max_pages, max_pixels = options.max_pages, options.max_megapixels * 1_000_000
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about every odd EXIF field
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                frames = int(getattr(image, "n_frames", 1))
                if frames > max_pages:
                    raise ReadError(name, f"{frames} pages, more than the limit {max_pages}")
                if image.width * image.height > max_pixels:
                    raise ReadError(name, f"{image.width}×{image.height} pixels, more than the "
                                          f"limit of {options.max_megapixels} megapixels")
                if frames == 1:
                    image.verify()
                    return [data]
                pages = []
                for index in range(frames):
                    image.seek(index)
                    out = io.BytesIO()
                    image.save(out, format="PNG")
                    pages.append(out.getvalue())
                return pages
    except ReadError:
        raise
    except Exception as exc:  # Pillow raises OSError, DecompressionBombError, SyntaxError, …
        raise ReadError(name, f"not a readable image ({_reason(exc)})") from exc


# --- vocabularies and JSON ----------------------------------------------------------------


def rename(document: ParsedDocument, names: Mapping[str, str]) -> ParsedDocument:
    """The same document with its fields renamed by `names` (others keep their name)."""
    fields = {names.get(key, key): value for key, value in document.fields.items()}
    return replace(document, fields=fields)


def canonical(document: ParsedDocument) -> ParsedDocument:
    """A text extractor result in issue 4's field names."""
    names = INTAKE_NAMES.get(document.kind, {})
    return rename(document, {intake: name for name, intake in names.items()})


def reading_json(reading: Reading) -> dict[str, Any]:
    """`{"file", "kind", "source", "fields", "lines", "issues"}` (+ remittance, statements)."""
    doc = reading.document
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    names = sorted(doc.fields, key=lambda n: (order.get(n, len(order)), n))
    result: dict[str, Any] = {
        "file": reading.file,
        "kind": doc.kind,
        "source": reading.source or None,
        "fields": {n: _field_json(doc.fields[n]) for n in names},
        "lines": [_line_json(line) for line in doc.lines],
        "issues": ([{"severity": "error", "message": str(reading.error)}] if reading.error
                   else []) + [{"severity": "warning", "message": str(i)} for i in doc.issues],
    }
    if doc.kind == "unknown" and not reading.error:
        result["issues"].append({"severity": "warning", "message": f"{reading.file}: nothing "
                                 "in it reads as an order, invoice, remittance or statement"})
    if doc.remittance:
        result["remittance"] = [{"invoice_number": r.invoice_number, "amount": _json(r.amount),
                                 "deduction": _json(r.deduction), "where": r.source}
                                for r in doc.remittance]
    if doc.kind == "bank_statement":
        result["statements"] = statement_json(doc.statements, [], reading.file)["statements"]
    return result


def failed(result: Mapping[str, Any]) -> bool:
    """True when `parse_file` could not read the file (the CLI's exit code)."""
    return any(issue["severity"] == "error" for issue in result["issues"])


def coverage_report(results: Iterable[Mapping[str, Any]]) -> str:
    """Per source: how many files gave each field of issue 4 (and the line items)."""
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        by_source.setdefault(result["source"] or "unreadable", []).append(result)
    rows = [f"{'field':18}" + "".join(f"{s:>14}" for s in by_source)]
    for name in (*FIELD_ORDER, "lines"):
        cells = (f"{sum(1 for r in rs if _has(r, name))}/{len(rs)}" for rs in by_source.values())
        rows.append(f"{name:18}" + "".join(f"{c:>14}" for c in cells))
    return "\n".join(rows)


def _has(result: Mapping[str, Any], name: str) -> bool:
    if name == "lines":
        return bool(result["lines"])
    return result["fields"].get(name, {}).get("value") is not None


def _field_json(found: Field) -> dict[str, Any]:
    return {"value": _json(found.value), "confidence": round(found.confidence, 3),
            "where": found.source}


def _line_json(line: Any) -> dict[str, Any]:
    absent = line.absent if isinstance(line, LineItem) else ()
    values = {"quantity": line.quantity, "unit_price": line.unit_price,
              "net_amount": line.amount}
    return {
        "position": line.position,
        "sku": line.sku or None,
        "description": line.description or None,
        "quantity": None if "quantity" in absent else _json(values["quantity"]),
        "unit": line.unit or None,
        "unit_price": None if "unit_price" in absent else _json(values["unit_price"]),
        "net_amount": None if "net_amount" in absent else _json(values["net_amount"]),
        "tax_rate": _json(line.tax_rate) if isinstance(line, LineItem) else None,
        "where": line.source,
    }


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{abs(value) if value == 0 else value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text_page(text: str) -> PageText:
    """Plain text as one page; its words get boxes from their character columns, so
    columns in fixed-width text line up for the extractor as they do on a PDF page."""
    words = [Word(m.group(), m.start() * 6.0, row * 12.0, m.end() * 6.0, row * 12.0 + 10.0)
             for row, line in enumerate(text.splitlines()) for m in re.finditer(r"\S+", line)]
    return PageText(1, _lines(text), words=tuple(words))


def _lines(text: str) -> tuple[str, ...]:
    return tuple(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    if "encrypt" in text.lower() or "password" in text.lower():
        return "it is encrypted"
    return f"{type(exc).__name__}: {text}"[:200]
