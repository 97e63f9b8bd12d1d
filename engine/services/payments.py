"""Payments: bank statements and remittance advices in, matching to open invoices by the
candidates of the core and the policy of rules/matching.yaml.

One matching run builds the index over all open items once (engine.core.matching_index)
and updates it as it books, so each transaction costs about the same however many
invoices are open. Automation never undoes a person's work: allocations a person made
are never deactivated by automation, and a transaction a person has matched or unmatched
is never matched automatically again. `unmatch` is audited and puts the transaction back
to review.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.matching import (
    Candidate,
    Payment,
    Reduction,
    VatPart,
    book,
    find,
    match_facts,
)
from engine.core.matching_index import Advice, OpenItemIndex, Terms
from engine.core.matching_index import Customer as KnownCustomer
from engine.core.records import OpenItem, ParsedDocument, RemittanceLine, StatementEntry
from engine.core.rules import evaluate
from engine.runtime import Runtime
from engine.services.ledger import allocated, open_items, settle_if_paid
from engine.services.orders import find_customer
from engine.services.records import audit, jsonable, record_decision
from engine.store.models import (
    Allocation,
    AuditEntry,
    BankStatement,
    BankTransaction,
    Customer,
    Document,
    Invoice,
    InvoiceLine,
    RemittanceAdvice,
    RemittanceAdviceLine,
)

AUTOMATION = "auto"  # created_by of the allocations matching books by itself
ZERO = Decimal("0.00")


def is_automation(actor: str) -> bool:
    """Matching and the other jobs ("auto", "system:<job>"), as opposed to a person."""
    return actor == AUTOMATION or actor.startswith("system:")


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


# ------------------------------------------------------------------------- the index


def build_index(session: Session) -> OpenItemIndex:
    """Every open item with its discount terms and VAT split, every customer with the
    IBANs it paid from, every open advice: set-based queries, once per run."""
    items = open_items(session)
    customers: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    for cid, name, iban in session.execute(select(Customer.id, Customer.name, Customer.iban)):
        names[cid] = name
        customers[cid] = {iban} if iban else set()
    learned = (select(Invoice.customer_id, BankTransaction.counterparty_iban).distinct()
               .join(Allocation, Allocation.invoice_id == Invoice.id)
               .join(BankTransaction, BankTransaction.id == Allocation.transaction_id)
               .where(Allocation.active.is_(True), Allocation.kind == "payment",
                      BankTransaction.counterparty_iban != ""))
    for cid, iban in session.execute(learned):
        customers.setdefault(cid, set()).add(iban)
    known = [KnownCustomer(cid, names.get(cid, ""), tuple(sorted(ibans)))
             for cid, ibans in customers.items()]
    return OpenItemIndex(items, _terms(session), known, _open_advices(session))


def _terms(session: Session) -> dict[int, Terms]:
    """Discount terms of open invoices that have them, with their gross per VAT rate."""
    rows = session.execute(select(Invoice.id, Invoice.cash_discount_percent,
                                  Invoice.cash_discount_days).where(
        Invoice.status == "open", Invoice.cash_discount_percent.is_not(None),
        Invoice.cash_discount_percent > 0))
    terms = {inv: (pct, days) for inv, pct, days in rows}
    split: dict[int, list[tuple[Decimal, Decimal]]] = {}
    ids = list(terms)
    for n in range(0, len(ids), 1000):
        lines = session.execute(
            select(InvoiceLine.invoice_id, InvoiceLine.vat_rate,
                   func.sum(InvoiceLine.quantity * InvoiceLine.unit_price))
            .where(InvoiceLine.invoice_id.in_(ids[n:n + 1000]))
            .group_by(InvoiceLine.invoice_id, InvoiceLine.vat_rate))
        for inv, rate, net in lines:
            net = Decimal(net)
            split.setdefault(inv, []).append((Decimal(rate), net + net * Decimal(rate) / 100))
    return {inv: Terms(pct, days, tuple(sorted(split.get(inv, ()), reverse=True)))
            for inv, (pct, days) in terms.items()}


def _open_advices(session: Session) -> list[Advice]:
    return [Advice(a.id, a.customer_id, a.payer_name, a.total,
                   tuple(RemittanceLine(x.invoice_number, x.amount, x.deduction)
                         for x in a.lines), a.reference)
            for a in session.scalars(select(RemittanceAdvice).where(
                RemittanceAdvice.status == "open"))]


def payment_of(tx: BankTransaction) -> Payment:
    return Payment(tx.amount, tx.currency, tx.counterparty_iban, tx.counterparty_name,
                   f"{tx.reference} {tx.remittance_info}", tx.end_to_end_id, tx.booking_date)


# ------------------------------------------------------------------------- matching


def match_new(rt: Runtime, today: date) -> dict[str, int]:
    """Match every new bank credit; book what the rules auto-apply, queue the rest with
    ranked suggestions."""
    counts = {"matched": 0, "review": 0}
    rule_set = rt.rule_set("bank.transaction")
    with rt.db.unit_of_work() as session:
        txs = list(session.scalars(select(BankTransaction).where(BankTransaction.status == "new")
                                   .order_by(BankTransaction.id)
                                   .with_for_update(skip_locked=True)))
        if not txs:
            return counts
        touched = touched_by_person(session, [tx.id for tx in txs])
        index = build_index(session)
        for tx in txs:
            if tx.id in touched:  # never again by automation
                tx.status = "review"
                counts["review"] += 1
                audit(session, "system:matching", "transaction.left_to_person", "transaction",
                      tx.id, reason="a person has matched or unmatched it before")
                continue
            payment = payment_of(tx)
            found = find(index, payment, today)
            best = found.best
            facts = match_facts(payment, found)
            decision = evaluate(rule_set, facts)
            row = record_decision(session, event="bank.transaction", subject_type="transaction",
                                  subject_id=tx.id, decision=decision, facts=facts, today=today)
            tx.decision_id = row.id
            tx.match_confidence = best.confidence if best else ZERO
            tx.suggestions = [suggestion(c) for c in found.candidates]
            if best is not None and decision.outcome == "apply":
                apply(session, tx, best, AUTOMATION, row.id)
                book(index, best)
                counts["matched"] += 1
            else:
                tx.status = "review"
                counts["review"] += 1
            audit(session, "system:matching", f"transaction.{tx.status}", "transaction", tx.id,
                  decision=row.id, best=best.reason if best else None)
    return counts


def touched_by_person(session: Session, transaction_ids: list[int]) -> set[int]:
    """Transactions a person has matched, confirmed or unmatched."""
    found: set[int] = set()
    for n in range(0, len(transaction_ids), 1000):
        chunk = transaction_ids[n:n + 1000]
        found.update(tid for tid, by in session.execute(
            select(Allocation.transaction_id, Allocation.created_by)
            .where(Allocation.transaction_id.in_(chunk)))
            if tid is not None and not is_automation(by))
        found.update(oid for oid, actor in session.execute(
            select(AuditEntry.object_id, AuditEntry.actor).where(
                AuditEntry.object_type == "transaction", AuditEntry.object_id.in_(chunk)))
            if oid is not None and not is_automation(actor))
    return found


def suggestion(c: Candidate) -> dict[str, Any]:
    """A candidate as stored on the transaction: enough to show it and to book it."""
    return jsonable({
        "kind": c.kind, "confidence": c.confidence, "reason": c.reason, "payer": c.payer,
        "invoices": [[i.number, a] for i, a in c.allocations],
        "allocations": [{"invoice_id": i.invoice_id, "invoice_number": i.number, "amount": a}
                        for i, a in c.allocations],
        "reductions": [{"invoice_id": r.item.invoice_id, "invoice_number": r.item.number,
                        "amount": r.amount, "kind": r.kind,
                        "vat": [{"rate": v.rate, "gross": v.gross, "net": v.net, "tax": v.tax}
                                for v in r.vat]} for r in c.reductions],
        "unapplied": c.unapplied, "advice_id": c.advice_id,
    })


def apply(session: Session, tx: BankTransaction, candidate: Candidate, actor: str,
          decision_id: int | None) -> None:
    """Book the candidate: one allocation per invoice, one per discount or deduction (the
    discount's VAT correction per rate in the audit log), the rest as customer credit."""
    for item, amount in candidate.allocations:
        session.add(Allocation(invoice_id=item.invoice_id, transaction_id=tx.id, amount=amount,
                               kind="payment", created_by=actor, decision_id=decision_id))
    for r in candidate.reductions:
        session.add(Allocation(invoice_id=r.item.invoice_id, transaction_id=tx.id,
                               amount=r.amount, kind=r.kind, created_by=actor,
                               decision_id=decision_id))
    if candidate.advice_id is not None:
        advice = session.get(RemittanceAdvice, candidate.advice_id)
        if advice is not None:
            advice.status = "applied"
    tx.status = "matched" if candidate.unapplied <= 0 else "partially_matched"
    session.flush()
    audit(session, actor, "payment.booked", "transaction", tx.id, advice=candidate.advice_id,
          allocations=[[i.number, a] for i, a in candidate.allocations],
          reductions=[{"invoice": r.item.number, "kind": r.kind, "amount": r.amount,
                       "vat": [[v.rate, v.net, v.tax] for v in r.vat]}
                      for r in candidate.reductions])
    if candidate.unapplied > 0:
        customers = sorted({i.customer_id for i, _ in candidate.allocations})
        audit(session, actor, "customer.credit", "transaction", tx.id,
              customer=customers[0] if customers else None, amount=candidate.unapplied)
    settle_if_paid(session, sorted({i.invoice_id for i, _ in candidate.allocations}))


# ------------------------------------------------------------------------- people


def confirm_suggestion(rt: Runtime, transaction_id: int, actor: str, today: date,
                       choice: int = 0) -> str:
    """A person books one of the ranked suggestions of a transaction in review, as it was
    shown; refused when its invoices are no longer open enough."""
    with rt.db.unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None or tx.status != "review":
            raise ValueError(f"transaction {transaction_id} is not waiting for review")
        stored = [s for s in tx.suggestions or [] if "allocations" in s]
        if not stored:  # stored by an earlier version: ask the index again
            stored = [suggestion(c) for c in find(build_index(session), payment_of(tx),
                                                  today).candidates]
        if choice >= len(stored):
            raise ValueError(f"transaction {transaction_id} has no suggestion {choice + 1}")
        candidate = _candidate(session, tx, stored[choice])
        apply(session, tx, candidate, actor, None)
        audit(session, actor, "transaction.confirmed", "transaction", tx.id,
              reason=candidate.reason, on=today)
        return tx.status


def _candidate(session: Session, tx: BankTransaction, stored: dict[str, Any]) -> Candidate:
    ids = sorted({int(a["invoice_id"]) for a in stored["allocations"]})
    items = {i.invoice_id: i for i in _items(session, ids)}
    allocations = []
    for a in stored["allocations"]:
        item, amount = items.get(int(a["invoice_id"])), Decimal(a["amount"])
        cut = sum((Decimal(r["amount"]) for r in stored["reductions"]
                   if int(r["invoice_id"]) == int(a["invoice_id"])), ZERO)
        if item is None or item.open_amount < amount + cut:
            raise ValueError(f"invoice {a['invoice_number']} is no longer open for {amount}; "
                             "the suggestion is out of date")
        allocations.append((item, amount))
    reductions = tuple(Reduction(items[int(r["invoice_id"])], Decimal(r["amount"]), r["kind"],
                                 tuple(VatPart(*(Decimal(v[k]) for k in ("rate", "gross", "net",
                                                                           "tax")))
                                       for v in r["vat"])) for r in stored["reductions"])
    advice = stored.get("advice_id")
    return Candidate(stored["kind"], Decimal(stored["confidence"]), tuple(allocations),
                     stored["reason"], int(advice) if advice is not None else None,
                     reductions, tx.amount, stored.get("payer", "unknown"))


def _items(session: Session, ids: list[int]) -> list[OpenItem]:
    """The given invoices as open items (open amount after active allocations)."""
    paid = allocated(session, ids)
    return [OpenItem(inv.id, inv.number, inv.customer_id, inv.customer.name, inv.customer.iban,
                     inv.payment_reference, inv.gross_amount,
                     inv.gross_amount - paid.get(inv.id, ZERO), inv.issue_date, inv.due_date,
                     inv.currency)
            for inv in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))]


