"""Extraction accuracy, measured: exact fields per source (xml, embedded_xml, text, ocr).

    python bench/accuracy.py                  generated documents + the public samples
    python bench/accuracy.py --corpus DIR     files in DIR with an invoice2data-style .json
    python bench/accuracy.py --quick          fewer generated documents and scans

Every file goes the whole way a user's file goes (`documents.parse.read_file`); a field
counts as exact when it equals the truth after normalising the format only (dates as
dates, amounts as Decimal, numbers without spaces or a leading '#', case ignored).
The issue's targets: every field exact from XML; ≥ 90 % for number, issue date, gross total
and currency from a PDF's printed layout; ≥ 75 % from a 200 dpi scan.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from documents.dates import find_date  # noqa: E402
from documents.parse import read_file  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
KEY_FIELDS = ("number", "issue_date", "total_gross", "currency")
TARGETS = {"xml": 1.0, "embedded_xml": 1.0, "text": 0.9, "ocr": 0.75}
# invoice2data's names for issue 4's fields
INVOICE2DATA = {"invoice_number": "number", "date": "issue_date", "amount": "total_gross",
                "currency": "currency", "amount_untaxed": "total_net", "amount_tax": "total_tax",
                "date_due": "due_date", "iban": "iban"}


@dataclass(frozen=True)
class Item:
    """One file to read and what it truly says."""

    name: str
    data: bytes
    truth: Mapping[str, Any]
    group: str = ""


@dataclass
class Report:
    """Per source and field: how many files had the field in their truth, how many exact."""

    counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, source: str, name: str, exact: bool) -> None:
        cell = self.counts.setdefault((source, name), [0, 0])
        cell[0] += int(exact)
        cell[1] += 1

    def share(self, source: str, name: str) -> float | None:
        cell = self.counts.get((source, name))
        return cell[0] / cell[1] if cell and cell[1] else None

    def key_share(self, source: str) -> float | None:
        """The share of exact key fields (number, issue date, gross, currency) together."""
        cells = [self.counts[(source, n)] for n in KEY_FIELDS if (source, n) in self.counts]
        total = sum(c[1] for c in cells)
        return sum(c[0] for c in cells) / total if total else None

    def table(self) -> str:
        sources = sorted({s for s, _ in self.counts}, key=lambda s: list(TARGETS).index(s)
                         if s in TARGETS else 9)
        names = sorted({n for _, n in self.counts}, key=_field_order)
        lines = [f"{'field':18}" + "".join(f"{s:>16}" for s in sources)]
        for name in names:
            cells = []
            for source in sources:
                cell = self.counts.get((source, name))
                cells.append(f"{cell[0]}/{cell[1]} {100 * cell[0] / cell[1]:3.0f}%" if cell
                             else "-")
            lines.append(f"{name:18}" + "".join(f"{c:>16}" for c in cells))
        keys = [self.key_share(s) for s in sources]
        lines.append(f"{'key fields':18}" + "".join(
            f"{'-' if k is None else f'{100 * k:.0f}%':>16}" for k in keys))
        lines.append(f"{'target':18}" + "".join(f"{100 * TARGETS.get(s, 0):>15.0f}%"
                                                for s in sources))
        return "\n".join(lines)


def _field_order(name: str) -> int:
    from documents.parse import FIELD_ORDER

    return FIELD_ORDER.index(name) if name in FIELD_ORDER else len(FIELD_ORDER)


def normal(value: Any) -> Any:
    """A value in a comparable form: dates as dates, amounts as cents, ids bare."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, (Decimal, float, int)) and not isinstance(value, bool):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    text = str(value).strip()
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except ArithmeticError:
        pass
    if len(text) == 10 and text[4] == "-" and find_date(text):
        return find_date(text)
    return text.lstrip("#").replace(" ", "").upper()


def evaluate(items: Iterable[Item], report: Report | None = None) -> Report:
    report = report or Report()
    start = time.perf_counter()
    for item in items:
        reading = read_file(item.data, item.name)
        source = reading.source or "unreadable"
        for name, want in item.truth.items():
            got = reading.document.value(name)
            exact = normal(got) == normal(want)
            report.add(source, name, exact)
            if not exact:
                report.misses.append(f"{source:12} {item.name}: {name} = {got!r}, "
                                     f"truth {want!r}")
    report.seconds += time.perf_counter() - start
    return report


