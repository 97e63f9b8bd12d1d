"""The files of an invoice or credit note, from its InvoiceDocument: the checks that stop
issuing, the printed PDF (Factur-X: PDF/A-3 with factur-x.xml embedded) and the XRechnung
file (CII, or UBL 2.1 when configured). Pure of the database, so a worker process can run
the whole path (`invoice_files`) and a batch can be spread over the cores (`render_batch`).

`check_documents` is everything that stops issuing: § 14 UStG gaps, the Factur-X XSD on
both CII flavours, the EN 16931 rules and XRechnung's rules on the XRechnung XML, and that
the embedded Factur-X XML carries the same content.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any

from lxml import etree

from documents.cii import NS, facturx_pdf, invoice_xml, xrechnung_xml, xsd_errors
from documents.girocode import invoice_girocode
from documents.render import WORDS, render_pdf
from documents.ubl import ubl_xml
from documents.validation import RuleFailure, compiled, en16931_errors, xrechnung_errors
from engine.core.invoicing import invoice_notes
from engine.core.money import format_amount
from engine.core.records import InvoiceDocument
from engine.core.ustg import missing as ustg_missing

SYNTAXES = ("cii", "ubl")


@dataclass(frozen=True)
class InvoiceFiles:
    """The checked files of one document, or the failures that stopped it (no files)."""

    number: str
    pdf: bytes
    xml: bytes
    failures: tuple[RuleFailure, ...] = ()


def check_documents(doc: InvoiceDocument, notes: Sequence[str], facturx: bytes,
                    xrechnung: bytes) -> list[RuleFailure]:
    """Everything that stops issuing: § 14 UStG gaps, the XSD on both CII flavours, the
    EN 16931 rules and XRechnung's rules on the XRechnung XML, and that the Factur-X XML
    says the same (it may differ only in its document context: BT-23, BT-24). The EN 16931
    rules read the content, so they run once, on the XRechnung XML. [] when all pass."""
    found = [RuleFailure("§ 14 UStG", "fatal", doc.number, text)
             for text in ustg_missing(doc, notes)]
    for flavour, xml in (("factur-x.xml", facturx), (f"{doc.number}.xml", xrechnung)):
        found += [RuleFailure("XSD", "fatal", flavour, text) for text in xsd_errors(xml)]
    if not any(f.id == "XSD" for f in found):
        found += en16931_errors(xrechnung)
        if _content(facturx) != _content(xrechnung):
            found.append(RuleFailure(
                "FLAVOURS", "fatal", "factur-x.xml", "the Factur-X XML differs from the "
                "XRechnung XML beyond the document context (BT-23, BT-24)"))
    found += xrechnung_errors(xrechnung)
    return list({(f.id, f.text): f for f in found}.values())


def _content(xml: bytes) -> bytes:
    """The canonical XML without its ExchangedDocumentContext."""
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False,
                                                        remove_blank_text=True))
    for context in root.findall(f"{{{NS['rsm']}}}ExchangedDocumentContext"):
        root.remove(context)
    return bytes(etree.tostring(root, method="c14n"))


def _day(value: date, lang: str) -> str:
    return value.strftime("%d.%m.%Y") if lang == "de" else value.strftime("%d %b %Y")


def invoice_context(doc: InvoiceDocument, notes: Sequence[str],
                    logo: str | None = None) -> dict[str, Any]:
    """What document.html shows for an invoice (380) or a credit note (381). A credit note
    shows how it is settled (its `terms`), never a payment reference or a GiroCode."""
    lang = doc.language
    t = WORDS[lang]
    invoice = doc.type_code == "380"
    title = t["invoice"] if invoice else t["credit_note"]
    your_vat_id = "Ihre USt-IdNr." if lang == "de" else "Your VAT ID"
    rows: list[tuple[str, str]] = [
        (t["number"], doc.number), (t["date"], _day(doc.issue_date, lang)),
        (t["customer_number"], doc.buyer.customer_number),
        (t["your_order"], doc.order_reference), (your_vat_id, doc.buyer.vat_id),
        (t["delivery_date"], _day(doc.delivery_date, lang)),
        (t["invoice_no"], doc.preceding_invoice),
        (t["reference"], doc.payment_reference if invoice else "")]
    paragraphs = ([doc.terms, f"{t['reference']}: {doc.payment_reference}"] if invoice
                  else [doc.terms])
    return {"company": doc.seller, "recipient": doc.buyer, "lang": lang, "logo": logo,
            "title": f"{title} {doc.number}", "info": [(k, v) for k, v in rows if v],
            "intro": "", "lines": doc.lines, "show_prices": True, "totals": doc.totals,
            "currency": doc.currency, "legal_notes": list(notes),
            "girocode": invoice_girocode(doc) if invoice else None,
            "notes": [p for p in paragraphs if p]}


def invoice_pdf(doc: InvoiceDocument, notes: Sequence[str], facturx: bytes, *,
                override: str | None = None, logo: str | None = None) -> bytes:
    """The printed document as PDF/A-3 with `facturx` embedded as factur-x.xml (which has
    passed `check_documents`, the XSD included)."""
    pdf = render_pdf("document.html", invoice_context(doc, notes, logo), override=override,
                     pdf_variant="pdf/a-3b")
    return facturx_pdf(pdf, facturx, check_xsd=False)


def settlement_text(lang: str, invoice: str, set_off: Decimal, refund: Decimal,
                    currency: str) -> str:
    """How a credit note is settled: set off against the invoice's open amount, the rest
    (all of it when the invoice is paid) refunded."""
    def amount(value: Decimal) -> str:
        return f"{format_amount(value, lang)} {currency}"

    if lang == "de":
        parts = []
        if set_off > 0:
            parts.append(f"{amount(set_off)} verrechnen wir mit der offenen Rechnung {invoice}")
        if refund > 0:
            parts.append(f"{amount(refund)} erstatten wir Ihnen auf Ihr Konto")
        return "Der Betrag dieser Gutschrift wird nicht gezahlt: " + "; ".join(parts) + "."
    parts = []
    if set_off > 0:
        parts.append(f"{amount(set_off)} is set off against the open invoice {invoice}")
    if refund > 0:
        parts.append(f"{amount(refund)} will be refunded to your account")
    return "This credit note is not payable: " + "; ".join(parts) + "."


def xrechnung_file(doc: InvoiceDocument, syntax: str = "cii") -> bytes:
    """The XRechnung file in the configured syntax."""
    if syntax not in SYNTAXES:
        raise ValueError(f"invoicing.xrechnung_syntax must be cii or ubl, not {syntax!r}")
    return ubl_xml(doc) if syntax == "ubl" else xrechnung_xml(doc)


def invoice_files(doc: InvoiceDocument, *, override: str | None = None,
                  logo: str | None = None, syntax: str = "cii") -> InvoiceFiles:
    """The whole path for one document: both CII flavours, the checks, the PDF/A-3 with
    the XML embedded, and the XRechnung file. Failures come back instead of files."""
    notes = invoice_notes(doc)
    facturx, xrechnung = invoice_xml(doc), xrechnung_xml(doc)
    failures = check_documents(doc, notes, facturx, xrechnung)
    if failures:
        return InvoiceFiles(doc.number, b"", b"", tuple(failures))
    pdf = invoice_pdf(doc, notes, facturx, override=override, logo=logo)
    xml = xrechnung if syntax == "cii" else xrechnung_file(doc, syntax)
    return InvoiceFiles(doc.number, pdf, xml)


# --- many documents at once ------------------------------------------------------------

_settings: dict[str, Any] = {}


def _remember(override: str | None, logo: str | None) -> None:
    """A worker's start: the template folder and logo of every document it renders."""
    _settings.update(override=override, logo=logo)