def unmatch(rt: Runtime, transaction_id: int, actor: str, reason: str) -> str:
    """Undo a transaction's match: its allocations are deactivated (kept, audited), its
    invoices and advice open again, and the transaction waits in review. Automation may
    not undo what a person booked."""
    with rt.db.unit_of_work() as session:
        tx = session.get(BankTransaction, transaction_id)
        if tx is None:
            raise ValueError(f"no transaction {transaction_id}")
        rows = list(session.scalars(select(Allocation).where(
            Allocation.transaction_id == tx.id, Allocation.active.is_(True))))
        if is_automation(actor) and any(not is_automation(a.created_by) for a in rows):
            raise PermissionError(f"transaction {transaction_id} was matched by a person; "
                                  "automation does not undo it")
        for row in rows:
            row.active = False
        for entry in session.scalars(select(AuditEntry).where(
                AuditEntry.object_type == "transaction", AuditEntry.object_id == tx.id,
                AuditEntry.action == "payment.booked")):
            advice = session.get(RemittanceAdvice, entry.details.get("advice") or 0)
            if advice is not None:
                advice.status = "open"
        tx.status = "review"
        session.flush()
        settle_if_paid(session, sorted({a.invoice_id for a in rows}))
        audit(session, actor, "transaction.unmatched", "transaction", tx.id, reason=reason,
              allocations=[a.id for a in rows])
        return tx.status
