"""When default begins (§286 BGB), as the first day interest runs. Worked by hand:
a day D in the comments with its weekday; "+30" means 30 calendar days later."""

from __future__ import annotations

from datetime import date

from engine.core.default import (
    default_basis,
    default_candidates,
    default_start,
    in_default,
    last_day_to_pay,
)

B2B, CONSUMER = True, False


def test_b2b_with_a_calendar_due_date_defaults_the_day_after() -> None:
    # agreed "30 days net", due Mon 2025-03-03, invoice received 2025-02-03:
    # the debtor may pay all of 03-03; default (and interest) from Tue 2025-03-04
    start = default_start(date(2025, 3, 3), date(2025, 2, 3), B2B, False, None)
    assert start == date(2025, 3, 4)
    basis = default_basis(date(2025, 3, 3), date(2025, 2, 3), B2B, False, None)
    assert basis is not None and basis.rule == "§286 (2) Nr. 1 BGB"


def test_consumer_without_notice_and_without_calendar_due_date_is_not_in_default() -> None:
    # the due date was only printed on the invoice (calendar_due=False); the invoice did not
    # point out the 30-day rule → §286 (3) does not apply to a consumer; no reminder yet
    assert (
        default_start(date(2025, 3, 3), date(2025, 3, 3), CONSUMER, False, None, calendar_due=False)
        is None
    )


def test_consumer_with_notice_defaults_30_days_after_receipt() -> None:
    # invoice due and received Mon 2025-03-03; day 1 of the period is 03-04 (§187 (1)),
    # 03-03 + 30 = Wed 2025-04-02 is the last day to pay (§188 (1)) → default from 04-03
    start = default_start(
        date(2025, 3, 3), date(2025, 3, 3), CONSUMER, True, None, calendar_due=False
    )
    assert start == date(2025, 4, 3)


def test_business_needs_no_notice_for_the_30_day_rule() -> None:
    # same invoice for a business, no agreed due date: 03-03 + 30 = 04-02 → default 04-03
    start = default_start(date(2025, 3, 3), date(2025, 3, 3), B2B, False, None, calendar_due=False)
    assert start == date(2025, 4, 3)


def test_30_days_count_from_the_later_of_due_date_and_receipt() -> None:
    # due 2025-03-03 but received only Mon 2025-03-10: 03-10 + 30 = Wed 2025-04-09 → 04-10
    start = default_start(date(2025, 3, 3), date(2025, 3, 10), B2B, False, None, calendar_due=False)
    assert start == date(2025, 4, 10)


def test_unknown_receipt_means_no_30_day_rule() -> None:
    assert default_start(date(2025, 3, 3), None, B2B, False, None, calendar_due=False) is None


def test_a_reminder_after_the_due_date_puts_in_default_from_the_next_day() -> None:
    # consumer, no notice, no calendar due date: reminder received Thu 2025-03-20 → default
    # with receipt, interest from Fri 2025-03-21 (§187 (1): the day of receipt not counted)
    start = default_start(
        date(2025, 3, 3), date(2025, 3, 3), CONSUMER, False, date(2025, 3, 20), calendar_due=False
    )
    assert start == date(2025, 3, 21)
    # for a business the reminder comes before the 30 days end (04-03), so it wins
    basis = default_basis(
        date(2025, 3, 3), date(2025, 3, 3), B2B, False, date(2025, 3, 20), calendar_due=False
    )
    assert basis is not None and (basis.day, basis.rule) == (date(2025, 3, 21), "§286 (1) BGB")


def test_a_reminder_before_the_due_date_has_no_effect() -> None:
    assert (
        default_start(
            date(2025, 3, 3),
            date(2025, 2, 1),
            CONSUMER,
            False,
            date(2025, 2, 20),
            calendar_due=False,
        )
        is None
    )


def test_the_earliest_way_wins() -> None:
    # calendar due 2025-03-03 → 03-04; 30 days → 04-03; reminder received 03-20 → 03-21
    found = default_candidates(date(2025, 3, 3), date(2025, 3, 3), B2B, False, date(2025, 3, 20))
    assert [(b.day, b.rule) for b in found] == [
        (date(2025, 3, 4), "§286 (2) Nr. 1 BGB"),
        (date(2025, 3, 21), "§286 (1) BGB"),
        (date(2025, 4, 3), "§286 (3) BGB"),
    ]


def test_due_date_on_a_saturday_moves_to_monday() -> None:
    # due Sat 2024-03-16 → the debtor may pay on Mon 2024-03-18 (§193) → default Tue 03-19
    assert last_day_to_pay(date(2024, 3, 16)) == date(2024, 3, 18)
    assert default_start(date(2024, 3, 16), date(2024, 2, 15), B2B, False, None) == date(
        2024, 3, 19
    )
    # without §193: Sun 2024-03-17
    assert default_start(
        date(2024, 3, 16), date(2024, 2, 15), B2B, False, None, apply_193=False
    ) == date(2024, 3, 17)


def test_holidays_given_by_the_caller_move_the_last_day() -> None:
    # due Good Friday 2025-04-18; Sat, Sun, Easter Monday 04-21 → pay by Tue 04-22 → 04-23
    easter = {date(2025, 4, 18), date(2025, 4, 21)}
    assert default_start(
        date(2025, 4, 18), date(2025, 3, 18), B2B, False, None, holidays=easter
    ) == date(2025, 4, 23)


def test_30_day_period_ending_on_a_sunday_moves_to_monday() -> None:
    # consumer with notice, received and due Fri 2025-02-14: +30 = Sun 2025-03-16 → the last
    # day to pay is Mon 03-17 → default from Tue 2025-03-18
    basis = default_basis(
        date(2025, 2, 14), date(2025, 2, 14), CONSUMER, True, None, calendar_due=False
    )
    assert basis is not None and basis.day == date(2025, 3, 18)
    assert "§193" in basis.reason


def test_in_default_on_a_day() -> None:
    assert not in_default(date(2025, 3, 3), date(2025, 3, 4))
    assert in_default(date(2025, 3, 4), date(2025, 3, 4))
    assert not in_default(date(2030, 1, 1), None)
