"""Availability: what can ship now from stock, and what waits as a back-order. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0")


@dataclass(frozen=True)
class OpenLine:
    line_id: int
    sku: str
    open_quantity: Decimal


@dataclass(frozen=True)
class Allotment:
    line_id: int
    sku: str
    ship: Decimal
    backorder: Decimal


def allot(lines: Sequence[OpenLine], stock: Mapping[str, Decimal]) -> list[Allotment]:
    """Ship what stock covers, line by line in order; the rest is back-ordered.

    Stock is shared between lines of the same article; it is never driven negative.
    """
    left = dict(stock)
    result = []
    for line in lines:
        available = max(left.get(line.sku, ZERO), ZERO)
        ship = min(available, line.open_quantity)
        left[line.sku] = available - ship
        result.append(Allotment(line.line_id, line.sku, ship, line.open_quantity - ship))
    return result