# --- the sets ---------------------------------------------------------------------------


def generated(count: int, scans: int, seed: int = 4) -> Iterator[Item]:
    """Generated purchase orders and remittance advices; the first `scans` also scanned."""
    from tests.generated.documents import generate, scan

    for n, doc in enumerate(generate(count, seed)):
        yield Item(doc.name, doc.pdf, doc.truth, "generated")
        if n < scans:
            yield Item(doc.name.replace(".pdf", "-scan.pdf"), scan(doc.pdf, seed=n), doc.truth,
                       "generated")


def structured(count: int) -> Iterator[Item]:
    """Generated invoices as CII XML, and as Factur-X PDFs with that XML embedded."""
    from datetime import timedelta

    from documents.cii import facturx_pdf, invoice_xml
    from tests.test_parse import plain_pdf
    from tests.test_xml_documents import invoice

    printed = plain_pdf("Rechnung")
    for n in range(count):
        base = invoice()
        doc = replace(base, number=f"RE-2026-{n + 1:05d}",
                      issue_date=base.issue_date + timedelta(days=n),
                      due_date=base.due_date + timedelta(days=n), payment_reference=f"RE{n:05d}")
        truth = {"number": doc.number, "issue_date": doc.issue_date, "due_date": doc.due_date,
                 "delivery_date": doc.delivery_date, "currency": doc.currency,
                 "total_net": doc.totals.net, "total_tax": doc.totals.tax,
                 "total_gross": doc.totals.gross, "seller_name": doc.seller.name,
                 "buyer_name": doc.buyer.name, "seller_vat_id": doc.seller.vat_id,
                 "buyer_vat_id": doc.buyer.vat_id, "order_reference": doc.order_reference,
                 "payment_reference": doc.payment_reference}
        xml = invoice_xml(doc)
        yield Item(f"invoice-{n}.xml", xml, truth, "structured")
        yield Item(f"invoice-{n}.pdf", facturx_pdf(printed, xml), truth, "structured")


def corpus(folder: Path, scans: bool) -> Iterator[Item]:
    """Files with an invoice2data-style .json beside them (PDF, image, text); with `scans`
    each PDF also as a 200 dpi scan."""
    for path in sorted(folder.iterdir()):
        truth_file = path.with_suffix(".json")
        if path.suffix.lower() not in (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff",
                                       ".xml") or not truth_file.is_file():
            continue
        raw = json.loads(truth_file.read_text())
        raw = raw[0] if isinstance(raw, list) else raw
        truth = {ours: raw[theirs] for theirs, ours in INVOICE2DATA.items() if theirs in raw}
        yield Item(path.name, path.read_bytes(), truth, folder.name)
        if scans and path.suffix.lower() == ".pdf":
            from tests.generated.documents import scan

            yield Item(path.stem + "-scan.pdf", scan(path.read_bytes()), truth, folder.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a folder of files with .json truth")
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--no-scans", action="store_true", help="skip OCR")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--seed", type=int, default=4, help="of the generated documents")
    args = parser.parse_args(argv)
    scans = not args.no_scans
    reports: list[tuple[str, Report]] = []
    if args.corpus:
        reports.append((str(args.corpus), evaluate(corpus(args.corpus, scans))))
    else:
        count, scanned = (12, 3) if args.quick else (45, 12)
        reports.append((f"generated ({count} documents, {scanned if scans else 0} also scanned)",
                        evaluate(generated(count, scanned if scans else 0, args.seed))))
        reports.append(("generated invoices (CII XML, Factur-X)", evaluate(structured(5))))
        folder = CORPORA / "invoice2data"
        if folder.is_dir():
            reports.append((f"{folder} (PDF, PNG, PDFs scanned at 200 dpi)",
                            evaluate(corpus(folder, scans))))
        else:
            print(f"(public samples not found at {folder})")
    failed = False
    for title, report in reports:
        print(f"\naccuracy: {title}, {report.seconds:.1f} s\n{report.table()}")
        for source, target in TARGETS.items():
            share = report.key_share(source)
            if share is not None and share < target:
                failed = True
                print(f"  below target: {source} {100 * share:.0f}% < {100 * target:.0f}%")
        if args.misses:
            print("\n".join("  miss: " + m for m in report.misses))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
