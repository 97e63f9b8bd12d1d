"""CSV files a company brings from its old system: customers, open items and payments.

All three are UTF-8 (a byte order mark is allowed), comma-separated, with a header row.
The columns may stand in any order; names are exact (lower case, as below). An unknown
column is an issue; a missing required column is an issue naming it. Optional columns
may be left out of the header or left empty. Values are trimmed. Dates are ISO
(``2024-03-31``); amounts are decimals with a dot and at most two decimals (``1234.50``,
no thousands marks), read as Decimal from the text; booleans are ``true``/``false``
(also ``1``/``0``, ``yes``/``no``, any case). A value stays on one line (no tabs, line
breaks or other control characters). A row whose cells are all empty is skipped.

Customers (``o2c import customers FILE.csv``)::

    number             required, up to 40 characters, once per file
    name               required, up to 200 characters
    street             optional, up to 200 characters          default empty
    postal_code        optional, up to 20 characters           default empty
    city               optional, up to 100 characters          default empty
    country            optional, ISO 3166 two capital letters  default DE
    vat_id             optional, checked (DE: check digit)     default empty
    email              optional, an e-mail address             default empty
    iban               optional, checked (ISO 13616 checksum)  default empty
    b2b                optional, boolean                       default true
    language           optional, de or en                      default de
    credit_limit       optional, amount >= 0                   default 0
    payment_terms_days optional, whole days 0-365              default 14

Open items (``o2c import open-items FILE.csv``)::

    customer_number    required, up to 40 characters
    customer_name      required, up to 200 characters (the same for every row of a customer)
    customer_iban      optional, checked (ISO 13616 checksum)
    customer_email     optional, an e-mail address
    b2b                optional, boolean, default true
    invoice_number     required, up to 40 characters, once per file
    issue_date         required, ISO date
    due_date           required, ISO date, not before issue_date
    currency           required, ISO 4217 code (three capital letters)
    gross_amount       required, amount >= 0
    open_amount        required, amount >= 0 and <= gross_amount (0: paid, kept for history)
    payment_reference  optional, up to 35 characters, once per file; empty: the ISO 11649
                       RF reference of the invoice number (the number itself when it has
                       more than 21 letters and digits)
    cash_discount_percent  optional, 0 <= percent < 100, together with cash_discount_days
    cash_discount_days     optional, whole days 0-365, together with cash_discount_percent
    dunning_level      optional, 0-9, default 0 (the highest reminder already sent)
    last_dunning_date  optional, ISO date, not before issue_date; required when
                       dunning_level > 0, empty when 0
    disputed           optional, boolean, default false
    promise_until      optional, ISO date (the customer promised to pay by then)

Credit notes are not open items of their own: a negative amount is refused. Book a credit
note's effect as a lower open_amount of the invoice it corrects; a negative open item
could be neither reminded nor matched against an incoming payment.

Payments (``o2c dunning plan --payments FILE.csv``): ``invoice_number`` (required),
``date`` (ISO date), ``amount`` (> 0); an invoice may have several rows.

Every problem is an `Issue` whose place is ``FILE:LINE`` (the header is line 1; a quoted
value spanning lines counts from its first line) and whose message is
``column 'x': what is wrong, what is allowed``. The readers never raise; they return
the rows that passed and the issues, so a caller wanting all or nothing checks the issues.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from documents.csv_table import Cells, in_file_order, once, read_table
from engine.core.checks import de_vat_id_valid, rf_reference
from engine.core.records import Issue, OpenItem

CUSTOMER_REQUIRED = ("number", "name")
CUSTOMER_OPTIONAL = ("street", "postal_code", "city", "country", "vat_id", "email", "iban",
                     "b2b", "language", "credit_limit", "payment_terms_days")
OPEN_ITEM_REQUIRED = ("customer_number", "customer_name", "invoice_number", "issue_date",
                      "due_date", "currency", "gross_amount", "open_amount")
OPEN_ITEM_OPTIONAL = ("customer_iban", "customer_email", "b2b", "payment_reference",
                      "cash_discount_percent", "cash_discount_days", "dunning_level",
                      "last_dunning_date", "disputed", "promise_until")
PAYMENT_REQUIRED = ("invoice_number", "date", "amount")
LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class ImportedCustomer:
    """A customer row; `columns` names the optional columns the file has (an update of an
    existing customer changes only those)."""

    number: str
    name: str
    iban: str = ""
    email: str = ""
    b2b: bool = True
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "DE"
    vat_id: str = ""
    language: str = "de"
    credit_limit: Decimal = Decimal("0")
    payment_terms_days: int = 14
    line: int = 0
    columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ImportedOpenItem:
    """An open-item row; `payment_reference` is the effective one (RF when the file had none)."""

    customer_number: str
    customer_name: str
    customer_iban: str
    customer_email: str
    b2b: bool
    invoice_number: str
    issue_date: date
    due_date: date
    currency: str
    gross_amount: Decimal
    open_amount: Decimal
    payment_reference: str
    cash_discount_percent: Decimal | None
    cash_discount_days: int | None
    dunning_level: int
    last_dunning_date: date | None
    disputed: bool
    promise_until: date | None
    line: int


@dataclass(frozen=True)
class ImportedPayment:
    """A payment row: an amount paid on an invoice on a date."""

    invoice_number: str
    date: date
    amount: Decimal
    line: int


def _customer(c: Cells, line: int, columns: frozenset[str]) -> ImportedCustomer | None:
    customer = ImportedCustomer(
        number=c.text("number", True, 40), name=c.text("name", True, 200),
        street=c.text("street", width=200), postal_code=c.text("postal_code", width=20),
        city=c.text("city", width=100),
        country=c.choice("country", "[A-Z]{2}", "an ISO 3166 code like DE or AT", "DE"),
        vat_id=re.sub(r"\s", "", c.text("vat_id", width=20)).upper(),
        email=c.email("email"), iban=c.iban("iban"), b2b=c.boolean("b2b", True),
        language=c.choice("language", "|".join(LANGUAGES), " or ".join(LANGUAGES), "de"),
        credit_limit=c.amount("credit_limit") or Decimal("0"),
        payment_terms_days=c.integer("payment_terms_days", 0, 365, 14) or 0,
        line=line, columns=columns)
    if customer.vat_id and not de_vat_id_valid(customer.vat_id):
        c.bad("vat_id", f"'{customer.vat_id}' is not a valid VAT id; write the country code "
                        "and number, e.g. DE123456788 (German ids are checksummed)")
    return None if c.failed else customer


def read_customers_csv(data: bytes, source: str) -> tuple[list[ImportedCustomer], list[Issue]]:
    """The customers of a customer file, and its problems."""
    records, issues = read_table(data, source, CUSTOMER_REQUIRED, CUSTOMER_OPTIONAL, _customer)
    once(((r.number, r.line) for r in records), "number", source, issues, "customer number")
    return records, sorted(issues, key=in_file_order)


def reference_for(invoice_number: str) -> str:
    """The reference of an invoice that has none: its RF creditor reference when the number
    fits one (1-21 letters and digits), else the number itself."""
    body = re.sub(r"[^A-Za-z0-9]", "", invoice_number)
    return rf_reference(invoice_number) if 1 <= len(body) <= 21 else invoice_number


def _open_item(c: Cells, line: int, columns: frozenset[str]) -> ImportedOpenItem | None:
    customer_number = c.text("customer_number", True, 40)
    customer_name = c.text("customer_name", True, 200)
    iban, email, b2b = c.iban("customer_iban"), c.email("customer_email"), c.boolean("b2b", True)
    number = c.text("invoice_number", True, 40)
    issued, due = c.date("issue_date", True), c.date("due_date", True)
    currency = c.text("currency", True)
    if currency and not re.fullmatch("[A-Z]{3}", currency):
        c.bad("currency", f"'{currency}' is not allowed; write an ISO 4217 code like EUR")
    gross, open_amount = c.amount("gross_amount", True), c.amount("open_amount", True)
    reference = c.text("payment_reference", width=35)
    percent = c.amount("cash_discount_percent", maximum=Decimal("99.99"))
    days = c.integer("cash_discount_days", 0, 365, None)
    level = c.integer("dunning_level", 0, 9, 0)
    last, disputed = c.date("last_dunning_date"), c.boolean("disputed", False)
    promise = c.date("promise_until")
    if gross is not None and open_amount is not None and open_amount > gross:
        c.bad("open_amount", f"{open_amount} is more than gross_amount {gross}; the open "
                             "amount must be at most the gross amount")
    if issued and due and due < issued:
        c.bad("due_date", f"{due} is before issue_date {issued}; it must be on or after it")
    if bool(c.values.get("cash_discount_percent")) != bool(c.values.get("cash_discount_days")):
        given, other = (("cash_discount_percent", "cash_discount_days")
                        if c.values.get("cash_discount_percent")
                        else ("cash_discount_days", "cash_discount_percent"))
        c.bad(other, f"is empty but {given} is given; give both or neither")
    if level is not None and level > 0 and not c.values.get("last_dunning_date"):
        c.bad("last_dunning_date", f"is empty but dunning_level is {level}; give the date "
                                   "of the last reminder")
    elif level == 0 and last is not None:
        c.bad("last_dunning_date", f"is {last} but dunning_level is 0; give the level of "
                                   "the last reminder, or leave the date empty")
    elif last and issued and last < issued:
        c.bad("last_dunning_date", f"{last} is before issue_date {issued}; it must be on or "
                                   "after it")
    if not reference and 35 < len(number) <= 40 and len(re.sub(r"[^A-Za-z0-9]", "", number)) > 21:
        c.bad("payment_reference", "is empty and the invoice number is too long to stand in "
                                   "for it; give a reference of up to 35 characters")
    if c.failed or issued is None or due is None or gross is None or open_amount is None \
            or level is None:
        return None
    return ImportedOpenItem(
        customer_number=customer_number, customer_name=customer_name, customer_iban=iban,
        customer_email=email, b2b=b2b, invoice_number=number, issue_date=issued, due_date=due,
        currency=currency, gross_amount=gross, open_amount=open_amount,
        payment_reference=reference or reference_for(number), cash_discount_percent=percent,
        cash_discount_days=days, dunning_level=level, last_dunning_date=last,
        disputed=disputed, promise_until=promise, line=line)


def _consistent(items: Sequence[ImportedOpenItem], source: str, issues: list[Issue]) -> None:
    """The customer columns must agree between the rows of one customer (empty agrees)."""
    first: dict[str, ImportedOpenItem] = {}
    for item in items:
        seen = first.setdefault(item.customer_number, item)
        for column, mine, theirs in (
                ("customer_name", item.customer_name, seen.customer_name),
                ("customer_iban", item.customer_iban, seen.customer_iban),
                ("customer_email", item.customer_email, seen.customer_email),
                ("b2b", str(item.b2b).lower(), str(seen.b2b).lower())):
            if mine and theirs and mine != theirs:
                issues.append(Issue(f"{source}:{item.line}", f"column '{column}': '{mine}' "
                                    f"differs from '{theirs}' on line {seen.line} for customer "
                                    f"'{item.customer_number}'; one customer has one value"
                                    + (" (an empty b2b is true)" if column == "b2b" else "")))


def read_open_items_csv(data: bytes, source: str) -> tuple[list[ImportedOpenItem], list[Issue]]:
    """The open items of an open-item file, and its problems (rows and across rows)."""
    records, issues = read_table(data, source, OPEN_ITEM_REQUIRED, OPEN_ITEM_OPTIONAL, _open_item)
    twice = once(((r.invoice_number, r.line) for r in records), "invoice_number", source,
                  issues, "invoice number")
    once(((r.payment_reference, r.line) for r in records if r.line not in twice),
          "payment_reference", source, issues,
          "payment reference (also one made from an invoice number)")
    _consistent(records, source, issues)
    return records, sorted(issues, key=in_file_order)


def _payment(c: Cells, line: int, columns: frozenset[str]) -> ImportedPayment | None:
    number, when = c.text("invoice_number", True, 40), c.date("date", True)
    amount = c.amount("amount", True, above=True)
    if c.failed or when is None or amount is None:
        return None
    return ImportedPayment(invoice_number=number, date=when, amount=amount, line=line)


def read_payments_csv(data: bytes, source: str) -> tuple[list[ImportedPayment], list[Issue]]:
    """The payments of a payments file (several per invoice allowed), and its problems."""
    records, issues = read_table(data, source, PAYMENT_REQUIRED, (), _payment)
    return records, sorted(issues, key=in_file_order)


def customers_of(items: Iterable[ImportedOpenItem]) -> dict[str, ImportedCustomer]:
    """One customer per customer number, from its first row; an IBAN or e-mail address
    left empty there comes from a later row of the same customer."""
    found: dict[str, ImportedCustomer] = {}
    for i in items:
        known = found.get(i.customer_number)
        if known is None:
            found[i.customer_number] = ImportedCustomer(
                number=i.customer_number, name=i.customer_name, iban=i.customer_iban,
                email=i.customer_email, b2b=i.b2b, line=i.line)
        elif (not known.iban and i.customer_iban) or (not known.email and i.customer_email):
            found[i.customer_number] = replace(known, iban=known.iban or i.customer_iban,
                                               email=known.email or i.customer_email)
    return found


def customer_ids(items: Iterable[ImportedOpenItem]) -> dict[str, int]:
    """A stand-in id per customer number: 1, 2, … in sorted order of the numbers."""
    return {n: k for k, n in enumerate(sorted({i.customer_number for i in items}), start=1)}


def open_items_from_import(items: Sequence[ImportedOpenItem]) -> list[OpenItem]:
    """The core's open items for matching and dunning on files: the line number stands in
    for the invoice id; items with nothing left open are left out (as in the ledger)."""
    ids, customers = customer_ids(items), customers_of(items)
    return [OpenItem(invoice_id=i.line, number=i.invoice_number,
                     customer_id=ids[i.customer_number], customer_name=i.customer_name,
                     customer_iban=customers[i.customer_number].iban,
                     reference=i.payment_reference, gross_amount=i.gross_amount,
                     open_amount=i.open_amount, issue_date=i.issue_date, due_date=i.due_date,
                     currency=i.currency)
            for i in items if i.open_amount > 0]

