"""Value finders: a page as rows of positioned words, the labels on them, and the value
each label points at: right of it on the same row, or below it in the same column.

A page without word boxes (a mail body, OCR text without positions) gets boxes from its
character columns, so the same reasoning applies to fixed-width text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from documents.dates import Found, find_amounts, find_dates, money_like
from documents.labels import BY_TRIGGER, TRIGGERS, UNTRIGGERED
from documents.pdftext import PageText, Word

CHAR_W, LINE_H = 6.0, 12.0  # the box of a character in text without positions


@dataclass(frozen=True)
class Token:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    start: int  # characters in the row's text
    end: int


@dataclass(frozen=True)
class Row:
    page: int
    index: int  # 1-based on its page
    text: str
    tokens: tuple[Token, ...]
    ocr: bool = False
    boxed: bool = True  # the boxes are the page's, not made up from the text's characters

    @property
    def top(self) -> float:
        return min(t.top for t in self.tokens)

    @property
    def bottom(self) -> float:
        return max(t.bottom for t in self.tokens)

    def box(self, start: int, end: int) -> tuple[float, float, float, float]:
        inside = [t for t in self.tokens if t.end > start and t.start < end] or list(self.tokens)
        return (min(t.x0 for t in inside), min(t.top for t in inside),
                max(t.x1 for t in inside), max(t.bottom for t in inside))

    def x_end(self, offset: int) -> float:
        """Where the text ending at `offset` ends on the page."""
        for t in reversed(self.tokens):
            if t.start < offset:
                return t.x1 if offset >= t.end else t.x0 + (t.x1 - t.x0) * (
                    (offset - t.start) / max(1, t.end - t.start))
        return self.tokens[0].x0 if self.tokens else 0.0

    def x_at(self, offset: int) -> float:
        for t in self.tokens:
            if t.end > offset:
                return t.x0 if offset <= t.start else t.x0 + (t.x1 - t.x0) * (
                    (offset - t.start) / max(1, t.end - t.start))
        return self.tokens[-1].x1 if self.tokens else 0.0


def rows_of(page: PageText) -> list[Row]:
    """The page's words grouped into rows (top to bottom, left to right)."""
    rows = []
    for number, group in enumerate(_group(list(page.words) or _words_of_lines(page.lines)),
                                   start=1):
        tokens, offset = [], 0
        for word in group:
            text = word.text.strip()
            if not text:
                continue
            tokens.append(Token(text, word.x0, word.top, word.x1, word.bottom, offset,
                                offset + len(text)))
            offset += len(text) + 1
        if tokens:
            rows.append(Row(page.number, number, " ".join(t.text for t in tokens),
                            tuple(tokens), page.ocr, bool(page.words)))
    return rows


