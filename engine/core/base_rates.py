"""The base rate of interest (Basiszinssatz, §247 BGB) as data, and a look-up by day.

The base rate changes on 1 January and 1 July of each year by as many points as the
ECB's main refinancing rate (the rate of the latest main refinancing operation before
the first day of the half-year) moved since the last change. The Deutsche Bundesbank
publishes each new value in the Bundesanzeiger a few days before it applies.

Source of the values below: the Deutsche Bundesbank's published base rates
("Basiszinssatz nach § 247 BGB", bundesbank.de, statistics → interest rates; the
announcements in the Bundesanzeiger). 2002–2007 also match the footnote to §247 BGB in
the Federal Ministry of Justice's translation of the BGB.

To add the next value: when the Bundesbank announces it (late June / late December),
append one line `(date(YYYY, 1 or 7, 1), Decimal("x.xx")),` at the end of `BASE_RATES`,
in date order, with the value exactly as published (two decimals, may be negative), and
add a test in tests/test_interest.py for the new half-year. Never change a past value
(unless it was typed wrong): interest already claimed was computed with it.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal


class BaseRateUnknown(ValueError):
    """Asked for a day before the first entry of the table."""


BASE_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2002, 1, 1), Decimal("2.57")),
    (date(2002, 7, 1), Decimal("2.47")),
    (date(2003, 1, 1), Decimal("1.97")),
    (date(2003, 7, 1), Decimal("1.22")),
    (date(2004, 1, 1), Decimal("1.14")),
    (date(2004, 7, 1), Decimal("1.13")),
    (date(2005, 1, 1), Decimal("1.21")),
    (date(2005, 7, 1), Decimal("1.17")),
    (date(2006, 1, 1), Decimal("1.37")),
    (date(2006, 7, 1), Decimal("1.95")),
    (date(2007, 1, 1), Decimal("2.70")),
    (date(2007, 7, 1), Decimal("3.19")),
    (date(2008, 1, 1), Decimal("3.32")),
    (date(2008, 7, 1), Decimal("3.19")),
    (date(2009, 1, 1), Decimal("1.62")),
    (date(2009, 7, 1), Decimal("0.12")),
    (date(2010, 1, 1), Decimal("0.12")),
    (date(2010, 7, 1), Decimal("0.12")),
    (date(2011, 1, 1), Decimal("0.12")),
    (date(2011, 7, 1), Decimal("0.37")),
    (date(2012, 1, 1), Decimal("0.12")),
    (date(2012, 7, 1), Decimal("0.12")),
    (date(2013, 1, 1), Decimal("-0.13")),
    (date(2013, 7, 1), Decimal("-0.38")),
    (date(2014, 1, 1), Decimal("-0.63")),
    (date(2014, 7, 1), Decimal("-0.73")),
    (date(2015, 1, 1), Decimal("-0.83")),
    (date(2015, 7, 1), Decimal("-0.83")),
    (date(2016, 1, 1), Decimal("-0.83")),
    (date(2016, 7, 1), Decimal("-0.88")),
    (date(2017, 1, 1), Decimal("-0.88")),
    (date(2017, 7, 1), Decimal("-0.88")),
    (date(2018, 1, 1), Decimal("-0.88")),
    (date(2018, 7, 1), Decimal("-0.88")),
    (date(2019, 1, 1), Decimal("-0.88")),
    (date(2019, 7, 1), Decimal("-0.88")),
    (date(2020, 1, 1), Decimal("-0.88")),
    (date(2020, 7, 1), Decimal("-0.88")),
    (date(2021, 1, 1), Decimal("-0.88")),
    (date(2021, 7, 1), Decimal("-0.88")),
    (date(2022, 1, 1), Decimal("-0.88")),
    (date(2022, 7, 1), Decimal("-0.88")),
    (date(2023, 1, 1), Decimal("1.62")),
    (date(2023, 7, 1), Decimal("3.12")),
    (date(2024, 1, 1), Decimal("3.62")),
    (date(2024, 7, 1), Decimal("3.37")),
    (date(2025, 1, 1), Decimal("2.27")),
    (date(2025, 7, 1), Decimal("1.27")),
    (date(2026, 1, 1), Decimal("1.27")),
    # 2026-07-01: not yet known when this table was written; add it when published.
)

_DAYS = tuple(d for d, _ in BASE_RATES)

table_starts: date = BASE_RATES[0][0]
"""The first day the table knows a rate for."""

table_ends: date = BASE_RATES[-1][0]
"""The last change the table knows. Beyond the half-year starting here the rate used is a
guess (the last one); callers compare the day they compute for with `next_change_after`
of this day and warn when they pass it."""


def base_rate_on(day: date) -> Decimal:
    """The base rate (percent per year) in force on `day`.

    Before the first entry: `BaseRateUnknown`. After the last entry the last rate is
    returned; check `is_beyond_table(day)` to warn that the table needs its next value.
    """
    i = bisect_right(_DAYS, day)
    if i == 0:
        raise BaseRateUnknown(
            f"no base rate (§247 BGB) for {day.isoformat()}: the table "
            f"starts on {table_starts.isoformat()}"
        )
    return BASE_RATES[i - 1][1]


def next_change_after(day: date) -> date:
    """The next 1 January or 1 July strictly after `day` (a scheduled change date)."""
    if day.month < 7:
        return date(day.year, 7, 1)
    return date(day.year + 1, 1, 1)


def is_beyond_table(day: date) -> bool:
    """True when `day` lies in a half-year the table has no published value for yet."""
    return day >= next_change_after(table_ends)


def changes_between(first: date, last: date) -> tuple[date, ...]:
    """The table's change dates d with first < d <= last (where a rate period must split)."""
    return tuple(d for d in _DAYS if first < d <= last)
