"""Bank statements of any kind we read: camt (also zipped), MT940/MT942 and CSV, by content.

`read_statement` sniffs the bytes, never the file name, and hands them to the reader for the
format; like the readers it never raises, every problem is an `Issue`; `malformed` picks
those that refuse the whole file (documents.statement_errors). A CSV file is read
with the mapping given, else with the built-in mapping whose columns its header carries.
`statement_json` is the JSON form `o2c parse FILE --json` prints: amounts and balances as
signed decimal strings (debits negative), dates ISO 8601, anything missing as null.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from documents.camt import read_camt
from documents.mt940 import read_mt940
from documents.sniff import sniff
from documents.statement_csv import MAPPINGS, CsvMapping, find_mapping, read_statement_csv
from documents.statement_errors import Malformed, malformed
from engine.core.records import Issue, Statement

__all__ = ["Malformed", "malformed", "read_statement", "statement_json"]

# MT942 (no :60F:/:62F:) and MT940 fragments that sniff does not call mt940
_SWIFT_FIELDS = re.compile(rb"^:(20|25|28C?|61):", re.M)


def read_statement(
    data: bytes, source: str, csv_mapping: CsvMapping | None = None
) -> tuple[tuple[Statement, ...], list[Issue]]:
    """Statements in a camt, MT940 or CSV file and the problems found, never an exception."""
    try:
        kind = sniff(data)
    except Exception as exc:  # sniffing is best effort; the readers judge the bytes
        kind = f"unknown ({type(exc).__name__})"
    if kind in ("camt", "zip"):
        return read_camt(data, source)
    if kind == "mt940" or (kind in ("text", "csv") and _is_swift(data)):
        return read_mt940(data, source)
    if kind in ("csv", "text"):
        mapping = csv_mapping or find_mapping(data)
        if mapping is not None:
            return read_statement_csv(data, source, mapping)
        known = ", ".join(MAPPINGS)
        message = f"a CSV file whose header fits none of the built-in mappings ({known})"
        return (), [Issue(source, f"{message}; give a column mapping for it")]
    return (), [Issue(source, f"not a bank statement (camt, MT940 or CSV): the content is {kind}")]


def _is_swift(data: bytes) -> bool:
    head = data[:8192]
    return len(_SWIFT_FIELDS.findall(head.replace(b"\r\n", b"\n"))) >= 2


def statement_json(
    statements: tuple[Statement, ...] | list[Statement], issues: list[Issue], source: str
) -> dict[str, Any]:
    """The JSON form of what a statement file holds (see the module docstring)."""
    return {
        "file": source,
        "kind": "bank_statement",
        "statements": [
            {
                "account": _text(s.account),
                "currency": _text(s.currency),
                "opening_balance": _amount(s.opening_balance),
                "closing_balance": _amount(s.closing_balance),
                "entries": [
                    {
                        "booking_date": _day(e.booking_date),
                        "value_date": _day(e.value_date),
                        "amount": _amount(e.amount),
                        "currency": _text(e.currency),
                        "counterparty_name": _text(e.counterparty_name),
                        "counterparty_iban": _text(e.counterparty_iban),
                        "reference": _text(e.reference),
                        "remittance_info": _text(e.remittance_info),
                        "end_to_end_id": _text(e.end_to_end_id),
                    }
                    for e in s.entries
                ],
            }
            for s in statements
        ],
        "issues": [str(i) for i in issues],
    }


def _text(value: str) -> str | None:
    return value or None


def _amount(value: Decimal | None) -> str | None:
    """Plain notation, never '1E+3'; a negative zero is written as zero."""
    if value is None:
        return None
    return f"{abs(value) if value == 0 else value:f}"


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
