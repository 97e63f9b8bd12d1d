"""Planning on files, without a database: what the dunning rules would send today and how
the matching policy would book a statement, for open items in the import format. The
decisions are the core's, the same code the real runs use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from documents.open_items_csv import (
    ImportedOpenItem,
    ImportedPayment,
    customer_ids,
    open_items_from_import,
)
from engine.core.dunning import Claim, History, plan, plan_json
from engine.core.matching import Payment, book, find, match_facts
from engine.core.matching_index import OpenItemIndex, Terms
from engine.core.records import Statement
from engine.core.rules import RuleSet, evaluate


def claims_from_import(items: Sequence[ImportedOpenItem], payments: Sequence[ImportedPayment],
                       today: date) -> list[Claim]:
    """Open-item rows → claims: level and last reminder from the file, a dispute or a
    promise not yet past as a hold, dated partial payments for the interest."""
    ids = customer_ids(items)
    paid: dict[str, list[tuple[date, Decimal]]] = {}
    for p in payments:
        paid.setdefault(p.invoice_number, []).append((p.date, p.amount))
    by_line = {i.line: i for i in items}
    claims = []
    for item in open_items_from_import(items):
        row = by_line[item.invoice_id]
        held = row.disputed or (row.promise_until is not None and row.promise_until >= today)
        # the file knows the last reminder only; default began by then at the latest
        history = History(level=row.dunning_level, last_notice=row.last_dunning_date,
                          on_hold=held, first_notice=row.last_dunning_date)
        claims.append(Claim(replace(item, customer_id=ids[row.customer_number]),
                            row.customer_number, row.b2b, history,
                            payments=tuple(sorted(paid.get(row.invoice_number, ())))))
    return claims


def dunning_plan(rule_set: RuleSet, items: Sequence[ImportedOpenItem],
                 payments: Sequence[ImportedPayment], today: date) -> dict[str, Any]:
    return plan_json(plan(rule_set, claims_from_import(items, payments, today), today), today)


def match_statements(rule_set: RuleSet, items: Sequence[ImportedOpenItem],
                     statements: Sequence[Statement]) -> list[dict[str, Any]]:
    """One line per statement entry; what is booked reduces the open items for the next.
    The same index, candidates and facts as the real runs (engine.core.matching)."""
    terms = {i.line: Terms(i.cash_discount_percent, i.cash_discount_days)
             for i in items if i.cash_discount_percent}
    index = OpenItemIndex(open_items_from_import(items), terms)
    lines = []
    for statement in statements:
        for entry in statement.entries:
            out: dict[str, Any] = {
                "booking_date": entry.booking_date.isoformat(), "amount": str(entry.amount),
                "counterparty_name": entry.counterparty_name,
                "remittance_info": entry.remittance_info, "status": "unmatched",
                "allocations": [], "confidence": "0", "reason": "", "rule": ""}
            if entry.amount > 0:
                payment = Payment(entry.amount, entry.currency, entry.counterparty_iban,
                                  entry.counterparty_name,
                                  f"{entry.reference} {entry.remittance_info}",
                                  entry.end_to_end_id, entry.booking_date)
                found = find(index, payment, entry.booking_date)
                decision = evaluate(rule_set, match_facts(payment, found))
                out["rule"] = decision.fired[0] if decision.fired else ""
                best = found.best
                if best is not None:
                    booked = decision.outcome == "apply"
                    discount = {r.item.invoice_id: r.amount for r in best.reductions
                                if r.kind == "discount"}
                    out.update(status="matched" if booked else "suggested",
                               confidence=str(best.confidence), reason=best.reason,
                               allocations=[{"invoice_number": item.number, "amount": str(amount),
                                             "discount": str(discount.get(item.invoice_id,
                                                                          Decimal("0.00")))}
                                            for item, amount in best.allocations])
                    if booked:
                        book(index, best)
            lines.append(out)
    return lines
