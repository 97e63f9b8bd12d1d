"""Amounts as people write them, and the checksums (IBAN, VAT id, RF reference)."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.core.checks import (
    de_vat_id_valid,
    iban_valid,
    make_de_vat_id,
    make_iban,
    rf_reference,
    rf_valid,
)
from engine.core.money import format_amount, parse_amount, round_money


@pytest.mark.parametrize("text, value", [
    ("1.234,50", D("1234.50")), ("1,234.50", D("1234.50")), ("1234.5", D("1234.5")),
    ("12,35 EUR", D("12.35")), ("EUR 99.00", D("99.00")), ("-12,00 €", D("-12.00")),
    ("1.234.567,89", D("1234567.89")), ("1,234", D("1234")), ("0,125", D("0.125")), ("0.125", D("0.125")),
    ("12.500,00", D("12500.00")), ("15-", D("-15")),
])
def test_parse_amount(text: str, value: D) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5", "EUR"])
def test_parse_amount_refuses(text: str) -> None:
    assert parse_amount(text) is None


@given(st.decimals(min_value=D("-99999999.99"), max_value=D("99999999.99"), places=2))
def test_format_then_parse_round_trips(value: D) -> None:
    for lang in ("de", "en"):
        assert parse_amount(format_amount(value, lang)) == value


def test_rounding_is_half_up() -> None:
    assert round_money(D("0.125")) == D("0.13")
    assert round_money(D("2.675")) == D("2.68")


def test_iban() -> None:
    assert iban_valid("DE89 3704 0044 0532 0130 00")
    assert not iban_valid("DE89370400440532013001")
    assert iban_valid(make_iban("DE", "200300000001234567"))


def test_german_vat_id() -> None:
    assert de_vat_id_valid("DE136695976")
    assert not de_vat_id_valid("DE136695977")
    assert de_vat_id_valid(make_de_vat_id("81234567"))
    assert de_vat_id_valid("GB123456789")  # other countries: shape only


def test_rf_reference() -> None:
    assert rf_valid("RF18 5390 0754 7034")
    assert not rf_valid("RF19539007547034")
    ref = rf_reference("RE-2026-00001")
    assert ref.startswith("RF") and rf_valid(ref)
