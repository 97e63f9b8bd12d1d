"""Default interest (§288 BGB), the base-rate table (§247 BGB) and the €40 flat fee.

Every expected amount is computed by hand in the comments:
principal × rate × days / 36500 (rate in percent, act/365 fixed), days counted with the
first and the last day included; the total is rounded half up to cents once.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.base_rates import (
    BASE_RATES,
    BaseRateUnknown,
    base_rate_on,
    is_beyond_table,
    next_change_after,
    table_ends,
)
from engine.core.interest import (
    FLAT_FEE,
    default_rate,
    flat_fee,
    flat_fees,
    interest,
    simple_interest,
)

D = Decimal
B2B, CONSUMER = True, False


# --- the base-rate table -------------------------------------------------------------------


def test_table_has_every_half_year_without_gaps() -> None:
    days = [d for d, _ in BASE_RATES]
    assert days[0] == date(2002, 1, 1)
    for before, after in zip(days, days[1:], strict=False):
        assert after == next_change_after(before)
    assert all(d.day == 1 and d.month in (1, 7) for d in days)
    assert all(r == r.quantize(D("0.01")) for _, r in BASE_RATES)


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2002, 1, 1), "2.57"),
        (date(2009, 7, 1), "0.12"),
        (date(2013, 1, 1), "-0.13"),
        (date(2016, 7, 1), "-0.88"),
        (date(2022, 12, 31), "-0.88"),
        (date(2023, 1, 1), "1.62"),
        (date(2023, 6, 30), "1.62"),
        (date(2023, 7, 1), "3.12"),
        (date(2024, 1, 1), "3.62"),
        (date(2024, 6, 30), "3.62"),
        (date(2024, 7, 1), "3.37"),
        (date(2025, 1, 1), "2.27"),
        (date(2025, 7, 1), "1.27"),
        (date(2026, 1, 1), "1.27"),
    ],
)
def test_published_base_rates(day: date, rate: str) -> None:
    assert base_rate_on(day) == D(rate)


def test_before_the_table_is_a_clear_error() -> None:
    with pytest.raises(BaseRateUnknown, match="2001-12-31.*starts on 2002-01-01"):
        base_rate_on(date(2001, 12, 31))


def test_after_the_table_the_last_rate_holds_and_says_so() -> None:
    last_rate = BASE_RATES[-1][1]
    later = date(2040, 3, 1)
    assert base_rate_on(later) == last_rate
    assert is_beyond_table(later)
    assert not is_beyond_table(next_change_after(table_ends) - timedelta(days=1))
    assert is_beyond_table(next_change_after(table_ends))
    assert interest([(date(2039, 12, 31), D("100"))], date(2040, 1, 1), later, B2B).beyond_table


def test_rate_is_base_plus_nine_for_business_and_plus_five_for_consumers() -> None:
    # 2024-07-01: base 3.37 → B2B 3.37 + 9 = 12.37, consumer 3.37 + 5 = 8.37
    assert default_rate(date(2024, 7, 1), B2B) == D("12.37")
    assert default_rate(date(2024, 7, 1), CONSUMER) == D("8.37")
    # a negative base rate lowers it: 2020: -0.88 + 5 = 4.12
    assert default_rate(date(2020, 5, 5), CONSUMER) == D("4.12")


# --- worked examples ---------------------------------------------------------------------


def test_period_across_a_base_rate_change_b2b() -> None:
    # 1000.00 from 2024-06-15 to 2024-07-15, business debtor
    # 2024-06-15..06-30: 16 days × (3.62 + 9 = 12.62 %): 1000 × 12.62 × 16 / 36500 = 201920 / 36500 = 5.5320…
    # 2024-07-01..07-15: 15 days × (3.37 + 9 = 12.37 %): 1000 × 12.37 × 15 / 36500 = 185550 / 36500 = 5.0835…
    # total 387470 / 36500 = 10.6156… → 10.62
    r = simple_interest(D("1000.00"), date(2024, 6, 15), date(2024, 7, 15), B2B)
    assert r.total == D("10.62")
    assert [(p.start, p.end, p.days, p.rate) for p in r.periods] == [
        (date(2024, 6, 15), date(2024, 6, 30), 16, D("12.62")),
        (date(2024, 7, 1), date(2024, 7, 15), 15, D("12.37")),
    ]
    assert [p.amount_rounded for p in r.periods] == [D("5.53"), D("5.08")]


def test_same_period_for_a_consumer() -> None:
    # 16 × 8.62 % and 15 × 8.37 %: 1000 × (8.62 × 16 + 8.37 × 15) / 36500
    # = (137920 + 125550) / 36500 = 263470 / 36500 = 7.2183… → 7.22
    r = simple_interest(D("1000.00"), date(2024, 6, 15), date(2024, 7, 15), CONSUMER)
    assert r.total == D("7.22")


def test_partial_payment_mid_period() -> None:
    # 5000.00 due, default from 2025-01-01, B2B rate 2.27 + 9 = 11.27 %; 2000.00 paid on
    # 2025-01-20, which still bears interest on 5000 (the balance drops from the next day).
    # 2025-01-01..01-20: 20 days × 5000: 5000 × 11.27 × 20 = 1127000
    # 2025-01-21..01-31: 11 days × 3000: 3000 × 11.27 × 11 =  371910
    # total 1498910 / 36500 = 41.0660… → 41.07
    events = [(date(2024, 12, 31), D("5000.00")), (date(2025, 1, 20), D("-2000.00"))]
    r = interest(events, date(2025, 1, 1), date(2025, 1, 31), B2B)
    assert r.total == D("41.07")
    assert [(p.days, p.balance) for p in r.periods] == [(20, D("5000.00")), (11, D("3000.00"))]


def test_leap_year_counts_366_days_over_365() -> None:
    # all of 2024 on 1000.00, B2B: 2024-01-01..06-30 = 182 days (31+29+31+30+31+30) at 12.62 %,
    # 2024-07-01..12-31 = 184 days at 12.37 %
    # 1000 × (12.62 × 182 + 12.37 × 184) / 36500 = (2296840 + 2276080) / 36500
    # = 4572920 / 36500 = 125.2854… → 125.29 (act/act would give 4572920 / 36600 = 124.94)
    r = simple_interest(D("1000.00"), date(2024, 1, 1), date(2024, 12, 31), B2B)
    assert r.total == D("125.29")
    assert sum(p.days for p in r.periods) == 366


def test_first_and_last_day_both_count() -> None:
    # one day: 36500.00 × 12.37 × 1 / 36500 = 12.37
    assert simple_interest(D("36500.00"), date(2024, 8, 1), date(2024, 8, 1), B2B).total == D(
        "12.37"
    )
    assert interest(
        [(date(2024, 1, 1), D("100"))], date(2024, 8, 2), date(2024, 8, 1), B2B
    ).total == D("0.00")


def test_payment_on_the_last_day_changes_nothing_and_events_before_start_open_the_balance() -> None:
    # invoice 1000.00 dated 2024-05-31 (before start) → opening balance 1000; a payment on
    # the end day counts from the day after, so the total stays 10.62 (first example)
    events = [(date(2024, 5, 31), D("1000.00")), (date(2024, 7, 15), D("-1000.00"))]
    assert interest(events, date(2024, 6, 15), date(2024, 7, 15), B2B).total == D("10.62")


def test_a_new_principal_bears_interest_from_the_next_day() -> None:
    # 1000.00 from 2025-08-01; another 1000.00 charged on 2025-08-10 counts from 08-11
    # rate 1.27 + 9 = 10.27 %: 1000 × 10.27 × 10 (08-01..08-10) = 102700
    #                          2000 × 10.27 × 21 (08-11..08-31) = 431340
    # 534040 / 36500 = 14.6312… → 14.63
    events = [(date(2025, 7, 31), D("1000.00")), (date(2025, 8, 10), D("1000.00"))]
    assert interest(events, date(2025, 8, 1), date(2025, 8, 31), B2B).total == D("14.63")


def test_overpaid_balance_bears_nothing() -> None:
    events = [(date(2025, 7, 31), D("100.00")), (date(2025, 8, 5), D("-150.00"))]
    r = interest(events, date(2025, 8, 1), date(2025, 8, 31), B2B)
    # 5 days on 100 at 10.27 %: 100 × 10.27 × 5 / 36500 = 5135 / 36500 = 0.1406… → 0.14
    assert r.total == D("0.14")
    assert r.periods[-1].balance == D("-50.00") and r.periods[-1].amount == 0


def test_unchanged_base_rate_does_not_split_the_period() -> None:
    # base rate -0.83 on 2015-01-01, 2015-07-01 and 2016-01-01: one period
    r = simple_interest(D("1000.00"), date(2015, 6, 1), date(2015, 7, 31), CONSUMER)
    assert len(r.periods) == 1 and r.periods[0].days == 61
    # 1000 × 4.17 × 61 / 36500 = 254370 / 36500 = 6.9690… → 6.97
    assert r.total == D("6.97")


def test_obligations_before_29_july_2014_use_eight_points() -> None:
    # January 2014: base -0.63; old §288 (2): -0.63 + 8 = 7.37 %, 31 days on 1000.00
    # 1000 × 7.37 × 31 / 36500 = 228470 / 36500 = 6.2594… → 6.26
    # today's rule would be 8.37 %: 259470 / 36500 = 7.1088… → 7.11
    old = simple_interest(
        D("1000.00"), date(2014, 1, 1), date(2014, 1, 31), B2B, arose_on=date(2013, 11, 30)
    )
    new = simple_interest(D("1000.00"), date(2014, 1, 1), date(2014, 1, 31), B2B)
    assert (old.total, new.total) == (D("6.26"), D("7.11"))


# --- the €40 flat fee (§288 (5)) -----------------------------------------------------------


def test_flat_fee_only_for_business_debtors_in_default() -> None:
    assert flat_fee(B2B, in_default=True) == FLAT_FEE == D("40.00")
    assert flat_fee(CONSUMER, in_default=True) == D("0.00")
    assert flat_fee(B2B, in_default=False) == D("0.00")
    assert flat_fee(B2B, in_default=True, arose_on=date(2014, 7, 28)) == D("0.00")


def test_flat_fee_once_per_claim() -> None:
    # three invoices in default, RE-1 listed twice (two reminders): 3 × 40, not 4 × 40
    assert flat_fees(["RE-1", "RE-2", "RE-1", "RE-3"], B2B) == {
        "RE-1": D("40.00"),
        "RE-2": D("40.00"),
        "RE-3": D("40.00"),
    }
    # a later reminder run: RE-1 was charged already
    assert flat_fees(["RE-1", "RE-2"], B2B, charged={"RE-1"}) == {"RE-2": D("40.00")}
    assert flat_fee(B2B, in_default=True, already_charged=True) == D("0.00")
    assert flat_fees(["RE-1"], CONSUMER) == {}


# --- properties ----------------------------------------------------------------------------

DAY0 = date(2002, 1, 1)
days = st.integers(min_value=0, max_value=9000).map(lambda n: DAY0 + timedelta(days=n))
cents = st.integers(min_value=-500_000_00, max_value=1_000_000_00).map(lambda n: D(n) / 100)
histories = st.lists(st.tuples(days, cents), max_size=8)


@settings(max_examples=150, deadline=None)
@given(histories, days, st.integers(min_value=0, max_value=800), st.booleans())
def test_interest_is_never_negative(
    events: list[tuple[date, Decimal]], start: date, length: int, b2b: bool
) -> None:
    r = interest(events, start, start + timedelta(days=length), b2b)
    assert r.total >= 0
    assert all(p.amount >= 0 for p in r.periods)
    assert sum(p.days for p in r.periods) == length + 1


@settings(max_examples=150, deadline=None)
@given(histories, days, st.integers(min_value=1, max_value=800), st.data(), st.booleans())
def test_splitting_a_period_changes_the_total_by_at_most_a_cent(
    events: list[tuple[date, Decimal]], start: date, length: int, data: st.DataObject, b2b: bool
) -> None:
    end = start + timedelta(days=length)
    cut = start + timedelta(days=data.draw(st.integers(min_value=0, max_value=length - 1)))
    whole = interest(events, start, end, b2b)
    first = interest(events, start, cut, b2b)
    second = interest(events, cut + timedelta(days=1), end, b2b)
    assert abs(first.total + second.total - whole.total) <= D("0.01")
    assert abs(first.exact + second.exact - whole.exact) < D("1e-15")
