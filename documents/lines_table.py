"""Line-item tables read by their columns: a header row names the columns (Pos., Artikel-Nr.,
Bezeichnung, Menge, Einheit, Einzelpreis, Gesamtpreis; Item, Part No., Description, Qty,
…), each row with a quantity and an amount in its columns is an item, and the wrapped
lines of a cell (a description on two lines, above or below the item's middle) join the
nearest item. The table runs on over pages (a repeated header or none) until the totals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from documents.fields import Row, Token
from engine.core.money import parse_amount, round_money
from engine.core.records import Issue, ParsedLine

COLUMNS = {  # longest first within each: "Unit Price" is a price, not a unit
    "position": r"pos(?:ition)?\.?|item|lp\.?|nr\.?|#",
    "sku": r"art(?:ikel)?(?:[.-]?\s?(?:nr|no)\.?)?|artikel-?nummer|part\s*(?:no\.?|number)|sku|"
           r"item\s*(?:no\.?|code)|code|material(?:-?nr\.?)?|product\s+code|ref(?:erence)?\.?",
    "description": r"bezeichnung|beschreibung|artikelbezeichnung|leistung|description|product|"
                   r"produkt|omschrijving|désignation|artikel",
    "quantity": r"menge|anzahl|qty\.?|quantity|stück|aantal|quantité|nombre|ilość",
    "unit": r"einheit|unit|me|uom|eh",
    "unit_price": r"einzelpreis|e-?preis|unit\s*price|price\s*(?:per\s*unit|each)?|preis|rate|"
                  r"prix\s*unitaire|p\.\s?u\.(?:\s*ht)?|prijs(?:\s+per\s+stuk)?|vk-preis",
    "amount": r"gesamtpreis|gesamtbetrag|zeilenbetrag|betrag|gesamt|amount|line\s*total|total|"
              r"summe|montant(?:\s*ht)?|bedrag|gp",
}
ORDER = ("unit_price", "sku", "position", "description", "quantity", "unit", "amount")
_HEADER = re.compile("|".join(
    f"(?P<{name}>(?<![^\\W\\d])(?:{pattern})(?![^\\W\\d]))"
    for name, pattern in sorted(COLUMNS.items(), key=lambda kv: ORDER.index(kv[0]))), re.I)
_TOTALS = re.compile(r"(?<![^\W\d])(?:netto|nettobetrag|summe|zwischensumme|sub\s?total|"
                     r"gesamtbetrag|total\s+(?:net|ht|amount)|grand\s+total|übertrag|"
                     r"carried\s+forward)(?![^\W\d])", re.I)
_TOTAL_ROW = re.compile(r"^\s*(?:total|gesamt|totaal|summe|sum)(?![^\W\d])", re.I)


@dataclass
class _Column:
    name: str
    x0: float
    x1: float


@dataclass
class _Item:
    row: Row
    cells: dict[str, list[tuple[float, str]]] = field(default_factory=dict)


def header_columns(row: Row) -> list[_Column] | None:
    """The columns a header row names, left to right; None unless it names at least a
    quantity or price and an amount."""
    columns: list[_Column] = []
    for m in _HEADER.finditer(row.text):
        name = next(k for k, v in m.groupdict().items() if v)
        if any(c.name == name for c in columns):
            if name == "amount":  # "Tax Total": the rightmost amount is the line's
                columns = [c for c in columns if c.name != "amount"]
            else:
                continue
        columns.append(_Column(name, row.x_at(m.start()), row.x_end(m.end())))
    names = {c.name for c in columns}
    if "amount" in names and names & {"quantity", "unit_price"} and len(names) >= 3:
        return sorted(columns, key=lambda c: c.x0)
    return None


def _column_of(token: Token, columns: Sequence[_Column]) -> str:
    """A number stands right-aligned under its header when its end is under it; anything
    else belongs to the rightmost column that starts left of it."""
    if re.fullmatch(r"[-+]?[\d.,']+%?", token.text):
        for col in columns:
            if col.x0 - 3 <= token.x1 <= col.x1 + 3:
                return col.name
    starting = [col for col in columns if col.x0 - 3 <= token.x0]
    return (starting[-1] if starting else columns[0]).name


def table_items(rows: Sequence[Row], source: str, issues: list[Issue]) -> list[ParsedLine]:
    columns: list[_Column] | None = None
    items: list[_Item] = []
    loose: list[tuple[Row, dict[str, list[tuple[float, str]]]]] = []
    headers: list[Row] = []
    ended = False
    for row in rows:
        if not row.boxed:
            continue  # columns need the page's word boxes
        found = header_columns(row)
        if found is not None:
            columns, ended = found, False
            headers.append(row)
            continue
        if columns is None or ended:
            continue
        if _TOTAL_ROW.match(row.text) or (_TOTALS.search(row.text) and
                                          not _is_item(_cells(row, columns))):
            ended = True
            continue
        cells = _cells(row, columns)
        if _is_item(cells):
            items.append(_Item(row, cells))
        else:
            loose.append((row, cells))
    _attach(items, loose, headers)
    lines = [line for item in items if (line := _line(item, source, issues)) is not None]
    return [line if line.position else _renumber(line, n) for n, line in enumerate(lines, 1)]


def _renumber(line: ParsedLine, position: int) -> ParsedLine:
    return ParsedLine(position, line.sku, line.description, line.quantity, line.unit,
                      line.unit_price, line.amount, line.source)


def _attach(items: list[_Item], loose: list[tuple[Row, dict[str, list[tuple[float, str]]]]],
            headers: list[Row]) -> None:
    """Wrapped lines of a cell join the item of the closer neighbouring row: cell padding
    sets cells apart, so a line belongs with the rows it stands closest to (ties: above).
    Lines that belong with a header row ("Artikel" / "Nr.") are dropped."""
    sink = _Item(headers[0]) if headers else None
    entries: list[tuple[Row, _Item | None, dict[str, list[tuple[float, str]]]]] = [
        (i.row, i, {}) for i in items] + [(row, None, cells) for row, cells in loose] + [
        (row, sink, {}) for row in headers]
    entries.sort(key=lambda e: (e[0].page, e[0].top))
    owner: list[_Item | None] = [item for _, item, _ in entries]
    link: list[int | None] = [None] * len(entries)
    for n, (row, item, _) in enumerate(entries):
        if item is not None:
            continue
        height = max(4.0, row.bottom - row.top)
        up = row.top - entries[n - 1][0].bottom if n and entries[n - 1][0].page == row.page \
            else None
        down = entries[n + 1][0].top - row.bottom if n + 1 < len(entries) and \
            entries[n + 1][0].page == row.page else None
        if up is not None and up <= 2.5 * height and (down is None or up <= down + 1.5):
            link[n] = n - 1
        elif down is not None and down <= 2.5 * height:
            link[n] = n + 1
    for n, (_, item, cells) in enumerate(entries):
        seen, at = set(), n
        while owner[at] is None and link[at] is not None and at not in seen:
            seen.add(at)
            at = link[at]  # type: ignore[assignment]
        target = owner[at]
        if item is None and target is not None and target is not sink:
            for name, parts in cells.items():
                if name in ("sku", "description"):
                    target.cells.setdefault(name, []).extend(parts)


def _cells(row: Row, columns: Sequence[_Column]) -> dict[str, list[tuple[float, str]]]:
    cells: dict[str, list[tuple[float, str]]] = {}
    for token in row.tokens:
        if re.fullmatch(r"(?i)eur|usd|gbp|chf|[€$£]", token.text):
            continue  # the currency beside a price is no column of its own
        cells.setdefault(_column_of(token, columns), []).append((row.top + token.x0 / 1e4,
                                                                  token.text))
    return cells


def _number(cells: dict[str, list[tuple[float, str]]], name: str) -> Decimal | None:
    text = " ".join(t for _, t in cells.get(name, []))
    text = re.sub(r"(?i)eur|usd|gbp|chf|[€$£]", "", text).strip()
    return parse_amount(text) if text else None


def _is_item(cells: dict[str, list[tuple[float, str]]]) -> bool:
    return _number(cells, "amount") is not None and (
        _number(cells, "quantity") is not None or _number(cells, "unit_price") is not None)


def _line(item: _Item, source: str, issues: list[Issue]) -> ParsedLine | None:
    cells = item.cells
    amount = _number(cells, "amount")
    if amount is None:
        return None
    qty = _number(cells, "quantity") or Decimal("1")
    price = _number(cells, "unit_price")
    price = price if price is not None else amount
    where = f"{source} p{item.row.page} l{item.row.index}"
    if round_money(qty * price) != amount:
        issues.append(Issue(where, f"quantity {qty} × price {price} = "
                            f"{round_money(qty * price)}, but the line says {amount}"))

    def text(name: str) -> str:
        return " ".join(t for _, t in sorted(cells.get(name, [])))

    position = re.sub(r"\D", "", text("position"))
    return ParsedLine(int(position) if position and len(position) <= 4 else 0, text("sku"),
                      text("description"), qty, text("unit").rstrip("."), price, amount, where)
