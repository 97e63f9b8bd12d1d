"""E-invoice and order XML → `ParsedDocument`, read directly (structured data wins).

Syntaxes, told apart by the root element, never by the file name:

- `cii`: UN/CEFACT CrossIndustryInvoice D16B (Factur-X, ZUGFeRD 2, XRechnung CII) → invoice
- `zugferd1`: ZUGFeRD 1.0 CrossIndustryDocument → invoice
- `ubl_invoice`, `ubl_credit_note`: OASIS UBL 2.1 Invoice / CreditNote (XRechnung UBL) → invoice
- `order_x`: Order-X (SCRDMCCBDACIOMessageStructure; order, change, response) → purchase_order

Fields use the names of `o2c parse` (issue 4): number, issue_date, due_date, delivery_date,
currency, total_net (BT-109), total_tax (BT-110), total_gross (BT-112), amount_due (BT-115),
seller_name, seller_vat_id, buyer_name, buyer_vat_id, order_reference, iban (the payee's),
payment_reference; and beyond them type_code (UNTDID 1001 as written), credit_note (invoices:
True for a UBL CreditNote or a credit-note type code such as 381), customer_number (the
buyer's id, BT-46) and quote_reference (Order-X). Every field has confidence 1.0 and `where`
= the XPath of the element it was read from, with the prefixes of `xpath_namespaces(root)`
(rsm/ram/udt/qdt for CII, ZUGFeRD 1 and Order-X; ubl or cn with cac/cbc for UBL).
Dates are `date`, amounts `Decimal` as written, VAT ids and IBANs without spaces.
A line's unit price is the net price per one unit (BT-146 ÷ BT-149 when a basis is given).

Cross-checks (BR-CO-10/15/16: line sum, net + tax = gross, gross − prepaid + rounding = due;
IBAN and VAT id checksums; an order line without quantity, price or amount) add an issue and
lower the fields involved to 0.5, so the intake sends such a document to review. XML safety: entities are never resolved, no network, no
DTD, no huge trees; a DOCTYPE is refused. Everything unreadable raises `ReadError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from documents.errors import ReadError
from documents.xml_documents_syntax import (
    CII_ROOTS,
    SYNTAXES,
    UBL_CAC,
    UBL_CBC,
    UBL_ROOTS,
)
from engine.core.checks import de_vat_id_valid, iban_valid
from engine.core.records import Field, Issue, ParsedDocument, ParsedLine

SURE, DOUBT = 1.0, 0.5
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420",
                               "458", "532"})
DATE_FIELDS = frozenset({"issue_date", "due_date", "delivery_date"})
AMOUNT_FIELDS = frozenset({"total_net", "total_tax", "total_gross", "amount_due",
                           "line_total", "prepaid", "rounding"})
COMPACT_FIELDS = frozenset({"seller_vat_id", "buyer_vat_id", "iban"})
CHECK_ONLY = ("line_total", "prepaid", "rounding")  # read for the cross-checks, not reported

_AMOUNT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


@dataclass(frozen=True)
class LineItem(ParsedLine):
    """A `ParsedLine` with the line's VAT rate. `absent` names the values the document did
    not give; they are held as 0 so the record stays a `ParsedLine`, and print as null."""

    tax_rate: Decimal | None = None
    absent: tuple[str, ...] = ()


# --- reading ------------------------------------------------------------------------------


def parse_xml(data: bytes, where: str) -> etree._Element:
    """The root of well-formed XML, parsed safely; `ReadError` for anything else.

    Entities are never resolved, nothing is fetched, no DTD is loaded, trees stay within
    libxml2's normal limits; a document with a DOCTYPE is refused (no e-invoice needs one).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False, remove_comments=True,
                             remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError) as exc:
        if "network" in str(exc):
            raise ReadError(where, "XML that refers to a network resource (DTD or entity) is "
                                   "refused; nothing is fetched") from exc
        raise ReadError(where, f"not well-formed XML: {_short(exc)}") from exc
    if root is None:
        raise ReadError(where, "not well-formed XML: no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ReadError(where, "XML with a DOCTYPE (entity or DTD declarations) is refused; "
                               "entities are never resolved")
    return root


def syntax_of(root: etree._Element) -> str | None:
    """cii, order_x, zugferd1, ubl_invoice, ubl_credit_note, or None."""
    qname = etree.QName(root)
    if qname.namespace in UBL_ROOTS:
        return UBL_ROOTS[qname.namespace][0]
    return CII_ROOTS.get(qname.localname) if qname.namespace else None


