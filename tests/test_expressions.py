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
