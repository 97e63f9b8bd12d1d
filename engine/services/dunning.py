"""The dunning run: every open overdue invoice, after matching, through rules/dunning.yaml;
one letter per customer; escalations become tasks for a role with an e-mail to it.

Exactly once: a reminder is a `dunning_notices` row unique per invoice and level, and
its mail has an idempotency key, so a second run (or a second worker) sends nothing new.
What a letter claims on top of the invoices (fee, flat fee, interest) becomes `charges`
rows with their own numbers in the same transaction (engine.services.charges); the next
letter claims interest from the day after the last interest charge, on the principal
still open, and lists the charges still owed.
The plan is computed by the pure core (engine.core.dunning.plan), the same code that
plans on files; `dry_run` returns it without changing anything.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.render import WORDS
from engine.core.dunning import Claim, Escalation, History, Letter, plan, plan_json
from engine.runtime import Runtime
from engine.services import charges, portal
from engine.services.convert import info_rows, party_of
from engine.services.holds import holding
from engine.services.ledger import open_items
from engine.services.publish import mail, render_document
from engine.services.records import audit, record_decision
from engine.services.tasks import open_task
from engine.store.models import (
    Allocation,
    BankTransaction,
    CreditNote,
    Customer,
    DunningLetter,
    DunningNotice,
    Task,
)


def load_claims(session: Session, today: date) -> list[Claim]:
    """Every open invoice after the latest matching, with its history and holds."""
    on_hold, blocked = holding(session, today)
    customers = {c.id: c for c in session.scalars(select(Customer))}
    history = {row[0]: row[1:] for row in session.execute(
        select(DunningNotice.invoice_id, func.max(DunningNotice.level),
               func.max(DunningNotice.notice_date), func.min(DunningNotice.notice_date),
               func.sum(DunningNotice.flat_fee)).group_by(DunningNotice.invoice_id))}
    payments = dated_reductions(session)
    flat_fees = charges.flat_fee_charged(session)
    claimed_to = charges.interest_claimed_to(session)
    escalated = set(session.scalars(select(Task.object_id).where(
        Task.kind == "escalation", Task.object_type == "invoice")))
    claims = []
    for item in open_items(session):
        customer = customers[item.customer_id]
        level, last, first, flat = history.get(item.invoice_id, (0, None, None, 0))
        claims.append(Claim(item, customer.number, customer.b2b, History(
            level=level or 0, last_notice=last, escalated=item.invoice_id in escalated,
            on_hold=item.invoice_id in on_hold or item.customer_id in blocked,
            first_notice=first, flat_fee_charged=bool(flat) or item.invoice_id in flat_fees,
            interest_claimed_to=claimed_to.get(item.invoice_id)),
            customer.country, bool(customer.vat_id),
            tuple(payments.get(item.invoice_id, ()))))
    return claims


def dated_reductions(session: Session) -> dict[int, list[tuple[date, Decimal]]]:
    """Per invoice, what reduced its principal and when: payments on their booking date,
    credit notes on their issue date, anything else on the day it was booked. Money that
    settled a charge (§ 367) did not reduce the principal and is left out."""
    rows = session.execute(
        select(Allocation.invoice_id, Allocation.amount, BankTransaction.booking_date,
               CreditNote.issue_date, Allocation.created_at)
        .outerjoin(BankTransaction, BankTransaction.id == Allocation.transaction_id)
        .outerjoin(CreditNote, CreditNote.id == Allocation.credit_note_id)
        .where(Allocation.active.is_(True), Allocation.charge_id.is_(None)))
    out: dict[int, list[tuple[date, Decimal]]] = {}
    for invoice_id, amount, booked, credited, created in rows:
        out.setdefault(invoice_id, []).append((booked or credited or created.date(), amount))
    return out


def run(rt: Runtime, today: date, dry_run: bool = False) -> dict[str, Any]:
    """Decide and send today's reminders and escalations; with dry_run, only say what."""
    rule_set = rt.rule_set("dunning.run")
    with rt.db.unit_of_work() as session:
        if not rt.db.try_job_lock(session, "dunning"):
            return {"letters": 0, "reminders": 0, "escalations": 0, "skipped": "locked"}
        result = plan(rule_set, load_claims(session, today), today)
        if dry_run:
            return plan_json(result, today)
        decision_ids = {}
        for seen in result.considered:
            if seen.decision.outcome in ("wait", "none"):
                continue  # not stored: a daily "not yet" for every open invoice is noise
            row = record_decision(session, event="dunning.run", subject_type="invoice",
                                  subject_id=seen.claim.item.invoice_id, decision=seen.decision,
                                  facts=seen.facts, today=today)
            decision_ids[seen.claim.item.invoice_id] = row.id
        counts = {"letters": 0, "reminders": 0, "escalations": 0}
        for letter in result.letters:
            sent = _send_letter(rt, session, letter, today, decision_ids)
            counts["reminders"] += sent
            counts["letters"] += 1 if sent else 0
        for escalation in result.escalations:
            invoice_id = escalation.claim.item.invoice_id
            counts["escalations"] += _escalate(rt, session, escalation,
                                               decision_ids.get(invoice_id), today)
    return counts