def _printed(doc: InvoiceDocument) -> bytes:
    """In a worker: the PDF/A-3 with the Factur-X XML embedded, not yet checked."""
    return invoice_pdf(doc, invoice_notes(doc), invoice_xml(doc), **_settings)


def workers_for(count: int, workers: int | None = None) -> int:
    """One worker per core, never more than documents."""
    return max(1, min(count, workers or os.cpu_count() or 1))


def _start_method() -> BaseContext:
    """Fork (the warm fonts and templates come along) when this process runs one thread,
    as the CLI and the worker do; under `o2c serve` the scheduler and web threads may hold
    locks at the moment of a fork, so the children start from a clean forkserver there."""
    return get_context("fork" if threading.active_count() == 1 else "forkserver")


def render_batch(docs: Sequence[InvoiceDocument], *, override: str | None = None,
                 logo: str | None = None, syntax: str = "cii",
                 workers: int | None = None) -> Iterator[InvoiceFiles]:
    """`invoice_files` for each document, in order. With more than one worker, a pool of
    processes (one per core, forked: the warm fonts and templates come along) prints the
    PDFs while this process, whose EN 16931 rules are compiled once, writes and checks the
    XML; a refused document's PDF is thrown away. A single worker or a single document
    runs here, in this process."""
    count = workers_for(len(docs), workers)
    if count == 1:
        for doc in docs:
            yield invoice_files(doc, override=override, logo=logo, syntax=syntax)
        return
    compiled()  # before the fork, so the children never wait on its lock
    with ProcessPoolExecutor(count, mp_context=_start_method(), initializer=_remember,
                             initargs=(override, logo)) as pool:
        printing = [pool.submit(_printed, doc) for doc in docs]
        for doc, pdf in zip(docs, printing, strict=True):
            facturx, xrechnung = invoice_xml(doc), xrechnung_xml(doc)
            failures = check_documents(doc, invoice_notes(doc), facturx, xrechnung)
            if failures:
                pdf.cancel()
                yield InvoiceFiles(doc.number, b"", b"", tuple(failures))
                continue
            xml = xrechnung if syntax == "cii" else xrechnung_file(doc, syntax)
            yield InvoiceFiles(doc.number, pdf.result(), xml)


def with_terms(doc: InvoiceDocument, terms: str) -> InvoiceDocument:
    """`doc` with other printed terms (a credit note's settlement text)."""
    return replace(doc, terms=terms)
