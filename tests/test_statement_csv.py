"""CSV statements with a column mapping, and documents.statements: dispatch by content and
the JSON form of `o2c parse --json`."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.camt import write_camt053
from documents.statement_csv import (
    MAPPINGS,
    CsvMapping,
    find_mapping,
    parse_amount,
    read_statement_csv,
)
from documents.statement_errors import malformed
from documents.statements import read_statement, statement_json
from engine.core.money import format_amount
from engine.core.records import Issue, Statement, StatementEntry
from tests.test_mt940 import GERMAN

SPARKASSE = MAPPINGS["sparkasse_csv_camt"]
HEADER = (
    "Auftragskonto;Buchungstag;Valutadatum;Buchungstext;Verwendungszweck;"
    "Kundenreferenz (End-to-End);Beguenstigter/Zahlungspflichtiger;Kontonummer/IBAN;Betrag;Waehrung"
)

ENTRIES = (
    StatementEntry(
        booking_date=date(2024, 3, 1),
        value_date=date(2024, 3, 1),
        amount=Decimal("1190.00"),
        currency="EUR",
        counterparty_name="Müller & Söhne GmbH",
        counterparty_iban="DE89370400440532013000",
        remittance_info="Rechnung RE-2024-0042; Kunde 4711",  # the delimiter inside a cell
        end_to_end_id="E2E-0042",
    ),
    StatementEntry(
        booking_date=date(2024, 3, 2),
        value_date=date(2024, 3, 4),
        amount=Decimal("-12345.67"),
        currency="EUR",
        counterparty_name="Lieferant AG",
        counterparty_iban="AT611904300234573201",
        remittance_info='Bestellung "LF-77881"',
    ),
    StatementEntry(  # bare fee, no value date
        booking_date=date(2024, 3, 31),
        value_date=None,
        amount=Decimal("-4.90"),
        currency="EUR",
        remittance_info="Entgelt März",
    ),
)


def _german_csv(
    entries: tuple[StatementEntry, ...], account: str = "DE02120300000000202051"
) -> bytes:
    """What a Sparkasse export looks like: ';', quoted, dd.mm.yy, decimal comma, cp1252, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER.split(";"))
    for e in entries:
        writer.writerow(
            [
                account,
                e.booking_date.strftime("%d.%m.%y"),
                e.value_date.strftime("%d.%m.%y") if e.value_date else "",
                "UEBERWEISUNG",
                e.remittance_info,
                e.end_to_end_id,
                e.counterparty_name,
                e.counterparty_iban,
                format_amount(e.amount).replace(".", ""),  # '-12345,67', as Sparkasse writes it
                e.currency,
            ]
        )
    return buffer.getvalue().encode("cp1252")


def test_german_csv_round_trip() -> None:
    data = _german_csv(ENTRIES)
    (statement,), issues = read_statement_csv(data, "umsatz.csv", SPARKASSE)
    assert issues == []
    assert (statement.account, statement.currency) == ("DE02120300000000202051", "EUR")
    assert (statement.opening_balance, statement.closing_balance) == (None, None)
    expected = [
        StatementEntry(**{**e.__dict__, "source": f"umsatz.csv:{n}"})
        for n, e in zip((2, 3, 4), ENTRIES, strict=True)
    ]
    assert list(statement.entries) == expected


def test_handwritten_csv_with_thousands_and_four_digit_years() -> None:
    text = (
        "Umsätze Girokonto;;;\r\n"  # a preamble line before the header
        "Buchungstag;Valutadatum;Verwendungszweck;Begünstigter/Zahlungspflichtiger;"
        "Kontonummer/IBAN;Betrag;Währung\r\n"
        "05.01.2024;05.01.2024;RE-2023-0815;Kunde Eins GmbH;"
        "de89 3704 0044 0532 0130 00;1.234,50;EUR\r\n"
        "\r\n"
        "06.01.2024;;Kontoführung;;;-9,90;\r\n"
    )
    (statement,), issues = read_statement_csv(text.encode("cp1252"), "ks.csv", SPARKASSE, "DE02")
    assert issues == [] and statement.account == "DE02"
    one, two = statement.entries
    assert (one.amount, one.counterparty_iban) == (Decimal("1234.50"), "DE89370400440532013000")
    assert (one.booking_date, one.remittance_info, one.source) == (
        date(2024, 1, 5),
        "RE-2023-0815",
        "ks.csv:3",
    )
    assert (two.amount, two.currency, two.value_date, two.source) == (
        Decimal("-9.90"),
        "EUR",
        None,
        "ks.csv:5",
    )
    assert two.remittance_info == "Kontoführung"


