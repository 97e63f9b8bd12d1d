"""MT940 reader: a German sample with one entry per dialect quirk, signs, dates, bad input,
and every file of the shared MT940 corpora (facts checked against the files by hand)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents.mt940 import read_mt940
from documents.statement_errors import malformed
from engine.core.records import Issue, Statement
from tests.conftest import corpus_dir, corpus_files, mutated

MT940 = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "mt940"

# One statement of a German bank: SWIFT blocks, CRLF, cp1252. Entry by entry:
# 1 SEPA credit: EREF over ?20/?21, SVWZ with an RF reference, name over ?32/?33 (27 + rest),
#   entry date 0102 after value date 31.12. (the booking lies in the next year)
# 2 SEPA direct debit, funds code R after D: EREF+NOTPROVIDED, KREF, MREF, CRED before SVWZ
# 3 the key SVWZ split over ?22/?23 ("S" + "VWZ+"), ABWA over two subfields, entry date 1231
#   before value date 02.01. (the booking lies in the year before)
# 4 RC: reversal of a credit, a debit      5 RD with funds code R: reversal of a debit, a credit
# 6 pre-SEPA text without keys, ?31 an account number (no IBAN), no entry date
# 7 IBAN+ with spaces over ?20/?21, SVWZ going on in ?29 and ?60, the marker ?29 wrapped
GERMAN = "\r\n".join(
    [
        "{1:F01SSKMDEMMAXXX0000000000}{2:I940SSKMDEMMXXXXN}{4:",
        ":20:STARTUMSE",
        ":25:70050000/0001234567",
        ":28C:00012/001",
        ":60F:C191230EUR1000,00",
        ":61:1912310102CR1190,00NTRFNONREF//BANKREF-1",
        ":86:166?00GUTSCHR. UEBERWEISUNG?109310?20EREF+E2E-2019-12-31-000?21042",
        "?22SVWZ+Rechnung RE-2019-0815 ?23RF18539007547034?30COBADEFFXXX",
        "?31DE89370400440532013000?32Müller & Söhne Werkzeugmasc?33hinen GmbH?34000",
        ":61:2001020102DR49,90NDDTNONREF//BANKREF-2",
        ":86:105?00FOLGELASTSCHRIFT?109248?20EREF+NOTPROVIDED?21KREF+K-77?22MREF+M-2019-11",
        "?23CRED+DE98ZZZ09999999999?24SVWZ+Abo Januar 2020?30GENODEF1S10",
        "?31DE02120300000000202051?32Telekom Deutschland GmbH",
        ":61:2001021231CR250,00NTRFNONREF//BANKREF-3",
        ":86:166?00GUTSCHRIFT?20EREF+ORDER-4711?21ABWA+Kunde Zwei GmbH Niederla?22ssung Ost S",
        "?23VWZ+Teilzahlung RE-2019-0900?31DE02120300000000202051?32Kunde Zwei GmbH",
        ":61:2001030103RC1190,00NRTINONREF//BANKREF-4",
        ":86:159?00RUECKUEBERWEISUNG?20EREF+E2E-2019-12-31-000042?21SVWZ+Konto erloschen",
        "?31DE89370400440532013000?32Müller & Söhne",
        ":61:2001030103RDR49,90NRTINONREF//BANKREF-5",
        ":86:109?00RUECKLASTSCHRIFT?20SVWZ+Rueckgabe Abo Januar?32Telekom Deutschland GmbH",
        ":61:200103C75,50NTRFNONREF",
        ":86:051?00UEBERWEISUNG?20RE 2019-0901 und?21RE 2019-0902?3012030000?311234567890",
        "?32Alte Firma KG",
        ":61:200103C300,NTRFNONREF//BANKREF-7",
        ":86:166?00GUTSCHRIFT?20IBAN+DE02 1203 0000 0000 20?2120 51?22SVWZ+Sammelzahlung RE-2019?2",
        "9-0903 RE-2019-0904 RE-2019-?31?600905",
        ":62F:C200103EUR1625,50",
        ":64:C200103EUR1625,50",
        "-}{5:}",
        "",
    ]
).encode("cp1252")


def _german() -> Statement:
    statements, issues = read_mt940(GERMAN, "bank.sta")
    assert issues == []
    (statement,) = statements
    return statement


def test_german_statement_and_balances() -> None:
    statement = _german()
    assert (statement.account, statement.currency) == ("70050000/0001234567", "EUR")
    assert (statement.statement_id, statement.source) == ("00012/001", "bank.sta:2")
    assert statement.opening_balance == Decimal("1000.00")
    assert statement.closing_balance == Decimal("1625.50")
    assert [e.amount for e in statement.entries] == [
        Decimal(a) for a in ("1190.00", "-49.90", "250.00", "-1190.00", "49.90", "75.50", "300.00")
    ]
    assert all(e.currency == "EUR" for e in statement.entries)
    assert [e.source for e in statement.entries][:2] == ["bank.sta:6", "bank.sta:10"]
    assert [e.bank_reference for e in statement.entries][:2] == ["BANKREF-1", "BANKREF-2"]


def test_german_subfields_give_eref_svwz_name_iban() -> None:
    one, two, three, four, five, six, seven = _german().entries
    assert one.end_to_end_id == "E2E-2019-12-31-000042"
    assert one.remittance_info == "Rechnung RE-2019-0815 RF18539007547034"
    assert one.reference == "RF18539007547034"
    assert one.counterparty_name == "Müller & Söhne Werkzeugmaschinen GmbH"
    assert one.counterparty_iban == "DE89370400440532013000"
    # NOTPROVIDED is no end-to-end id; KREF, MREF and CRED stay out of the remittance text
    assert (two.end_to_end_id, two.remittance_info) == ("", "Abo Januar 2020")
    assert (two.counterparty_name, two.counterparty_iban) == (
        "Telekom Deutschland GmbH",
        "DE02120300000000202051",
    )
    assert (three.end_to_end_id, three.remittance_info) == (
        "ORDER-4711",
        "Teilzahlung RE-2019-0900",
    )
    assert (four.remittance_info, four.counterparty_name) == ("Konto erloschen", "Müller & Söhne")
    assert (five.remittance_info, five.end_to_end_id, five.counterparty_iban) == (
        "Rueckgabe Abo Januar",
        "",
        "",
    )
    # no SEPA keys: the subfields joined by a space; ?31 is an account number, not an IBAN
    assert six.remittance_info == "RE 2019-0901 und RE 2019-0902"
    assert (six.counterparty_iban, six.counterparty_name, six.reference) == (
        "",
        "Alte Firma KG",
        "",
    )
    assert seven.counterparty_iban == "DE02120300000000202051"
    assert seven.remittance_info == "Sammelzahlung RE-2019-0903 RE-2019-0904 RE-2019-0905"


def test_signs_of_rc_rd_and_funds_codes() -> None:
    entries = _german().entries
    assert entries[1].amount == Decimal("-49.90")  # DR: debit, funds code R
    assert entries[3].amount == Decimal("-1190.00")  # RC: reversal of a credit
    assert entries[4].amount == Decimal("49.90")  # RDR: reversal of a debit, funds code R
    assert entries[6].amount == Decimal("300.00")  # '300,' has no decimals


def test_entry_date_across_the_new_year() -> None:
    one, two, three, *_, six, _ = _german().entries
    assert (one.value_date, one.booking_date) == (date(2019, 12, 31), date(2020, 1, 2))
    assert (two.value_date, two.booking_date) == (date(2020, 1, 2), date(2020, 1, 2))
    assert (three.value_date, three.booking_date) == (date(2020, 1, 2), date(2019, 12, 31))
    assert six.booking_date == six.value_date == date(2020, 1, 3)


def test_encodings_and_line_ends_read_alike() -> None:
    text = GERMAN.decode("cp1252")
    expected = _german()
    for variant in (text.encode("utf-8"), text.replace("\r\n", "\n").encode("latin-1")):
        (statement,), issues = read_mt940(variant, "bank.sta")
        assert issues == [] and statement == expected


def test_plain_and_slash_dialects() -> None:
    data = b"""