def xpath_namespaces(root: etree._Element) -> dict[str, str]:
    """Prefix → namespace for the `where` XPaths of a document with this root."""
    qname = etree.QName(root)
    if qname.namespace in UBL_ROOTS:
        return {UBL_ROOTS[qname.namespace][1]: qname.namespace, "cac": UBL_CAC, "cbc": UBL_CBC}
    found = {"rsm": qname.namespace or ""}
    wanted = {"ram": "ReusableAggregateBusinessInformationEntity", "udt": "UnqualifiedDataType",
              "qdt": "QualifiedDataType"}
    spaces = {ns for ns in root.nsmap.values() if ns}
    if not all(any(word in ns for ns in spaces) for word in wanted.values()):
        spaces |= {etree.QName(el).namespace or "" for el in root.iter("{*}*")}
    for prefix, word in wanted.items():
        found[prefix] = next((ns for ns in sorted(spaces) if word in ns), f"urn:missing:{word}")
    return found


def read_xml_document(data: bytes, source: str) -> ParsedDocument:
    """CII, ZUGFeRD 1, UBL or Order-X bytes → ParsedDocument; `ReadError` if unreadable."""
    root = parse_xml(data, source)
    name = syntax_of(root)
    if name is None:
        raise ReadError(source, f"XML of a kind this service does not read: root element "
                                f"{root.tag!s} (expected CII, UBL, ZUGFeRD or Order-X)")
    syntax, ns = SYNTAXES[name], xpath_namespaces(root)
    reader = _Reader(source, ns)
    fields: dict[str, Field] = {}
    for field_name, paths in syntax.fields.items():
        found = reader.field(root, field_name, paths, fields)
        if found is not None:
            fields[field_name] = found
    if syntax.kind == "invoice":
        code = fields.get("type_code")
        credit = name == "ubl_credit_note" or (code is not None and code.value in CREDIT_NOTE_CODES)
        fields["credit_note"] = Field(credit, SURE, code.source if code else reader.where(root))
    read = (reader.line(el, i, syntax.line_fields)
            for i, el in enumerate(root.xpath(syntax.line, namespaces=ns), start=1))
    # a line with nothing but a note (ZUGFeRD 1 EXTENDED text lines) is no line item
    lines = tuple(x for x in read if x.sku or x.description or len(x.absent) < 3)
    _cross_check(fields, lines, reader.issues, source, syntax.kind)
    for aux in CHECK_ONLY:
        fields.pop(aux, None)
    return ParsedDocument(syntax.kind, source, fields, lines, (), (), tuple(reader.issues))


class _Reader:
    """Reads values at XPaths and says where they were; collects the issues."""

    def __init__(self, source: str, ns: Mapping[str, str]) -> None:
        self.source, self.ns = source, ns
        self.prefixes = {uri: prefix for prefix, uri in ns.items()}
        self.issues: list[Issue] = []

    def where(self, el: etree._Element) -> str:
        """The element's absolute XPath: prefixed names, [n] where a name repeats."""
        steps: list[str] = []
        node: etree._Element | None = el
        while node is not None:
            qname, parent = etree.QName(node), node.getparent()
            prefix = self.prefixes.get(qname.namespace or "")
            step = f"{prefix}:{qname.localname}" if prefix else qname.localname \
                if not qname.namespace else f"*[local-name()='{qname.localname}']"
            same = list(parent.iterchildren(node.tag)) if parent is not None else [node]
            steps.append(step + (f"[{same.index(node) + 1}]" if len(same) > 1 else ""))
            node = parent
        return "/" + "/".join(reversed(steps))

    def first(self, context: etree._Element, paths: tuple[str, ...],
              currency: str | None = None) -> etree._Element | None:
        for path in paths:
            found = [el for el in context.xpath(path, namespaces=self.ns)
                     if isinstance(el, etree._Element) and (el.text or "").strip()]
            if currency is not None:
                found = [el for el in found if el.get("currencyID") in (None, currency)] or found
            if found:
                return found[0]
        return None

    def field(self, root: etree._Element, name: str, paths: tuple[str, ...],
              known: Mapping[str, Field]) -> Field | None:
        currency = known["currency"].value if "currency" in known else None
        el = self.first(root, paths, currency if name in AMOUNT_FIELDS else None)
        if el is None:
            return None
        where, text = self.where(el), " ".join((el.text or "").split())
        value: object = text
        if name in DATE_FIELDS:
            value = _date(text, el.get("format"))
        elif name in AMOUNT_FIELDS:
            value = _decimal(text)
        elif name in COMPACT_FIELDS:
            value = text.replace(" ", "").upper()
            if name == "iban" and not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", str(value)):
                self.issues.append(Issue(f"{self.source} {where}", f"account {text!r} is not an "
                                         "IBAN; not read as one"))
                return None
        if value is None:
            self.issues.append(Issue(f"{self.source} {where}", f"{name.replace('_', ' ')} "
                                     f"{text!r} cannot be read"))
            return None
        return Field(value, SURE, where)

    def line(self, el: etree._Element, index: int,
             paths: Mapping[str, tuple[str, ...]]) -> LineItem:
        where = self.where(el)
        raw: dict[str, etree._Element | None] = {k: self.first(el, p) for k, p in paths.items()}

        def text(key: str) -> str:
            found = raw[key]
            return " ".join((found.text or "").split()) if found is not None else ""

        numbers = {k: _decimal(text(k)) for k in ("quantity", "unit_price", "price_basis",
                                                  "net_amount", "tax_rate")}
        for key, value in numbers.items():
            if value is None and text(key):
                self.issues.append(Issue(f"{self.source} {where}",
                                         f"{key.replace('_', ' ')} {text(key)!r} is not a number"))
        price, basis = numbers["unit_price"], numbers["price_basis"]
        if price is not None and basis is not None and basis not in (0, 1):
            price = _per_unit(price, basis)
        position = text("position")
        quantity, amount = numbers["quantity"], numbers["net_amount"]
        quantity_el = raw["quantity"]
        absent = tuple(k for k, v in (("quantity", quantity), ("unit_price", price),
                                      ("net_amount", amount)) if v is None)
        zero = Decimal(0)
        return LineItem(int(position) if re.fullmatch(r"[0-9]{1,9}", position) else index,
                        text("sku"), text("description"),
                        zero if quantity is None else quantity,
                        quantity_el.get("unitCode", "") if quantity_el is not None else "",
                        zero if price is None else price, zero if amount is None else amount,
                        where, tax_rate=numbers["tax_rate"], absent=absent)


