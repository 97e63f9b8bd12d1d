"""Payments settle costs, then interest, then principal (§367 BGB); across claims the
oldest due first (§366 BGB, practical). Worked examples with the arithmetic in comments:
interest = principal × rate × days / 36500, days with both ends included."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.default import default_start
from engine.core.interest import flat_fee, interest
from engine.core.settlement import (
    Charge,
    OpenClaim,
    OpenPart,
    Payment,
    Settlement,
    allocate,
    apply_payment,
    run_claim,
    split_payment,
)

D = Decimal


def test_payment_smaller_than_costs_and_interest_leaves_principal_untouched() -> None:
    # costs 45.00 (40 flat fee + 5 dunning fee), interest 10.62, principal 1000.00; pays 50.00
    # 50.00 → costs 45.00 (5.00 left) → interest 5.00 of 10.62 (5.62 left) → principal nothing
    assert apply_payment(D("45.00"), D("10.62"), D("1000.00"), D("50.00")) == Settlement(
        D("0.00"), D("5.62"), D("1000.00"), D("0.00")
    )


def test_payment_smaller_than_costs() -> None:
    assert apply_payment(D("45.00"), D("10.62"), D("1000.00"), D("30.00")) == Settlement(
        D("15.00"), D("10.62"), D("1000.00"), D("0.00")
    )


def test_payment_larger_than_everything_is_unapplied() -> None:
    # 45.00 + 10.62 + 1000.00 = 1055.62 owed; 1100.00 paid → 44.38 unapplied
    assert apply_payment(D("45.00"), D("10.62"), D("1000.00"), D("1100.00")) == Settlement(
        D("0.00"), D("0.00"), D("0.00"), D("44.38")
    )


def test_negative_payment_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        apply_payment(D("0"), D("0"), D("10"), D("-1"))


def test_whole_history_of_one_claim() -> None:
    # B2B invoice 1000.00 due 2024-06-14 (agreed) → interest from 2024-06-15.
    # 2024-07-01 flat fee 40.00 charged; 2024-07-15 500.00 paid; state at 2024-07-31.
    start = default_start(date(2024, 6, 14), date(2024, 5, 20), True, False, None)
    assert start == date(2024, 6, 15)
    fee = flat_fee(True, in_default=True)
    states = run_claim(
        [
            Charge(date(2024, 5, 15), D("1000.00")),
            Charge(date(2024, 7, 1), fee, "costs"),
            Payment(date(2024, 7, 15), D("500.00")),
        ],
        interest_from=start,
        b2b=True,
        until=date(2024, 7, 31),
    )
    invoice, charged, paid, closing = states
    assert (invoice.principal, invoice.interest) == (D("1000.00"), D("0.00"))
    # through 07-01: 16 days (06-15..06-30) × 12.62 % + 1 day (07-01) × 12.37 % on 1000
    # 1000 × (12.62 × 16 + 12.37 × 1) / 36500 = 214290 / 36500 = 5.8709… → 5.87
    assert (charged.costs, charged.interest) == (D("40.00"), D("5.87"))
    # through 07-15: 1000 × (12.62 × 16 + 12.37 × 15) / 36500 = 387470 / 36500 = 10.6156 → 10.62
    # 500.00 → costs 40.00, interest 10.62, principal 449.38 → 1000 − 449.38 = 550.62 left
    assert (paid.to_costs, paid.to_interest, paid.to_principal) == (
        D("40.00"),
        D("10.62"),
        D("449.38"),
    )
    assert (paid.costs, paid.interest, paid.principal) == (D("0.00"), D("0.00"), D("550.62"))
    # 07-16..07-31: 16 days × 12.37 % on 550.62: 550.62 × 12.37 × 16 / 36500 = 108978.7104 /
    # 36500 = 2.9857…; all interest so far 10.6156… + 2.9857… = 13.6013… → 13.60, of which
    # 10.62 was paid → 2.98 owed (the 0.0044 rounded up at the payment is not charged twice)
    assert (closing.interest_accrued, closing.interest, closing.principal) == (
        D("13.60"),
        D("2.98"),
        D("550.62"),
    )
    assert closing.owed == D("553.60")


def test_paying_interest_does_not_reduce_the_principal_that_bears_interest() -> None:
    # 1000.00 from 2025-08-01 at 10.27 % (1.27 + 9); 2025-08-10 a payment of 50.00 against
    # costs 45.00 and interest 1000 × 10.27 × 10 / 36500 = 2.8136… → 2.81:
    # 45.00 costs, 2.81 interest, 2.19 principal → 997.81 bears interest from 08-11
    states = run_claim(
        [
            Charge(date(2025, 7, 31), D("1000.00")),
            Charge(date(2025, 8, 1), D("45.00"), "costs"),
            Payment(date(2025, 8, 10), D("50.00")),
        ],
        interest_from=date(2025, 8, 1),
        b2b=True,
        until=date(2025, 8, 31),
    )
    paid = states[2]
    assert (paid.to_costs, paid.to_interest, paid.to_principal) == (
        D("45.00"),
        D("2.81"),
        D("2.19"),
    )
    # 08-11..08-31: 21 days on 997.81: 997.81 × 10.27 × 21 / 36500 = 215197.6827 / 36500
    # = 5.8958…; all interest 2.8136… + 5.8958… = 8.7095… → 8.71; paid 2.81 → 5.90 owed
    assert (states[-1].interest, states[-1].principal) == (D("5.90"), D("997.81"))


def test_payment_below_costs_keeps_full_principal_bearing_interest() -> None:
    # 30.00 paid on 08-10 only reduces costs 45.00 → 15.00; interest runs on 1000 all month:
    # 1000 × 10.27 × 31 / 36500 = 318370 / 36500 = 8.7224… → 8.72
    states = run_claim(
        [
            Charge(date(2025, 7, 31), D("1000.00")),
            Charge(date(2025, 8, 1), D("45.00"), "costs"),
            Payment(date(2025, 8, 10), D("30.00")),
        ],
        interest_from=date(2025, 8, 1),
        b2b=True,
        until=date(2025, 8, 31),
    )
    assert (states[-1].costs, states[-1].interest, states[-1].principal) == (
        D("15.00"),
        D("8.72"),
        D("1000.00"),
    )


def test_run_claim_agrees_with_interest_on_the_principal_it_leaves() -> None:
    events: list[Charge | Payment] = [
        Charge(date(2023, 11, 30), D("2500.00")),
        Charge(date(2024, 1, 5), D("5.00"), "costs"),
        Payment(date(2024, 2, 1), D("300.00")),
        Payment(date(2024, 8, 20), D("1000.00")),
        Charge(date(2024, 9, 1), D("-200.00"), note="credit note"),
    ]
    states = run_claim(events, interest_from=date(2023, 12, 1), b2b=False, until=date(2024, 12, 31))
    deltas = [(s.day, -s.to_principal) for s in states if isinstance(s.event, Payment)]
    deltas += [(date(2023, 11, 30), D("2500.00")), (date(2024, 9, 1), D("-200.00"))]
    expected = interest(deltas, date(2023, 12, 1), date(2024, 12, 31), False)
    assert states[-1].interest_accrued == expected.total


def test_not_in_default_means_no_interest_and_same_day_charges_come_first() -> None:
    states = run_claim(
        [Payment(date(2025, 1, 1), D("100.00")), Charge(date(2025, 1, 1), D("100.00"))],
        interest_from=None,
        b2b=True,
        until=date(2025, 6, 30),
    )
    assert isinstance(states[0].event, Charge)
    assert (states[-1].owed, states[-1].interest_accrued) == (D("0.00"), D("0.00"))


def test_credit_note_beyond_the_principal_becomes_credit() -> None:
    states = run_claim(
        [Charge(date(2025, 1, 1), D("100.00")), Charge(date(2025, 1, 2), D("-130.00"))],
        interest_from=None,
        b2b=True,
    )
    assert (states[-1].principal, states[-1].credit) == (D("0.00"), D("30.00"))


def test_until_before_the_last_event_is_refused() -> None:
    with pytest.raises(ValueError, match="before the last event"):
        run_claim(
            [Charge(date(2025, 1, 2), D("1"))], interest_from=None, b2b=True, until=date(2025, 1, 1)
        )


# --- §366: several claims ------------------------------------------------------------------

CLAIMS = [
    OpenClaim("RE-3", date(2025, 3, 1), D("500.00")),
    OpenClaim("RE-1", date(2025, 1, 10), D("1000.00")),
    OpenClaim("RE-2", date(2024, 12, 1), D("800.00")),
]


def test_undesignated_payment_settles_the_oldest_due_first() -> None:
    # 1500.00: RE-2 (due 2024-12-01) 800.00, then RE-1 (2025-01-10) 700.00 of 1000.00
    assert allocate(D("1500.00"), CLAIMS) == ({"RE-2": D("800.00"), "RE-1": D("700.00")}, D("0.00"))


def test_designated_claim_comes_first_then_the_statutory_order() -> None:
    # debtor names RE-3: 500.00 there, 800.00 to RE-2, the last 200.00 to RE-1
    assert allocate(D("1500.00"), CLAIMS, designated=["RE-3"]) == (
        {"RE-3": D("500.00"), "RE-2": D("800.00"), "RE-1": D("200.00")},
        D("0.00"),
    )


def test_overpayment_across_claims_is_unapplied_and_ties_keep_the_given_order() -> None:
    # 2300.00 owed in all; 2400.00 paid → 100.00 left
    assert allocate(D("2400.00"), CLAIMS)[1] == D("100.00")
    same_day = [
        OpenClaim("B", date(2025, 1, 1), D("10")),
        OpenClaim("A", date(2025, 1, 1), D("10")),
    ]
    assert list(allocate(D("15"), same_day)[0].items()) == [("B", D("10")), ("A", D("5"))]


# --- properties ----------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=2_000_000).map(lambda n: D(n) / 100)


@settings(max_examples=200, deadline=None)
@given(money, money, money, money, money)
def test_paying_more_never_leaves_more_owed(
    costs: Decimal, interest_owed: Decimal, principal: Decimal, pay: Decimal, extra: Decimal
) -> None:
    less = apply_payment(costs, interest_owed, principal, pay)
    more = apply_payment(costs, interest_owed, principal, pay + extra)
    assert more.costs_left <= less.costs_left
    assert more.interest_left <= less.interest_left
    assert more.principal_left <= less.principal_left
    # nothing is lost: what is left plus what was applied is what was owed
    assert sum(less[:3]) + (pay - less.unapplied) == costs + interest_owed + principal


@settings(max_examples=100, deadline=None)
@given(
    money,
    st.integers(min_value=0, max_value=400),
    money,
    st.integers(min_value=1, max_value=20_000),
    st.booleans(),
)
def test_paying_more_in_a_history_never_increases_what_is_owed(
    principal: Decimal, pay_after: int, pay: Decimal, extra_cents: int, b2b: bool
) -> None:
    start = date(2024, 3, 1)
    until = start + timedelta(days=500)

    def final(amount: Decimal) -> Decimal:
        events: list[Charge | Payment] = [
            Charge(start - timedelta(days=1), principal),
            Charge(start, D("40.00"), "costs"),
        ]
        if amount > 0:
            events.append(Payment(start + timedelta(days=pay_after), amount))
        return run_claim(events, interest_from=start, b2b=b2b, until=until)[-1].owed

    assert final(pay + D(extra_cents) / 100) <= final(pay)


# split_payment: one claim's parts as the ledger keeps them (charges by id, principal None)
PARTS = [OpenPart(7, "interest", D("12.38")), OpenPart(5, "costs", D("5.00")),
         OpenPart(6, "costs", D("40.00")), OpenPart(None, "principal", D("1000.00"))]


def test_split_settles_costs_then_interest_then_principal() -> None:
    # 100.00: costs 5.00 + 40.00 = 45.00, interest 12.38, principal 100 − 45 − 12.38 = 42.62;
    # interest is listed first but comes after the costs
    assert split_payment(D("100.00"), PARTS) == [
        (5, D("5.00")), (6, D("40.00")), (7, D("12.38")), (None, D("42.62"))]


def test_split_inside_the_costs_goes_oldest_first() -> None:
    # 30.00: the 5.00 fee (listed first) in full, then 25.00 of the 40.00 flat fee
    assert split_payment(D("30.00"), PARTS) == [(5, D("5.00")), (6, D("25.00"))]


def test_split_of_more_than_owed_leaves_a_credit_on_the_principal() -> None:
    # owed 45.00 + 12.38 + 1000.00 = 1057.38; 1100.00 paid → principal 1000.00 + 42.62 credit
    out = split_payment(D("1100.00"), PARTS)
    assert out[-1] == (None, D("1042.62"))
    assert sum(a for _, a in out) == D("1100.00")


def test_split_skips_parts_owing_nothing() -> None:
    parts = [OpenPart(1, "costs", D("0.00")), OpenPart(2, "interest", D("3.10")),
             OpenPart(None, "principal", D("0.00"))]
    assert split_payment(D("3.10"), parts) == [(2, D("3.10"))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["costs", "interest"]),
                          st.decimals(0, 500, places=2)), max_size=5),
       st.decimals(0, 2000, places=2), st.decimals("0.01", 3000, places=2))
def test_split_adds_up_and_never_overpays_a_charge(
        charges: list[tuple[str, Decimal]], principal: Decimal, paid: Decimal) -> None:
    parts = [OpenPart(i, kind, owed) for i, (kind, owed) in enumerate(charges)]  # type: ignore[arg-type]
    parts.append(OpenPart(None, "principal", principal))
    out = split_payment(paid, parts)
    assert sum(a for _, a in out) == paid
    owed = {p.key: p.owed for p in parts}
    assert all(0 < a <= owed[k] for k, a in out if k is not None)
    costs = sum((o for k, o in charges if k == "costs"), D(0))
    to_costs = sum((a for k, a in out if k is not None and charges[k][0] == "costs"), D(0))
    assert to_costs == min(costs, paid)  # costs first, whatever the order given
