"""Reading purchase-order PDFs: our reader and extractor vs pdfplumber's raw text.

Measured: documents per second of `documents.pdftext.read_pdf` followed by
`documents.extract.extract` (fields, line items, cross-checks) on generated purchase
orders: German and English layouts, two lines each, and a long order of 40 lines in each.
Anchor: pdfplumber opening the same PDF and calling `page.extract_text()` on every page,
in the same run. Ours does the anchor's work (with pdfium's text API, words and boxes)
and more; the ratio is the figure (bench_parse.py has the whole parse path and its target).
Every document must also be read correctly, else the script fails.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import version

import pdfplumber

from documents.extract import extract
from documents.pdftext import read_pdf
from documents.samples import LONG_LINES, SAMPLE_LINES, sample_order

PASSES = 3  # each round reads the whole corpus this many times
ROUNDS = 3

SHORT, LONG = SAMPLE_LINES, LONG_LINES


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    lines: int
    net: Decimal


def corpus() -> list[Sample]:
    samples = []
    for lang in ("de", "en"):
        for label, lines in (("short", SHORT), ("long", LONG)):
            data = sample_order(lang, lines)
            net = sum((line.amount for line in lines), Decimal(0))
            samples.append(Sample(f"po-{lang}-{label}.pdf", data, len(lines), net))
    return samples


def anchor_read(sample: Sample) -> list[str]:
    with pdfplumber.open(io.BytesIO(sample.data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def ours_read(sample: Sample) -> tuple[int, Decimal | None, int]:
    """(line items, net amount, issues) of the parsed document."""
    pages, issues = read_pdf(sample.data, sample.name, max_pages=50)
    doc = extract(pages, sample.name)
    return len(doc.lines), doc.value("total_net"), len(issues) + len(doc.issues)


def timed(read: Callable[[Sample], object], sample: Sample) -> float:
    start = time.perf_counter()
    read(sample)
    return time.perf_counter() - start


def one_round(samples: list[Sample]) -> tuple[float, float]:
    """Seconds (ours, anchor) for PASSES reads of every sample, the sides alternating
    document by document so that drift in machine load hits both alike."""
    ours = anchor = 0.0
    for _ in range(PASSES):
        for sample in samples:
            ours += timed(ours_read, sample)
            anchor += timed(anchor_read, sample)
    return ours, anchor


def extract_only_ms(samples: list[Sample]) -> float:
    """Milliseconds per document of `extract` alone, on pages read beforehand."""
    read = [(s.name, read_pdf(s.data, s.name, max_pages=50)[0]) for s in samples]
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for name, pages in read:
            extract(pages, name)
        best = min(best, time.perf_counter() - start)
    return best / len(read) * 1000


def main() -> int:
    samples = corpus()
    wrong = [(s.name, got) for s in samples if (got := ours_read(s)) != (s.lines, s.net, 0)]
    for name, got in wrong:
        print(f"  misread {name}: (lines, net, issues) = {got}", file=sys.stderr)
    pages = sum(len(anchor_read(s)) for s in samples)

    rounds = [one_round(samples) for _ in range(ROUNDS)]
    ours_best = min(ours for ours, _ in rounds)
    anchor_best = min(anchor for _, anchor in rounds)
    documents = PASSES * len(samples)
    ours_rate, anchor_rate = documents / ours_best, documents / anchor_best

    print(f"extract: {len(samples)} purchase orders ({pages} pages: de/en, 2 and 40 lines), "
          f"{documents} documents per round, best of {ROUNDS} rounds")
    print(f"  ours   read_pdf + extract              {ours_rate:8.1f} documents/s")
    print(f"  anchor pdfplumber {version('pdfplumber'):<8} extract_text {anchor_rate:8.1f} "
          "documents/s")
    print(f"  ratio ours/anchor: {ours_rate / anchor_rate:.2f} (ours also parses fields and "
          "lines)")
    print(f"  of which extract() alone: {extract_only_ms(samples):.2f} ms/document; the rest "
          "is read_pdf (pdfium)")
    print(f"  read correctly: {len(samples) - len(wrong)}/{len(samples)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