def _cross_check(fields: dict[str, Field], lines: tuple[LineItem, ...], issues: list[Issue],
                 source: str, kind: str) -> None:
    """EN 16931 sums and checksums; a failure is an issue and lowers the fields involved."""

    def value(name: str) -> Decimal | None:
        found = fields.get(name)
        return found.value if found is not None and isinstance(found.value, Decimal) else None

    def doubt(names: tuple[str, ...], message: str) -> None:
        where = next((fields[n].source for n in names if n in fields), "")
        issues.append(Issue(f"{source} {where}".strip(), message))
        for n in names:
            if n in fields:
                fields[n] = Field(fields[n].value, min(fields[n].confidence, DOUBT),
                                  fields[n].source)

    for line in lines if kind == "purchase_order" else ():  # an order's lines become ours
        if line.absent:
            doubt(("total_net",), f"line {line.position} ({line.source}) gives no "
                                  f"{', '.join(a.replace('_', ' ') for a in line.absent)}")
    line_total = value("line_total")
    if lines and line_total is not None and not any("net_amount" in x.absent for x in lines):
        line_sum = sum((x.amount for x in lines), Decimal(0))
        if line_sum != line_total:
            doubt(("line_total", "total_net"), f"sum of line amounts {line_sum} ≠ "
                                                f"line total {line_total}")
    net, tax, gross, due = (value(n) for n in ("total_net", "total_tax", "total_gross",
                                               "amount_due"))
    if net is not None and gross is not None and net + (tax or 0) != gross:
        doubt(("total_gross", "total_tax"), f"net {net} + VAT {tax or 0} ≠ total {gross}")
    if gross is not None and due is not None:
        expected = gross - (value("prepaid") or 0) + (value("rounding") or 0)
        if expected != due:
            doubt(("amount_due",), f"total {gross} − prepaid + rounding = {expected} ≠ "
                                   f"amount due {due}")
    for name in ("seller_vat_id", "buyer_vat_id"):
        if name in fields and not de_vat_id_valid(str(fields[name].value)):
            doubt((name,), f"VAT id {fields[name].value} fails its check")
    if "iban" in fields and not iban_valid(str(fields["iban"].value)):
        doubt(("iban",), f"IBAN {fields['iban'].value} fails its checksum")


def _date(text: str, fmt: str | None) -> date | None:
    """CII DateTimeString (format 102 CCYYMMDD, 203 CCYYMMDDHHMM) or ISO 8601 (UBL)."""
    digits = text.strip()
    try:
        if fmt in ("102", "203", None) and re.fullmatch(r"[0-9]{8}([0-9]{4})?", digits):
            if fmt == "102" and len(digits) != 8:
                return None
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
        if fmt is None and re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", digits):
            return date.fromisoformat(digits[:10])
    except ValueError:
        return None
    return None


def _per_unit(price: Decimal, basis: Decimal) -> Decimal:
    """The price of one unit, in the price's own decimals when exact, else to 6 places."""
    per_unit = price / basis
    exponent = price.as_tuple().exponent
    try:
        if isinstance(exponent, int):
            same_places = per_unit.quantize(Decimal(1).scaleb(exponent))
            if same_places == per_unit:
                return same_places
        return per_unit if per_unit * basis == price else per_unit.quantize(Decimal("0.000001"))
    except InvalidOperation:  # more digits than the context holds: keep the quotient
        return per_unit


def _decimal(text: str) -> Decimal | None:
    s = text.strip()
    return Decimal(s) if _AMOUNT.fullmatch(s) else None


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
