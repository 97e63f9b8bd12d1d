"""When a debtor is in default (Verzug, §286 BGB), as the first day default interest runs.

Three ways into default, the earliest wins:

1. A due date fixed by the calendar (§286 (2) Nr. 1 and 2): the debtor may pay during the
   whole due day; default begins with the next day. The invoice's due date counts only
   when the payment term was agreed (contract, accepted terms, order confirmation: "30
   days net" is §286 (2) Nr. 2). A date the creditor alone prints on the invoice does not
   fix the time by the calendar (BGH); pass `calendar_due=False` for such invoices.
2. A reminder (Mahnung) received after the claim fell due (§286 (1)): default begins
   with its receipt during that day; by §187 (1) BGB the day of the event is not counted,
   so interest runs from the day after receipt. A reminder received before the due date
   has no effect. Pass the day the reminder was *received* (e.g. dispatch + 3 days for
   post); this module does not guess postal times.
3. 30 days after due date and receipt of the invoice (§286 (3)): the period starts with
   the later of the two; by §187 (1) that day is not counted, the period ends at the end
   of its 30th day (§188 (1)), default begins the day after. For a consumer this applies
   only when the invoice pointed it out (`consumer_notice_given`). Unknown receipt
   (`received=None`): the 30-day rule is not applied.

§193 BGB: when the last day to pay (the due date, or the 30th day) is a Saturday, Sunday
or a public holiday, the debtor may still pay on the next working day; default begins
the day after that. Weekends are known here; public holidays depend on the place of
payment, so the caller passes them (`holidays`). The prevailing view applies §193 to the
30-day period of §286 (3) as well; `apply_193=False` switches the shift off for both.

Not covered (a person decides): serious and final refusal to pay (§286 (2) Nr. 3), other
special reasons (Nr. 4), and §286 (3) sentence 2 (receipt of the invoice uncertain).

`default_start` returns the first day interest is owed for; pass it as `start` to
`engine.core.interest.interest`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

THIRTY_DAYS = 30
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DefaultBasis:
    """The first day of default interest and the rule that put the debtor in default."""

    day: date
    rule: str  # e.g. "§286 (2) Nr. 1 BGB"
    reason: str  # one sentence for the trace and the letter


def last_day_to_pay(day: date, holidays: Collection[date] = (), apply_193: bool = True) -> date:
    """`day`, or the next working day when it is a Saturday, Sunday or holiday (§193 BGB)."""
    if not apply_193:
        return day
    while day.weekday() >= 5 or day in holidays:
        day += _ONE_DAY
    return day


def default_candidates(
    due_date: date,
    received: date | None,
    b2b: bool,
    consumer_notice_given: bool,
    first_reminder: date | None,
    *,
    calendar_due: bool = True,
    holidays: Collection[date] = (),
    apply_193: bool = True,
) -> list[DefaultBasis]:
    """Every way into default that applies, earliest first (see the module docstring)."""
    found: list[DefaultBasis] = []
    if calendar_due:
        last = last_day_to_pay(due_date, holidays, apply_193)
        shifted = f" (moved by §193 BGB to {last.isoformat()})" if last != due_date else ""
        found.append(
            DefaultBasis(
                last + _ONE_DAY,
                "§286 (2) Nr. 1 BGB",
                f"due date {due_date.isoformat()}{shifted} fixed by the calendar; "
                f"not paid by the end of {last.isoformat()}",
            )
        )
    if first_reminder is not None and first_reminder >= due_date:
        found.append(
            DefaultBasis(
                first_reminder + _ONE_DAY,
                "§286 (1) BGB",
                f"reminder received on {first_reminder.isoformat()}, after the due date; "
                "interest from the next day (§187 (1) BGB)",
            )
        )
    if received is not None and (b2b or consumer_notice_given):
        anchor = max(due_date, received)
        end = anchor + timedelta(days=THIRTY_DAYS)
        last = last_day_to_pay(end, holidays, apply_193)
        shifted = f", moved by §193 BGB to {last.isoformat()}" if last != end else ""
        found.append(
            DefaultBasis(
                last + _ONE_DAY,
                "§286 (3) BGB",
                f"30 days after due date and receipt of the invoice ({anchor.isoformat()}) "
                f"ended on {end.isoformat()}{shifted}",
            )
        )
    return sorted(found, key=lambda b: b.day)


def default_basis(
    due_date: date,
    received: date | None,
    b2b: bool,
    consumer_notice_given: bool,
    first_reminder: date | None,
    *,
    calendar_due: bool = True,
    holidays: Collection[date] = (),
    apply_193: bool = True,
) -> DefaultBasis | None:
    """The earliest way into default with its rule and reason, or None (not in default)."""
    found = default_candidates(
        due_date,
        received,
        b2b,
        consumer_notice_given,
        first_reminder,
        calendar_due=calendar_due,
        holidays=holidays,
        apply_193=apply_193,
    )
    return found[0] if found else None


def default_start(
    due_date: date,
    received: date | None,
    b2b: bool,
    consumer_notice_given: bool,
    first_reminder: date | None,
    *,
    calendar_due: bool = True,
    holidays: Collection[date] = (),
    apply_193: bool = True,
) -> date | None:
    """The first day default interest is owed for, or None when no rule puts the debtor
    in default (yet).

    Arguments: the claim's due date; the day the invoice was received (None: unknown);
    whether the debtor is a business; for consumers, whether the invoice pointed out the
    30-day rule; the day the first reminder after the due date was received (or None).
    """
    basis = default_basis(
        due_date,
        received,
        b2b,
        consumer_notice_given,
        first_reminder,
        calendar_due=calendar_due,
        holidays=holidays,
        apply_193=apply_193,
    )
    return basis.day if basis else None


def in_default(today: date, start: date | None) -> bool:
    """Whether the debtor is in default on `today` (default interest is owed for today)."""
    return start is not None and today >= start
