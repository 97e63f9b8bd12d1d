"""Payment matching: candidate bookings for one bank credit against the open items. Pure.

The searches go through the index (engine.core.matching_index), strongest first: an RF
reference, an end-to-end id, invoice numbers in the text (tolerant of OCR and typing
slips), a remittance advice, then the payer (by IBAN, else by fuzzy name) with the exact
amount of one open item or of a few (bounded subset sum, engine.core.matching_sums). A
cash discount (Skonto) taken within its period becomes a reduction of kind `discount` with
its VAT correction per rate; an advice's other deductions are booked as advised
(`deduction`); a partial payment leaves the rest open; an overpayment keeps the rest as
the customer's credit (`unapplied`). An item's open dunning charges belong to what settles
it: open amount + charges is an exact payment, and allocations go up to that total.

Each candidate carries a confidence (is this what the payer meant?) and a reason; the
policy (what to book, what to ask a person) is rules/matching.yaml, fed by `match_facts`.
The records live in engine.core.matching_candidates, the search in
engine.core.matching_search; this module is what callers use.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from engine.core.matching_candidates import (
    ZERO,
    Candidate,
    Match,
    Payment,
    Reduction,
    VatPart,
    vat_split,
)
from engine.core.matching_index import Advice, OpenItemIndex, Terms, normalise
from engine.core.matching_search import Search
from engine.core.records import OpenItem

__all__ = ["Advice", "Candidate", "Match", "Payment", "Reduction", "Terms", "VatPart",
           "book", "candidates", "find", "match_facts", "normalise", "vat_split"]


def match_facts(payment: Payment, found: Match) -> dict[str, dict[str, Any]]:
    """The facts of event bank.transaction for rules/matching.yaml."""
    best = found.best
    return {
        "transaction": {"amount": payment.amount, "currency": payment.currency},
        "match": {
            "kind": best.kind if best else "none",
            "confidence": best.confidence if best else ZERO,
            "difference": best.difference if best else payment.amount,
            "invoice_count": len(best.allocations) if best else 0,
            "customer_known": bool(found.payer_customers) or bool(best and best.payer != "unknown"),
            "discount": best.reduced("discount") if best else ZERO,
            "discount_days_late": best.discount_days_late if best else 0,
            "deduction": best.reduced("deduction") if best else ZERO,
            "unapplied": best.unapplied if best else payment.amount,
            "payer": best.payer if best else "unknown",
        },
    }


def candidates(payment: Payment, items: Sequence[OpenItem], advices: Sequence[Advice] = (),
               today: date | None = None, terms: dict[int, Terms] | None = None) -> list[Candidate]:
    """All candidates against a list of items, best first: builds a small index (for a
    few items or one call; for many payments build one OpenItemIndex and call `find`)."""
    paid_on = payment.booking_date or today or max((i.issue_date for i in items), default=date.min)
    index = OpenItemIndex(items, terms, advices=advices)
    return list(find(index, payment, paid_on).candidates)


def find(index: OpenItemIndex, payment: Payment, today: date, limit: int = 5) -> Match:
    """The candidates for one payment, best first (at most `limit`)."""
    if payment.amount <= ZERO:
        return Match(())
    paid_on = payment.booking_date or today
    search = Search(index, payment, paid_on)
    return search.run(limit)


def book(index: OpenItemIndex, candidate: Candidate) -> None:
    """What booking the candidate does to the index: items reduced by their payment and
    reduction (settled ones leave), an applied advice leaves."""
    for item, amount in candidate.allocations:
        cut = sum((r.amount for r in candidate.reductions
                   if r.item.invoice_id == item.invoice_id), ZERO)
        index.reduce(item.invoice_id, amount + cut)
    if candidate.advice_id is not None:
        index.remove_advice(candidate.advice_id)

