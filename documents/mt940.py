"""SWIFT MT940 bank statements (and MT942 interim reports): every statement of a file.

`read_mt940` never raises on bad input: every problem becomes an `Issue` whose place is
``file:line`` (the line of the field in the decoded file); a field that cannot be read as
written (:61:, a balance, a second :25: holding another field's text) gives a `Malformed`
issue, on which the import books nothing of the file. Bytes are read as UTF-8, else
cp1252, else latin-1; CRLF, LF and CR line ends, SWIFT blocks ({1:…}{2:…}{4: … -}), bank
header lines and SOH/ETX bytes are all accepted. A statement runs from :20: (or the first
field after the end of the previous one) to ``-`` or the next :20:; a second opening balance
or an entry after the closing balance starts a new one, so concatenated exports work too.

Amounts are signed: D and RC (reversal of a credit) negative, C and RD (reversal of a debit)
positive; a funds code letter after the mark is skipped. The booking date is the :61: entry
date (MMDD, its year taken so that it lies closest to the value date, across a new year),
else the value date. A day past the end of its month (30 February, which some German banks
use for period-end entries) is the month's last day. Opening + entries = closing is checked.

:86: (German ``?20…?32`` subfields, SWIFT ``/CODE/value``, free text) and the :NS:
subfields of some German exports are read by documents.mt940_details.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from documents.mt940_details import details, find_iban, find_rf
from documents.statement_errors import Malformed
from engine.core.checks import iban_valid
from engine.core.records import Issue, Statement, StatementEntry

_TAGS = frozenset(
    ("20", "21", "25", "28", "28C", "60", "60F", "60M", "61", "62", "62F", "62M", "64", "65")
    + ("86", "NS", "13", "13D", "34F", "90C", "90D")
)
_TAG = re.compile(r"(?a):(\d{2}[A-Z]?|NS):")
_AMOUNT = r"\d{1,18}(?:,\d{0,10})?|,\d{1,10}"
_BALANCE = re.compile(rf"(?a)([CD])(\d{{6}})([A-Z]{{3}})?({_AMOUNT})")
_LINE61 = re.compile(
    rf"(?a)(?P<value>\d{{6}})(?P<entry>\d{{4}}| {{4}})?\s*(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    rf"\n?(?P<amount>{_AMOUNT})(?![\d,.])(?P<type>[A-Z][A-Z0-9 ]{{3}})?(?P<refs>[^\n]*)"
    r"\n?(?P<extra>.*)",
    re.S,
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_mt940(data: bytes, source: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    """Statements in an MT940/MT942 file and the problems found, never an exception."""
    try:
        reader = _Reader(source)
        statements = reader.read(_fields(_decode(data)))
        if not statements and not reader.issues:
            reader.issues.append(Issue(source, "no MT940 statement found (no :20:, :60F: or :61:)"))
        return statements, reader.issues
    except Exception as exc:  # the contract is "issues, never exceptions" for any input
        return (), [Issue(source, f"could not be read ({type(exc).__name__}: {exc})")]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass
class _Field:
    """One tagged field (tag ``-`` ends a message) and its continuation lines."""

    tag: str
    line: int
    lines: list[str] = field(default_factory=list)


def _fields(text: str) -> list[_Field]:
    fields: list[_Field] = []
    current: _Field | None = None
    colon = 0  # a line holding only ':' whose tag follows on the next line (Sparkasse)
    for number, line in enumerate(text.split("\n"), 1):
        if colon and re.match(r"(?a)(\d{2}[A-Z]?|NS):", line):
            line, number = ":" + line, colon
        elif colon and current is not None:
            current.lines.append(":")
        colon = 0
        if re.match(r"\{[1-5]:", line):  # SWIFT blocks: the text block starts after {4:
            fields.append(_Field("-", number))
            current = None
            start = line.find("{4:")
            if start < 0:
                continue
            line = line[start + 3 :]
        if line.rstrip() == "-" or line.startswith("-}"):
            fields.append(_Field("-", number))
            current = None
            continue
        if line.strip() == ":":
            colon = number
            continue
        match = _TAG.match(line)
        if match and match.group(1) in _TAGS:
            current = _Field(match.group(1), number, [line[match.end() :]])
            fields.append(current)
        elif current is not None:  # an unknown :26: inside text is text (wrapped times)
            current.lines.append(line)
    return fields


@dataclass
class _Entry:
    line: int
    value_date: date
    booking_date: date
    amount: Decimal
    refs: str
    extra: str
    details: list[list[str]] = field(default_factory=list)
    non_swift: list[str] = field(default_factory=list)


@dataclass
class _Draft:
    line: int
    reference: str = ""
    number: str = ""
    account: str = ""
    currency: str = ""
    opening: tuple[Decimal, str, int] | None = None
    closing: tuple[Decimal, str, int] | None = None
    entries: list[_Entry] = field(default_factory=list)
    closed: bool = False
    interim: bool = False  # MT942: no balances expected
    entry_open: bool = False  # an :86: or :NS: now belongs to the last entry


class _Reader:
    """Builds the statements of one file and collects its issues."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []
        self.statements: list[Statement] = []

    def issue(self, line: int, message: str, *, bad: bool = False) -> None:
        """Report a problem at a line; `bad`: the field is malformed (the file is refused as
        a whole), else it is only reported (a balance that does not add up)."""
        kind = Malformed if bad else Issue
        self.issues.append(kind(f"{self.source}:{line}", message))

    def read(self, fields: list[_Field]) -> tuple[Statement, ...]:
        draft: _Draft | None = None
        for f in fields:
            tag, first = f.tag, (f.lines[0].strip() if f.lines else "")
            if tag == "-" or (tag == "20" and draft is not None):
                self.finish(draft)
                draft = None
            if tag == "-":
                continue
            if draft is not None and (
                (tag[:2] == "60" and (draft.opening or draft.entries or draft.closed))
                or (tag == "61" and draft.closed)
            ):
                self.finish(draft)
                draft = None
            if draft is None:
                draft = _Draft(f.line)
            if tag not in ("86", "NS"):
                draft.entry_open = False
            if tag not in ("61", "86", "NS") and any(s.strip() for s in f.lines[1:]):
                self.issue(f.line, f":{tag}: is one line; the text after it is ignored")
            self.field(draft, f, tag, first)
        self.finish(draft)
        return tuple(self.statements)

    def field(self, draft: _Draft, f: _Field, tag: str, first: str) -> None:
        if tag == "20":
            draft.reference = first
        elif tag == "25":
            if draft.account:
                self.issue(f.line, f":25: again in one statement, {first[:40]!r} ignored",
                           bad=True)
            else:
                draft.account = find_iban(first) or first
        elif tag in ("28", "28C"):
            draft.number = first
        elif tag[:2] in ("60", "62"):
            balance = self.balance(first, f.line, tag)
            if tag[:2] == "62":
                draft.closed = True
                if draft.closing is not None:
                    self.issue(f.line, f":{tag}: second closing balance in one statement, ignored")
                    return
                draft.closing = balance
            else:
                draft.opening = balance
        elif tag == "61":
            entry = self.entry("\n".join(f.lines), f.line)
            if entry is not None:
                draft.entries.append(entry)
                draft.entry_open = True
        elif tag == "86" and draft.entry_open:
            draft.entries[-1].details.append(f.lines)
        elif tag == "NS" and draft.entry_open:
            draft.entries[-1].non_swift.extend(f.lines)
        elif tag in ("34F", "13", "13D", "90C", "90D"):
            draft.interim = True
            if tag == "34F" and re.match(r"[A-Z]{3}", first):
                draft.currency = draft.currency or first[:3]

    def balance(self, text: str, line: int, tag: str) -> tuple[Decimal, str, int] | None:
        match = _BALANCE.fullmatch(text)
        day = match and _yymmdd(match.group(2))
        if not match or not day:
            want = "C|D, YYMMDD, currency, amount"
            self.issue(line, f":{tag}: cannot be read: {text[:40]!r} (want {want})", bad=True)
            return None
        value = _amount(match.group(4))
        return (-value if match.group(1) == "D" else value), match.group(3) or "", line

    def entry(self, text: str, line: int) -> _Entry | None:
        match = _LINE61.match(text.strip(" "))
        if not match:
            want = "YYMMDD[MMDD] C|D|RC|RD amount type reference"
            first = text.split("\n", 1)[0].strip()
            self.issue(line, f":61: cannot be read: {first[:50]!r} (want {want})", bad=True)
            return None
        value_date = _yymmdd(match["value"])
        if value_date is None:
            self.issue(line, f":61: invalid value date {match['value']!r}, entry left out",
                       bad=True)
            return None
        booking_date = value_date
        if match["entry"] and match["entry"].strip():
            found = _near(value_date, match["entry"])
            if found is None:
                self.issue(line, f":61: invalid entry date {match['entry']!r}, value date used",
                           bad=True)
            booking_date = found or value_date
        amount = _amount(match["amount"])
        signed = -amount if match["mark"] in ("D", "RC") else amount
        extra = " ".join(s.strip() for s in match["extra"].split("\n") if s.strip())
        return _Entry(line, value_date, booking_date, signed, match["refs"], extra)

    def finish(self, draft: _Draft | None) -> None:
        if draft is None:
            return
        currencies = {b[1] for b in (draft.opening, draft.closing) if b and b[1]}
        currency = next(iter(sorted(currencies)), "") or draft.currency
        account = draft.account  # '1291.99.348EUR', 'BLZ/KONTO/HUF': the currency goes
        suffix = re.fullmatch(r"(?a)(.*[0-9])/?([A-Z]{3})", account)
        if suffix and not iban_valid(account) and currency in (suffix.group(2), ""):
            account, currency = suffix.group(1), suffix.group(2)
        if len(currencies) > 1:
            self.issue(draft.line, f"opening and closing balances differ in currency {currencies}")
        if not account:
            self.issue(draft.line, "no :25: account identification")
        if not draft.interim:
            if draft.opening is None:
                self.issue(draft.line, "no readable opening balance :60F:/:60M:")
            if draft.closing is None:
                self.issue(draft.line, "no readable closing balance :62F:/:62M:")
        entries = tuple(self.make_entry(e, currency) for e in draft.entries)
        if draft.opening and draft.closing:
            (opening, _, _), (closing, _, line) = draft.opening, draft.closing
            total = sum((e.amount for e in entries), Decimal("0"))
            if opening + total != closing:
                found = f"opening {opening} + entries {total} = {opening + total}"
                self.issue(line, f"{found}, but the closing balance is {closing}")
        self.statements.append(Statement(
            account, currency, draft.number or draft.reference,
            draft.opening[0] if draft.opening else None,
            draft.closing[0] if draft.closing else None,
            entries, f"{self.source}:{draft.line}",
        ))

    def make_entry(self, e: _Entry, currency: str) -> StatementEntry:
        customer_ref, _, bank_ref = e.refs.partition("//")
        info = details(e.details, e.non_swift, e.extra)
        if not info["reference"]:
            info["reference"] = find_rf(customer_ref)
        where = f"{self.source}:{e.line}"
        return StatementEntry(e.booking_date, e.value_date, e.amount, currency,
                              bank_reference=bank_ref.strip(), source=where, **info)


def _amount(text: str) -> Decimal:
    value = Decimal(text.replace(",", ".").rstrip(".") or "0")
    return value.quantize(Decimal("0.01")) if value.as_tuple().exponent in (0, -1) else value


def _day(year: int, month: int, day: int) -> date | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return date(year, month, min(day, monthrange(year, month)[1]))


def _yymmdd(text: str) -> date | None:
    yy = int(text[:2])
    return _day(1900 + yy if yy >= 80 else 2000 + yy, int(text[2:4]), int(text[4:6]))


def _near(value: date, mmdd: str) -> date | None:
    """The date MMDD in the year (before, of or after `value`) that lies closest to it."""
    found = (_day(y, int(mmdd[:2]), int(mmdd[2:])) for y in range(value.year - 1, value.year + 2))
    candidates = [d for d in found if d is not None]
    return min(candidates, key=lambda d: abs((d - value).days)) if candidates else None
