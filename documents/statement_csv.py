"""Bank statements as CSV exports: a column mapping turns rows into statement entries.

A `CsvMapping` names the header of each column (``"A|B"``: the first one present), the
delimiter, encoding, date formats and decimal mark. Header names are compared without case,
spaces or punctuation, and with umlauts spelled out, so ``Währung`` finds ``Waehrung``. The
header row is looked for from `skip_rows` on among the first rows, so preamble lines of an
export do not need counting exactly. Amounts come from one signed column, from separate
debit and credit columns (a debit is negative whatever its sign in the file), or from an
amount with a direction column (S/H, D/C, Soll/Haben, Debit/Credit).

`read_statement_csv` never raises on bad input; every problem is an `Issue` naming
``file:line:column`` (1-based) and the header. A row with a problem is left out and its
issue is `Malformed`: the import books nothing of such a file. Rows are
grouped into one statement per own account (the `account` argument, else the `account`
column) and currency. CSV exports carry no opening or closing balance, so those are None.
`MAPPINGS` holds built-in mappings; `find_mapping` picks the one whose columns a file's
header carries most of.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from documents.statement_errors import Malformed
from engine.core.records import Issue, Statement, StatementEntry

_TEXT_FIELDS = (
    "counterparty_name",
    "counterparty_iban",
    "remittance_info",
    "reference",
    "end_to_end_id",
)
_HEADER_SEARCH = 30  # rows searched for the header row
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_Bad = Callable[[str, str], None]  # reports a problem in a field's column of the current row


@dataclass(frozen=True)
class CsvMapping:
    """How one bank's CSV export maps to statement entries; empty names are unused columns."""

    booking_date: str
    amount: str = ""
    debit: str = ""
    credit: str = ""
    direction: str = ""
    value_date: str = ""
    currency: str = ""
    fixed_currency: str = "EUR"
    counterparty_name: str = ""
    counterparty_iban: str = ""
    remittance_info: str = ""
    reference: str = ""
    end_to_end_id: str = ""
    account: str = ""
    delimiter: str = ";"
    encoding: str = "cp1252"
    date_formats: tuple[str, ...] = ("%d.%m.%Y", "%d.%m.%y")
    decimal_comma: bool = True
    skip_rows: int = 0

    def columns(self) -> dict[str, str]:
        """Field name → header name(s) for every mapped column."""
        names = (
            "booking_date",
            "amount",
            "debit",
            "credit",
            "direction",
            "value_date",
            "currency",
            "account",
            *_TEXT_FIELDS,
        )
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    def required(self) -> tuple[str, ...]:
        return ("booking_date", "amount") if self.amount else ("booking_date", "debit", "credit")


MAPPINGS: dict[str, CsvMapping] = {
    # Sparkasse "CSV-CAMT" (also matches its CSV-MT940 export, without IBAN and end-to-end id)
    "sparkasse_csv_camt": CsvMapping(
        booking_date="Buchungstag",
        value_date="Valutadatum",
        amount="Betrag",
        currency="Waehrung",
        counterparty_name="Beguenstigter/Zahlungspflichtiger",
        counterparty_iban="Kontonummer/IBAN",
        remittance_info="Verwendungszweck",
        end_to_end_id="Kundenreferenz (End-to-End)",
        account="Auftragskonto",
        date_formats=("%d.%m.%y", "%d.%m.%Y"),
    ),
    # generic English export: ISO dates, decimal point, comma separated, UTF-8
    "generic_en": CsvMapping(
        booking_date="Booking date|Date",
        value_date="Value date",
        amount="Amount",
        currency="Currency",
        counterparty_name="Counterparty name|Counterparty",
        counterparty_iban="Counterparty IBAN|IBAN",
        remittance_info="Remittance information|Description",
        reference="Reference",
        end_to_end_id="End-to-end ID",
        account="Account",
        delimiter=",",
        encoding="utf-8",
        date_formats=("%Y-%m-%d", "%d/%m/%Y"),
        decimal_comma=False,
    ),
}


def read_statement_csv(
    data: bytes, source: str, mapping: CsvMapping, account: str = ""
) -> tuple[tuple[Statement, ...], list[Issue]]:
    """Statements (one per own account and currency) in a CSV export and the problems found."""
    try:
        return _Reader(source, mapping).read(data, account)
    except Exception as exc:  # the contract is "issues, never exceptions" for any input
        return (), [Issue(source, f"could not be read ({type(exc).__name__}: {exc})")]


def find_mapping(data: bytes) -> CsvMapping | None:
    """The built-in mapping whose columns the file's header carries most of, or None."""
    best: tuple[int, CsvMapping] | None = None
    for mapping in MAPPINGS.values():
        try:
            found = _header(_rows(_decode(data, mapping), mapping), mapping)
        except csv.Error:
            continue
        if found is not None and (best is None or len(found[1]) > best[0]):
            best = (len(found[1]), mapping)
    return best[1] if best else None


def _key(name: str) -> str:
    return re.sub(r"[\W_]", "", name.lower().translate(_UMLAUTS))


