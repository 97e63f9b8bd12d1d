"""SWIFT MT940 bank statements (and MT942 interim reports): every statement of a file.

`read_mt940` never raises on bad input: every problem becomes an `Issue` whose place is
``file:line`` (the line of the field in the decoded file). Bytes are read as UTF-8, else
cp1252, else latin-1; CRLF, LF and CR line ends, SWIFT blocks ({1:…}{2:…}{4: … -}), bank
header lines and SOH/ETX bytes are all accepted. A statement runs from :20: (or the first
field after the end of the previous one) to ``-`` or the next :20:; a second opening balance
or an entry after the closing balance starts a new one, so concatenated exports work too.

Amounts are signed: D and RC (reversal of a credit) negative, C and RD (reversal of a debit)
positive; a funds code letter after the mark is skipped. The booking date is the :61: entry
date (MMDD, its year taken so that it lies closest to the value date, across a new year),
else the value date. A day past the end of its month (30 February, which some German banks
use for period-end entries) is the month's last day. Opening + entries = closing is checked.

:86: is read in three forms (`_details`): the German structured ``GVC?00…?20…?32…`` (also with
another separator such as ``>``) with its SEPA keys in ?20–?29; the SWIFT ``/CODE/value``
form (NAME, REMI, EREF, IBAN, CNTP …); and free text. The non-SWIFT :NS: subfields of some
German exports (01–14 purpose, 15–16 name) stand in when there is no :86:.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.core.checks import iban_valid, rf_valid
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
    rf"\n?(?P<amount>{_AMOUNT})(?![\d,])(?P<type>[A-Z][A-Z0-9 ]{{3}})?(?P<refs>[^\n]*)"
    r"\n?(?P<extra>.*)",
    re.S,
)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_IBAN = re.compile(r"(?a)[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_SEPA_KEY = re.compile(
    r"(?<![A-Za-z0-9])(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC)\+"
)
_SLASH_KEY = re.compile(
    r"/(EREF|NAME|REMI|IBAN|BIC|CNTP|ORDP|BENM|TRTP|CSID|MARF|PURP|ULTC|ULTD|ISDT|RTRN|ADDR"
    r"|PREF|IREF|KREF|SVCL|BUSP|FX|CHGS|OCMT|EXCH|ACCW|RTYP)/"
)
_RF = re.compile(r"(?a)(?<![A-Z0-9])RF\d{2}[A-Z0-9 ]{1,30}")


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

    def issue(self, line: int, message: str) -> None:
        self.issues.append(Issue(f"{self.source}:{line}", message))

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
                self.issue(f.line, f":25: again in one statement, {first[:40]!r} ignored")
            else:
                draft.account = _iban(first) or first
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
            self.issue(line, f":{tag}: cannot be read: {text[:40]!r} (want {want})")
            return None
        value = _amount(match.group(4))
        return (-value if match.group(1) == "D" else value), match.group(3) or "", line

    def entry(self, text: str, line: int) -> _Entry | None:
        match = _LINE61.match(text.strip(" "))
        if not match:
            want = "YYMMDD[MMDD] C|D|RC|RD amount type reference"
            first = text.split("\n", 1)[0].strip()
            self.issue(line, f":61: cannot be read: {first[:50]!r} (want {want})")
            return None
        value_date = _yymmdd(match["value"])
        if value_date is None:
            self.issue(line, f":61: invalid value date {match['value']!r}, entry left out")
            return None
        booking_date = value_date
        if match["entry"] and match["entry"].strip():
            found = _near(value_date, match["entry"])
            if found is None:
                self.issue(line, f":61: invalid entry date {match['entry']!r}, value date used")
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
        info = _details(e.details, e.non_swift, e.extra)
        if not info["reference"]:
            info["reference"] = _rf(customer_ref)
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


def _clean(text: str) -> str:
    return " ".join(text.split())


def _rf(*texts: str) -> str:
    """The first valid ISO 11649 RF reference in the texts (spaces inside allowed), or ''."""
    for text in texts:
        for match in _RF.finditer(text.upper()):
            candidate = match.group().rstrip()
            for end in range(len(candidate), 4, -1):
                compact = candidate[:end].replace(" ", "")
                if candidate[end - 1] != " " and len(compact) <= 25 and rf_valid(compact):
                    return compact
    return ""


def _iban(*texts: str) -> str:
    for text in texts:
        compact = re.sub(r"\s", "", text).upper()
        if _IBAN.fullmatch(compact):
            return compact
    return ""


def _details(parts: list[list[str]], non_swift: list[str], extra: str) -> dict[str, str]:
    """Counterparty, references and remittance text from an entry's :86: (or :NS:) lines."""
    first = "".join(parts[0]) if parts else ""
    structured = re.match(r"(?a)\s*\d{3}(?:([?>])\d{2}|\s*$)", first)
    if structured:
        return _german("".join("".join(p) for p in parts), structured.group(1) or "?")
    text = " ".join(_unwrap(p) for p in parts)
    if text.lstrip().startswith("/") and re.search(r"/(NAME|REMI|EREF|CNTP|IBAN)/", text):
        return _slash("".join("".join(p) for p in parts), extra)
    if not parts and non_swift:
        return _non_swift(non_swift)
    text = _clean(text) or extra
    return _info("", _iban(text.split(" ", 1)[0], extra), _rf(text), text, "")


