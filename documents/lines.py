"""Line items (position, article, description, quantity, unit, unit price, amount) and
remittance lines (invoice number, amount paid, deduction such as Skonto), across pages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from documents.fields import Row
from documents.lines_table import table_items
from engine.core.money import parse_amount, round_money
from engine.core.records import Issue, ParsedLine, RemittanceLine

NUM = r"-?\d[\d.,']*\d|\d"
_CUR = r"(?:\s*(?:EUR|USD|GBP|CHF|€|\$|£))?"
LINE_ITEM = re.compile(
    rf"^(?P<pos>\d{{1,3}})\.?\s+(?P<sku>[A-Z0-9][A-Za-z0-9\-./_]{{1,30}})\s+(?P<desc>.+?)\s+"
    rf"(?P<qty>\d+(?:[.,]\d+)?)\s+(?P<unit>[A-Za-zäöüÄÖÜ.²³]{{1,8}})\s+"
    rf"(?:EUR\s+|€\s*|\$\s*)?(?P<price>{NUM}){_CUR}\s+"
    rf"(?:EUR\s+|€\s*|\$\s*)?(?P<amount>{NUM}){_CUR}$"
)
REMITTANCE_ITEM = re.compile(
    rf"^(?P<inv>[A-Z]{{1,5}}[-/ ]?\d{{2,4}}[-/ ]?\d{{1,8}})\s+(?:(?P<date>\S+\d{{4}})\s+)?"
    rf"(?P<amounts>(?:(?:{NUM})\s*(?:EUR|€)?\s*){{1,3}})$"
)


def line_items(rows: Sequence[Row], source: str, issues: list[Issue]) -> list[ParsedLine]:
    """The item table read by its columns (documents.lines_table); without a header row,
    the rows that read as a numbered item line, on every page, in order."""
    found: list[Issue] = []
    lines = table_items(rows, source, found)
    if lines:
        issues.extend(found)
        return lines
    for row in rows:
        m = LINE_ITEM.match(row.text)
        if not m:
            continue
        where = f"{source} p{row.page} l{row.index}"
        qty, price = parse_amount(m["qty"]), parse_amount(m["price"])
        amount = parse_amount(m["amount"])
        if qty is None or price is None or amount is None:
            continue
        if round_money(qty * price) != amount:
            issues.append(Issue(where, f"quantity {qty} × price {price} = "
                                f"{round_money(qty * price)}, but the line says {amount}"))
        lines.append(ParsedLine(int(m["pos"]), m["sku"], m["desc"], qty, m["unit"].rstrip("."),
                                price, amount, where))
    return lines


def remittance_lines(rows: Sequence[Row], source: str) -> tuple[RemittanceLine, ...]:
    """Rows naming an invoice and what is paid on it (gross, deduction, paid)."""
    found: list[RemittanceLine] = []
    for row in rows:
        m = REMITTANCE_ITEM.match(row.text)
        if not m:
            continue
        amounts = [parse_amount(a) for a in re.findall(NUM, m["amounts"])]
        values = [a for a in amounts if a is not None]
        if not values:
            continue
        paid = values[-1]
        deduction = values[0] - paid if len(values) >= 2 else Decimal("0")
        if len(values) == 3:
            deduction = values[1]
        found.append(RemittanceLine(m["inv"], paid, deduction,
                                    f"{source} p{row.page} l{row.index}"))
    return tuple(found)
