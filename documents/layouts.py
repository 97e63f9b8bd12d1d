"""Per-sender layouts: rules/layouts/<name>.yaml, chosen by the sender's keywords or VAT
id, override the generic extractor field by field.

    name: weber
    keywords: [Weber Antriebstechnik GmbH]
    vat_id: DE123456788              # optional; beats keywords
    fields:
      number:
        anchor: Vorgang              # the words left of the value (or above it)
        position: right              # right | below | box
        pattern: '[A-Z]+-\\d+'        # optional: what the value looks like
        page: 1                      # optional
        box: [400, 120, 520, 135]    # where the value stood (points, top-left origin)

`save_correction` writes such a file from a clerk's corrections (the review UI), after
checking that its rules read the corrected values back from the document they came from.
Errors name the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from documents.dates import find_amounts, find_dates
from documents.fields import Row, parse_iban, parse_text, parse_vat_id, rows_of
from documents.pdftext import PageText, Word
from engine.core.records import Field

FIELDS = ("number", "issue_date", "due_date", "delivery_date", "currency", "total_net",
          "total_tax", "total_gross", "amount_due", "seller_name", "seller_vat_id", "buyer_name",
          "buyer_vat_id", "order_reference", "iban", "payment_reference", "customer_number",
          "quote_reference", "payment_date")
DATES = {"issue_date", "due_date", "delivery_date", "payment_date"}
AMOUNTS = {"total_net", "total_tax", "total_gross", "amount_due"}
POSITIONS = ("right", "below", "box")
SURE = 0.97  # a person said so for this sender
SLACK = 4.0  # points a value may move and still stand in its box


class LayoutError(Exception):
    """A layout file is wrong: `where` is "file:line"."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


@dataclass(frozen=True)
class Rule:
    field: str
    position: str = "right"
    anchor: str = ""
    pattern: str = ""
    page: int | None = None
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Layout:
    name: str
    keywords: tuple[str, ...] = ()
    vat_id: str | None = None
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    path: str = ""


# --- choosing and applying ---------------------------------------------------------------


def choose(layouts: Sequence[Layout], text: str, vat_ids: Sequence[str]) -> Layout | None:
    """The sender's layout: its VAT id is on the document, else all its keywords are
    (the most specific keywords win)."""
    ids = {_compact(v) for v in vat_ids if v}
    for layout in layouts:
        if layout.vat_id and _compact(layout.vat_id) in ids:
            return layout
    lower = " ".join(text.lower().split())
    matching = [lay for lay in layouts if lay.keywords and all(
        " ".join(k.lower().split()) in lower for k in lay.keywords)]
    return max(matching, key=lambda lay: sum(len(k) for k in lay.keywords), default=None)


def apply(layout: Layout, pages: Sequence[PageText], source: str) -> dict[str, Field]:
    """The fields the layout's rules read from the pages."""
    rows = [row for page in pages for row in rows_of(page)]
    found: dict[str, Field] = {}
    for rule in layout.rules:
        got = read_rule(rule, rows)
        if got is not None:
            value, row, box = got
            where = f"{source} p{row.page} l{row.index} [{','.join(f'{v:.0f}' for v in box)}]"
            found[rule.field] = Field(value, SURE, f"{where} layout {layout.name}")
    return found


def read_rule(rule: Rule, rows: Sequence[Row]) -> tuple[Any, Row, tuple[float, ...]] | None:
    for index, row in enumerate(rows):
        if rule.page is not None and row.page != rule.page:
            continue
        if rule.position == "box":
            got = _in_box(rule, row)
            if got is not None:
                return got
            continue
        anchor = _find_anchor(rule.anchor, row.text)
        if anchor is None:
            continue
        start, end = anchor
        if rule.position == "right":
            got = _value(rule, row, end, len(row.text))
        else:
            got = _under(rule, row, start, end, rows[index + 1] if index + 1 < len(rows) else None)
        if got is not None:
            return got
    return None