:20:REF
:25:NL91ABNA0417164300EUR
:28C:1/1
:60F:C240101EUR10,00
:61:2401020102C5,00NTRFNONREF
NL20INGB0001234567
:86:/EREF/E2E 1//CNTP/NL20INGB0001234567/INGBNL2A/J. Jansen/Utrecht//REMI/USTD//
Factuur RF18539007547034/
:61:240102D2,50NMSCNONREF
:86:NL20INGB0001234567 J Jansen
Betaling factuur 2023-118
:62F:C240102EUR12,50
-
"""
    (statement,), issues = read_mt940(data, "nl.sta")
    assert issues == []
    assert (statement.account, statement.currency) == ("NL91ABNA0417164300", "EUR")
    slash, plain = statement.entries
    assert (slash.counterparty_name, slash.counterparty_iban) == ("J. Jansen", "NL20INGB0001234567")
    assert (slash.end_to_end_id, slash.reference) == ("E2E 1", "RF18539007547034")
    assert slash.remittance_info == "Factuur RF18539007547034"
    assert plain.counterparty_iban == "NL20INGB0001234567"
    assert plain.remittance_info == "NL20INGB0001234567 J Jansen Betaling factuur 2023-118"


# ---------------------------------------------------------------- bad input


def test_malformed_lines_are_named() -> None:
    lines = GERMAN.decode("cp1252").split("\r\n")
    lines[9] = ":61:2001XX0102DR49,90NDDTNONREF"  # line 10: no date
    lines[4] = ":60F:C191230EUR1000.00"  # line 5: decimal point
    statements, issues = read_mt940("\n".join(lines).encode(), "bad.sta")
    messages = [str(i) for i in issues]
    assert messages[0].startswith("bad.sta:5: :60F: cannot be read: 'C191230EUR1000.00'")
    assert messages[1].startswith("bad.sta:10: :61: cannot be read: '2001XX0102DR49,90NDDTNONREF'")
    assert "bad.sta:2: no readable opening balance :60F:/:60M:" in messages
    (statement,) = statements  # the rest is still read
    assert len(statement.entries) == 6 and statement.opening_balance is None


def test_balance_mismatch_names_the_closing_line() -> None:
    data = GERMAN.replace(b":62F:C200103EUR1625,50", b":62F:C200103EUR1625,51")
    (statement,), issues = read_mt940(data, "off.sta")
    assert statement.closing_balance == Decimal("1625.51")
    assert issues == [
        Issue(
            "off.sta:28",
            "opening 1000.00 + entries 625.50 = 1625.50, but the closing balance is 1625.51",
        )
    ]


def test_a_second_account_line_in_a_statement_is_reported() -> None:
    data = GERMAN.replace(b":28C:00012/001", b":25:DE89370400440532013000")
    (statement,), issues = read_mt940(data, "two.sta")
    assert statement.account == "70050000/0001234567"
    assert [str(i) for i in issues] == [
        "two.sta:4: :25: again in one statement, 'DE89370400440532013000' ignored"
    ]


@pytest.mark.parametrize("data", [b"", b"\x00\xff garbage", b"1\n2\n3\n", b"<Document/>"])
def test_no_statement_at_all(data: bytes) -> None:
    assert read_mt940(data, "x.sta") == (
        (),
        [Issue("x.sta", "no MT940 statement found (no :20:, :60F: or :61:)")],
    )


def _check_contract(result: tuple[tuple[Statement, ...], list[Issue]]) -> None:
    statements, issues = result
    assert isinstance(statements, tuple) and isinstance(issues, list)
    assert all(isinstance(s, Statement) for s in statements)
    assert all(isinstance(i, Issue) for i in issues)
    assert statements or issues
    # the catch-all in read_mt940 is a last resort: no input should reach it
    assert not any(i.message.startswith("could not be read") for i in issues), issues


_FIELD = st.sampled_from(
    [
        ":20:",
        ":25:",
        ":28C:",
        ":60F:",
        ":60M:",
        ":61:",
        ":86:",
        ":62F:",
        ":NS:",
        ":34F:",
        "-",
        "?20",
        "?32",
        "{1:",
        "{4:",
        ":",
        "",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.lists(st.tuples(_FIELD, st.text(max_size=40)), max_size=30).map(
            lambda parts: "\n".join(tag + text for tag, text in parts).encode("utf-8", "replace")
        ),
    )
)
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check_contract(read_mt940(data, "fuzz"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(GERMAN) - 1), st.binary(max_size=4)), min_size=1, max_size=4
    )
)
def test_mutated_statement_never_raises(edits: list[tuple[int, bytes]]) -> None:
    _check_contract(read_mt940(mutated(GERMAN, edits), "mutated.sta"))


# ---------------------------------------------------------------- shared corpora

# Files whose every statement adds up, files with a statement that does not (the sample
# data was edited by hand), and fragments: single fields without balances or account.
CONSISTENT = {
    "ASNB/mt940.txt",
    "ASNB/mt940_with_spaces_for_entry_date.txt",
    "betterplace/sepa_mt9401.sta",
    "betterplace/with_binary_character.sta",
    "citi/mt940.txt",
    "cmxl/mt940.sta",
    "jejik/generic.sta",
    "jejik/rabobank-iban.sta",
    "jejik/sns.sta",
    "mBank/mt940.sta",
    "sberbank/171011_01234945.sta",
    "self-provided/february_30.sta",
    "self-provided/long_statement_number.sta",
    "self-provided/raphaelm.sta",
    "self-provided/transaction_details_wrapped.sta",
    "self-provided/wrapped_timestamp.sta",
}
INCONSISTENT = {
    "betterplace/sepa_snippet.sta",
    "betterplace/sepa_snippet_broken.sta",
    "jejik/abnamro.sta",
    "jejik/ing.sta",
    "jejik/knab.sta",
    "jejik/postfinance.sta",
    "jejik/rabobank.sta",
    "jejik/triodos.sta",
    "mBank/with_newline_in_tnr.sta",
    "self-provided/details_60-63.sta",
    "self-provided/malformed_details.sta",
    "self-provided/overly_long_details.sta",
    "self-provided/raiffeisen-cmi.sta",
    "self-provided/whitespace.sta",
}
INTERIM = {"mBank/mt942.sta", "self-provided/mt942.sta"}  # MT942: no balances by design
NOT_MT940 = {"self-provided/invalid_statement.sta"}


def _corpus() -> Path:
    return corpus_dir(MT940)


def _corpus_files() -> list[str]:
    return corpus_files(MT940, skip_names=("LICENSE",))


def _read(name: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    path = _corpus() / name
    return read_mt940(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", _corpus_files())
def test_corpus_file_is_read(name: str) -> None:
    statements, issues = _read(name)
    assert not any(i.message.startswith("could not be read") for i in issues), issues
    assert all(i.where.startswith(Path(name).name) for i in issues)
    if name in NOT_MT940:
        assert statements == () and "no MT940 statement" in issues[0].message
        return
    entries = [e for s in statements for e in s.entries]
    # every :61: line of the file is one entry, with a signed Decimal amount
    assert len(entries) == (_corpus() / name).read_bytes().count(b":61:")
    assert all(isinstance(e.amount, Decimal) and e.booking_date for e in entries)
    complete = [
        (s.opening_balance, s.closing_balance, sum(e.amount for e in s.entries))
        for s in statements
        if s.opening_balance is not None and s.closing_balance is not None
    ]
    adds_up = [opening + total == closing for opening, closing, total in complete]
    mismatches = [i for i in issues if "but the closing balance is" in i.message]
    if name in CONSISTENT:
        assert complete and all(adds_up) and issues == []
    elif name in INCONSISTENT:
        assert not all(adds_up) and len(mismatches) == adds_up.count(False)
    elif name in INTERIM:
        assert statements and not complete and issues == [] and entries
    else:  # a fragment: what it holds is read, what it lacks is reported
        assert statements and issues and not mismatches
        assert all("no :25:" in i.message or "no readable" in i.message for i in issues)


def test_corpus_german_dialects() -> None:
    _corpus()
    (statement,), _ = _read("cmxl/statement_details.sta")  # HypoVereinsbank, SEPA direct debit
    (entry,) = statement.entries
    assert entry.amount == Decimal("-1.62") and entry.counterparty_name == "Peter Pan"
    assert entry.end_to_end_id == "TRX-0A4A47C3-F846-4729-8A1B-5DF620F"
    assert entry.remittance_info == "FOO TRX-0A4A47C3-F846-4729-8A1B-5DF620F"
    assert entry.counterparty_iban == ""  # ?31 'HUkkbbb…' is a placeholder, not an IBAN
    (statement,), _ = _read("self-provided/details_60-63.sta")  # ?60–?63 after a short ?20
    (entry,) = statement.entries
    assert entry.counterparty_name == "Finanzamt Muenchen Abteilung Erhebung"
    assert (entry.end_to_end_id, entry.counterparty_iban) == (
        "123/123/12345-----L110",
        "DE99700500000000012345",
    )
    (statement,), _ = _read("self-provided/sparkassen.sta")  # ':' and '86:' on two lines
    assert statement.entries[0].amount == Decimal("30.00")
    assert statement.entries[0].remittance_info == "Test"
    (statement,), _ = _read("jejik/triodos.sta")  # '>' instead of '?'
    assert statement.entries[1].remittance_info == "HUUR KANTOOR - FEB 2010"
    (statement,), _ = _read("self-provided/transaction_details_wrapped.sta")  # ':12:' is text
    assert statement.entries[0].remittance_info == "Pauschalen 2017-01-01T13:12:11"
    # 30 February (a German period-end convention) is the last day of the month
    assert (statement.entries[0].value_date, statement.entries[0].booking_date) == (
        date(2016, 2, 29),
        date(2016, 3, 1),
    )


def test_corpus_facts() -> None:
    _corpus()
    statements, _ = _read("ASNB/mt940.txt")  # SWIFT blocks, 31 daily statements
    assert len(statements) == 31 and statements[0].account == "NL81ASNB9999999999"
    assert (statements[0].opening_balance, statements[-1].closing_balance) == (
        Decimal("444.29"),
        Decimal("501.23"),
    )
    first = statements[0].entries[0]
    assert (first.amount, first.counterparty_iban) == (Decimal("-65.00"), "NL47INGB9999999999")
    spaced, _ = _read("ASNB/mt940_with_spaces_for_entry_date.txt")
    assert [e.amount for s in spaced for e in s.entries] == [
        e.amount for s in statements for e in s.entries
    ]
    statements, _ = _read("betterplace/sepa_mt9401.sta")  # 26 accounts, RC, CR/DR funds code
    assert len(statements) == 26 and sum(len(s.entries) for s in statements) == 97
    assert statements[0].opening_balance == Decimal("-1234718.36")
    assert statements[0].entries[5].amount == Decimal("-204.88")  # RCR: reversal of a credit
    assert statements[1].entries[0].counterparty_iban == "DE42100100100043921105"
    statements, _ = _read("betterplace/with_binary_character.sta")
    assert [e.counterparty_name for e in statements[0].entries][:2] == [
        "PAYPAL",
        "WIRECARD BANK AG",
    ]
    assert (
        statements[1]
        .entries[0]
        .remittance_info.startswith("Belegloser Zahlungsauftrag Überweisung")
    )
    statements, _ = _read("cmxl/mt940.sta")  # DEM, EUR and PLN statements in one file
    assert [s.currency for s in statements] == ["DEM", "EUR", "PLN"]
    assert statements[0].entries[0].amount == Decimal("-6800.00")
    rent = statements[1].entries[0]
    assert (rent.amount, rent.counterparty_name, rent.remittance_info) == (
        Decimal("-800.00"),
        "MUELLER",
        "Miete November",
    )
    assert (rent.value_date, rent.booking_date) == (date(2002, 11, 1), date(2002, 11, 2))
    assert statements[2].entries[0].counterparty_iban == "PL08106000760000777777777777"  # ?38
    (statement,), _ = _read("citi/mt940.txt")
    assert (statement.currency, statement.entries[0].amount) == ("USD", Decimal("-212.39"))
    statements, _ = _read("jejik/rabobank-iban.sta")  # /EREF/ /NAME/ /REMI/
    one, two = statements[0].entries
    assert (one.counterparty_name, one.counterparty_iban) == (
        "CONTRA ACCOUNT HOLDER",
        "NL70ABNA0987654321",
    )
    assert one.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert (two.counterparty_name, two.remittance_info) == ("JOHN DOE", "Reference 201301234")
    statements, _ = _read("self-provided/raphaelm.sta")  # :NS: subfields, :62M: without currency
    assert [s.closing_balance for s in statements] == [
        Decimal(v) for v in ("105000.00", "145000.00", "95000.00")
    ]
    assert statements[0].entries[0].counterparty_name == "Empfänger"
    assert statements[0].entries[0].remittance_info == "Verwendungszweck 1 Verwendungszweck 2"
    (statement,), _ = _read("mBank/mt942.sta")
    assert (statement.currency, len(statement.entries)) == ("PLN", 3)
    statements, _ = _read("betterplace/amount_formats.sta")
    assert [s.opening_balance for s in statements] == [
        Decimal(v) for v in ("380115.12", "380115.10", "380115.00", "0.12", "0.12", "1.12")
    ]
    (statement,), _ = _read("betterplace/currency_in_25.sta")
    assert (statement.account, statement.currency) == ("51210600/9223382012", "EUR")
    _, issues = _read("betterplace/sepa_snippet_broken.sta")
    assert str(issues[1]).startswith("sepa_snippet_broken.sta:6: :25: again in one statement")


def test_a_malformed_field_refuses_the_file_a_balance_mismatch_does_not() -> None:
    lines = GERMAN.decode("cp1252").split("\r\n")
    lines[13] = ":61:2001021299CR250,00NTRFNONREF//BANKREF-3"  # line 14: entry date 12-99
    _, issues = read_mt940("\r\n".join(lines).encode("cp1252"), "bad.sta")
    assert [str(i) for i in malformed(issues)] == [
        "bad.sta:14: :61: invalid entry date '1299', value date used"]
    data = GERMAN.replace(b":62F:C200103EUR1625,50", b":62F:C200103EUR1625,51")
    _, issues = read_mt940(data, "off.sta")
    assert issues and malformed(issues) == []
