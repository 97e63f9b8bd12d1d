"""Text and layout → ParsedDocument, without templates, in issue 4's field names
(number, issue_date, total_gross, buyer_vat_id, …).

Labels (documents.labels) point at values right of them or below them
(documents.fields); the document's kind decides which number and which date are its own.
Every field carries a confidence and where it was found (page, row and box).
Cross-checks (documents.extract_checks) raise or lower the confidence and add issues, so a
doubtful document waits for a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from documents.dates import Found, find_dates, slash_order
from documents.extract_checks import check_document
from documents.fields import (
    Candidate,
    Parser,
    Row,
    candidates,
    date_parser,
    find_hits,
    parse_iban,
    parse_id,
    parse_text,
    parse_total,
    parse_vat_id,
    rows_of,
)
from documents.labels import (
    CURRENCY_PATTERN,
    CURRENCY_SIGNS,
    DATE_ROLES,
    KIND_WORDS,
    NUMBER_ROLES,
    TITLE_WORDS,
    TITLES,
)
from documents.layouts import Layout, apply, choose
from documents.lines import line_items, remittance_lines
from documents.pdftext import PageText
from engine.core.records import Field, Issue, ParsedDocument

ID_ROLES = ("invoice_number", "order_number", "advice_number", "doc_number", "customer_number",
            "quote_reference", "payment_reference")
DATE_ONLY = ("invoice_date", "order_date", "doc_date", "payment_date", "due_date",
             "delivery_date")
AMOUNTS = ("total_net", "total_tax", "total_gross", "amount_due")
LEGAL_FORM = re.compile(
    r"\b(?:GmbH(?:\s*&\s*Co\.?\s*KG)?|AG|KG|OHG|e\.\s?K\.|UG|SE|Inc\.?|Ltd\.?|LLC|Limited|"
    r"B\.V\.|N\.V\.|SAS|SARL|S\.A\.|S\.p\.A\.|plc|Corp\.?|Pvt\.?\s*Ltd\.?)(?!\w)")


def detect_kind(rows: Sequence[Row]) -> str:
    """The kind whose words the document uses most; a title (in the head, on a short row
    of its own or in a larger font) counts most. Remittance words count double: an advice
    speaks of the invoices it pays, an invoice never of a remittance advice."""
    scores = dict.fromkeys(KIND_WORDS, 0.0)
    heights = sorted(r.bottom - r.top for r in rows) or [1.0]
    median = max(1.0, heights[len(heights) // 2])
    for position, row in enumerate(rows):
        lower = row.text.lower()
        squeezed = lower.replace(" ", "")  # OCR spaces out titles: "FACTU U R"
        weight = 4.0 if row.page == 1 and position < 12 else 1.0
        size = min(4.0, ((row.bottom - row.top) / median) ** 2)
        short = len(row.tokens) <= 3 or len(squeezed) <= 16
        for kind, words in KIND_WORDS.items():
            titles = TITLE_WORDS.get(kind, ()) if short else ()
            for word in (*words, *titles):
                count = max(lower.count(word), squeezed.count(word.replace(" ", "")))
                if not count:
                    continue
                title = 1.5 if squeezed.startswith(word.replace(" ", "")) else 1.0
                if title > 1.0 and short:
                    title = 6.0  # the row is the title
                factor = 2.0 if kind == "remittance_advice" else 1.0
                scores[kind] += count * weight * factor * title * max(1.0, size)
    kind, best = max(scores.items(), key=lambda kv: kv[1])
    return kind if best > 0 else "unknown"


def extract(pages: Sequence[PageText], source: str,
            layouts: Sequence[Layout] = ()) -> ParsedDocument:
    """Read an invoice, purchase order or remittance advice from its pages; the sender's
    layout, when one of `layouts` is theirs, overrides the fields it has rules for."""
    rows = [row for page in pages for row in rows_of(page)]
    kind = detect_kind(rows)
    month_first = slash_order(r.text for r in rows)
    currency = _currency(rows)
    if month_first is None:
        month_first = currency is not None and currency[0] == "USD"
    found = candidates(rows, find_hits(rows), _parsers(month_first))
    fields: dict[str, Field] = {}

    def put(name: str, cand: Candidate | None, factor: float = 1.0,
            fixed: float | None = None) -> None:
        if cand is not None and cand.value not in (None, ""):
            confidence = min(0.95, 0.55 + 0.4 * cand.score) * factor
            if cand.row.ocr:
                confidence *= 0.9
            if fixed is not None:
                confidence = fixed
            value = cand.value
            if name.endswith("_name") and isinstance(value, str):
                legal = LEGAL_FORM.search(value)  # "Muster GmbH, Industriestraße 12" → the name
                value = value[:legal.end()] if legal else value
            fields[name] = Field(value, round(min(0.99, confidence), 3), f"{source} {cand.where}")

    number = _best(found, NUMBER_ROLES[kind]) or _title_number(rows)
    put("number", number)
    issue = _best(found, DATE_ROLES[kind]) or _date_beside(rows, number, month_first)
    put("issue_date", issue)
    for name in ("due_date", "delivery_date", "iban", "customer_number", "quote_reference",
                 "payment_reference"):
        put(name, _best(found, (name,)))
    if kind == "remittance_advice":
        put("payment_date", _best(found, ("payment_date",)))
    if kind in ("invoice", "unknown", "remittance_advice"):
        put("order_reference", _best(found, ("order_number",)))
    sender, recipient = ("buyer", "seller") if kind in ("purchase_order",
                                                       "remittance_advice") else ("seller", "buyer")
    put(f"{sender}_vat_id", _best(found, ("vat_id",)))
    put(f"{recipient}_vat_id", _best(found, ("buyer_vat_id",)))
    put("seller_name", _best(found, ("seller_name",)))
    put("buyer_name", _best(found, ("buyer_name",)))
    if f"{sender}_name" not in fields:
        # a company with its legal form in the head: a guess no person needs to confirm
        # by itself (at the review threshold), never surer than that
        put(f"{sender}_name", _company(rows), fixed=0.8)
    issues: list[Issue] = []
    lines = line_items(rows, source, issues) if kind != "remittance_advice" else []
    remittance = remittance_lines(rows, source) if kind == "remittance_advice" else ()
    if lines:  # the net amount is what the lines add up to
        _prefer(found, "total_net", sum((x.amount for x in lines), Decimal("0")))
    if remittance:  # the total is what the lines pay
        _prefer(found, "total_gross", sum((x.amount for x in remittance), Decimal("0")))
    _totals(found, put)
    if currency is not None:
        code, cand = currency
        put("currency", cand)
        if "currency" in fields:
            fields["currency"] = Field(code, fields["currency"].confidence,
                                       fields["currency"].source)
    layout = choose(layouts, "\n".join(r.text for r in rows), _vat_ids(rows)) if layouts \
        else None
    if layout is not None:
        fields.update(apply(layout, pages, source))
    doc = ParsedDocument(kind, source, fields, tuple(lines), remittance, (), ())
    return check_document(doc, issues)


def _vat_ids(rows: Sequence[Row]) -> list[str]:
    """Every VAT id printed on the document (a layout may be chosen by its sender's)."""
    found = []
    for row in rows:
        if re.search(r"[A-Z]{2}\s?[0-9]", row.text):
            got = parse_vat_id(row.text)
            if got is not None:
                found.append(str(got.value))
    return found


def _prefer(found: dict[str, list[Candidate]], role: str, expected: Decimal) -> None:
    """Candidates equal to what the lines add up to become the surest of their role."""
    pool = found.get(role, [])
    top = max((c.score for c in pool), default=0.0)
    found[role] = [replace(c, score=max(top, c.score) + 0.05) if c.value == expected else c
                   for c in pool]


def _parsers(month_first: bool) -> dict[str, Parser]:
    parsers: dict[str, Parser] = dict.fromkeys(ID_ROLES, parse_id)
    parsers.update(dict.fromkeys(DATE_ONLY, date_parser(month_first)))
    parsers.update(dict.fromkeys(AMOUNTS, parse_total))
    parsers.update(vat_id=parse_vat_id, buyer_vat_id=parse_vat_id, iban=parse_iban,
                   seller_name=parse_text, buyer_name=parse_text, currency=_parse_currency)
    return parsers


def _best(found: dict[str, list[Candidate]], roles: Iterable[str]) -> Candidate | None:
    """The surest candidate of the roles; an earlier role beats a surer later one (an
    "Invoice date" beats a "Date"), and earlier places win ties."""
    pool = []
    for rank, role in enumerate(roles):
        for order, cand in enumerate(found.get(role, ())):
            page_factor = 1.0 if cand.row.page == 1 else 0.95
            pool.append((cand.score * page_factor - 0.3 * rank, -order, cand))
    return max(pool, key=lambda p: (p[0], p[1]))[2] if pool else None


def _title_number(rows: Sequence[Row]) -> Candidate | None:
    """A number printed right after the document's title ("Invoice INV/2023/03/0008")."""
    for row in rows[:25]:
        for m in TITLES.finditer(row.text):
            value = parse_id(row.text[m.end():m.end() + 40])
            if value is not None:
                start = m.end() + value.start
                return Candidate("title", value.value, 0.75, row,
                                 row.box(start, m.end() + value.end))
    return None


def _date_beside(rows: Sequence[Row], number: Candidate | None,
                 month_first: bool) -> Candidate | None:
    """No date label: the date on the number's row, else the first date on page 1."""
    if number is not None:
        found = find_dates(number.row.text, month_first=month_first)
        if found:
            return Candidate("date", found[0].value, 0.6, number.row,
                             number.row.box(found[0].start, found[0].end))
    for row in rows:
        if row.page != 1:
            break
        found = find_dates(row.text, month_first=month_first)
        if found:
            return Candidate("date", found[0].value, 0.3, row, row.box(found[0].start,
                                                                         found[0].end))
    return None


def _amount(cand: Candidate) -> Decimal:
    return cand.value if isinstance(cand.value, Decimal) else Decimal("0")


def _totals(found: dict[str, list[Candidate]], put: Callable[..., None]) -> None:
    """Net, VAT and gross; a combination that adds up beats surer single labels."""
    nets, taxes, grosses = (found.get(n, []) for n in ("total_net", "total_tax", "total_gross"))
    for gross in sorted(grosses, key=lambda c: -c.score):
        for net in nets:
            for tax in taxes:
                if _amount(net) + _amount(tax) == _amount(gross) and _amount(net) and \
                        _amount(gross):
                    put("total_net", net, 1.1)
                    put("total_tax", tax, 1.1)
                    put("total_gross", gross, 1.1)
                    put("amount_due", _best(found, ("amount_due",)))
                    return
    best_gross = _best(found, ("total_gross",))
    if best_gross is not None:
        ties = [c for c in grosses if c.score == best_gross.score and isinstance(c.value, Decimal)]
        best_gross = max(ties, key=_amount) if ties else best_gross
    vat, due = _best(found, ("total_tax",)), _best(found, ("amount_due",))
    put("total_net", _best(found, ("total_net",)))
    put("total_tax", vat)
    put("total_gross", best_gross)
    put("amount_due", due)
    if best_gross is None and due is not None:
        put("total_gross", due, 0.8)
    if not nets and best_gross is not None and vat is not None and not vat.below:
        # no net printed: gross − VAT (a VAT beside its label, not a column's first line),
        # as sure as the less sure of the two
        net = replace(best_gross, value=_amount(best_gross) - _amount(vat),
                      score=min(best_gross.score, vat.score) * 0.9)
        put("total_net", net)


def _parse_currency(text: str) -> Found | None:
    m = CURRENCY_PATTERN.search(text[:20])
    return Found(_code(m), m.start(), m.end()) if m else None


def _code(m: re.Match[str]) -> str:
    if m.group("code"):
        return m.group("code")
    sign = m.group("sign") or m.group("word") or ""
    return CURRENCY_SIGNS.get(sign, CURRENCY_SIGNS.get(sign.split()[0], "")) or "EUR"


def _currency(rows: Sequence[Row]) -> tuple[str, Candidate] | None:
    """The currency the document names most (codes, symbols, words)."""
    counts: dict[str, float] = {}
    first: dict[str, Candidate] = {}
    for row in rows:
        for m in CURRENCY_PATTERN.finditer(row.text):
            code = _code(m)
            counts[code] = counts.get(code, 0.0) + (1.0 if m.group("code") else 0.9)
            first.setdefault(code, Candidate("currency", code, 0.8, row, row.box(m.start(),
                                                                                 m.end())))
    if not counts:
        return None
    code = max(counts, key=lambda c: counts[c])
    share = counts[code] / sum(counts.values())
    cand = first[code]
    return code, Candidate("currency", code, 0.6 + 0.4 * share, cand.row, cand.box)


def _company(rows: Sequence[Row]) -> Candidate | None:
    """The first company name (with its legal form) in the document's head."""
    for row in rows[:15]:
        m = LEGAL_FORM.search(row.text)
        if m:
            start = max(row.text.rfind(",", 0, m.start()) + 1, row.text.rfind("·", 0,
                                                                                 m.start()) + 1)
            title = TITLES.match(row.text, start)  # "FACTUUR. Coolblue B.V."
            if title is not None:
                start = title.end()
            name = row.text[start:m.end()].lstrip(" .:,").rstrip(" ,:")
            if len(name) > len(m.group()) + 1:
                return Candidate("company", name, 0.65, row, row.box(start, m.end()))
    return None
