"""CSV tables with a header row, read cell by cell with types; every problem an `Issue`.

The shared reading of the import files (documents.open_items_csv): UTF-8 (a byte order
mark allowed), comma-separated, a header naming known columns (unknown ones get a "did
you mean"), one record per data row built from its `Cells` (text, date, amount, integer,
boolean, choice, IBAN, e-mail, each with the message a user can act on), issues placed
at ``FILE:LINE``. Nothing here raises for bad input.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TypeVar

from engine.core.checks import iban_valid
from engine.core.emails import valid_email
from engine.core.records import Issue

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"[+-]?\d+(\.\d+)?")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2) in the store
_T = TypeVar("_T")


class Cells:
    """The cells of one data row with typed readers; every problem becomes an Issue."""

    def __init__(self, values: dict[str, str], where: str, issues: list[Issue]) -> None:
        self.values, self.where, self.issues = values, where, issues
        self.failed = False

    def bad(self, column: str, message: str) -> None:
        self.failed = True
        self.issues.append(Issue(self.where, f"column '{column}': {message}"))

    def text(self, column: str, required: bool = False, width: int = 0) -> str:
        value = self.values.get(column, "")
        if not value and required:
            self.bad(column, "is empty; a value is required")
        elif _CONTROL.search(value):
            self.bad(column, "holds a line break, tab or other control character; write "
                             "the value on one line")
            return ""
        elif width and len(value) > width:
            self.bad(column, f"has {len(value)} characters; at most {width} are allowed")
        return value

    def date(self, column: str, required: bool = False) -> date | None:
        value = self.text(column, required)
        if not value:
            return None
        if not _DATE.fullmatch(value):
            self.bad(column, f"'{value}' is not an ISO date; write YYYY-MM-DD, e.g. 2024-03-31")
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.bad(column, f"'{value}' is no calendar date; write YYYY-MM-DD, e.g. 2024-03-31")
            return None

    def amount(self, column: str, required: bool = False, minimum: Decimal = Decimal("0"),
               above: bool = False, maximum: Decimal = _MAX_AMOUNT) -> Decimal | None:
        value = self.text(column, required)
        if not value:
            return None
        if not _DECIMAL.fullmatch(value):
            self.bad(column, f"'{value}' is not a decimal number; write digits with a dot "
                             "and no thousands marks, e.g. 1234.50")
            return None
        number = Decimal(value)
        if len(value.partition(".")[2]) > 2:
            self.bad(column, f"'{value}' has more than two decimals; at most two are allowed")
        elif number < minimum or (above and number == minimum):
            self.bad(column, f"{value} is not allowed; it must be "
                             f"{'greater than' if above else 'at least'} {minimum}")
        elif number > maximum:
            self.bad(column, f"{value} is too large; it must be at most {maximum}")
        else:
            return number
        return None

    def integer(self, column: str, low: int, high: int, default: int | None) -> int | None:
        value = self.text(column)
        if not value:
            return default
        if not (value.isascii() and value.isdigit() and len(value) < 10
                and low <= int(value) <= high):
            self.bad(column, f"'{value}' is not allowed; write a whole number from {low} to {high}")
            return None
        return int(value)

    def boolean(self, column: str, default: bool) -> bool:
        value = self.text(column).lower()
        if not value:
            return default
        if value not in _TRUE + _FALSE:
            self.bad(column, f"'{value}' is not a boolean; write true or false (or 1/0, yes/no)")
            return default
        return value in _TRUE

    def choice(self, column: str, pattern: str, what: str, default: str) -> str:
        value = self.text(column)
        if value and not re.fullmatch(pattern, value):
            self.bad(column, f"'{value}' is not allowed; write {what}")
        return value or default

    def iban(self, column: str) -> str:
        value = re.sub(r"\s", "", self.text(column)).upper()
        if value and not iban_valid(value):
            self.bad(column, f"'{value}' is not a valid IBAN (shape or checksum); "
                             "write the IBAN as the bank gives it, or leave it empty")
        return value

    def email(self, column: str) -> str:
        value = self.text(column, width=254)
        if not value:
            return value
        normalised = valid_email(value)
        if normalised is None:
            self.bad(column, f"'{value}' is not an e-mail address; write one address "
                             "like name@example.com, or leave it empty")
            return value
        return normalised


def header_issues(header: list[str], required: Sequence[str], optional: Sequence[str],
                   where: str) -> tuple[list[Issue], bool]:
    """Problems of the header and whether the rows can still be read."""
    allowed = (*required, *optional)
    if len(header) == 1 and re.search(r"[;\t|]", header[0]):
        return [Issue(where, f"column '{header[0]}': the header is one column; separate the "
                             "columns with commas, not semicolons or tabs")], False
    issues, usable = [], True
    seen: set[str] = set()
    for name in header:
        if not name:
            issues.append(Issue(where, "column '': a column without a name; name it or "
                                       "remove the extra comma"))
        elif name in seen:
            issues.append(Issue(where, f"column '{name}': appears twice; name each column once"))
            usable = False
        elif name not in allowed:
            near = difflib.get_close_matches(name.lower(), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            issues.append(Issue(where, f"column '{name}': unknown{hint}; allowed are "
                                       f"{', '.join(allowed)}"))
        seen.add(name)
    missing = [name for name in required if name not in seen]
    if missing:
        issues.append(Issue(where, "missing required columns " +
                            ", ".join(f"'{m}'" for m in missing) +
                            f"; the header must name {', '.join(required)}"))
        usable = False
    return issues, usable


def read_table(data: bytes, source: str, required: Sequence[str], optional: Sequence[str],
          build: Callable[[Cells, int, frozenset[str]], _T | None]) -> tuple[list[_T], list[Issue]]:
    """Decode, check the header, and build one record per data row."""
    records: list[_T] = []
    issues: list[Issue] = []
    line = 1
    try:
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_line = body[:exc.start].count(b"\n") + 1
            return [], [Issue(f"{source}:{bad_line}", f"byte 0x{body[exc.start]:02x} is not "
                              "UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)")]
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            return [], [Issue(f"{source}:1", "the file has no header row; the first line must "
                              f"name the columns, at least {', '.join(required)}")]
        found, usable = header_issues(header, required, optional, f"{source}:1")
        issues += found
        if not usable:
            return [], issues
        columns = frozenset(header) & frozenset(optional)
        line = reader.line_num + 1
        for row in reader:
            where = f"{source}:{line}"
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    issues.append(Issue(where, f"the row has {len(row)} values but the header "
                                        f"{len(header)} columns; quote values with commas"))
                else:
                    values = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
                    record = build(Cells(values, where, issues), line, columns)
                    if record is not None:
                        records.append(record)
            line = reader.line_num + 1
    except csv.Error as exc:
        issues.append(Issue(f"{source}:{line}", f"not readable as CSV ({exc}); check the quotes"))
    except Exception as exc:  # the contract is "issues, never exceptions" for any input
        issues.append(Issue(f"{source}:{line}", f"could not be read ({type(exc).__name__})"))
    return records, issues


def once(values: Iterable[tuple[str, int]], column: str, source: str,
          issues: list[Issue], what: str) -> set[int]:
    """Report every value that appeared on an earlier line; return those lines."""
    first: dict[str, int] = {}
    again = set()
    for value, line in values:
        if value in first:
            issues.append(Issue(f"{source}:{line}", f"column '{column}': '{value}' is already "
                                f"on line {first[value]}; each {what} may appear once"))
            again.add(line)
        else:
            first[value] = line
    return again


def in_file_order(issue: Issue) -> int:
    """Issues in file order (stable: the order found within a line is kept)."""
    tail = issue.where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
