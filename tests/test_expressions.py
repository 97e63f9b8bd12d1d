"""The safe expression compiler: Decimal literals, refused constructs with positions, facts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.core.expressions import (
    Compiled,
    EvaluationError,
    ExpressionError,
    compile_expression,
)
from engine.core.facts import FACTS

ORDER = FACTS["order.received"]


def run(text: str, facts: dict[str, Any] | None = None) -> Any:
    return compile_expression(text, None)(facts or {})


def refused(text: str, schema: Any = None) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, schema)
    return info.value


def test_number_literals_are_exact_decimals() -> None:
    assert run("0.1 + 0.2 == 0.3") is True
    value = run("0.1 + 0.2")
    assert isinstance(value, Decimal) and value == Decimal("0.3")
    assert run("1_000.50") == Decimal("1000.50")
    assert isinstance(run("7"), Decimal)


def test_division_is_decimal_even_for_integer_facts() -> None:
    value = run("a.n / b.n", {"a": {"n": 1}, "b": {"n": 4}})
    assert isinstance(value, Decimal) and value == Decimal("0.25")


def test_float_facts_become_decimal() -> None:
    value = run("x.y + 0.1", {"x": {"y": 0.2}})
    assert value == Decimal("0.3") and isinstance(value, Decimal)


@pytest.mark.parametrize(
    ("text", "col", "words"),
    [
        ("__import__('os')", 1, "__import__"),
        ("order.__class__", 7, "__class__"),
        ("[x for x in y]", 1, "list comprehension"),
        ("open('f')", 1, "open"),
        ("order['a']", 1, "subscript"),
        ("1 + (lambda: 1)", 6, "lambda"),
        ("1 < (a := 2)", 6, ":="),
        ("f'{a}'", 1, "f-string"),
        ("round(x, n=2)", 10, "keyword"),
        ("max(*a)", 5, "starred"),
        ("a ** 2", 1, "**"),
        ("a is None", 1, "is"),
        ("'x'.upper()", 1, "method"),
        ("{1: 2}", 1, "dict"),
    ],
)
def test_forbidden_constructs_are_refused_at_their_position(
    text: str, col: int, words: str
) -> None:
    error = refused(text)
    assert (error.line, error.col) == (1, col)
    assert words in error.message


def test_position_counts_characters_not_bytes() -> None:
    error = refused("'äöü' == o._x")
    assert error.col == 12


def test_position_on_a_later_line() -> None:
    error = refused("a.b > 1\n  and c.__d")
    assert (error.line, error.col) == (2, 9)


def test_syntax_error_position() -> None:
    error = refused("order.net_amount >")
    assert (error.line, error.col) == (1, 19)
    assert "syntax error" in error.message
    assert refused("a b").col == 3


def test_unknown_fact_suggests_the_close_one() -> None:
    error = refused("order.net_amout > 100", ORDER)
    assert (error.line, error.col) == (1, 1)
    assert "did you mean 'order.net_amount'?" in error.message


def test_known_fact_paths_are_collected() -> None:
    compiled = compile_expression("order.net_amount > 1 and customer.b2b", ORDER)
    assert isinstance(compiled, Compiled)
    assert compiled.paths == frozenset({"order.net_amount", "customer.b2b"})


def test_missing_fact_is_an_evaluation_error_naming_the_path() -> None:
    with pytest.raises(EvaluationError) as info:
        run("order.net_amount > 1", {"order": {}})
    assert info.value.path == "order.net_amount"


def test_and_or_short_circuit() -> None:
    # the right side names a missing fact: evaluating it would raise
    assert run("false and a.missing", {}) is False
    assert run("true or a.missing", {}) is True
    with pytest.raises(EvaluationError):
        run("true and a.missing", {})


def test_in_with_lists_and_chained_comparisons() -> None:
    facts = {"c": {"country": "AT", "n": 5}}
    assert run("c.country in ['DE', 'AT', 'CH']", facts) is True
    assert run("c.country not in ('DE', 'CH')", facts) is True
    assert run("1 < c.n <= 5", facts) is True
    assert run("1 < c.n < 5", facts) is False


def test_days_between_with_dates() -> None:
    facts = {"i": {"due": date(2026, 1, 31)}}
    assert run("days_between(i.due, date('2026-03-02'))", facts) == 30
    assert run("days_between(date('2026-03-02'), i.due)", facts) == -30


def test_date_literal_is_validated_at_compile_time() -> None:
    assert "invalid date" in refused("date('2026-02-30')").message
    assert "string literal" in refused("date(a.b)").message


def test_functions() -> None:
    facts = {"s": {"name": "Acme GmbH"}}
    assert run("contains(s.name, 'gmbh')", facts) is True
    assert run("lower(s.name) == 'acme gmbh' and upper('a') == 'A'", facts) is True
    assert run("len(s.name)", facts) == 9
    assert run("round(2.345, 2)") == Decimal("2.35")
    assert run("round(2.5)") == Decimal("3")
    assert run("abs(-2) + min(1, 2) + max([3, 4])") == Decimal("7")


def test_wrong_argument_count_is_refused() -> None:
    assert "takes 2 arguments" in refused("days_between(a.b)").message


def test_aliases_and_if_expression() -> None:
    assert run("true") is True and run("none") is None
    assert run("'big' if 5 > 3 else 'small'") == "big"
    assert compile_expression("true", None).literal_true
    assert not compile_expression("1 == 1", None).literal_true


def test_type_errors_become_evaluation_errors() -> None:
    with pytest.raises(EvaluationError):
        run("a.b < 1", {"a": {"b": None}})
    with pytest.raises(EvaluationError):
        run("1 / a.b", {"a": {"b": 0}})


# ------------------------------------------------------------------------- types

DUNNING = FACTS["dunning.run"]
BANK = FACTS["bank.transaction"]


@pytest.mark.parametrize(("text", "col", "words"), [
    ("customer.b2b == 1", 1, "cannot compare customer.b2b (true/false) with 1 (a number)"),
    ("order.net_amount > 'x'", 1, "cannot compare order.net_amount (a number) with 'x'"),
    ("order.net_amount and customer.b2b", 1,
     "'and' needs true/false on each side, but order.net_amount is a number"),
    ("customer.b2b or order.currency", 17, "but order.currency is a text"),
    ("not order.line_count", 5, "'not' needs true/false"),
    ("order.currency + 'x' == 'EURx'", 1, "arithmetic needs numbers, but order.currency is a text"),
    ("customer.b2b * 2 > 1", 1, "arithmetic needs numbers, but customer.b2b is true/false"),
    ("-customer.b2b", 2, "a sign needs a number"),
    ("days_between(order.net_amount, date('2026-01-01')) > 3", 14,
     "days_between() needs a date, but order.net_amount is a number"),
    ("customer.b2b < true", 1, "cannot order true/false"),
    ("order.currency in order.line_count", 19, "'in' needs a list or a text"),
    ("order.line_count in ['a', 'b']", 1, "can never be in"),
    ("1 in 'abc'", 1, "only a text can be in a text"),
    ("lower(order.net_amount) == 'x'", 7, "lower() needs a text"),
    ("(order.line_count if customer.b2b else 1) and true", 2, "'and' needs true/false"),
    ("order.confidence if order.currency else 1", 21, "'if' needs true/false"),
])
def test_types_that_cannot_work_are_refused(text: str, col: int, words: str) -> None:
    error = refused(text, ORDER)
    assert words in error.message
    assert (error.line, error.col) == (1, col)


def test_options_of_a_text_fact_are_checked() -> None:
    error = refused("match.kind == 'rf_referense'", BANK)
    assert "match.kind is one of rf_reference," in error.message and error.col == 15
    assert compile_expression("'none' != match.kind", BANK)({"match": {"kind": "none"}}) is False


@pytest.mark.parametrize("text", [
    "order.line_count + order.net_amount > 1.5",
    "order.line_count == 3 and order.net_amount != 2",
    "customer.country in ['DE', 'AT'] and 'D' in customer.country",
    "order.currency == none or customer.b2b == false",
    "abs(order.net_amount - 1) < max(order.confidence, 2)",
    "(order.net_amount if customer.b2b else order.line_count) > 3",
    "round(order.net_amount / order.line_count, 2) >= 10",
    "len(order.currency) == 3 and lower(order.currency) == 'eur'",
    "x.y and a.b + 1 > 0",  # unknown facts: no error
])
def test_types_that_work_are_accepted(text: str) -> None:
    schema = None if text.startswith("x.y") else ORDER
    compile_expression(text, schema)


def test_integer_arithmetic_stays_integer_and_division_is_a_number() -> None:
    assert compile_expression("invoice.level + 1 == 2", DUNNING)
    assert "cannot compare" in refused("invoice.level / 2 == 'x'", DUNNING).message


# -------------------------------------------------------- business-rules helpers


def test_text_reads_none_as_empty() -> None:
    assert run("text(a.b) == ''", {"a": {"b": None}}) is True
    assert run("text(a.b)", {"a": {"b": "x"}}) == "x"
    with pytest.raises(EvaluationError):
        run("text(a.b)", {"a": {"b": 5}})


def test_starts_ends_and_matches_are_case_sensitive() -> None:
    facts = {"c": {"name": "Acme GmbH"}}
    assert run("starts_with(c.name, 'Acme') and not starts_with(c.name, 'acme')", facts)
    assert run("ends_with(c.name, 'GmbH') and not ends_with(c.name, 'gmbh')", facts)
    assert run("matches(c.name, 'G.b') and not matches(c.name, '^GmbH')", facts)


def test_matches_needs_a_valid_pattern_literal() -> None:
    error = refused("matches(a.b, '(')")
    assert "invalid pattern" in error.message and error.col == 14
    assert "pattern literal" in refused("matches(a.b, a.c)").message


def test_list_functions_compare_strings_ignoring_case() -> None:
    facts = {"c": {"tags": ["VIP", "export"]}}
    assert run("contains(c.tags, 'vip') and not contains(c.tags, 'new')", facts)
    assert run("contains_all(c.tags, ['vip', 'EXPORT'])", facts)
    assert run("is_contained_by(c.tags, ['vip', 'export', 'x'])", facts)
    assert run("shares_at_least_one_element_with(c.tags, ['x', 'Vip'])", facts)
    assert run("shares_exactly_one_element_with(c.tags, ['x', 'Vip'])", facts)
    assert not run("shares_exactly_one_element_with(c.tags, ['vip', 'export'])", facts)
    assert run("shares_no_elements_with(c.tags, ['x'])", facts)
    assert "needs a list" in refused("contains_all('a', ['a'])").message
