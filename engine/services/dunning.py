"""The dunning run: every open overdue invoice, after matching, through rules/dunning.yaml;
one letter per customer; escalations become tasks for a role with an e-mail to it.

Exactly once: a reminder is a `dunning_notices` row unique per invoice and level, and
its mail has an idempotency key, so a second run (or a second worker) sends nothing new.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from documents.render import WORDS
from engine.core.dunning import History, Letter, Reminder, invoice_facts, letters
from engine.core.records import OpenItem
from engine.core.rules import Action, evaluate
from engine.runtime import Runtime
from engine.services.convert import info_rows, party_of
from engine.services.ledger import open_items
from engine.services.publish import mail, render_document
from engine.services.records import audit, record_decision
from engine.store.models import Customer, DunningLetter, DunningNotice, Task


def run(rt: Runtime, today: date, dry_run: bool = False) -> dict[str, int]:
    counts = {"letters": 0, "reminders": 0, "escalations": 0}
    rule_set = rt.rule_set("dunning.run")
    with rt.db.unit_of_work() as session:
        if not rt.db.try_job_lock(session, "dunning"):
            return counts
        due: list[Reminder] = []
        for item in open_items(session):
            if item.due_date >= today:
                continue
            customer = session.get(Customer, item.customer_id)
            assert customer is not None
            history = _history(session, item.invoice_id, customer)
            facts = {"invoice": invoice_facts(item, history, today),
                     "customer": {"number": customer.number, "b2b": customer.b2b,
                                  "country": customer.country,
                                  "has_vat_id": bool(customer.vat_id)}}
            decision = evaluate(rule_set, facts)
            if decision.outcome in ("wait", "none") or dry_run:
                continue
            row = record_decision(session, event="dunning.run", subject_type="invoice",
                                  subject_id=item.invoice_id, decision=decision, facts=facts,
                                  today=today)
            for action in decision.effects:
                if action.name == "remind":
                    level = int(action.params.get("level", history.level + 1))
                    if level > history.level:
                        due.append(Reminder(item, level, Decimal(str(action.params.get(
                            "fee", "0"))), decision.fired[0]))
                elif action.name == "escalate":
                    counts["escalations"] += _escalate(rt, session, item, customer, action,
                                                       row.id, today)
        for letter in letters(due):
            counts["reminders"] += _send_letter(rt, session, letter, today)
            counts["letters"] += 1
    return counts


def _history(session: Session, invoice_id: int, customer: Customer) -> History:
    level, last = session.execute(select(func.max(DunningNotice.level),
                                         func.max(DunningNotice.notice_date))
                                  .where(DunningNotice.invoice_id == invoice_id)).one()
    escalated = session.scalar(select(Task.id).where(
        Task.kind == "escalation", Task.object_type == "invoice", Task.object_id == invoice_id))
    return History(level=level or 0, last_notice=last, escalated=escalated is not None,
                   on_hold=customer.dunning_block)


def _send_letter(rt: Runtime, session: Session, letter: Letter, today: date) -> int:
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
                        total_open=letter.open_total, fees=letter.fee)
    session.add(row)
    session.flush()
    for r in fresh:
        session.add(DunningNotice(invoice_id=r.item.invoice_id, level=r.level, letter_id=row.id,
                                  notice_date=today, open_amount=r.item.open_amount,
                                  fee=letter.fee if r is fresh[0] else Decimal("0")))
    session.flush()  # the unique key (invoice, level) holds here, before anything is sent
    lang = customer.language
    t = WORDS[lang]
    title = t["reminder"] if letter.level == 1 else f"{letter.level - 1}. {t['dunning']}"
    name = f"MA-{today:%Y%m%d}-{customer.number}-L{letter.level}.pdf"
    issued = render_document(rt, "reminders", name, "reminder.html", {
        "company": rt.config.company, "recipient": party_of(customer), "lang": lang,
        "title": title, "info": info_rows(t, ("date", today),
                                          ("customer_number", customer.number)),
        "intro": _intro(lang, letter.level), "items": [r.item for r in letter.reminders],
        "open_total": letter.open_total, "fee": letter.fee, "currency": "EUR",
        "closing": _closing(lang, today + timedelta(days=10))})
    row.pdf_sha256 = issued.sha256
    mail(session, key=f"reminder-{row.id}-{customer.number}-L{letter.level}", kind="reminder",
         recipient=customer.email, subject=f"{title} – {customer.name}",
         body=f"{title}\n\n" + "\n\n".join(_intro(lang, letter.level)), files=[issued])
    audit(session, "system:dunning", "reminder.sent", "customer", customer.id,
          level=letter.level, invoices=[r.item.number for r in fresh], fee=letter.fee)
    return len(fresh)


def _escalate(rt: Runtime, session: Session, item: OpenItem, customer: Customer, action: Action,
              decision_id: int, today: date) -> int:
    exists = session.scalar(select(Task.id).where(
        Task.kind == "escalation", Task.object_type == "invoice", Task.object_id == item.invoice_id))
    if exists is not None:
        return 0
    role = str(action.params.get("role", "finance"))
    due = today + timedelta(days=int(action.params.get("due_in_days", 5)))
    subject = (f"Escalation: {item.number} of {customer.name} ({customer.number}) is "
               f"{(today - item.due_date).days} days overdue, {item.open_amount} EUR open")
    task = Task(kind="escalation", role=role, subject=subject, object_type="invoice",
                object_id=item.invoice_id, due_date=due, decision_id=decision_id)
    session.add(task)
    session.flush()
    mail(session, key=f"escalation-{task.id}", kind="escalation",
         recipient=rt.config.role_email(role), subject=subject,
         body=f"{subject}.\n\nPlease decide by {due:%d.%m.%Y}: call the customer, agree a "
              "payment plan, or hand the claim to collection.", files=[])
    audit(session, "system:dunning", "escalation.created", "invoice", item.invoice_id,
          role=role, task=task.id)
    return 1


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