def _decode(data: bytes, mapping: CsvMapping) -> str:
    for encoding in dict.fromkeys(("utf-8-sig", mapping.encoding)):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _rows(text: str, mapping: CsvMapping) -> list[tuple[int, list[str]]]:
    """(first line, cells) of every record; quoted cells may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    rows, line = [], 1
    for cells in reader:
        rows.append((line, cells))
        line = reader.line_num + 1
    return rows


def _header(
    rows: list[tuple[int, list[str]]], mapping: CsvMapping
) -> tuple[int, dict[str, int]] | None:
    """Index of the header row and field name → column index, if the required are there."""
    for index in range(mapping.skip_rows, min(len(rows), mapping.skip_rows + _HEADER_SEARCH)):
        keys = [_key(cell) for cell in rows[index][1]]
        columns: dict[str, int] = {}
        for name, headers in mapping.columns().items():
            found = [keys.index(_key(h)) for h in headers.split("|") if _key(h) in keys]
            if found:
                columns[name] = found[0]
        if all(name in columns for name in mapping.required()):
            return index, columns
    return None


class _Reader:
    """Reads the rows of one file and collects its issues."""

    def __init__(self, source: str, mapping: CsvMapping) -> None:
        self.source, self.mapping = source, mapping
        self.issues: list[Issue] = []

    def issue(self, line: int, column: int, header: str, message: str) -> None:
        """A cell that cannot be read: the row is malformed, the file refused as a whole."""
        self.issues.append(Malformed(f"{self.source}:{line}:{column + 1}", f"{header}: {message}"))

    def read(self, data: bytes, account: str) -> tuple[tuple[Statement, ...], list[Issue]]:
        try:
            rows = _rows(_decode(data, self.mapping), self.mapping)
        except csv.Error as exc:
            return (), [Issue(self.source, f"not readable as CSV ({exc})")]
        found = _header(rows, self.mapping)
        if found is None:
            wanted = ", ".join(repr(self.mapping.columns()[n]) for n in self.mapping.required())
            line = rows[self.mapping.skip_rows][0] if len(rows) > self.mapping.skip_rows else 1
            where = f"{self.source}:{line}"
            return (), [Issue(where, f"no header row with the columns {wanted}")]
        index, columns = found
        grouped: dict[tuple[str, str], list[StatementEntry]] = {}
        for line, cells in rows[index + 1 :]:
            if not any(cell.strip() for cell in cells):
                continue
            cell = {n: (cells[i].strip() if i < len(cells) else "") for n, i in columns.items()}
            entry = self.entry(line, cell, columns, rows[index][1])
            if entry is not None:
                key = (account or cell.get("account", ""), entry.currency)
                grouped.setdefault(key, []).append(entry)
        statements = tuple(
            Statement(own, currency, "", None, None, tuple(entries), self.source)
            for (own, currency), entries in grouped.items()
        )
        if not statements and not self.issues:
            self.issues.append(Issue(self.source, "no rows after the header row"))
        return statements, self.issues

    def entry(
        self, line: int, cell: dict[str, str], columns: dict[str, int], header: list[str]
    ) -> StatementEntry | None:
        problems = len(self.issues)

        def bad(name: str, message: str) -> None:
            self.issue(line, columns[name], header[columns[name]].strip(), message)

        booked = self.day(cell["booking_date"], "booking_date", bad, required=True)
        valued = self.day(cell.get("value_date", ""), "value_date", bad, required=False)
        amount = self.amount(cell, bad)
        if len(self.issues) > problems or booked is None or amount is None:
            return None
        currency = cell.get("currency", "").upper() or self.mapping.fixed_currency
        texts = {name: " ".join(cell.get(name, "").split()) for name in _TEXT_FIELDS}
        texts["counterparty_iban"] = texts["counterparty_iban"].replace(" ", "").upper()
        where = f"{self.source}:{line}"
        return StatementEntry(booked, valued, amount, currency, source=where, **texts)

    def day(self, text: str, name: str, bad: _Bad, *, required: bool) -> date | None:
        if not text:
            if required:
                bad(name, "no date")
            return None
        for pattern in self.mapping.date_formats:
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        bad(name, f"not a date in the form {' or '.join(self.mapping.date_formats)}: {text!r}")
        return None

    def amount(self, cell: dict[str, str], bad: _Bad) -> Decimal | None:
        if self.mapping.amount:
            value = self.number(cell["amount"], "amount", bad)
            direction = cell.get("direction", "").upper()
            if value is not None and direction[:1] in ("S", "D", "-"):
                value = -abs(value)
            return value
        debit, credit = cell.get("debit", ""), cell.get("credit", "")
        if debit.strip("0,.-+ ") and credit.strip("0,.-+ "):
            bad("credit", f"both debit {debit!r} and credit {credit!r} are filled in")
            return None
        if not debit and not credit:
            bad("debit", "neither debit nor credit is filled in")
            return None
        if debit.strip("0,.-+ "):
            value = self.number(debit, "debit", bad)
            return None if value is None else -abs(value)
        value = self.number(credit or debit, "credit" if credit else "debit", bad)
        return None if value is None else abs(value)

    def number(self, text: str, name: str, bad: _Bad) -> Decimal | None:
        value = parse_amount(text, self.mapping.decimal_comma)
        if value is None:
            mark = "comma" if self.mapping.decimal_comma else "point"
            bad(name, f"not an amount with a decimal {mark}: {text!r}" if text else "no amount")
        return value


def parse_amount(text: str, decimal_comma: bool) -> Decimal | None:
    """'1.234,56' (comma) or '1,234.56' (point), signs '-1', '1-', '(1)', '+1'; else None."""
    s, negative = re.sub(r"(?i)\s|eur|€", "", text), False
    if s.startswith("(") and s.endswith(")"):
        s, negative = s[1:-1], True
    elif s[:1] in ("+", "-"):
        s, negative = s[1:], s[:1] == "-"
    elif s.endswith("-"):
        s, negative = s[:-1], True
    group, mark = (".", ",") if decimal_comma else (",", ".")
    g, m = re.escape(group), re.escape(mark)
    if not re.fullmatch(rf"(?a)(\d{{1,3}}({g}\d{{3}})+|\d+)({m}\d+)?|{m}\d+", s):
        return None
    try:
        value = Decimal(s.replace(group, "").replace(mark, "."))
    except InvalidOperation:
        return None
    return -value if negative else value