def _find_anchor(anchor: str, text: str) -> tuple[int, int] | None:
    words = [re.escape(w) for w in anchor.split()]
    if not words:
        return None
    m = re.search(r"\s*".join(words), text, re.I)
    return (m.start(), m.end()) if m else None


def _under(rule: Rule, row: Row, start: int, end: int,
           below: Row | None) -> tuple[Any, Row, tuple[float, ...]] | None:
    if below is None or below.page != row.page:
        return None
    x0, x1 = row.x_at(start), row.x_at(end)
    inside = [t for t in below.tokens if t.x1 > x0 - 2 and t.x0 < x1 + 60]
    if not inside:
        return None
    return _value(rule, below, inside[0].start, len(below.text))


def _in_box(rule: Rule, row: Row) -> tuple[Any, Row, tuple[float, ...]] | None:
    assert rule.box is not None
    x0, top, x1, bottom = rule.box
    inside = [t for t in row.tokens if t.x0 >= x0 - SLACK and t.x1 <= x1 + 3 * SLACK and
              t.top >= top - SLACK and t.bottom <= bottom + SLACK]
    if not inside:
        return None
    return _value(rule, row, inside[0].start, inside[-1].end)


def _value(rule: Rule, row: Row, start: int, end: int) -> tuple[Any, Row, tuple[float, ...]] | None:
    """The value in the row's text from `start`: the pattern's match, read by its type."""
    text = row.text[start:end]
    m = re.search(rule.pattern, text) if rule.pattern else None
    if rule.pattern and m is None:
        return None
    offset = start + (m.start() if m else 0)
    found = _parse(rule.field, m.group() if m else text)
    return None if found is None else (found[0], row, row.box(offset + found[1],
                                                               offset + found[2]))


def _parse(name: str, text: str) -> tuple[Any, int, int] | None:
    """The field's value at the start of the text, by the field's type."""
    if name in DATES:
        dates = find_dates(text)
        return (dates[0].value, dates[0].start, dates[0].end) if dates else None
    if name in AMOUNTS:
        amounts = find_amounts(text)
        return (amounts[0].value, amounts[0].start, amounts[0].end) if amounts else None
    if name.endswith("vat_id"):
        got = parse_vat_id(text)
    elif name == "iban":
        got = parse_iban(text)
    elif name.endswith("_name"):
        got = parse_text(text)
    else:
        m = re.search(r"[^\s:#]+", text)
        return (m.group().rstrip(".,;"), m.start(), m.start() + len(m.group().rstrip(".,;"))) \
            if m else None
    return (got.value, got.start, got.end) if got else None


def _compact(vat_id: str) -> str:
    return re.sub(r"[\s.-]", "", vat_id).upper()


# --- loading -------------------------------------------------------------------------------


def load_layouts(folder: Path) -> list[Layout]:
    """Every rules/layouts/*.yaml, validated; `LayoutError` naming file:line."""
    if not folder.is_dir():
        return []
    return [load_layout(path) for path in sorted(folder.glob("*.yaml"))]


def load_layout(path: Path) -> Layout:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise LayoutError(f"{path}:{line}", f"not valid YAML ({getattr(exc, 'problem', exc)})") \
            from exc
    if not isinstance(node, yaml.MappingNode):
        raise LayoutError(f"{path}:1", "a layout is a mapping (name, keywords, fields)")
    top = _mapping(node)
    at = _at(path)
    for key, (k_node, _) in top.items():
        if key not in ("name", "keywords", "vat_id", "fields"):
            raise LayoutError(at(k_node), f"unknown key {key!r}")
    data = yaml.safe_load(text)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise LayoutError(at(node), "'name' is missing")
    keywords = data.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise LayoutError(at(top.get("keywords", (node,))[0]), "'keywords' is a list of words")
    vat_id = data.get("vat_id")
    if vat_id is not None and not isinstance(vat_id, str):
        raise LayoutError(at(top["vat_id"][1]), "'vat_id' is a text")
    if not keywords and not vat_id:
        raise LayoutError(at(node), "a layout needs keywords or a vat_id to be chosen by")
    fields_node = top.get("fields")
    if fields_node is None or not isinstance(fields_node[1], yaml.MappingNode):
        raise LayoutError(at(fields_node[1] if fields_node else node), "'fields' maps field "
                          "names to rules")
    rules = [_rule(name_, f_node, v_node, at) for name_, (f_node, v_node)
             in _mapping(fields_node[1]).items()]
    return Layout(name.strip(), tuple(keywords), vat_id, tuple(rules), str(path))


