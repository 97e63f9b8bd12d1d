"""Payments: bank statements and remittance advices in, matching to open invoices by the
candidates of the core and the policy of rules/matching.yaml."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.matching import Advice, Candidate, Payment, candidates
from engine.core.records import ParsedDocument, RemittanceLine, StatementEntry
from engine.core.rules import evaluate
from engine.runtime import Runtime
from engine.services.ledger import open_items, settle_if_paid
from engine.services.orders import find_customer
from engine.services.records import audit, jsonable, record_decision
from engine.store.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Customer,
    Document,
    RemittanceAdvice,
    RemittanceAdviceLine,
)


def dedupe_key(account: str, entry: StatementEntry, occurrence: int = 0) -> str:
    """Stable across overlapping statements: the same booking gives the same key. Identical
    bookings within one statement (same day, amount and text, no bank reference) are told
    apart by their occurrence, which an overlapping statement repeats in the same order."""
    parts = [account, entry.booking_date.isoformat(), str(entry.amount), entry.currency,
             entry.bank_reference or entry.end_to_end_id, entry.counterparty_iban,
             entry.reference, entry.remittance_info, str(occurrence)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def import_statements(session: Session, parsed: ParsedDocument, doc: Document) -> list[str]:
    """Book every new entry of every statement; overlapping entries are skipped."""
    problems = [str(i) for i in parsed.issues]
    for st in parsed.statements:
        row = BankStatement(document_id=doc.id, account=st.account, statement_id=st.statement_id,
                            currency=st.currency, opening_balance=st.opening_balance,
                            closing_balance=st.closing_balance)
        session.add(row)
        session.flush()
        new = 0
        seen: dict[str, int] = {}
        for entry in st.entries:
            first = dedupe_key(st.account, entry)
            seen[first] = seen.get(first, -1) + 1
            key = dedupe_key(st.account, entry, seen[first])
            if session.scalar(select(BankTransaction.id).where(BankTransaction.dedupe_key == key)):
                continue
            session.add(BankTransaction(
                statement_id=row.id, dedupe_key=key, booking_date=entry.booking_date,
                value_date=entry.value_date, amount=entry.amount, currency=entry.currency,
                counterparty_name=entry.counterparty_name,
                counterparty_iban=entry.counterparty_iban, reference=entry.reference,
                remittance_info=entry.remittance_info, end_to_end_id=entry.end_to_end_id,
                status="new" if entry.amount > 0 else "ignored"))
            new += 1
        audit(session, "system:intake", "statement.imported", "bank_statement", row.id,
              account=st.account, entries=len(st.entries), new=new)
    return problems


def record_remittance(session: Session, parsed: ParsedDocument, doc: Document) -> None:
    customer = find_customer(session, parsed)
    if customer is None and parsed.value("iban"):
        customer = session.scalar(select(Customer).where(Customer.iban == parsed.value("iban")))
    total = parsed.value("gross_amount") or sum((r.amount for r in parsed.remittance), Decimal(0))
    advice = RemittanceAdvice(document_id=doc.id, customer_id=customer.id if customer else None,
                              payer_name=str(parsed.value("payer") or ""),
                              reference=str(parsed.value("payment_reference") or ""),
                              advice_date=parsed.value("payment_date"), total=total)
    session.add(advice)
    session.flush()
    for line in parsed.remittance:
        session.add(RemittanceAdviceLine(advice_id=advice.id, invoice_number=line.invoice_number,
                                         amount=line.amount, deduction=line.deduction))


def match_facts(tx: BankTransaction, best: Candidate | None,
                customer_known: bool) -> dict[str, dict[str, object]]:
    return {
        "transaction": {"amount": tx.amount, "currency": tx.currency},
        "match": {
            "kind": best.kind if best else "none",
            "confidence": best.confidence if best else Decimal("0"),
            "difference": tx.amount - best.open_total if best else tx.amount,
            "invoice_count": len(best.allocations) if best else 0,
            "customer_known": customer_known,
        },
    }


def match_new(rt: Runtime, today: date) -> dict[str, int]:
    """Match every new bank credit; book what the rules auto-apply, queue the rest."""
    counts = {"matched": 0, "review": 0}
    rule_set = rt.rule_set("bank.transaction")
    with rt.db.unit_of_work() as session:
        txs = list(session.scalars(select(BankTransaction).where(BankTransaction.status == "new")
                                   .order_by(BankTransaction.id)
                                   .with_for_update(skip_locked=True)))
        for tx in txs:
            items = open_items(session)
            advices = _open_advices(session)
            payment = Payment(tx.amount, tx.currency, tx.counterparty_iban, tx.counterparty_name,
                              f"{tx.reference} {tx.remittance_info} {tx.end_to_end_id}")
            found = candidates(payment, items, advices)
            best = found[0] if found else None
            known = any(i.customer_iban == tx.counterparty_iban for i in items) or bool(
                tx.counterparty_iban and session.scalar(select(Customer.id).where(
                    Customer.iban == tx.counterparty_iban)))
            facts = match_facts(tx, best, known)
            decision = evaluate(rule_set, facts)
            row = record_decision(session, event="bank.transaction", subject_type="transaction",
                                  subject_id=tx.id, decision=decision, facts=facts, today=today)
            tx.decision_id = row.id
            tx.match_confidence = best.confidence if best else Decimal("0")
            tx.suggestions = [jsonable({"kind": c.kind, "confidence": c.confidence,
                                        "reason": c.reason,
                                        "invoices": [[i.number, a] for i, a in c.allocations]})
                              for c in found[:5]]
            if best is not None and decision.outcome == "apply":
                apply(session, tx, best, "auto", row.id)
                counts["matched"] += 1
            else:
                tx.status = "review"
                counts["review"] += 1
            audit(session, "system:matching", f"transaction.{tx.status}", "transaction", tx.id,
                  decision=row.id, best=best.reason if best else None)
    return counts


def apply(session: Session, tx: BankTransaction, candidate: Candidate, actor: str,
          decision_id: int | None) -> None:
    """Book the candidate: one allocation per invoice (and its advised deduction)."""
    for item, amount in candidate.allocations:
        session.add(Allocation(invoice_id=item.invoice_id, transaction_id=tx.id, amount=amount,
                               kind="payment", created_by=actor, decision_id=decision_id))
    if candidate.advice_id is not None:
        advice = session.get(RemittanceAdvice, candidate.advice_id)
        assert advice is not None
        advice.status = "applied"
        by_number = {item.number: item for item, _ in candidate.allocations}
        for line in advice.lines:
            advised = by_number.get(line.invoice_number)
            if advised is not None and line.deduction > 0:
                session.add(Allocation(invoice_id=advised.invoice_id, transaction_id=tx.id,
                                       amount=line.deduction, kind="deduction",
                                       created_by=actor, decision_id=decision_id))
    applied = sum((a for _, a in candidate.allocations), Decimal("0"))
    tx.status = "matched" if applied >= tx.amount else "partially_matched"
    session.flush()
    settle_if_paid(session, [item.invoice_id for item, _ in candidate.allocations])


def _open_advices(session: Session) -> list[Advice]:
    return [Advice(a.id, a.customer_id, a.payer_name, a.total,
                   tuple(RemittanceLine(x.invoice_number, x.amount, x.deduction)
                         for x in a.lines))
            for a in session.scalars(select(RemittanceAdvice).where(
                RemittanceAdvice.status == "open"))]


def confirm_suggestion(rt: Runtime, transaction_id: int, actor: str, today: date,
                       choice: int = 0) -> str:
    """A person books one of the ranked suggestions of a transaction in review."""
    with rt.db.unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None or tx.status != "review":
            raise ValueError(f"transaction {transaction_id} is not waiting for review")
        payment = Payment(tx.amount, tx.currency, tx.counterparty_iban, tx.counterparty_name,
                          f"{tx.reference} {tx.remittance_info} {tx.end_to_end_id}")
        found = candidates(payment, open_items(session), _open_advices(session))
        if choice >= len(found):
            raise ValueError(f"transaction {transaction_id} has no suggestion {choice + 1}")
        apply(session, tx, found[choice], actor, None)
        audit(session, actor, "transaction.confirmed", "transaction", tx.id,
              reason=found[choice].reason, on=today)
        return tx.status
