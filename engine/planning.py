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
from engine.core.matching import Payment, candidates
from engine.core.records import OpenItem, Statement
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
    """One line per statement entry; what is booked reduces the open items for the next."""
    open_now: dict[int, OpenItem] = {i.invoice_id: i for i in open_items_from_import(items)}
    lines = []
    for statement in statements:
        for entry in statement.entries:
            out: dict[str, Any] = {
                "booking_date": entry.booking_date.isoformat(), "amount": str(entry.amount),
                "counterparty_name": entry.counterparty_name,
                "remittance_info": entry.remittance_info, "status": "unmatched",
                "allocations": [], "confidence": "0", "reason": "", "rule": ""}
            found = candidates(Payment(entry.amount, entry.currency, entry.counterparty_iban,
                                       entry.counterparty_name,
                                       f"{entry.reference} {entry.remittance_info} "
                                       f"{entry.end_to_end_id}"), list(open_now.values()))
            best = found[0] if found else None
            facts = {"transaction": {"amount": entry.amount, "currency": entry.currency},
                     "match": {"kind": best.kind if best else "none",
                               "confidence": best.confidence if best else Decimal(0),
                               "difference": entry.amount - (best.open_total if best else 0),
                               "invoice_count": len(best.allocations) if best else 0,
                               "customer_known": bool(best)}}
            if entry.amount > 0:
                decision = evaluate(rule_set, facts)
                out["rule"] = decision.fired[0] if decision.fired else ""
            if best is not None and entry.amount > 0:
                booked = decision.outcome == "apply"
                out.update(status="matched" if booked else "suggested",
                           confidence=str(best.confidence), reason=best.reason,
                           allocations=[{"invoice_number": item.number, "amount": str(amount),
                                         "discount": "0.00"}
                                        for item, amount in best.allocations])
                if booked:
                    for item, amount in best.allocations:
                        rest = open_now[item.invoice_id].open_amount - amount
                        if rest > 0:
                            open_now[item.invoice_id] = replace(item, open_amount=rest)
                        else:
                            del open_now[item.invoice_id]
            lines.append(out)
    return lines