def _info(name: str, iban: str, reference: str, remittance: str, e2e: str) -> dict[str, str]:
    return {
        "counterparty_name": name,
        "counterparty_iban": iban,
        "reference": reference,
        "remittance_info": remittance,
        "end_to_end_id": e2e,
    }


def _unwrap(lines: list[str]) -> str:
    """Free text: a line filled to 65 characters goes on without a space, others with one."""
    out, previous = "", ""
    for line in lines:
        out += ("" if not out or len(previous) >= 65 else " ") + line
        previous = line
    return out


def _join(pieces: list[str], continuous: bool) -> str:
    """Subfields: glued when the text runs on (SEPA, or a full 27 characters), else a space."""
    out, previous = "", ""
    for piece in pieces:
        glue = continuous or len(previous) >= 27
        out += "" if not out or (glue and not _SEPA_KEY.match(piece.lstrip())) else " "
        out, previous = out + piece, piece
    return out


def _sepa(text: str) -> tuple[str, dict[str, str]]:
    """Text before the first SEPA key and the keys' values (the first of a key wins)."""
    matches = list(_SEPA_KEY.finditer(text))
    keys: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else None
        keys.setdefault(match.group(1), text[match.end() : end])
    return text[: matches[0].start()] if matches else text, keys


def _german(text: str, separator: str) -> dict[str, str]:
    pieces = re.split(rf"(?a){re.escape(separator)}(\d{{2}})", text)
    fields = list(zip(pieces[1::2], pieces[2::2], strict=True))
    codes = {code for code, _ in fields}
    purpose = [v for c, v in fields if "20" <= c <= "29"]
    more = [v for c, v in fields if "60" <= c <= "63"]
    sepa = _SEPA_KEY.search("".join(purpose + more)) is not None
    if "29" in codes:  # ?60–?63 carry on where ?29 stopped
        purpose, more = purpose + more, []
    body = _join(purpose, sepa)
    _, keys = _sepa(body)
    rest, more_keys = _sepa(_join(more, sepa))
    for key, value in more_keys.items():
        keys.setdefault(key, value)
    eref = _clean(keys.get("EREF", ""))
    eref = "" if eref.upper() == "NOTPROVIDED" else eref
    remittance = keys["SVWZ"] if "SVWZ" in keys else _SEPA_KEY.sub(" ", body)
    remittance = _clean(f"{remittance} {rest}")
    name = _join([v for c, v in fields if c in ("32", "33")], False)
    accounts = [v for c, v in fields if c in ("31", "38")]
    iban = _iban(*accounts, keys.get("IBAN", ""))
    return _info(_clean(name), iban, _rf(eref, remittance, body), remittance, eref)


def _slash(text: str, extra: str) -> dict[str, str]:
    """The SWIFT structured form /EREF/…/NAME/…/REMI/… (Dutch and many other banks)."""
    pieces = _SLASH_KEY.split(text)
    keys: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        keys.setdefault(key, value.strip().strip("/").strip())
    counterparty = (keys.get("CNTP") or keys.get("BENM") or keys.get("ORDP") or "").split("/")
    remittance = re.sub(r"^(USTD|STRD)/+(CUR/+)?", "", keys.get("REMI", ""))
    eref = "" if keys.get("EREF", "").upper() == "NOTPROVIDED" else keys.get("EREF", "")
    name = keys.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "")
    iban = _iban(keys.get("IBAN", ""), counterparty[0], extra)
    remittance = _clean(remittance.strip("/"))
    return _info(_clean(name), iban, _rf(remittance, eref), remittance, _clean(eref))


def _non_swift(lines: list[str]) -> dict[str, str]:
    """:NS: lines 'NNtext': 01–14 purpose, 15–16 counterparty name."""
    coded = [(line[:2], line[2:]) for line in lines if re.match(r"(?a)\d{2}", line)]
    purpose = _clean(" ".join(v for c, v in coded if "01" <= c <= "14"))
    name = _clean(_join([v for c, v in coded if c in ("15", "16")], False))
    return _info(name, "", _rf(purpose), purpose, "")
