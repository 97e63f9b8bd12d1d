"""CSV readers for customers, open items and payments: valid files, every validation with
its exact line and message, encodings and layout, and arbitrary bytes never raising."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from documents.open_items_csv import (
    CUSTOMER_OPTIONAL,
    CUSTOMER_REQUIRED,
    OPEN_ITEM_OPTIONAL,
    OPEN_ITEM_REQUIRED,
    PAYMENT_REQUIRED,
    ImportedCustomer,
    ImportedOpenItem,
    ImportedPayment,
    customer_ids,
    open_items_from_import,
    read_customers_csv,
    read_open_items_csv,
    read_payments_csv,
    reference_for,
)
from engine.core.checks import rf_reference, rf_valid
from engine.core.records import Issue, OpenItem

IBAN = "DE89370400440532013000"
ITEM_HEADER = ("customer_number,customer_name,customer_iban,customer_email,b2b,invoice_number,"
               "issue_date,due_date,currency,gross_amount,open_amount,payment_reference,"
               "cash_discount_percent,cash_discount_days,dunning_level,last_dunning_date,"
               "disputed,promise_until")
GOOD = {"customer_number": "K-1", "customer_name": "Müller GmbH", "customer_iban": IBAN,
        "customer_email": "ap@mueller.example", "b2b": "true", "invoice_number": "RE-2024-0001",
        "issue_date": "2024-01-10", "due_date": "2024-01-24", "currency": "EUR",
        "gross_amount": "1190.00", "open_amount": "590.00", "payment_reference": "",
        "cash_discount_percent": "2", "cash_discount_days": "10", "dunning_level": "1",
        "last_dunning_date": "2024-02-05", "disputed": "false", "promise_until": ""}


def item_row(**changes: str) -> str:
    values = {**GOOD, **changes}
    return ",".join(values[c] for c in ITEM_HEADER.split(","))


def items_file(*rows: str, header: str = ITEM_HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


def one_bad_item(**changes: str) -> list[str]:
    """Issues of a file whose line 2 is good and line 3 has the changes."""
    other = {"invoice_number": "RE-2024-0002", **changes}
    records, issues = read_open_items_csv(items_file(item_row(), item_row(**other)), "op.csv")
    assert records[0].line == 2
    return [str(i) for i in issues]


# ---------------------------------------------------------------- open items


def test_a_valid_open_item_file_reads_every_column() -> None:
    data = items_file(item_row(), item_row(
        invoice_number="RE-2024-0002", customer_iban="", customer_email="", b2b="",
        gross_amount="100", open_amount="100", payment_reference="ABC-77",
        cash_discount_percent="", cash_discount_days="", dunning_level="", last_dunning_date="",
        disputed="yes", promise_until="2024-03-01"))
    records, issues = read_open_items_csv(data, "op.csv")
    assert issues == []
    first, second = records
    assert first == ImportedOpenItem(
        customer_number="K-1", customer_name="Müller GmbH", customer_iban=IBAN,
        customer_email="ap@mueller.example", b2b=True, invoice_number="RE-2024-0001",
        issue_date=date(2024, 1, 10), due_date=date(2024, 1, 24), currency="EUR",
        gross_amount=Decimal("1190.00"), open_amount=Decimal("590.00"),
        payment_reference=rf_reference("RE-2024-0001"), cash_discount_percent=Decimal("2"),
        cash_discount_days=10, dunning_level=1, last_dunning_date=date(2024, 2, 5),
        disputed=False, promise_until=None, line=2)
    assert rf_valid(first.payment_reference)
    assert (second.b2b, second.dunning_level, second.last_dunning_date) == (True, 0, None)
    assert (second.disputed, second.promise_until) == (True, date(2024, 3, 1))
    assert second.payment_reference == "ABC-77"
    assert isinstance(second.gross_amount, Decimal) and second.gross_amount == Decimal("100")


def test_only_required_columns_in_any_order_with_bom_and_crlf() -> None:
    header = ",".join(reversed(OPEN_ITEM_REQUIRED))
    row = "1.5,2.50,USD,2024-05-31,2024-05-01,7,Kunde,42"
    data = b"\xef\xbb\xbf" + f"{header}\r\n{row}\r\n".encode()
    records, issues = read_open_items_csv(data, "op.csv")
    assert issues == []
    (item,) = records
    assert (item.customer_number, item.customer_name, item.invoice_number) == ("42", "Kunde", "7")
    assert (item.gross_amount, item.open_amount, item.currency) == (
        Decimal("2.50"), Decimal("1.5"), "USD")
    assert (item.customer_iban, item.b2b, item.disputed) == ("", True, False)


def test_blank_and_empty_rows_are_skipped_and_quoted_line_breaks_keep_line_numbers() -> None:
    data = items_file("", ",,,,,,,,,,,,,,,,,", item_row(payment_reference='"RF18 5390"'),
                      item_row(invoice_number="RE-9", issue_date="bad"))
    data = data.replace(b'"RF18 5390"', b'"RF18\n5390"')
    records, issues = read_open_items_csv(data, "op.csv")
    assert records == []
    assert [str(i) for i in issues] == [
        "op.csv:4: column 'payment_reference': holds a line break, tab or other control "
        "character; write the value on one line",
        "op.csv:6: column 'issue_date': 'bad' is not an ISO date; write YYYY-MM-DD, e.g. "
        "2024-03-31"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"customer_number": ""}, "column 'customer_number': is empty; a value is required"),
    ({"customer_name": ""}, "column 'customer_name': is empty; a value is required"),
    ({"invoice_number": ""}, "column 'invoice_number': is empty; a value is required"),
    ({"invoice_number": "R" * 41}, "column 'invoice_number': has 41 characters; at most 40 "
     "are allowed"),
    ({"issue_date": "10.01.2024"}, "column 'issue_date': '10.01.2024' is not an ISO date; "
     "write YYYY-MM-DD, e.g. 2024-03-31"),
    ({"due_date": "2024-02-30"}, "column 'due_date': '2024-02-30' is no calendar date; "
     "write YYYY-MM-DD, e.g. 2024-03-31"),
    ({"due_date": ""}, "column 'due_date': is empty; a value is required"),
    ({"due_date": "2024-01-09"}, "column 'due_date': 2024-01-09 is before issue_date "
     "2024-01-10; it must be on or after it"),
    ({"currency": "eur"}, "column 'currency': 'eur' is not allowed; write an ISO 4217 code "
     "like EUR"),
    ({"currency": "EURO"}, "column 'currency': 'EURO' is not allowed; write an ISO 4217 code "
     "like EUR"),
    ({"gross_amount": '"1.234,50"'}, "column 'gross_amount': '1.234,50' is not a decimal "
     "number; write digits with a dot and no thousands marks, e.g. 1234.50"),
    ({"gross_amount": "-119.00", "open_amount": "0"},
     "column 'gross_amount': -119.00 is not allowed; it must be at least 0"),
    ({"open_amount": "-1"}, "column 'open_amount': -1 is not allowed; it must be at least 0"),
    ({"open_amount": "1190.01"}, "column 'open_amount': 1190.01 is more than gross_amount "
     "1190.00; the open amount must be at most the gross amount"),
    ({"open_amount": "10.005"}, "column 'open_amount': '10.005' has more than two decimals; "
     "at most two are allowed"),
    ({"gross_amount": "1000000000000"}, "column 'gross_amount': 1000000000000 is too large; "
     "it must be at most 999999999999.99"),
    ({"customer_iban": "DE89370400440532013001"}, "column 'customer_iban': "
     "'DE89370400440532013001' is not a valid IBAN (shape or checksum); write the IBAN as "
     "the bank gives it, or leave it empty"),
    ({"customer_email": "ap.mueller.example"}, "column 'customer_email': 'ap.mueller.example' "
     "is not an e-mail address; write one address like name@example.com, or leave it empty"),
    ({"b2b": "ja"}, "column 'b2b': 'ja' is not a boolean; write true or false (or 1/0, yes/no)"),
    ({"disputed": "x"}, "column 'disputed': 'x' is not a boolean; write true or false "
     "(or 1/0, yes/no)"),
    ({"promise_until": "tomorrow"}, "column 'promise_until': 'tomorrow' is not an ISO date; "
     "write YYYY-MM-DD, e.g. 2024-03-31"),
    ({"dunning_level": "10"}, "column 'dunning_level': '10' is not allowed; write a whole "
     "number from 0 to 9"),
    ({"dunning_level": "-1"}, "column 'dunning_level': '-1' is not allowed; write a whole "
     "number from 0 to 9"),
    ({"dunning_level": "2", "last_dunning_date": ""}, "column 'last_dunning_date': is empty "
     "but dunning_level is 2; give the date of the last reminder"),
    ({"dunning_level": "0"}, "column 'last_dunning_date': is 2024-02-05 but dunning_level is "
     "0; give the level of the last reminder, or leave the date empty"),
    ({"last_dunning_date": "2024-01-01"}, "column 'last_dunning_date': 2024-01-01 is before "
     "issue_date 2024-01-10; it must be on or after it"),
    ({"cash_discount_days": ""}, "column 'cash_discount_days': is empty but "
     "cash_discount_percent is given; give both or neither"),
    ({"cash_discount_percent": ""}, "column 'cash_discount_percent': is empty but "
     "cash_discount_days is given; give both or neither"),
    ({"cash_discount_percent": "100"}, "column 'cash_discount_percent': 100 is too large; it "
     "must be at most 99.99"),
    ({"cash_discount_days": "1.5"}, "column 'cash_discount_days': '1.5' is not allowed; write "
     "a whole number from 0 to 365"),
    ({"payment_reference": "R" * 36}, "column 'payment_reference': has 36 characters; at most "
     "35 are allowed"),
    ({"invoice_number": "X" * 36}, "column 'payment_reference': is empty and the invoice "
     "number is too long to stand in for it; give a reference of up to 35 characters"),
    ({"customer_name": "Tab\there"}, "column 'customer_name': holds a line break, tab or "
     "other control character; write the value on one line"),
    ({"invoice_number": "RE-2024-0001"}, "column 'invoice_number': 'RE-2024-0001' is already "
     "on line 2; each invoice number may appear once"),
    ({"payment_reference": rf_reference("RE-2024-0001")}, "column 'payment_reference': "
     f"'{rf_reference('RE-2024-0001')}' is already on line 2; each payment reference (also "
     "one made from an invoice number) may appear once"),
    ({"customer_name": "Mueller AG"}, "column 'customer_name': 'Mueller AG' differs from "
     "'Müller GmbH' on line 2 for customer 'K-1'; one customer has one value"),
    ({"customer_iban": "AT611904300234573201"}, "column 'customer_iban': "
     "'AT611904300234573201' differs from 'DE89370400440532013000' on line 2 for customer "
     "'K-1'; one customer has one value"),
    ({"b2b": ""}, ""),  # empty means true: agrees with line 2
    ({"b2b": "false"}, "column 'b2b': 'false' differs from 'true' on line 2 for customer "
     "'K-1'; one customer has one value (an empty b2b is true)"),
])
def test_every_open_item_validation_names_line_and_column(changes: dict[str, str],
                                                           message: str) -> None:
    assert one_bad_item(**changes) == ([f"op.csv:3: {message}"] if message else [])


def test_a_row_with_too_many_values_is_one_issue() -> None:
    assert one_bad_item(customer_name="Müller, Söhne") == [
        "op.csv:3: the row has 19 values but the header 18 columns; quote values with commas"]


def test_open_items_for_the_core() -> None:
    data = items_file(
        item_row(customer_number="B", customer_iban=""),
        item_row(customer_number="A", invoice_number="RE-2", customer_iban="", open_amount="0",
                 dunning_level="0", last_dunning_date=""),
        item_row(customer_number="B", invoice_number="RE-3"))
    records, issues = read_open_items_csv(data, "op.csv")
    assert issues == []
    assert customer_ids(records) == {"A": 1, "B": 2}
    items = open_items_from_import(records)
    assert items == [
        OpenItem(invoice_id=2, number="RE-2024-0001", customer_id=2,
                 customer_name="Müller GmbH", customer_iban=IBAN,
                 reference=rf_reference("RE-2024-0001"), gross_amount=Decimal("1190.00"),
                 open_amount=Decimal("590.00"), issue_date=date(2024, 1, 10),
                 due_date=date(2024, 1, 24), currency="EUR"),
        OpenItem(invoice_id=4, number="RE-3", customer_id=2, customer_name="Müller GmbH",
                 customer_iban=IBAN, reference=rf_reference("RE-3"),
                 gross_amount=Decimal("1190.00"), open_amount=Decimal("590.00"),
                 issue_date=date(2024, 1, 10), due_date=date(2024, 1, 24), currency="EUR")]


def test_reference_for_numbers_too_long_for_rf() -> None:
    assert reference_for("RE-2024-0001") == rf_reference("RE-2024-0001")
    assert reference_for("A" * 22) == "A" * 22
    assert reference_for("---") == "---"


# ---------------------------------------------------------------- header and encoding


@pytest.mark.parametrize(("data", "messages"), [
    (b"", ["c.csv:1: the file has no header row; the first line must name the columns, at "
           "least number, name"]),
    (b"number;name\n1;A\n", ["c.csv:1: column 'number;name': the header is one column; "
                             "separate the columns with commas, not semicolons or tabs"]),
    (b"Number,name,fax\n1,A,2\n", [
        "c.csv:1: column 'Number': unknown (did you mean 'number'?); allowed are "
        + ", ".join((*CUSTOMER_REQUIRED, *CUSTOMER_OPTIONAL)),
        "c.csv:1: column 'fax': unknown; allowed are "
        + ", ".join((*CUSTOMER_REQUIRED, *CUSTOMER_OPTIONAL)),
        "c.csv:1: missing required columns 'number'; the header must name number, name"]),
    (b"number,name,city,city\n1,A,B,C\n", [
        "c.csv:1: column 'city': appears twice; name each column once"]),
    (b"number,name,\n1,A,\n", [
        "c.csv:1: column '': a column without a name; name it or remove the extra comma"]),
    (b"city\nBonn\n", ["c.csv:1: missing required columns 'number', 'name'; the header must "
                       "name number, name"]),
    (b"number,name\n1,A\n2,M\xfcller\n", [
        "c.csv:3: byte 0xfc is not UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)"]),
])
def test_header_and_encoding_problems(data: bytes, messages: list[str]) -> None:
    records, issues = read_customers_csv(data, "c.csv")
    assert [str(i) for i in issues] == messages
    assert records == [] or data.startswith(b"number,name,\n")


def test_an_unknown_column_still_reports_the_rows() -> None:
    records, issues = read_payments_csv(b"invoice_number,date,amount,note\nR1,2024-1-1,5,x\n",
                                        "p.csv")
    assert records == []
    assert [str(i) for i in issues] == [
        "p.csv:1: column 'note': unknown; allowed are invoice_number, date, amount",
        "p.csv:2: column 'date': '2024-1-1' is not an ISO date; write YYYY-MM-DD, e.g. "
        "2024-03-31"]


def test_header_only_is_an_empty_import() -> None:
    assert read_open_items_csv(items_file(), "op.csv") == ([], [])


# ---------------------------------------------------------------- customers


def test_a_valid_customer_file() -> None:
    data = ("\ufeffpayment_terms_days,number,name,street,postal_code,city,country,vat_id,"
            "email,iban,b2b,language,credit_limit\n"
            f'30,K-1,"Müller, Söhne GmbH",Hauptstr. 1,50667,Köln,DE,DE 123456788,'
            f"ap@mueller.example,{IBAN[:4]} {IBAN[4:]},1,en,25000.00\n"
            "0,K-2,Privat,,,,AT,,,,no,,\n").encode()
    records, issues = read_customers_csv(data, "c.csv")
    assert issues == []
    assert records[0] == ImportedCustomer(
        number="K-1", name="Müller, Söhne GmbH", iban=IBAN, email="ap@mueller.example",
        b2b=True, street="Hauptstr. 1", postal_code="50667", city="Köln", country="DE",
        vat_id="DE123456788", language="en", credit_limit=Decimal("25000.00"),
        payment_terms_days=30, line=2, columns=frozenset(CUSTOMER_OPTIONAL))
    second = records[1]
    assert (second.b2b, second.country, second.language, second.credit_limit,
            second.payment_terms_days) == (False, "AT", "de", Decimal("0"), 0)


def test_customer_defaults_and_the_columns_given() -> None:
    records, issues = read_customers_csv(b"name,number,email\nA,1,\n", "c.csv")
    assert issues == []
    assert records == [ImportedCustomer(number="1", name="A", line=2,
                                        columns=frozenset({"email"}))]
    assert (records[0].b2b, records[0].payment_terms_days, records[0].country) == (True, 14, "DE")


@pytest.mark.parametrize(("cells", "message"), [
    ("number=", "column 'number': is empty; a value is required"),
    ("name=", "column 'name': is empty; a value is required"),
    ("postal_code=" + "1" * 21, "column 'postal_code': has 21 characters; at most 20 are "
     "allowed"),
    ("country=Deutschland", "column 'country': 'Deutschland' is not allowed; write an ISO "
     "3166 code like DE or AT"),
    ("vat_id=DE123456789", "column 'vat_id': 'DE123456789' is not a valid VAT id; write the "
     "country code and number, e.g. DE123456788 (German ids are checksummed)"),
    ("iban=DE00", "column 'iban': 'DE00' is not a valid IBAN (shape or checksum); write the "
     "IBAN as the bank gives it, or leave it empty"),
    ("email=a@b", "column 'email': 'a@b' is not an e-mail address; write one address like "
     "name@example.com, or leave it empty"),
    ("b2b=wahr", "column 'b2b': 'wahr' is not a boolean; write true or false (or 1/0, yes/no)"),
    ("language=fr", "column 'language': 'fr' is not allowed; write de or en"),
    ("credit_limit=-1", "column 'credit_limit': -1 is not allowed; it must be at least 0"),
    ("credit_limit=1e5", "column 'credit_limit': '1e5' is not a decimal number; write digits "
     "with a dot and no thousands marks, e.g. 1234.50"),
    ("payment_terms_days=366", "column 'payment_terms_days': '366' is not allowed; write a "
     "whole number from 0 to 365"),
    ("number=K-1", "column 'number': 'K-1' is already on line 2; each customer number may "
     "appear once"),
])
def test_every_customer_validation(cells: str, message: str) -> None:
    column, value = cells.split("=", 1)
    header = ",".join((*CUSTOMER_REQUIRED, *CUSTOMER_OPTIONAL))
    good = {c: "" for c in header.split(",")} | {"number": "K-1", "name": "A"}
    bad = good | {"number": "K-2"} | {column: value}
    rows = [",".join(row[c] for c in header.split(",")) for row in (good, bad)]
    records, issues = read_customers_csv("\n".join((header, *rows)).encode(), "c.csv")
    assert [str(i) for i in issues] == [f"c.csv:3: {message}"]
    assert [r.line for r in records] == ([2, 3] if column == "number" and value == "K-1" else [2])


# ---------------------------------------------------------------- payments


def test_a_valid_payments_file() -> None:
    data = b"amount,invoice_number,date\n100.00,RE-1,2024-02-01\n19,RE-1,2024-02-15\n"
    records, issues = read_payments_csv(data, "p.csv")
    assert issues == []
    assert records == [ImportedPayment("RE-1", date(2024, 2, 1), Decimal("100.00"), 2),
                       ImportedPayment("RE-1", date(2024, 2, 15), Decimal("19"), 3)]


@pytest.mark.parametrize(("row", "message"), [
    (",2024-02-01,5", "column 'invoice_number': is empty; a value is required"),
    ("RE-1,,5", "column 'date': is empty; a value is required"),
    ("RE-1,2024-02-01,", "column 'amount': is empty; a value is required"),
    ("RE-1,2024-02-01,0", "column 'amount': 0 is not allowed; it must be greater than 0"),
    ("RE-1,2024-02-01,-5", "column 'amount': -5 is not allowed; it must be greater than 0"),
    ("RE-1,2024-02-01,5 EUR", "column 'amount': '5 EUR' is not a decimal number; write digits "
     "with a dot and no thousands marks, e.g. 1234.50"),
])
def test_every_payment_validation(row: str, message: str) -> None:
    data = f"{','.join(PAYMENT_REQUIRED)}\nRE-1,2024-02-01,1\n{row}\n".encode()
    records, issues = read_payments_csv(data, "p.csv")
    assert [str(i) for i in issues] == [f"p.csv:3: {message}"]
    assert len(records) == 1


# ---------------------------------------------------------------- never raise


READERS = (read_customers_csv, read_open_items_csv, read_payments_csv)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for reader in READERS:
        records, issues = reader(data, "x.csv")
        assert all(isinstance(i, Issue) and i.where.startswith("x.csv:") for i in issues)
        assert not any("could not be read" in i.message for i in issues)  # no safety net hit
        assert isinstance(records, list)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=20), max_size=6))
def test_arbitrary_rows_after_a_valid_header_never_raise(rows: list[list[str]]) -> None:
    header = ",".join((*OPEN_ITEM_REQUIRED, *OPEN_ITEM_OPTIONAL))
    text = header + "\n" + "\n".join(",".join(cells) for cells in rows)
    for reader in READERS:
        records, issues = reader(text.encode("utf-8", "surrogatepass"), "x.csv")
        assert all(i.where.startswith("x.csv:") for i in issues)
        assert not any("could not be read" in i.message for i in issues)
    items, _ = read_open_items_csv(text.encode("utf-8", "surrogatepass"), "x.csv")
    open_items_from_import(items)