def test_separate_debit_and_credit_columns() -> None:
    mapping = CsvMapping(
        booking_date="Datum",
        debit="Soll",
        credit="Haben",
        counterparty_name="Name",
        remittance_info="Text",
        fixed_currency="CHF",
    )
    data = (
        "Datum;Name;Text;Soll;Haben\n"
        "01.02.2024;Kunde;RE-1;;1.000,00\n"
        "02.02.2024;Bank;Gebühr;-5,00;\n"  # a debit written with its sign stays a debit
        "03.02.2024;Lieferant;LF-9;250,00;0,00\n"
    ).encode()
    (statement,), issues = read_statement_csv(data, "dc.csv", mapping)
    assert issues == []
    assert [e.amount for e in statement.entries] == [
        Decimal("1000.00"),
        Decimal("-5.00"),
        Decimal("-250.00"),
    ]
    assert {e.currency for e in statement.entries} == {"CHF"}


def test_direction_column() -> None:
    mapping = CsvMapping(booking_date="Tag", amount="Umsatz", direction="S/H")
    data = b"Tag;Umsatz;S/H\n01.02.2024;10,00;S\n01.02.2024;20,00;H\n"
    (statement,), _ = read_statement_csv(data, "sh.csv", mapping)
    assert [e.amount for e in statement.entries] == [Decimal("-10.00"), Decimal("20.00")]


def test_bad_values_name_line_and_column() -> None:
    data = _german_csv(ENTRIES).decode("cp1252").replace('"-12345,67"', '"-12.345,6,7"')
    data = data.replace('"31.03.24"', '"31.13.24"')
    (statement,), issues = read_statement_csv(data.encode("cp1252"), "bad.csv", SPARKASSE)
    assert [str(i) for i in issues] == [
        "bad.csv:3:9: Betrag: not an amount with a decimal comma: '-12.345,6,7'",
        "bad.csv:4:2: Buchungstag: not a date in the form %d.%m.%y or %d.%m.%Y: '31.13.24'",
    ]
    assert [e.source for e in statement.entries] == ["bad.csv:2"]  # bad rows are left out


def test_both_debit_and_credit_is_an_issue() -> None:
    mapping = CsvMapping(booking_date="Datum", debit="Soll", credit="Haben")
    _, issues = read_statement_csv(b"Datum;Soll;Haben\n01.02.2024;1,00;2,00\n", "x.csv", mapping)
    assert [str(i) for i in issues] == [
        "x.csv:2:3: Haben: both debit '1,00' and credit '2,00' are filled in"
    ]


def test_missing_header_is_an_issue() -> None:
    statements, issues = read_statement_csv(b"a;b;c\n1;2;3\n", "h.csv", SPARKASSE)
    assert statements == ()
    assert [str(i) for i in issues] == [
        "h.csv:1: no header row with the columns 'Buchungstag', 'Betrag'"
    ]


@pytest.mark.parametrize(
    ("text", "comma", "value"),
    [
        ("1.234,56", True, Decimal("1234.56")),
        ("-0,5", True, Decimal("-0.5")),
        ("12,00-", True, Decimal("-12.00")),
        ("1,234.56", False, Decimal("1234.56")),
        ("(7.00)", False, Decimal("-7.00")),
        ("+7.00", False, Decimal("7.00")),
        ("(7.00", False, None),
        ("--7,00", True, None),
        ("EUR 3,10", True, Decimal("3.10")),
        ("12.5", True, None),
        ("1,2,3", True, None),
        ("", True, None),
        ("abc", False, None),
    ],
)
def test_parse_amount(text: str, comma: bool, value: Decimal | None) -> None:
    assert parse_amount(text, comma) == value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024), st.sampled_from(sorted(MAPPINGS)))
def test_arbitrary_bytes_never_raise(data: bytes, name: str) -> None:
    statements, issues = read_statement_csv(
        HEADER.encode() + b"\n" + data, "fuzz.csv", MAPPINGS[name]
    )
    assert all(isinstance(s, Statement) for s in statements)
    assert not any(i.message.startswith("could not be read") for i in issues)


# ---------------------------------------------------------------- documents.statements


def test_find_mapping_by_header() -> None:
    assert find_mapping(_german_csv(ENTRIES)) is SPARKASSE
    english = b"Booking date,Value date,Amount,Currency,Counterparty name,Description\n"
    assert find_mapping(english) is MAPPINGS["generic_en"]
    assert find_mapping(b"foo;bar;baz\n1;2;3\n") is None


def test_dispatch_mt940() -> None:
    statements, issues = read_statement(GERMAN, "bank.sta")
    assert issues == [] and len(statements[0].entries) == 7


def test_dispatch_mt942_that_sniff_calls_text() -> None:
    data = b":20:X\n:25:DE02120300000000202051\n:34F:EURD0,00\n:61:2401020102C5,00NTRFNONREF\n"
    (statement,), issues = read_statement(data, "intraday.sta")
    assert issues == [] and statement.entries[0].amount == Decimal("5.00")


def test_dispatch_camt() -> None:
    statement = Statement(
        "DE02120300000000202051",
        "EUR",
        "S-1",
        Decimal("0.00"),
        Decimal("1190.00"),
        (StatementEntry(date(2024, 3, 1), None, Decimal("1190.00"), "EUR", source="x entry 1"),),
    )
    data = write_camt053(
        statement, message_id="M-1", created=datetime(2024, 3, 1, 8), owner_name="O"
    )
    (read,), issues = read_statement(data, "x")
    assert issues == [] and read.entries[0].amount == Decimal("1190.00")