def _send_letter(rt: Runtime, session: Session, letter: Letter, today: date,
                 decision_ids: dict[int, int]) -> int:
    customer = session.get(Customer, letter.customer_id)
    assert customer is not None
    fresh = []
    for r in letter.reminders:
        exists = session.scalar(select(DunningNotice.id).where(
            DunningNotice.invoice_id == r.item.invoice_id, DunningNotice.level == r.level))
        if exists is None:
            fresh.append(r)
    if not fresh:
        return 0
    row = DunningLetter(customer_id=customer.id, letter_date=today, level=letter.level,
                        total_open=letter.open_total, fees=letter.fee,
                        interest=letter.interest, flat_fees=letter.flat_fees)
    session.add(row)
    session.flush()
    notices = []
    for r in fresh:
        notice = DunningNotice(invoice_id=r.item.invoice_id, level=r.level, letter_id=row.id,
                               notice_date=today, open_amount=r.item.open_amount,
                               fee=letter.fee if r is fresh[0] else Decimal("0"),
                               interest=r.legal.interest, interest_rate=r.legal.rate,
                               interest_from=r.legal.since, flat_fee=r.legal.flat_fee,
                               decision_id=decision_ids.get(r.item.invoice_id))
        session.add(notice)
        notices.append((r, notice))
    session.flush()  # the unique key (invoice, level) holds here, before anything is sent
    numbers = {i.invoice_id: i.number
               for i in (*(r.item for r in letter.reminders), *letter.charges_only)}
    earlier = charges.open_lines(session, list(numbers), numbers)
    new = charges.as_lines(charges.record_letter(
        session, rt.config["dunning.charge_series"], letter, notices, today), numbers)
    lang = customer.language
    t = WORDS[lang]
    title = t["reminder"] if letter.level == 1 else f"{letter.level - 1}. {t['dunning']}"
    name = f"MA-{today:%Y%m%d}-{customer.number}-L{letter.level}.pdf"
    issued = render_document(rt, "reminders", name, "reminder.html", {
        "company": rt.config.company, "recipient": party_of(customer), "lang": lang,
        "title": title, "info": info_rows(t, ("date", today),
                                          ("customer_number", customer.number), lang=lang),
        "intro": _intro(lang, letter.level), "items": letter.reminders,
        "open_total": letter.open_total, "fee": letter.fee, "interest": letter.interest,
        "flat_fees": letter.flat_fees, "total_claim": letter.total_claim, "currency": "EUR",
        "charges": new, "earlier_charges": earlier, "charges_open": letter.charges_open,
        "charge_kinds": CHARGE_KINDS[lang if lang in CHARGE_KINDS else "en"],
        "closing": _closing(lang, today + timedelta(days=10))}, session=session)
    row.pdf_sha256 = issued.sha256
    mail(session, key=f"reminder-{row.id}-{customer.number}-L{letter.level}", kind="reminder",
         recipient=customer.email, subject=f"{title} – {customer.name}",
         body="\n\n".join([title, *_intro(lang, letter.level),
                            portal.mail_line(session, rt, customer, "system:dunning")]).strip(),
         files=[issued])
    audit(session, "system:dunning", "reminder.sent", "customer", customer.id,
          level=letter.level, invoices=[r.item.number for r in fresh], fee=letter.fee,
          charges=[c.number for c in new])
    return len(fresh)


def _escalate(rt: Runtime, session: Session, escalation: Escalation,
              decision_id: int | None, today: date) -> int:
    item = escalation.claim.item
    subject = (f"Escalation: {item.number} of {item.customer_name} "
               f"({escalation.claim.customer_number}) is {(today - item.due_date).days} days "
               f"overdue, {item.open_amount} EUR open")
    return open_task(rt, session, kind="escalation", role=escalation.role, subject=subject,
                     body="Please decide: call the customer, agree a payment plan, or hand "
                          "the claim to collection.",
                     object_type="invoice", object_id=item.invoice_id,
                     due=today + timedelta(days=escalation.due_in_days), decision_id=decision_id)


CHARGE_KINDS = {
    "de": {"fee": "Mahngebühr", "flat_fee": "Verzugspauschale (§ 288 Abs. 5 BGB)",
           "interest": "Verzugszinsen", "number": "Nr.", "earlier": "Noch offene Nebenforderungen",
           "new": "Mit diesem Schreiben geltend gemacht", "period": "{start} – {end}, {rate} % p. a."},
    "en": {"fee": "Dunning fee", "flat_fee": "Flat-rate compensation (§ 288 (5) BGB)",
           "interest": "Default interest", "number": "No.", "earlier": "Charges still open",
           "new": "Claimed with this letter", "period": "{start} – {end}, {rate} % p.a."},
}


def _intro(lang: str, level: int) -> list[str]:
    if lang == "de":
        if level == 1:
            return ["Sehr geehrte Damen und Herren,", "sicher haben Sie übersehen, dass die "
                    "folgenden Rechnungen noch offen sind. Bitte überweisen Sie den Betrag."]
        return ["Sehr geehrte Damen und Herren,", "trotz unserer Erinnerung sind die folgenden "
                "Rechnungen weiterhin offen. Bitte begleichen Sie den Betrag umgehend."]
    if level == 1:
        return ["Dear Sir or Madam,", "you may have overlooked that the following invoices "
                "are still open. Please transfer the amount."]
    return ["Dear Sir or Madam,", "despite our reminder the following invoices are still "
            "open. Please pay the amount without delay."]


def _closing(lang: str, pay_by: date) -> list[str]:
    if lang == "de":
        return [f"Bitte zahlen Sie bis zum {pay_by:%d.%m.%Y}. Sollten Sie inzwischen gezahlt "
                "haben, betrachten Sie dieses Schreiben als gegenstandslos.",
                "Mit freundlichen Grüßen\nIhre Buchhaltung"]
    return [f"Please pay by {pay_by:%d %b %Y}. If you have paid in the meantime, please "
            "disregard this letter.", "Kind regards, Accounts receivable"]
