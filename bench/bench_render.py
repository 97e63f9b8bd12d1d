"""Render benchmark: invoices per second through our whole path beside WeasyPrint's plain
rendering of the same template, in the same run.

Ours (`documents.invoice_files.render_batch`): per invoice the Factur-X and XRechnung CII
XML, the Factur-X XSD, the EN 16931 rules (compiled XSLT, saxonche), XRechnung's rules,
§ 14 UStG, the template filled and rendered to PDF/A-3 with its GiroCode and factur-x.xml
embedded; parsed stylesheet, fonts and the compiled XSLT reused. A process pool (one
worker per core, forked; its start-up inside the time) prints the PDFs while this process
writes and checks the XML. The XSLT is compiled once before timing, as plain's first
render (imports, fonts) is done once before timing.
Anchor (plain): `weasyprint.HTML(string=html).write_pdf()` per invoice in this one process,
of the same filled template with its stylesheet inlined (the filling itself not timed),
in two halves around our run (the machine is shared). Also shown: our whole path in one
process, interleaved invoice by invoice with plain. The figure is the ratio ours / plain
(target ≥ 1). N can be set with O2C_BENCH_RENDER (default 48).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import weasyprint  # noqa: E402

from documents.invoice_files import invoice_context, render_batch, workers_for  # noqa: E402
from documents.render import TEMPLATES, standalone_html  # noqa: E402
from engine.core.invoicing import Terms, build_invoice, invoice_notes  # noqa: E402
from engine.core.records import Address, DocumentLine, InvoiceDocument, Party  # noqa: E402

N = int(os.environ.get("O2C_BENCH_RENDER", "48"))
SELLER = Party("Muster Maschinenbau GmbH", Address("Industriestraße 12", "70565", "Stuttgart"),
               vat_id="DE123456788", tax_number="99/815/08150",
               email="buchhaltung@muster-maschinenbau.example", iban="DE89370400440532013000",
               bic="COBADEFFXXX", bank="Commerzbank Stuttgart", phone="+49 711 123456-0",
               register="Amtsgericht Stuttgart HRB 123456", contact_name="Erika Mustermann")
PRODUCTS = (("HM-200", "Hydraulikmotor HM 200", "1250.00", "19"),
            ("DS-15", "Dichtungssatz 15 mm", "12.35", "19"),
            ("VS-8", "Ventilsteuerung VS 8", "349.00", "19"),
            ("FB-10", "Fachbuch Hydraulik", "39.90", "7"))


def invoices(count: int) -> list[InvoiceDocument]:
    out = []
    for n in range(1, count + 1):
        buyer = Party(f"Kunde {n} GmbH", Address(f"Hafenstraße {n}", "20457", "Hamburg"),
                      vat_id="DE811907980", email=f"einkauf{n}@kunde.example",
                      customer_number=f"K-{10000 + n}")
        lines = [DocumentLine(i, sku, name, Decimal(1 + (n + i) % 9), "Stk", Decimal(price),
                              Decimal(rate))
                 for i, (sku, name, price, rate) in enumerate(PRODUCTS[: 1 + n % 4], start=1)]
        day = date(2026, 9, 1) + timedelta(days=n % 28)
        out.append(build_invoice(number=f"RE-2026-{n:05d}", type_code="380", issue_date=day,
                                 delivery_date=day, seller=SELLER, buyer=buyer, lines=lines,
                                 terms=Terms(30, Decimal("2"), 10), currency="EUR",
                                 language="de" if n % 3 else "en",
                                 order_reference=f"PO-{n}"))
    return out


def plain(page: str) -> float:
    started = time.perf_counter()
    weasyprint.HTML(string=page, base_url=str(TEMPLATES)).write_pdf()
    return time.perf_counter() - started


def main() -> int:
    docs = invoices(N)
    pages = [standalone_html("document.html", invoice_context(d, invoice_notes(d)))
             for d in docs]
    plain(pages[0])  # warm the imports
    list(render_batch(docs[:1], workers=1))  # and our caches in this process

    # the machine is shared: plain runs in two halves, before and after our pooled run
    half = N // 2
    plain_seconds = sum(plain(page) for page in pages[:half])
    workers = workers_for(N)
    started = time.perf_counter()
    results = list(render_batch(docs, workers=workers))
    ours_seconds = time.perf_counter() - started
    plain_seconds += sum(plain(page) for page in pages[half:])
    failed = [r.number for r in results if r.failures or not r.pdf.startswith(b"%PDF")]
    if failed:
        print(f"FAILED: {len(failed)} invoices refused or not rendered: {failed[:5]}")
        return 1

    # one process, interleaved invoice by invoice with plain
    single = min(N, 12)
    one_seconds = plain_one = 0.0
    for doc, page in zip(docs[:single], pages[:single], strict=True):
        plain_one += plain(page)
        started = time.perf_counter()
        list(render_batch([doc], workers=1))
        one_seconds += time.perf_counter() - started

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"invoices: {N}, cores: {os.cpu_count()}, workers: {workers}, load average: {load}")
    print(f"plain WeasyPrint (HTML → PDF, one process):           {N / plain_seconds:6.2f} "
          "invoices/s")
    print(f"ours, whole path (XML, XSD, EN 16931, PDF/A-3), pool: {N / ours_seconds:6.2f} "
          "invoices/s")
    print(f"ratio ours (pool) / plain: {plain_seconds / ours_seconds:.2f} (target ≥ 1.00)")
    print(f"one process, interleaved over {single} invoices: ours {single / one_seconds:.2f}, "
          f"plain {single / plain_one:.2f} invoices/s, ratio {plain_one / one_seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
