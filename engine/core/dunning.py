"""Dunning as data: the facts one overdue invoice offers to rules/dunning.yaml, and the
letters that group one customer's reminders. Pure: `today` is an argument."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.core.records import OpenItem


@dataclass(frozen=True)
class History:
    level: int = 0  # highest reminder level sent
    last_notice: date | None = None
    escalated: bool = False
    on_hold: bool = False


def invoice_facts(item: OpenItem, history: History, today: date) -> dict[str, object]:
    since_last = (today - history.last_notice).days if history.last_notice else 9999
    return {
        "days_overdue": (today - item.due_date).days,
        "open_amount": item.open_amount,
        "gross_amount": item.gross_amount,
        "level": history.level,
        "days_since_last_notice": since_last,
        "on_hold": history.on_hold,
        "escalated": history.escalated,
    }


@dataclass(frozen=True)
class Reminder:
    item: OpenItem
    level: int
    fee: Decimal
    rule_id: str


@dataclass(frozen=True)
class Letter:
    customer_id: int
    level: int
    fee: Decimal
    reminders: tuple[Reminder, ...]

    @property
    def open_total(self) -> Decimal:
        return sum((r.item.open_amount for r in self.reminders), Decimal("0"))


def letters(reminders: Sequence[Reminder]) -> list[Letter]:
    """One letter per customer; its level is the highest, its fee the highest (charged once)."""
    by_customer: dict[int, list[Reminder]] = {}
    for r in reminders:
        by_customer.setdefault(r.item.customer_id, []).append(r)
    return [Letter(cid, max(r.level for r in rs), max(r.fee for r in rs),
                   tuple(sorted(rs, key=lambda r: r.item.due_date)))
            for cid, rs in sorted(by_customer.items())]
