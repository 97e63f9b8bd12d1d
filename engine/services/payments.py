"""Payments: bank statements and remittance advices in, matching to open invoices by the
candidates of the core and the policy of rules/matching.yaml.

A statement file with any malformed part is refused as a whole (nothing booked). One
matching run builds the index over all open items once (engine.services.payment_index)
and updates it as it books, so each transaction costs about the same however many
invoices are open; transactions waiting in review are tried again in every run. A cash
discount is booked per VAT rate with its VAT correction; an overpayment's rest becomes a
customer credit (engine.services.credits applies it). Automation never undoes a person's
work: allocations a person made are never deactivated by automation, and a transaction a
person has matched or unmatched is never matched automatically again. `unmatch` is
audited, voids the credit the payment left, and puts the transaction back to review.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.statements import malformed
from engine.core.matching import (
    Candidate,
    Payment,
    Reduction,
    VatPart,
    book,
    find,
    match_facts,
)
from engine.core.matching_index import claim
from engine.core.records import OpenItem, ParsedDocument, StatementEntry
from engine.core.rules import evaluate
from engine.runtime import Runtime
from engine.services.ledger import allocated, book_payment, charges_open, settle_if_paid
from engine.services.orders import find_customer
from engine.services.payment_index import build_index
from engine.services.records import audit, jsonable, record_decision
from engine.store.models import (
    Allocation,
    AuditEntry,
    BankStatement,
    BankTransaction,
    Customer,
    CustomerCredit,
    Document,
    Invoice,
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
    """Book every new entry of every statement; overlapping entries are skipped. A file in
    which anything is malformed is refused as a whole: nothing of it is booked, and the
    problems (each naming the line or XML element) come back with the refusal first."""
    problems = [str(i) for i in parsed.issues]
    refused = malformed(parsed.issues)
    if refused:
        audit(session, "system:intake", "statement.refused", "document", doc.id,
              problems=[str(i) for i in refused])
        return [f"{doc.filename}: nothing of this statement file was booked: "
                f"{len(refused)} malformed part(s); correct the file and import it again",
                *problems]
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


def payment_of(tx: BankTransaction) -> Payment:
    return Payment(tx.amount, tx.currency, tx.counterparty_iban, tx.counterparty_name,
                   f"{tx.reference} {tx.remittance_info}", tx.end_to_end_id, tx.booking_date)


# ------------------------------------------------------------------------- matching


def match_new(rt: Runtime, today: date) -> dict[str, int]:
    """Match every new bank credit; book what the rules auto-apply, queue the rest with
    ranked suggestions. Credits waiting in review that no person has touched are tried
    again against the open items of now (a payment that came before its invoice is booked
    once the invoice exists); one that still waits only gets fresh suggestions (no new
    decision or audit entry each run)."""
    counts = {"matched": 0, "review": 0, "retried": 0}
    rule_set = rt.rule_set("bank.transaction")
    with rt.db.unit_of_work() as session:
        txs = list(session.scalars(select(BankTransaction).where(
            BankTransaction.status.in_(("new", "review"))).order_by(BankTransaction.id).with_for_update(skip_locked=True)))
        touched = touched_by_person(session, [tx.id for tx in txs])
        txs = [tx for tx in txs if tx.status == "new" or tx.id not in touched]
        if not txs:
            return counts
        index = build_index(session)
        for tx in txs:
            retry = tx.status == "review"
            counts["retried"] += retry
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
            tx.match_confidence = best.confidence if best else ZERO
            tx.suggestions = [suggestion(c) for c in found.candidates]
            if retry and (best is None or decision.outcome != "apply"):
                continue  # still waiting: fresh suggestions only
            row = record_decision(session, event="bank.transaction", subject_type="transaction",
                                  subject_id=tx.id, decision=decision, facts=facts, today=today)
            tx.decision_id = row.id
            if best is not None and decision.outcome == "apply":
                apply(session, tx, best, AUTOMATION, row.id)
                book(index, best)
                counts["matched"] += 1
            else:
                tx.status = "review"
                counts["review"] += 1
            audit(session, "system:matching", f"transaction.{tx.status}", "transaction", tx.id,
                  decision=row.id, best=best.reason if best else None, retried=retry)
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


def allocate_payment(session: Session, invoice_id: int, amount: Decimal, actor: str, *,
                     transaction_id: int | None = None, credit_id: int | None = None,
                     decision_id: int | None = None) -> None:
    """Money paid to one invoice, from a bank transaction or from a customer credit: the
    one place where paid money becomes allocations (kind `payment`, or `credit`); the
    ledger splits it by § 367 BGB: costs, then interest, then principal."""
    kind = "payment" if credit_id is None else "credit"
    book_payment(session, invoice_id=invoice_id, amount=amount, transaction_id=transaction_id,
                 kind=kind, created_by=actor, decision_id=decision_id, credit_id=credit_id)


def apply(session: Session, tx: BankTransaction, candidate: Candidate, actor: str,
          decision_id: int | None) -> None:
    """Book the candidate: the payment to each invoice, a cash discount as one allocation
    per VAT rate with its VAT correction (§ 17 UStG), other deductions as advised, and the
    rest as the customer's credit (customer_credits)."""
    for item, amount in candidate.allocations:
        allocate_payment(session, item.invoice_id, amount, actor, transaction_id=tx.id,
                         decision_id=decision_id)
    for r in candidate.reductions:
        for part in r.vat or (None,):
            session.add(Allocation(
                invoice_id=r.item.invoice_id, transaction_id=tx.id,
                amount=part.gross if part else r.amount, kind=r.kind,
                tax_rate=part.rate if part else None, tax_amount=part.tax if part else None,
                created_by=actor, decision_id=decision_id))
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
    customers = sorted({i.customer_id for i, _ in candidate.allocations})
    if candidate.unapplied > 0 and customers:
        credit = CustomerCredit(customer_id=customers[0], transaction_id=tx.id,
                                currency=tx.currency, amount=candidate.unapplied,
                                remaining=candidate.unapplied, status="open", created_by=actor)
        session.add(credit)
        session.flush()
        audit(session, actor, "customer.credit", "transaction", tx.id, credit=credit.id,
              customer=customers[0], amount=candidate.unapplied)
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
        if item is None or claim(item) < amount + cut:
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
    """The given invoices as open items (open amount after active allocations, and the
    dunning charges still owed on them)."""
    paid, owed = allocated(session, ids), charges_open(session, ids)
    return [OpenItem(inv.id, inv.number, inv.customer_id, inv.customer.name, inv.customer.iban,
                     inv.payment_reference, inv.gross_amount,
                     inv.gross_amount - paid.get(inv.id, ZERO), inv.issue_date, inv.due_date,
                     inv.currency, max(owed.get(inv.id, ZERO), ZERO))
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
        credits = list(session.scalars(select(CustomerCredit).where(
            CustomerCredit.transaction_id == tx.id, CustomerCredit.status != "void")))
        used = list(session.scalars(select(Allocation).where(
            Allocation.credit_id.in_([c.id for c in credits]), Allocation.active.is_(True))))
        if is_automation(actor) and any(not is_automation(a.created_by) for a in rows + used):
            raise PermissionError(f"transaction {transaction_id} was matched by a person; "
                                  "automation does not undo it")
        if any(c.status == "refunded" for c in credits):
            raise ValueError(f"transaction {transaction_id}: its credit was refunded to the "
                             "customer; the refund must be settled before it can be unmatched")
        for row in rows + used:  # the credit the payment left goes with it
            row.active = False
        for credit in credits:
            credit.status, credit.remaining = "void", ZERO
            audit(session, actor, "credit.voided", "customer_credit", credit.id,
                  transaction=tx.id, reason=reason, allocations=[a.id for a in used])
        rows += used
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
