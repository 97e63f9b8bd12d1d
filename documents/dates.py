"""Dates and amounts as people write them on German, English, French and Dutch documents.

`find_dates` gives every date in a text with its span; slashed dates are read day first
unless the document shows it writes month first (`month_first`, see `slash_order`).
`find_amounts` gives the money amounts in a text, skipping percentages and dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.core.money import parse_amount

MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "janvier": 1, "januari": 1, "jan": 1,
    "februar": 2, "february": 2, "février": 2, "fevrier": 2, "februari": 2, "feb": 2, "fév": 2,
    "märz": 3, "maerz": 3, "march": 3, "mars": 3, "maart": 3, "mar": 3, "mär": 3, "mrt": 3,
    "april": 4, "avril": 4, "apr": 4, "avr": 4,
    "mai": 5, "may": 5, "mei": 5,
    "juni": 6, "june": 6, "juin": 6, "jun": 6,
    "juli": 7, "july": 7, "juillet": 7, "jul": 7, "juil": 7,
    "august": 8, "août": 8, "aout": 8, "augustus": 8, "aug": 8,
    "september": 9, "septembre": 9, "sep": 9, "sept": 9,
    "oktober": 10, "october": 10, "octobre": 10, "okt": 10, "oct": 10,
    "november": 11, "novembre": 11, "nov": 11,
    "dezember": 12, "december": 12, "décembre": 12, "decembre": 12, "dez": 12, "dec": 12,
    "déc": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUMERIC = re.compile(r"(?<![\d.,/-])(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-]|[.,]\d)")
_DAY_NAME = rf"(\d{{1,2}})(?:\.|er|st|nd|rd|th)?\s*({_MONTH})\.?,?\s*(\d{{4}})"
_NAME_DAY = rf"({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(\d{{4}})"
_DAY_MONTH = re.compile(rf"(?<![\w]){_DAY_NAME}(?!\d)", re.I)
_MONTH_DAY = re.compile(rf"(?<![\w]){_NAME_DAY}(?!\d)", re.I)


@dataclass(frozen=True)
class Found:
    """A value found in a text and the span of characters it came from."""

    value: object
    start: int
    end: int


def slash_order(texts: Iterable[str]) -> bool | None:
    """True when the document writes slashed dates month first (03/20/2023), False when
    day first (20/03/2023), None when every slashed date could be either."""
    for text in texts:
        for m in _NUMERIC.finditer(text):
            if m.group(2) != "/":
                continue
            first, second = int(m.group(1)), int(m.group(3))
            if first > 12 >= second:
                return False
            if second > 12 >= first:
                return True
    return None


def find_dates(text: str, *, month_first: bool = False) -> list[Found]:
    """Every date in the text with its span, in order."""
    found: list[Found] = []
    for m in _NUMERIC.finditer(text):
        a, sep, b, y = m.group(1), m.group(2), m.group(3), m.group(4)
        year = int(y) if len(y) == 4 else 2000 + int(y)
        day, month = (int(b), int(a)) if sep == "/" and month_first else (int(a), int(b))
        value = _date(year, month, day) or (_date(year, day, month) if sep == "/" else None)
        if value is not None:
            found.append(Found(value, m.start(), m.end()))
    for m in _ISO.finditer(text):
        value = _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if value is not None:
            found.append(Found(value, m.start(), m.end()))
    for pattern, day_at, month_at in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        for m in pattern.finditer(text):
            value = _date(int(m.group(3)), MONTHS[m.group(month_at).lower()], int(m.group(day_at)))
            if value is not None:
                found.append(Found(value, m.start(), m.end()))
    found.sort(key=lambda f: (f.start, -f.end))
    result: list[Found] = []
    for f in found:  # drop dates inside others
        if not result or f.start >= result[-1].end:
            result.append(f)
    return result


_ISO = re.compile(r"(?<![\d.,/-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/-]|[.,]\d)")


def find_date(text: str, *, month_first: bool = False) -> date | None:
    """The first date in the text, or None."""
    found = find_dates(text, month_first=month_first)
    value = found[0].value if found else None
    return value if isinstance(value, date) else None


def _date(year: int, month: int, day: int) -> date | None:
    if not 1900 <= year <= 2199:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


_AMOUNT = re.compile(
    r"(?<![\w.,/-])(?P<neg>-\s?)?(?P<num>\d{1,3}(?:[.,' \u00a0]\d{3})+(?:[.,]\d{1,2})?"
    r"|\d+(?:[.,]\d{1,2})?)(?P<trail>-)?(?![\w/]|[.,]\d|\s?%)")


def find_amounts(text: str, *, skip_dates: bool = True) -> list[Found]:
    """The money amounts in a text with their spans (Decimal values); percentages, dates
    and numbers glued to letters are not amounts."""
    blocked: list[tuple[int, int]] = []
    if skip_dates:
        blocked = [(f.start, f.end) for f in find_dates(text)]
    found: list[Found] = []
    for m in _AMOUNT.finditer(text):
        if any(s <= m.start() < e for s, e in blocked):
            continue
        raw = m.group("num")
        # "1 234,56" is one amount, "12 2014" is two numbers
        if (" " in raw or "\u00a0" in raw) and \
                not re.fullmatch(r"\d{1,3}(?:[ \u00a0]\d{3})+(?:[.,]\d{1,2})", raw):
            raw = re.split(r"[ \u00a0]", raw)[0]
            end = m.start("num") + len(raw)
            value = parse_amount(raw)
            if value is not None:
                found.append(Found(-value if m.group("neg") else value, m.start(), end))
            continue
        value = parse_amount(raw.replace(" ", "").replace("\u00a0", ""))
        if value is None:
            continue
        if m.group("neg") or m.group("trail"):
            value = -value
        found.append(Found(value, m.start(), m.end()))
    return found


def money_like(found: Found, text: str) -> bool:
    """An amount written with cents or beside a currency, as totals are."""
    raw = text[found.start:found.end]
    near = text[max(0, found.start - 5):found.end + 5]
    return bool(re.search(r"[.,]\d{2}\b", raw)) or bool(_CURRENCY_NEAR.search(near))


_CURRENCY_NEAR = re.compile(r"[€$£₹¥]|\b(?:EUR|USD|GBP|CHF|INR|PLN|Rs\.?)\b")


def as_decimal(found: Found) -> Decimal:
    value = found.value
    assert isinstance(value, Decimal)
    return value
