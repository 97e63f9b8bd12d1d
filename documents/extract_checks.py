"""Cross-checks that set an extracted document's confidence: lines add up to the net
amount, net + VAT = gross, VAT id and IBAN checksums, plausible dates. A failed check
lowers the fields concerned to `DOUBT` and adds an issue naming the place."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from engine.core.checks import iban_valid
from engine.core.money import format_amount
from engine.core.records import Field, Issue, ParsedDocument

DOUBT = 0.5


def where(field: Field) -> str:
    """The field's place without its box: "po.pdf p1 l4"."""
    return field.source.split(" [")[0]


def vat_id_valid(vat_id: str) -> bool:
    from stdnum.eu import vat

    return bool(vat.is_valid(vat_id))


def _lower(fields: dict[str, Field], *names: str) -> None:
    for name in names:
        if name in fields:
            f = fields[name]
            fields[name] = Field(f.value, min(f.confidence, DOUBT), f.source)


def check_document(doc: ParsedDocument, issues: list[Issue]) -> ParsedDocument:
    fields = dict(doc.fields)
    for name in ("seller_vat_id", "buyer_vat_id"):
        vat = fields.get(name)
        if vat and not vat_id_valid(str(vat.value)):
            issues.append(Issue(where(vat), f"VAT id {vat.value} fails its checksum"))
            _lower(fields, name)
    iban = fields.get("iban")
    if iban and not iban_valid(str(iban.value)):
        issues.append(Issue(where(iban), f"IBAN {iban.value} fails its checksum"))
        _lower(fields, "iban")
    _check_dates(fields, issues)
    if doc.kind == "remittance_advice":
        _check_remittance(doc, fields, issues)
    else:
        _check_totals(doc, fields, issues)
    return ParsedDocument(doc.kind, doc.source, fields, doc.lines, doc.remittance, (),
                          tuple(issues))


def _check_dates(fields: dict[str, Field], issues: list[Issue]) -> None:
    issued = fields.get("issue_date")
    if issued is None or not isinstance(issued.value, date):
        return
    for name, limit in (("due_date", timedelta(days=366)), ("delivery_date", timedelta(days=730))):
        other = fields.get(name)
        if other is None or not isinstance(other.value, date):
            continue
        gap = other.value - issued.value
        if name == "due_date" and gap < timedelta(0) or abs(gap) > limit:
            issues.append(Issue(where(other), f"{name.replace('_', ' ')} {other.value} is "
                                f"implausible beside the issue date {issued.value}"))
            _lower(fields, name)


def _value(fields: dict[str, Field], name: str) -> Decimal | None:
    f = fields.get(name)
    return f.value if f is not None and isinstance(f.value, Decimal) else None


def _check_totals(doc: ParsedDocument, fields: dict[str, Field], issues: list[Issue]) -> None:
    net, tax, gross = (_value(fields, n) for n in ("total_net", "total_tax", "total_gross"))
    if doc.lines and net is not None:
        line_sum = sum((line.amount for line in doc.lines), Decimal("0"))
        if line_sum != net:
            issues.append(Issue(where(fields["total_net"]), f"net {format_amount(net)} ≠ sum "
                                f"of lines {format_amount(line_sum)}"))
            _lower(fields, "total_net")
    if net is not None and tax is not None and gross is not None and net + tax != gross:
        issues.append(Issue(where(fields["total_gross"]),
                            f"net {format_amount(net)} + VAT {format_amount(tax)} ≠ total "
                            f"{format_amount(gross)}"))
        _lower(fields, "total_gross", "total_tax")
    for required in ("number", "total_net"):
        if doc.kind == "purchase_order" and required not in fields:
            name = {"number": "order number", "total_net": "net amount"}[required]
            issues.append(Issue(doc.source, f"no {name} found"))
            fields[required] = Field(None, 0.0, doc.source)
    if doc.kind == "purchase_order" and not doc.lines:
        issues.append(Issue(doc.source, "no line items found"))
    if any("quantity" in i.message for i in issues) and "total_net" in fields:
        _lower(fields, "total_net")


def _check_remittance(doc: ParsedDocument, fields: dict[str, Field], issues: list[Issue]) -> None:
    total = _value(fields, "total_gross")
    paid = sum((line.amount for line in doc.remittance), Decimal("0"))
    if not doc.remittance:
        issues.append(Issue(doc.source, "no invoice lines found in the remittance advice"))
        fields["remittance_lines"] = Field(None, 0.0, doc.source)
    elif total is not None and total != paid:
        issues.append(Issue(where(fields["total_gross"]),
                            f"total {format_amount(total)} ≠ sum paid {format_amount(paid)}"))
        _lower(fields, "total_gross")
