"""Document totals from lines, rounded the EN 16931 way.

Each line net is rounded to cents first (`DocumentLine.net_amount`). Lines are then grouped
by VAT rate: the basis of a rate is the sum of its line nets, and its tax is the basis times
the rate, rounded once to cents. The document net is the sum of the bases, the document tax
the sum of the per-rate taxes and the gross their sum. This is what the EN 16931 rules
BR-CO-10, BR-CO-14, BR-CO-15 and BR-S-08/BR-S-09 check.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from engine.core.money import ZERO, round_money
from engine.core.records import DocumentLine, Totals, VatBreakdown


def compute_totals(lines: Sequence[DocumentLine], category_for_zero: str = "Z") -> Totals:
    """Net, tax, gross and the VAT breakdown (highest rate first) of `lines`.

    A rate above zero gets category "S" (standard rate); a zero rate gets
    `category_for_zero`, e.g. "AE" for reverse charge or "K" for an intra-EU supply.
    """
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.net_amount
    breakdown = tuple(
        VatBreakdown(
            rate=rate,
            basis=basis,
            tax=round_money(basis * rate / 100),
            category="S" if rate > 0 else category_for_zero,
        )
        for rate, basis in sorted(bases.items(), key=lambda item: item[0], reverse=True)
    )
    net = sum((b.basis for b in breakdown), ZERO)
    tax = sum((b.tax for b in breakdown), ZERO)
    return Totals(net=net, tax=tax, gross=net + tax, vat=breakdown)