def _group(words: list[Word]) -> list[list[Word]]:
    """Words chained left to right into rows: each joins the row whose last word sits at
    its height. Chaining follows a scan's slight rotation, which a fixed band would not."""
    rows: list[list[Word]] = []
    near: dict[int, list[int]] = {}  # rows by the height of their last word, in 4 pt bands
    for word in sorted(words, key=lambda w: (w.x0, w.top)):
        centre, height = (word.top + word.bottom) / 2, word.bottom - word.top
        best, distance = -1, 0.0
        reach = int(max(height, 1.0) // 4) + 2
        band = int(centre // 4)
        for index in (i for b in range(band - reach, band + reach + 1) for i in near.get(b, ())):
            last = rows[index][-1]
            if last.x1 - word.x0 > 0.5 * min(word.x1 - word.x0, last.x1 - last.x0) + 1:
                continue  # overlapping boxes stand in different rows
            gap = abs(centre - (last.top + last.bottom) / 2)
            if gap <= 0.5 * max(height, last.bottom - last.top, 1.0) and (
                    best < 0 or gap < distance):
                best, distance = index, gap
        if best < 0:
            rows.append([word])
            near.setdefault(band, []).append(len(rows) - 1)
            continue
        last = rows[best][-1]
        near[int(((last.top + last.bottom) / 2) // 4)].remove(best)
        rows[best].append(word)
        near.setdefault(band, []).append(best)
    rows.sort(key=lambda r: (r[0].top + r[0].bottom) / 2)
    return rows


def _words_of_lines(lines: Sequence[str]) -> list[Word]:
    words = []
    for number, line in enumerate(lines):
        for m in re.finditer(r"\S+", line):
            top = number * LINE_H
            words.append(Word(m.group(), m.start() * CHAR_W, top, m.end() * CHAR_W,
                              top + LINE_H * 0.8))
    return words


@dataclass(frozen=True)
class Hit:
    """A label on a row: which role it names, how surely, and its character span."""

    role: str
    weight: float
    row: Row
    start: int
    end: int


def find_hits(rows: Sequence[Row], roles: Sequence[str] | None = None) -> list[Hit]:
    """Every label on every row; where two overlap the longer (then the surer) wins."""
    hits: list[Hit] = []
    for row in rows:
        found = []
        lower = row.text.lower()
        present = {m.group(1) for triggers in TRIGGERS for m in triggers.finditer(lower)}
        labels = [label for key in sorted(present) for label in BY_TRIGGER[key]] + UNTRIGGERED
        for role, pattern, weight in labels:
            if roles is not None and role not in roles:
                continue
            for m in pattern.finditer(row.text):
                end = m.start() + len(m.group().rstrip())  # "BTW " is as long as "BTW"
                if end > m.start():
                    found.append(Hit(role, weight, row, m.start(), end))
        found.sort(key=lambda h: (-(h.end - h.start), -h.weight))
        kept: list[Hit] = []
        for hit in found:  # the same words may be two labels ("BTW": VAT id or VAT amount)
            if all(hit.end <= k.start or hit.start >= k.end or (hit.start, hit.end) == (
                    k.start, k.end) and hit.role != k.role for k in kept):
                kept.append(hit)
        hits.extend(sorted(kept, key=lambda h: h.start))
    return hits


# --- what a value looks like ----------------------------------------------------------

Parser = Callable[[str], "Found | None"]
_LEAD = re.compile(r"^[\s:#.;=\-–—>/]*(?:(?:nr|no|n°|nº|number|nummer)\.?(?=[\s:#\d])[\s:#.]*)?",
                   re.I)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-/.]*[A-Za-z0-9]|\d")


def parse_id(text: str) -> Found | None:
    """A document number: one token with a digit, not a date or an amount with cents."""
    lead = _LEAD.match(text)
    offset = lead.end() if lead else 0
    m = _ID.match(text, offset)
    if m is None:
        return None
    value = m.group()
    split = re.match(r"[A-Z]{2,6} \d[\w/-]*", text[m.start():])
    if split and not re.search(r"\d", value):  # "IBZY 2087": OCR split the number
        value = split.group()
    if not re.search(r"\d", value) or find_dates(value) or re.fullmatch(r"\d+[.,]\d\d", value):
        return None
    if re.fullmatch(r"\d{1,2}", value) and offset == 0 and not text.startswith(value + " "):
        return None
    return Found(value.rstrip(".-/"), m.start(), m.start() + len(value.rstrip(".-/")))


def date_parser(month_first: bool) -> Parser:
    def parse(text: str) -> Found | None:
        found = find_dates(text[:60], month_first=month_first)
        return found[0] if found and found[0].start <= 30 else None
    return parse


def parse_total(text: str) -> Found | None:
    """The last amount before any other words (totals rows end with the total)."""
    amounts = find_amounts(text)
    money = [a for a in amounts if money_like(a, text)] or amounts
    return money[-1] if money else None


_VAT = re.compile(r"\b([A-Z]{2})[\s.-]?((?:[0-9A-Z][\s.-]?){7,13}[0-9A-Z])\b")


def parse_vat_id(text: str) -> Found | None:
    from stdnum.eu import vat

    for m in _VAT.finditer(text.upper()):
        raw = m.group()
        for cut in range(len(raw), 6, -1):  # "DE 232 446 240 SWIFT" → "DE 232 446 240"
            candidate = re.sub(r"[\s.-]", "", raw[:cut])
            if candidate[:2].isalpha() and vat.is_valid(candidate):
                return Found(candidate, m.start(), m.start() + cut)
        compact = re.sub(r"[\s.-]", "", raw)
        if re.fullmatch(r"[A-Z]{2}\d{8,12}", compact):
            return Found(compact, m.start(), m.end())
    return None


_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?)\b")


def parse_iban(text: str) -> Found | None:
    from engine.core.checks import iban_valid

    upper = text.upper()
    first = None
    for m in _IBAN.finditer(upper):
        raw = m.group(1)
        for cut in range(len(raw), 14, -1):
            candidate = raw[:cut].replace(" ", "")
            if iban_valid(candidate):
                return Found(candidate, m.start(), m.start() + cut)
        first = first or Found(raw.replace(" ", ""), m.start(), m.end())
    return first


def parse_text(text: str) -> Found | None:
    m = re.match(r"^[\s:#.\-–]*", text)
    start = m.end() if m else 0
    value = text[start:].strip()
    cut = re.search(r"\s{3,}|\s[·|]\s", value)
    if cut:
        value = value[:cut.start()]
    value = value.strip(" ,;")
    if len(value) < 2 or not re.search(r"[^\W\d_]{2}", value):
        return None
    return Found(value, start, start + len(value))


@dataclass(frozen=True)
class Candidate:
    """A value a label points at, with how sure that is and where it stands."""

    role: str
    value: object
    score: float
    row: Row
    box: tuple[float, float, float, float]
    below: bool = False

    @property
    def where(self) -> str:
        return f"p{self.row.page} l{self.row.index} [{','.join(f'{v:.0f}' for v in self.box)}]"


def candidates(rows: Sequence[Row], hits: Sequence[Hit], parsers: dict[str, Parser]) -> \
        dict[str, list[Candidate]]:
    """For each label, the value right of it (up to the next label), else below it."""
    by_row: dict[tuple[int, int], list[Hit]] = {}
    for hit in hits:
        by_row.setdefault((hit.row.page, hit.row.index), []).append(hit)
    positions = {(r.page, r.index): i for i, r in enumerate(rows)}
    found: dict[str, list[Candidate]] = {}
    for hit in hits:
        parse = parsers.get(hit.role)
        if parse is None:
            continue
        same_row = by_row[(hit.row.page, hit.row.index)]
        following = [h.start for h in same_row if h.start >= hit.end]
        stop = min(following, default=len(hit.row.text))
        segment = hit.row.text[hit.end:stop]
        value = parse(segment)
        if value is not None:
            start = hit.end + value.start
            box = hit.row.box(start, hit.end + value.end)
            found.setdefault(hit.role, []).append(
                Candidate(hit.role, value.value, hit.weight, hit.row, box))
            continue
        # a header above its value; less sure when other words stand right of the label,
        # and amounts under a header are a table's line amounts more often than totals
        factor = 0.75 if segment.strip(" :#.-") else 0.9
        if parse is parse_total:
            if len(same_row) >= 3 and any(parsers.get(h.role) is parse_id for h in same_row):
                continue  # a header of records (invoice no., date, amount…): per-row amounts
            factor *= 0.6
        below = _below(rows, positions[(hit.row.page, hit.row.index)], hit, same_row, parse)
        if below is not None:
            row, value, box = below
            found.setdefault(hit.role, []).append(
                Candidate(hit.role, value.value, hit.weight * factor, row, box, below=True))
    return found


def _below(rows: Sequence[Row], at: int, hit: Hit, same_row: Sequence[Hit], parse: Parser) -> \
        tuple[Row, Found, tuple[float, float, float, float]] | None:
    """The value in the label's column on the next rows (a header above its value)."""
    x0, x1 = hit.row.x_at(hit.start), hit.row.x_end(hit.end)
    nxt = [h for h in same_row if h.start >= hit.end]
    limit = hit.row.x_at(nxt[0].start) if nxt else x1 + 200
    height = max(4.0, hit.row.bottom - hit.row.top)
    for row in rows[at + 1:at + 2]:
        if row.page != hit.row.page or row.top - hit.row.bottom > 3.0 * height:
            break
        # the words under the label (left-, right- or centre-aligned), not the next column's
        inside = [t for t in row.tokens if t.x1 > x0 - 2 and t.x0 < x1 + 2 and t.x0 < limit]
        if not inside:
            continue
        start = inside[0].start
        value = parse(row.text[start:inside[-1].end])  # just under the label
        if value is None:  # a value wider than its label
            after = [t for t in row.tokens if t.start >= start and t.x0 < limit]
            value = parse(row.text[start:after[-1].end]) if after else None
        if value is None and at + 2 < len(rows) and rows[at + 2].page == row.page:
            more = [t for t in rows[at + 2].tokens if t.x1 > x0 - 2 and t.x0 < x1 + 2]
            if more:  # a cell wrapped onto two lines: "10. August" / "2026"
                joined = row.text[start:inside[-1].end] + " " + " ".join(t.text for t in more)
                wrapped = parse(joined)
                if wrapped is not None and wrapped.end > len(row.text[start:inside[-1].end]):
                    box = row.box(start + wrapped.start, inside[-1].end)
                    return row, Found(wrapped.value, start + wrapped.start,
                                      inside[-1].end), box
        if value is None:
            return None
        box = row.box(start + value.start, start + value.end)
        return row, Found(value.value, start + value.start, start + value.end), box
    return None


def is_date(value: object) -> bool:
    return isinstance(value, date)
