"""Text and layout → ParsedDocument, without templates: the labels people use in German
and English, their number and date formats, line-item tables and remittance lines.

Every field carries a confidence and where it was found; cross-checks (lines sum to the
net amount, net + VAT = gross, VAT id and IBAN checksums) lower the confidence and add
an issue, so a doubtful document waits for a person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from documents.dates import find_date
from documents.pdftext import PageText
from engine.core.checks import de_vat_id_valid, iban_valid
from engine.core.money import format_amount, parse_amount, round_money
from engine.core.records import Field, Issue, ParsedDocument, ParsedLine, RemittanceLine

KIND_WORDS = {
    "remittance_advice": ("zahlungsavis", "remittance advice", "payment advice", "avis"),
    "purchase_order": ("bestellung", "purchase order", "bestellnummer", "po number", "auftrag"),
    "invoice": ("rechnung", "invoice"),
}

LABELS: dict[str, tuple[str, ...]] = {
    "order_number": (r"bestell(?:ungs)?[- ]?(?:nummer|nr\.?)", r"bestellung\s+nr\.?",
                     r"p\.?o\.?\s*(?:number|no\.?|#)", r"purchase\s+order\s+(?:number|no\.?)",
                     r"order\s+(?:number|no\.?)"),
    "order_date": (r"bestelldatum", r"auftragsdatum", r"order\s+date", r"datum", r"date"),
    "delivery_date": (r"liefer(?:datum|termin)", r"wunschtermin",
                      r"(?:requested\s+)?delivery\s+date"),
    "customer_number": (r"kunden[- ]?(?:nummer|nr\.?)", r"customer\s+(?:number|no\.?)",
                        r"account\s+no\.?"),
    "quote_reference": (r"(?:ihr\s+)?angebot(?:snummer|s-nr\.?)?", r"(?:your\s+)?quot(?:e|ation)"
                        r"(?:\s+(?:number|no\.?))?"),
    "vat_id": (r"ust\.?[- ]?id(?:nr\.?|\.)?(?:-?nr\.?)?", r"vat\s+(?:id|no\.?|reg\.?\s*no\.?)"),
    "iban": (r"iban",),
    "payment_reference": (r"verwendungszweck", r"zahlungsreferenz", r"payment\s+reference",
                          r"referenz", r"reference"),
    "payment_date": (r"zahlungsdatum", r"ausführungsdatum", r"payment\s+date", r"value\s+date"),
    "payer": (r"zahler", r"payer", r"auftraggeber"),
    "net_amount": (r"netto(?:betrag|summe)?", r"summe\s+netto", r"sub\s?total", r"net\s+(?:total|amount)"),
    "tax_amount": (r"mwst\.?", r"ust\.?", r"umsatzsteuer", r"vat", r"tax"),
    "gross_amount": (r"gesamt(?:betrag|summe)", r"brutto(?:betrag)?", r"grand\s+total",
                     r"total\s+amount", r"total", r"summe"),
}
DATE_FIELDS = {"order_date", "delivery_date", "payment_date"}
AMOUNT_FIELDS = {"net_amount", "tax_amount", "gross_amount"}
SURE, DOUBT = 0.95, 0.5

NUM = r"-?\d[\d.,']*\d|\d"
LINE_ITEM = re.compile(
    rf"^(?P<pos>\d{{1,3}})\.?\s+(?P<sku>[A-Z0-9][A-Za-z0-9\-./]{{1,30}})\s+(?P<desc>.+?)\s+"
    rf"(?P<qty>\d+(?:[.,]\d+)?)\s+(?P<unit>[A-Za-zäöüÄÖÜ.]{{1,6}})\s+"
    rf"(?P<price>{NUM})\s*(?:EUR|€)?\s+(?P<amount>{NUM})\s*(?:EUR|€)?$"
)
REMITTANCE_ITEM = re.compile(
    rf"^(?P<inv>[A-Z]{{1,5}}[-/ ]?\d{{2,4}}[-/ ]?\d{{1,8}})\s+(?:(?P<date>\S+\d{{4}})\s+)?"
    rf"(?P<amounts>(?:(?:{NUM})\s*(?:EUR|€)?\s*){{1,3}})$"
)


def detect_kind(text: str) -> str:
    lower = text.lower()
    scores = {kind: sum(lower.count(w) for w in words) for kind, words in KIND_WORDS.items()}
    if scores["remittance_advice"]:
        return "remittance_advice"
    if scores["purchase_order"]:
        return "purchase_order"
    return "invoice" if scores["invoice"] else "unknown"


def extract(pages: Sequence[PageText], source: str) -> ParsedDocument:
    """Read a purchase order or remittance advice from page text."""
    text = "\n".join(line for page in pages for line in page.lines)
    kind = detect_kind(text)
    fields = _labelled_fields(pages, source)
    issues: list[Issue] = []
    currency = "EUR" if ("EUR" in text or "€" in text) else ("USD" if "USD" in text else "")
    if currency:
        fields["currency"] = Field(currency, SURE, source)
    if kind == "remittance_advice":
        remittance = _remittance_lines(pages, source)
        return _check_remittance(ParsedDocument(kind, source, fields, (), remittance, (), ()),
                                 issues)
    lines = _line_items(pages, source, issues)
    if kind == "purchase_order" and not lines:
        issues.append(Issue(source, "no line items found"))
    return _check_order(ParsedDocument(kind, source, fields, tuple(lines), (), (), ()), issues)


def _labelled_fields(pages: Sequence[PageText], source: str) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for page in pages:
        for row, line in enumerate(page.lines, start=1):
            for name, labels in LABELS.items():
                if name in fields:
                    continue
                value = _value_after_label(line, labels, name)
                if value is not None:
                    confidence = SURE * (0.9 if page.ocr else 1.0)
                    fields[name] = Field(value, confidence, f"{source} p{page.number} l{row}")
    return fields


def _value_after_label(line: str, labels: tuple[str, ...], name: str) -> object | None:
    for label in labels:
        m = re.match(rf"^\s*(?:{label})\s*(?:\d{{1,2}}(?:[.,]\d+)?\s*%\s*)?[:#]?\s*(?P<v>.+)$",
                     line, re.I)
        if not m:
            continue
        raw = m.group("v").strip()
        if name in DATE_FIELDS:
            return find_date(raw)
        if name in AMOUNT_FIELDS:
            token = re.sub(r"(?i)\s*(eur|€)\s*", " ", raw).split()
            return parse_amount(token[-1]) if token else None
        if name in {"vat_id", "iban"}:
            return re.sub(r"\s", "", raw).upper()
        return raw
    return None


def _line_items(pages: Sequence[PageText], source: str, issues: list[Issue]) -> list[ParsedLine]:
    lines: list[ParsedLine] = []
    for page in pages:
        for row, text in enumerate(page.lines, start=1):
            m = LINE_ITEM.match(text)
            if not m:
                continue
            where = f"{source} p{page.number} l{row}"
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


def _remittance_lines(pages: Sequence[PageText], source: str) -> tuple[RemittanceLine, ...]:
    found: list[RemittanceLine] = []
    for page in pages:
        for row, text in enumerate(page.lines, start=1):
            m = REMITTANCE_ITEM.match(text)
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
                                        f"{source} p{page.number} l{row}"))
    return tuple(found)


def _lower(fields: dict[str, Field], names: Sequence[str]) -> None:
    for name in names:
        if name in fields:
            f = fields[name]
            fields[name] = Field(f.value, min(f.confidence, DOUBT), f.source)


def _check_common(doc: ParsedDocument, fields: dict[str, Field], issues: list[Issue]) -> None:
    vat = fields.get("vat_id")
    if vat and not de_vat_id_valid(str(vat.value)):
        issues.append(Issue(vat.source, f"VAT id {vat.value} fails its checksum"))
        _lower(fields, ["vat_id"])
    iban = fields.get("iban")
    if iban and not iban_valid(str(iban.value)):
        issues.append(Issue(iban.source, f"IBAN {iban.value} fails its checksum"))
        _lower(fields, ["iban"])


def _check_order(doc: ParsedDocument, issues: list[Issue]) -> ParsedDocument:
    fields = dict(doc.fields)
    _check_common(doc, fields, issues)
    net, tax, gross = (doc.value(n) for n in ("net_amount", "tax_amount", "gross_amount"))
    if doc.lines and net is not None:
        line_sum = sum((line.amount for line in doc.lines), Decimal("0"))
        if line_sum != net:
            issues.append(Issue(fields["net_amount"].source,
                                f"net {format_amount(net)} ≠ sum of lines {format_amount(line_sum)}"))
            _lower(fields, ["net_amount"])
    if None not in (net, tax, gross) and net + tax != gross:
        issues.append(Issue(fields["gross_amount"].source,
                            f"net {format_amount(net)} + VAT {format_amount(tax)} ≠ total "
                            f"{format_amount(gross)}"))
        _lower(fields, ["gross_amount", "tax_amount"])
    for required in ("order_number", "net_amount"):
        if doc.kind == "purchase_order" and required not in fields:
            issues.append(Issue(doc.source, f"no {required.replace('_', ' ')} found"))
            fields[required] = Field(None, 0.0, doc.source)
    if any("quantity" in i.message for i in issues) and "net_amount" in fields:
        _lower(fields, ["net_amount"])
    return ParsedDocument(doc.kind, doc.source, fields, doc.lines, (), (), tuple(issues))


def _check_remittance(doc: ParsedDocument, issues: list[Issue]) -> ParsedDocument:
    fields = dict(doc.fields)
    _check_common(doc, fields, issues)
    total = doc.value("gross_amount")
    paid = sum((line.amount for line in doc.remittance), Decimal("0"))
    if not doc.remittance:
        issues.append(Issue(doc.source, "no invoice lines found in the remittance advice"))
        fields["remittance_lines"] = Field(None, 0.0, doc.source)
    elif total is not None and total != paid:
        issues.append(Issue(fields["gross_amount"].source,
                            f"total {format_amount(total)} ≠ sum paid {format_amount(paid)}"))
        _lower(fields, ["gross_amount"])
    return ParsedDocument(doc.kind, doc.source, fields, (), doc.remittance, (), tuple(issues))