def _rule(name: str, key: yaml.Node, node: yaml.Node, at: Any) -> Rule:
    if name not in FIELDS:
        raise LayoutError(at(key), f"unknown field {name!r} (one of {', '.join(FIELDS)})")
    if not isinstance(node, yaml.MappingNode):
        raise LayoutError(at(node), f"the rule for {name} is a mapping")
    parts = _mapping(node)
    values = {k: yaml.safe_load(yaml.serialize(v)) for k, (_, v) in parts.items()}
    for k, (k_node, _) in parts.items():
        if k not in ("anchor", "position", "pattern", "page", "box"):
            raise LayoutError(at(k_node), f"unknown key {k!r} in the rule for {name}")
    position = values.get("position", "right")
    if position not in POSITIONS:
        raise LayoutError(at(parts["position"][1]), f"position is one of {', '.join(POSITIONS)}")
    anchor = values.get("anchor") or ""
    if position != "box" and not (isinstance(anchor, str) and anchor.strip()):
        raise LayoutError(at(node), f"the rule for {name} needs an anchor (or position: box)")
    pattern = values.get("pattern") or ""
    try:
        re.compile(str(pattern))
    except re.error as exc:
        raise LayoutError(at(parts["pattern"][1]), f"pattern: {exc}") from exc
    page = values.get("page")
    if page is not None and (not isinstance(page, int) or page < 1):
        raise LayoutError(at(parts["page"][1]), "page is a number from 1")
    box = values.get("box")
    if box is not None and (not isinstance(box, list) or len(box) != 4 or not all(
            isinstance(v, (int, float)) for v in box)):
        raise LayoutError(at(parts["box"][1]), "box is [x0, top, x1, bottom] in points")
    if position == "box" and box is None:
        raise LayoutError(at(node), f"the rule for {name} has position: box but no box")
    return Rule(name, position, str(anchor), str(pattern), page,
                tuple(float(v) for v in box) if box else None)  # type: ignore[arg-type]


