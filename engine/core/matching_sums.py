"""Bounded subset sums: which few open items add up to a payment. Pure.

A payer who settles several invoices with one transfer and names none of them leaves only
the amount. `subset_sums` finds sets of up to four of a customer's oldest open items (each
paid in full, or less its cash discount within the period) whose amounts add up to it, by
pairs of pairs over whole cents, within a fixed budget of steps: at most two sets are
returned (two mean: ambiguous), and whether the search was complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

MAX_SUBSET = 4  # invoices in one payment found by amount alone
MAX_SUBSET_ITEMS = 25  # of a customer's open items, the oldest due, searched for sums
WORK_BUDGET = 20_000  # steps of one subset-sum search

T = TypeVar("T")
Value = tuple[int, int, bool]  # cents, position of the item, discounted


def subset_sums(items: Sequence[T], options: Sequence[Sequence[tuple[int, bool]]], target: int,
                min_size: int = 1, max_size: int = MAX_SUBSET, budget: int = WORK_BUDGET,
                ) -> tuple[list[tuple[tuple[T, bool], ...]], bool]:
    """Sets of up to `max_size` of the items, each at one of its `options` ((cents,
    discounted) per item, in the same order), that add up to `target` cents: at most two,
    and whether the search was complete within `budget` steps."""
    values = [(c, n, d) for n in range(min(len(items), MAX_SUBSET_ITEMS))
              for c, d in options[n] if c <= target]
    found: dict[frozenset[int], tuple[Value, ...]] = {}

    def keep(combo: tuple[Value, ...]) -> bool:
        key = frozenset(v[1] for v in combo)
        if len(key) == len(combo):
            found.setdefault(key, combo)
        return len(found) >= 2

    def result(complete: bool) -> tuple[list[tuple[tuple[T, bool], ...]], bool]:
        return ([tuple((items[n], d) for _, n, d in combo) for combo in found.values()],
                complete)

    for v in values if min_size <= 1 else ():
        if v[0] == target and keep((v,)):
            return result(True)
    if max_size < 2:
        return result(True)
    pairs: dict[int, list[tuple[Value, ...]]] = {}
    work = 0
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            work += 1
            if a[1] != b[1] and a[0] + b[0] <= target:
                pairs.setdefault(a[0] + b[0], []).append((a, b))
        if work > budget:
            return result(False)
    for pair in pairs.get(target, ()):
        if keep(pair):
            return result(True)
    if max_size >= 3:
        for v in values:
            for pair in pairs.get(target - v[0], ()):
                work += 1
                if keep((v, *pair)) or work > budget:
                    return result(work <= budget)
    if max_size >= 4:
        for total, first in pairs.items():
            rest = target - total
            if rest < total:
                continue
            for p in first:
                for q in pairs.get(rest, ()):
                    work += 1
                    if keep((*p, *q)) or work > budget:
                        return result(work <= budget)
    return result(True)
