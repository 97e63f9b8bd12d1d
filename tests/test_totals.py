"""compute_totals against a worked example done by hand, with halves to round."""

from __future__ import annotations

from decimal import Decimal

from engine.core.records import DocumentLine, VatBreakdown
from engine.core.totals import compute_totals


def _line(pos: int, qty: str, price: str, rate: str) -> DocumentLine:
    return DocumentLine(
        position=pos,
        sku=f"SKU-{pos}",
        description=f"Artikel {pos}",
        quantity=Decimal(qty),
        unit="Stk",
        unit_price=Decimal(price),
        vat_rate=Decimal(rate),
    )


def test_mixed_rates_round_half_up_per_line_and_per_rate() -> None:
    # By hand:
    #   1 x 0.745  = 0.745   -> 0.75  (half up; half-even would give 0.74)   19 %
    #   3 x 0.25   = 0.75                                                     19 %
    #   2 x 100.00 = 200.00                                                   19 %
    #   1.5 x 1.00 = 1.50                                                      7 %
    # 19 %: basis 201.50, tax 201.50 * 0.19 = 38.285 -> 38.29 (half up)
    #  7 %: basis   1.50, tax   1.50 * 0.07 =  0.105 ->  0.11 (half up)
    # net 203.00, tax 38.40, gross 241.40.
    # (Rounding per line instead would give 0.14 + 0.14 + 38.00 + 0.11 = 38.39.)
    lines = [
        _line(1, "1", "0.745", "19"),
        _line(2, "3", "0.25", "19"),
        _line(3, "2", "100.00", "19"),
        _line(4, "1.5", "1.00", "7"),
    ]
    totals = compute_totals(lines)
    assert totals.vat == (
        VatBreakdown(rate=Decimal("19"), basis=Decimal("201.50"), tax=Decimal("38.29")),
        VatBreakdown(rate=Decimal("7"), basis=Decimal("1.50"), tax=Decimal("0.11")),
    )
    assert totals.net == Decimal("203.00")
    assert totals.tax == Decimal("38.40")
    assert totals.gross == Decimal("241.40")
    assert totals.gross == totals.net + totals.tax


def test_breakdown_ordered_by_rate_descending_with_zero_category() -> None:
    lines = [_line(1, "1", "10", "0"), _line(2, "1", "10", "7"), _line(3, "1", "10", "19")]
    totals = compute_totals(lines)
    assert [b.rate for b in totals.vat] == [Decimal("19"), Decimal("7"), Decimal("0")]
    assert [b.category for b in totals.vat] == ["S", "S", "Z"]
    assert totals.vat[2].tax == Decimal("0.00")

    reverse_charge = compute_totals([_line(1, "4", "12.50", "0")], category_for_zero="AE")
    assert reverse_charge.vat == (
        VatBreakdown(rate=Decimal("0"), basis=Decimal("50.00"), tax=Decimal("0.00"), category="AE"),
    )
    assert (reverse_charge.net, reverse_charge.tax, reverse_charge.gross) == (
        Decimal("50.00"),
        Decimal("0.00"),
        Decimal("50.00"),
    )


def test_no_lines_gives_zero_totals() -> None:
    totals = compute_totals([])
    assert (totals.net, totals.tax, totals.gross, totals.vat) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        (),
    )
