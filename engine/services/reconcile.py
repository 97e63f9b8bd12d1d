"""What a person does with a bank credit waiting in review, besides confirming one of
its suggestions (engine.services.payments): allocate it by hand to named invoices, or
dismiss it (not a customer payment: a refund from a supplier, an internal transfer).
Both are audited; a dismissed credit is never matched automatically again."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from engine.core.matching_candidates import Candidate
from engine.core.matching_index import claim
from engine.runtime import Runtime
from engine.services.ledger import open_items
from engine.services.payments import apply
from engine.services.records import audit
from engine.store.models import BankTransaction, Invoice

WAITING = ("review", "new")


def allocate_by_hand(rt: Runtime, transaction_id: int, wanted: Sequence[tuple[str, Decimal]],
                     actor: str) -> str:
    """Book the credit to the named open invoices as a person chose (each at most what its
    claim still owes, charges included; the rest stays as the customer's credit)."""
    if not wanted:
        raise ValueError("name at least one invoice and its amount")
    with rt.db.unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None or tx.status not in WAITING:
            raise ValueError(f"payment {transaction_id} is not waiting for a person")
        numbers = [number for number, _ in wanted]
        ids = list(session.scalars(select(Invoice.customer_id).where(Invoice.number.in_(numbers))))
        items = {i.number: i for c in sorted(set(ids)) for i in open_items(session, c)}
        chosen = []
        for number, amount in wanted:
            item = items.get(number)
            if item is None:
                raise ValueError(f"invoice {number} is not open")
            if amount <= 0 or amount > claim(item):
                raise ValueError(f"invoice {number} is open for {claim(item)}, not {amount}")
            chosen.append((item, amount))
        total = sum((a for _, a in chosen), Decimal(0))
        if total > tx.amount:
            raise ValueError(f"the allocations ({total}) exceed the payment ({tx.amount})")
        apply(session, tx, Candidate("manual", Decimal(1), tuple(chosen),
                                     "allocated by a person", amount=tx.amount, payer="other"),
              actor, None)
        audit(session, actor, "transaction.allocated", "transaction", tx.id,
              allocations=[[n, str(a)] for n, a in wanted])
        return tx.status


def dismiss(rt: Runtime, transaction_id: int, actor: str, reason: str) -> str:
    """A person says this credit is no customer payment: it leaves the review queue as
    `ignored` with the reason, and automation never matches it again."""
    if not reason.strip():
        raise ValueError("say why this credit is no customer payment")
    with rt.db.unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None or tx.status not in WAITING:
            raise ValueError(f"payment {transaction_id} is not waiting for a person")
        tx.status = "ignored"
        audit(session, actor, "transaction.dismissed", "transaction", tx.id,
              reason=reason.strip())
        return tx.status