def test_dispatch_csv_by_header_or_mapping() -> None:
    (statement,), issues = read_statement(_german_csv(ENTRIES), "umsatz.csv")
    assert issues == [] and len(statement.entries) == 3
    mapping = CsvMapping(booking_date="Datum", amount="Betrag")
    (statement,), issues = read_statement(
        b"Datum;Betrag;Notiz\n01.02.2024;1,00;x\n", "own.csv", mapping
    )
    assert issues == [] and statement.entries[0].amount == Decimal("1.00")
    statements, issues = read_statement(b"Datum;Betrag;Notiz\n01.02.2024;1,00;x\n", "own.csv")
    assert statements == () and "fits none of the built-in mappings" in issues[0].message


@pytest.mark.parametrize("data", [b"%PDF-1.7\n", b"<Invoice xmlns='urn:x'/>", b"", b"hello"])
def test_dispatch_refuses_what_is_no_statement(data: bytes) -> None:
    statements, issues = read_statement(data, "f")
    assert statements == () and len(issues) == 1 and issues[0].where == "f"


def test_statement_json_exact_shape() -> None:
    statements, issues = read_statement(GERMAN, "bank.sta")
    issues = [*issues, Issue("bank.sta:9", "example")]
    result = statement_json(statements, issues, "bank.sta")
    assert list(result) == ["file", "kind", "statements", "issues"]
    assert (result["file"], result["kind"], result["issues"]) == (
        "bank.sta",
        "bank_statement",
        ["bank.sta:9: example"],
    )
    (statement,) = result["statements"]
    assert list(statement) == [
        "account",
        "currency",
        "opening_balance",
        "closing_balance",
        "entries",
    ]
    assert (statement["opening_balance"], statement["closing_balance"]) == ("1000.00", "1625.50")
    first, second = statement["entries"][:2]
    assert list(first) == [
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "counterparty_name",
        "counterparty_iban",
        "reference",
        "remittance_info",
        "end_to_end_id",
    ]
    assert first == {
        "booking_date": "2020-01-02",
        "value_date": "2019-12-31",
        "amount": "1190.00",
        "currency": "EUR",
        "counterparty_name": "Müller & Söhne Werkzeugmaschinen GmbH",
        "counterparty_iban": "DE89370400440532013000",
        "reference": "RF18539007547034",
        "remittance_info": "Rechnung RE-2019-0815 RF18539007547034",
        "end_to_end_id": "E2E-2019-12-31-000042",
    }
    assert (second["amount"], second["reference"], second["end_to_end_id"]) == (
        "-49.90",
        None,
        None,
    )


def test_statement_json_nulls_and_plain_numbers() -> None:
    statement = Statement(
        "",
        "",
        "",
        None,
        None,
        (
            StatementEntry(date(2024, 1, 1), None, Decimal("-0.00"), "EUR"),
            StatementEntry(date(2024, 1, 1), None, Decimal("1E+3"), "EUR"),
        ),
    )
    (result,) = statement_json((statement,), [], "f")["statements"]
    assert result["account"] is None and result["opening_balance"] is None
    assert [e["amount"] for e in result["entries"]] == ["0.00", "1000"]
    assert result["entries"][0]["value_date"] is None


def test_corpus_statements_dispatch() -> None:
    corpora = Path(__file__).resolve().parents[2] / "shared" / "corpora"
    if not corpora.is_dir():
        pytest.skip(f"shared corpora not found at {corpora}")
    for path in (
        corpora / "mt940" / "jejik" / "generic.sta",
        corpora / "camt" / "oca" / "test-camt053",
    ):
        statements, _ = read_statement(path.read_bytes(), path.name)
        assert statements and statement_json(statements, [], path.name)["statements"]


def test_one_statement_per_account_and_currency() -> None:
    mapping = CsvMapping(booking_date="Tag", amount="Betrag", currency="Whg", account="Konto")
    data = (
        b"Tag;Betrag;Whg;Konto\n"
        b"01.02.2024;1,00;EUR;A\n01.02.2024;2,00;usd;A\n02.02.2024;3,00;EUR;B\n"
    )
    statements, issues = read_statement_csv(data, "m.csv", mapping)
    assert issues == []
    assert [(s.account, s.currency, len(s.entries)) for s in statements] == [
        ("A", "EUR", 1),
        ("A", "USD", 1),
        ("B", "EUR", 1),
    ]


def test_every_bad_row_refuses_the_file() -> None:
    data = _german_csv(ENTRIES).decode("cp1252").replace('"31.03.24"', '""')
    (statement,), issues = read_statement_csv(data.encode("cp1252"), "bad.csv", SPARKASSE)
    assert [str(i) for i in malformed(issues)] == ["bad.csv:4:2: Buchungstag: no date"]
    assert len(statement.entries) == 2  # read, but the import books nothing of the file