def _mapping(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    return {str(k.value): (k, v) for k, v in node.value}


def _at(path: Path) -> Any:
    return lambda node: f"{path}:{node.start_mark.line + 1}"


# --- saving a correction -------------------------------------------------------------------


def save_correction(folder: Path, *, name: str, keywords: list[str], vat_id: str | None,
                    words: Sequence[Word], corrections: Mapping[str, str]) -> Path:
    """Write rules/layouts/<name>.yaml with a rule per corrected field that reads the
    corrected value back from this page; returns its path. `LayoutError` when a value is
    not on the page or the file would not be valid."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    if not stem:
        raise LayoutError(f"{folder}/?.yaml:1", f"no usable file name in {name!r}")
    path = folder / f"{stem}.yaml"
    rows = rows_of(PageText(1, (), words=tuple(words)))
    rules: dict[str, dict[str, Any]] = {}
    for field_name, wanted in corrections.items():
        if field_name not in FIELDS:
            raise LayoutError(f"{path}:1", f"unknown field {field_name!r}")
        rules[field_name] = _derive(field_name, str(wanted), rows, path)
    data: dict[str, Any] = {"name": stem, "keywords": list(keywords)}
    if vat_id:
        data["vat_id"] = vat_id
    data["fields"] = rules
    folder.mkdir(parents=True, exist_ok=True)
    text = f"# layout for {name}: saved from a correction\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_layout(tmp)
    except LayoutError as exc:
        tmp.unlink()
        raise LayoutError(exc.where.replace(str(tmp), str(path)), exc.message) from exc
    tmp.replace(path)
    return path


def _same(field_name: str, wanted: str, value: Any) -> bool:
    if isinstance(value, date):
        return value.isoformat() == wanted.strip()
    if isinstance(value, Decimal):
        try:
            return value == Decimal(wanted.strip())
        except ArithmeticError:
            return False
    return _compact(str(value)) == _compact(wanted)


def _locate(field_name: str, wanted: str, rows: Sequence[Row]) -> tuple[Row, int, int] | None:
    """Where on the page the corrected value is printed (row and character span)."""
    for row in rows:
        if field_name in DATES:
            spans = [(f.start, f.end) for f in find_dates(row.text)
                     if _same(field_name, wanted, f.value)]
        elif field_name in AMOUNTS:
            spans = [(f.start, f.end) for f in find_amounts(row.text)
                     if _same(field_name, wanted, f.value)]
        else:
            pattern = r"\s*".join(re.escape(c) for c in wanted.replace(" ", ""))
            m = re.search(pattern, row.text, re.I) if pattern else None
            spans = [(m.start(), m.end())] if m else []
        if spans:
            return row, spans[0][0], spans[0][1]
    return None


def _derive(field_name: str, wanted: str, rows: Sequence[Row], path: Path) -> dict[str, Any]:
    located = _locate(field_name, wanted, rows)
    if located is None:
        raise LayoutError(f"{path}:1", f"{field_name}: {wanted!r} is not printed on the page")
    row, start, end = located
    box = [round(v, 1) for v in row.box(start, end)]
    pattern = "" if field_name in DATES | AMOUNTS else _shape(row.text[start:end])
    tries: list[dict[str, Any]] = []
    left = [t for t in row.tokens if t.end <= start]
    if left:
        label: list[str] = []  # the words just left of the value, up to another value
        for token in reversed(left):
            if re.search(r"\d", token.text) or len(label) == 3:
                break
            label.insert(0, token.text)
        anchor = " ".join(label).strip(" :#")
        if anchor:
            tries.append({"anchor": anchor, "position": "right"})
    above = _row_above(rows, row)
    if above is not None:
        x0, x1 = row.box(start, end)[0], row.box(start, end)[2]
        over = [t for t in above.tokens if t.x1 > x0 - 2 and t.x0 < x1 + 2]
        if over:
            tries.append({"anchor": " ".join(t.text for t in over).strip(" :#"),
                          "position": "below"})
    tries.append({"position": "box"})
    for rule in tries:
        rule = {**rule, "pattern": pattern, "page": 1, "box": box}
        built = Rule(field_name, rule["position"], rule.get("anchor", ""), pattern, 1,
                     tuple(box))  # type: ignore[arg-type]
        got = read_rule(built, rows)
        if got is not None and _same(field_name, wanted, got[0]):
            return {k: v for k, v in rule.items() if v not in ("", None)}
    raise LayoutError(f"{path}:1", f"{field_name}: no rule reads {wanted!r} back")


def _row_above(rows: Sequence[Row], row: Row) -> Row | None:
    index = rows.index(row)
    return rows[index - 1] if index > 0 else None


def _shape(text: str) -> str:
    """A pattern for values like this one: 'B-2026-4711' → '[A-Z]+-\\d+-\\d+'."""
    out, last = [], ""
    for ch in text:
        kind = r"\d+" if ch.isdigit() else "[A-Z]+" if ch.isupper() else \
            "[a-z]+" if ch.islower() else re.escape(ch)
        if kind != last or kind not in (r"\d+", "[A-Z]+", "[a-z]+"):
            out.append(kind)
        last = kind
    return "".join(out)
