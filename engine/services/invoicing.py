"""Invoicing: delivered goods become invoices as rules/invoicing.yaml decides; each invoice
gets a gapless number, a Factur-X PDF (PDF/A-3 with the EN 16931 XML embedded as
factur-x.xml) and the XRechnung XML beside it. Credit notes correct an issued invoice, which
itself never changes.

The customer decides the VAT treatment (engine.core.invoicing.vat_treatment: S at home, K
intra-community, G export). Before anything is issued, the document must be complete by
§ 14 (4) UStG (engine.core.ustg) and pass documents.invoice_files.check_documents (the
Factur-X XSD on both XML flavours, the official EN 16931 rules and XRechnung's rules).
Otherwise `InvoiceRejected` names the failed rules; the invoice is issued in a savepoint,
so nothing of it remains and its number is not used up. The batch job issues the others,
opens a task for a clerk per refused delivery, and raises the refusals at the end. From
BATCH_MIN invoices in one run on, they are checked and rendered in a process pool (one
worker per core); if any of them is refused, the batch is undone and they are issued one
by one. The XRechnung file is CII or UBL 2.1 (`invoicing.xrechnung_syntax`). A credit
note says how it is settled: set off against the invoice's open amount, the rest refunded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.cii import invoice_xml, xrechnung_xml
from documents.invoice_files import (
    check_documents,
    invoice_pdf,
    render_batch,
    settlement_text,
    with_terms,
    xrechnung_file,
)
from documents.render import WORDS
from documents.validation import RuleFailure
from engine.core.invoicing import (
    Terms,
    VatTreatment,
    apply_treatment,
    build_invoice,
    invoice_notes,
    vat_treatment,
)
from engine.core.records import DocumentLine, InvoiceDocument, Party
from engine.core.rules import evaluate
from engine.runtime import Runtime
from engine.services import portal
from engine.services.convert import lines_of, party_of
from engine.services.ledger import allocated, settle_if_paid
from engine.services.publish import Issued, greeting, logo, mail, store_file
from engine.services.records import audit, next_number, record_decision
from engine.services.tasks import open_task
from engine.store.models import (
    Allocation,
    CreditNote,
    CreditNoteLine,
    Customer,
    Delivery,
    DeliveryLine,
    Invoice,
    InvoiceLine,
)

BATCH_MIN = 8  # from this many invoices in one run on, they are rendered in a process pool


class InvoiceRejected(Exception):
    """An invoice or credit note failed a check; it was not issued. `failures` name the
    rules (EN 16931 ids such as BR-CO-15, XSD, BR-DE-…, § 14 UStG) with their messages."""

    def __init__(self, subject: str, failures: Sequence[RuleFailure]) -> None:
        self.subject = subject
        self.failures = tuple(failures)
        super().__init__(f"{subject} was not issued: "
                         + "; ".join(str(f) for f in self.failures))

    @property
    def rule_ids(self) -> list[str]:
        return list(dict.fromkeys(f.id for f in self.failures))


def delivery_facts(delivery: Delivery) -> dict[str, dict[str, object]]:
    order, customer = delivery.order, delivery.order.customer
    net = sum((dl.order_line.unit_price * dl.quantity for dl in delivery.lines), Decimal("0"))
    return {
        "delivery": {"net_amount": net, "is_backorder": delivery.is_backorder,
                     "completes_order": order.status == "delivered"},
        "customer": {"number": customer.number, "b2b": customer.b2b,
                     "country": customer.country, "has_vat_id": bool(customer.vat_id),
                     "collective_invoice": customer.collective_invoice,
                     "payment_terms_days": customer.payment_terms_days},
    }


def invoice_deliveries(rt: Runtime, today: date) -> int:
    """Invoice posted deliveries as the rules decide; on the last day of a month, one
    collective invoice per customer for the deliveries the rules deferred."""
    count = 0
    rejected: list[InvoiceRejected] = []
    rule_set = rt.rule_set("delivery.posted")
    with rt.db.unit_of_work() as session:
        plans: list[Plan] = []
        for delivery in session.scalars(select(Delivery).where(
                Delivery.status == "posted", Delivery.invoice_id.is_(None))
                .order_by(Delivery.id).with_for_update(skip_locked=True)).all():
            facts = delivery_facts(delivery)
            decision = evaluate(rule_set, facts)
            row = record_decision(session, event="delivery.posted", subject_type="delivery",
                                  subject_id=delivery.id, decision=decision, facts=facts,
                                  today=today)
            action = next((a for a in decision.effects if a.name == "invoice"), None)
            if action is None:
                delivery.status = "deferred"
                continue
            customer = delivery.order.customer
            terms = Terms(int(action.params.get("payment_days", customer.payment_terms_days)),
                          _decimal(action.params.get("cash_discount_percent")),
                          _int(action.params.get("cash_discount_days")))
            plans.append(Plan([delivery], terms, row.id))
        count += _issue_all(rt, session, plans, today, rejected)
        if (today + timedelta(days=1)).month != today.month:
            count += _collective(rt, session, today, rejected)
    if len(rejected) == 1:
        raise rejected[0]
    if rejected:
        raise InvoiceRejected(", ".join(r.subject for r in rejected),
                              [f for r in rejected for f in r.failures])
    return count


def _collective(rt: Runtime, session: Session, today: date,
                rejected: list[InvoiceRejected]) -> int:
    deferred = session.scalars(select(Delivery).where(
        Delivery.status == "deferred", Delivery.delivery_date <= today)
        .order_by(Delivery.id).with_for_update(skip_locked=True)).all()
    by_customer: dict[int, list[Delivery]] = {}
    for delivery in deferred:
        by_customer.setdefault(delivery.order.customer_id, []).append(delivery)
    plans = [Plan(deliveries, Terms(deliveries[0].order.customer.payment_terms_days))
             for deliveries in by_customer.values()]
    return _issue_all(rt, session, plans, today, rejected)


@dataclass(frozen=True)
class Plan:
    """An invoice to issue: its deliveries, terms and the decision that asked for it."""

    deliveries: list[Delivery]
    terms: Terms
    decision_id: int | None = None


@dataclass(frozen=True)
class Draft:
    """A numbered invoice document, not yet checked, rendered or recorded."""

    doc: InvoiceDocument
    plan: Plan
    shipped: list[tuple[str, DeliveryLine]]


def _issue_all(rt: Runtime, session: Session, plans: list[Plan], today: date,
               rejected: list[InvoiceRejected]) -> int:
    """Issue the plans: from BATCH_MIN on, rendered together in a process pool; else, or
    when any of the batch is refused, one by one (which refuses exactly the bad ones and
    leaves no gap in the numbers)."""
    invoices = _issue_batch(rt, session, plans, today) if len(plans) >= BATCH_MIN else None
    if invoices is None:
        invoices = [_issue_or_refuse(rt, session, p, today, rejected) for p in plans]
    for invoice, plan in zip(invoices, plans, strict=True):
        if invoice is not None and plan.decision_id is not None:
            invoice.decision_id = plan.decision_id
    return sum(1 for invoice in invoices if invoice is not None)


def _issue_batch(rt: Runtime, session: Session, plans: list[Plan],
                 today: date) -> list[Invoice | None] | None:
    """Number and draft every plan in a savepoint, render all (checks, PDF/A-3, XML) over
    the cores, and record them; None, with the savepoint rolled back (numbers included),
    when any document is refused."""
    savepoint = session.begin_nested()
    try:
        drafts = [_draft(rt, session, plan, today) for plan in plans]
        files = list(render_batch([d.doc for d in drafts], override=rt.templates,
                                  logo=logo(rt), syntax=rt.config["invoicing.xrechnung_syntax"]))
        if any(f.failures for f in files):
            savepoint.rollback()
            return None
        invoices: list[Invoice | None] = [
            _record(rt, session, draft, *_store(rt, session, draft.doc, f.pdf, f.xml))
            for draft, f in zip(drafts, files, strict=True)]
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()
    return invoices


def _issue_or_refuse(rt: Runtime, session: Session, plan: Plan, today: date,
                     rejected: list[InvoiceRejected]) -> Invoice | None:
    """Issue in a savepoint; a refusal rolls it back (number included), is audited, opens a
    task for a clerk and is collected in `rejected`."""
    deliveries = plan.deliveries
    try:
        with session.begin_nested():
            return _issue(rt, session, plan, today)
    except InvoiceRejected as refusal:
        rejected.append(refusal)
        first = deliveries[0]
        audit(session, "system:invoicing", "invoice.rejected", "delivery", first.id,
              deliveries=[d.number for d in deliveries], rules=refusal.rule_ids,
              failures=[str(f) for f in refusal.failures])
        open_task(rt, session, kind="invoice_rejected", role="clerk",
                  subject=f"Invoice for delivery {first.number} refused "
                          f"({', '.join(refusal.rule_ids)})",
                  body="\n".join(str(f) for f in refusal.failures), object_type="delivery",
                  object_id=first.id, due=today + timedelta(days=1))
        return None


def _decimal(value: object) -> Decimal | None:
    return None if value in (None, 0, "") else Decimal(str(value))


def _int(value: object) -> int | None:
    return None if value in (None, 0, "") else int(str(value))


def _issue(rt: Runtime, session: Session, plan: Plan, today: date) -> Invoice:
    """One invoice for one delivery, or a collective one for several of one customer."""
    draft = _draft(rt, session, plan, today)
    customer = plan.deliveries[0].order.customer
    subject = (f"Invoice for delivery {', '.join(d.number for d in plan.deliveries)} "
               f"(customer {customer.number})")
    return _record(rt, session, draft, *_files(rt, session, draft.doc, "invoices", subject))


def _draft(rt: Runtime, session: Session, plan: Plan, today: date) -> Draft:
    """The next number and the invoice document of `plan`."""
    deliveries, terms = plan.deliveries, plan.terms
    first = deliveries[0]
    order, customer = first.order, first.order.customer
    number = next_number(session, rt.config["invoicing.series"], today.year)
    treatment = _treatment(rt, customer)
    shipped = [(d.number, dl) for d in deliveries
               for dl in sorted(d.lines, key=lambda x: x.order_line.position)]
    lines = apply_treatment([
        DocumentLine(i, dl.order_line.sku, dl.order_line.description, dl.quantity,
                     dl.order_line.unit, dl.order_line.unit_price, dl.order_line.vat_rate,
                     note="" if len(deliveries) == 1 else note)
        for i, (note, dl) in enumerate(shipped, start=1)], treatment)
    delivered = max(d.delivery_date for d in deliveries)
    references = ", ".join(r for r in dict.fromkeys(
        d.order.customer_reference for d in deliveries) if r)
    doc = build_invoice(number=number, type_code="380", issue_date=today,
                        delivery_date=delivered, seller=rt.config.company,
                        buyer=buyer_of(customer), lines=lines, terms=terms,
                        currency=order.currency, language=customer.language,
                        order_reference=references, vat_category=_zero_category(treatment),
                        consumer=not customer.b2b)
    return Draft(doc, plan, shipped)


def _record(rt: Runtime, session: Session, draft: Draft, pdf: Issued, xml: Issued) -> Invoice:
    """The invoice's rows, the deliveries marked invoiced, the mail queued, the audit entry."""
    doc, deliveries, terms = draft.doc, draft.plan.deliveries, draft.plan.terms
    first = deliveries[0]
    order, customer, number = first.order, first.order.customer, doc.number
    lines, delivered = doc.lines, doc.delivery_date
    invoice = Invoice(number=number, customer_id=customer.id,
                      order_id=order.id if len(deliveries) == 1 else None,
                      issue_date=doc.issue_date, delivery_date=delivered,
                      due_date=doc.due_date, payment_reference=doc.payment_reference,
                      cash_discount_percent=terms.discount_percent,
                      cash_discount_days=terms.discount_days, currency=order.currency,
                      net_amount=doc.totals.net, tax_amount=doc.totals.tax,
                      gross_amount=doc.totals.gross, pdf_sha256=pdf.sha256,
                      xml_sha256=xml.sha256)
    session.add(invoice)
    session.flush()
    for line, (_, dl) in zip(lines, draft.shipped, strict=True):
        session.add(InvoiceLine(invoice_id=invoice.id, position=line.position, sku=line.sku,
                                description=line.description, quantity=line.quantity,
                                unit=line.unit, unit_price=line.unit_price,
                                vat_rate=line.vat_rate, delivery_line_id=dl.id))
    for delivery in deliveries:
        delivery.invoice_id, delivery.status = invoice.id, "invoiced"
    t = WORDS[customer.language]
    mail(session, key=f"invoice-{number}", kind="invoice", recipient=customer.email,
         subject=f"{t['invoice']} {number}",
         body=greeting(customer.language, t["invoice"], number,
                       portal.mail_line(session, rt, customer, "system:invoicing")),
         files=[pdf, xml])
    audit(session, "system:invoicing", "invoice.issued", "invoice", invoice.id, number=number,
          gross=doc.totals.gross, deliveries=[d.number for d in deliveries])
    return invoice


def buyer_of(customer: Customer) -> Party:
    """The customer as the buyer of an e-invoice, with their BT-10 reference."""
    return replace(party_of(customer), buyer_reference=customer.buyer_reference or "")


def _treatment(rt: Runtime, customer: Customer) -> VatTreatment:
    return vat_treatment(rt.config.company.address.country, customer.country, customer.b2b,
                         customer.vat_id, lang=customer.language)


def _zero_category(treatment: VatTreatment) -> str:
    """The category of zero-rated lines: K or G by the treatment, else Z (zero rated)."""
    return treatment.category if treatment.rate is not None else "Z"


def _files(rt: Runtime, session: Session, doc: InvoiceDocument, kind: str,
           subject: str) -> tuple[Issued, Issued]:
    """Check the document and both CII flavours; then write (and archive, in `session`)
    the Factur-X PDF and the XRechnung XML (CII or UBL, as configured). Raises
    InvoiceRejected, before anything is written, when a check fails."""
    notes = invoice_notes(doc)
    facturx, xml = invoice_xml(doc), xrechnung_xml(doc)
    failures = check_documents(doc, notes, facturx, xml)
    if failures:
        raise InvoiceRejected(subject, failures)
    syntax = rt.config["invoicing.xrechnung_syntax"]
    if syntax != "cii":
        xml = xrechnung_file(doc, syntax)
    pdf = invoice_pdf(doc, notes, facturx, override=rt.templates, logo=logo(rt))
    return _store(rt, session, doc, pdf, xml, kind)


def _store(rt: Runtime, session: Session, doc: InvoiceDocument, pdf: bytes, xml: bytes,
           kind: str = "invoices") -> tuple[Issued, Issued]:
    stored = store_file(rt, kind, f"{doc.number}.pdf", pdf, "application/pdf", session=session)
    return stored, store_file(rt, kind, f"{doc.number}.xml", xml, "application/xml",
                              session=session)


def issue_credit_note(rt: Runtime, invoice_id: int, positions: list[int], reason: str,
                      actor: str, today: date) -> str:
    """Credit the given invoice positions in full; books the credit against the invoice."""
    with rt.db.unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            raise ValueError(f"invoice {invoice_id} does not exist")
        customer = session.get(Customer, invoice.customer_id)
        assert customer is not None
        chosen = [line for line in invoice.lines if line.position in positions]
        if not chosen:
            raise ValueError(f"{invoice.number}: no positions {positions} to credit")
        number = next_number(session, rt.config["invoicing.credit_note_series"], today.year)
        lines = [DocumentLine(i, line.sku, line.description, line.quantity, line.unit,
                              line.unit_price, line.vat_rate, reason)
                 for i, line in enumerate(chosen, start=1)]
        doc = build_invoice(number=number, type_code="381", issue_date=today,
                            delivery_date=invoice.delivery_date, seller=rt.config.company,
                            buyer=buyer_of(customer), lines=lines, terms=Terms(0),
                            currency=invoice.currency, language=customer.language,
                            preceding_invoice=invoice.number,
                            vat_category=_zero_category(_treatment(rt, customer)))
        still_open = max(invoice.gross_amount - allocated(session, [invoice.id]).get(
            invoice.id, Decimal("0")), Decimal("0"))
        set_off = min(doc.totals.gross, still_open)
        doc = with_terms(doc, settlement_text(customer.language, invoice.number, set_off,
                                              doc.totals.gross - set_off, invoice.currency))
        pdf, xml = _files(rt, session, doc, "credit_notes",
                          f"Credit note for {invoice.number} (customer {customer.number})")
        note = CreditNote(number=number, invoice_id=invoice.id, customer_id=customer.id,
                          issue_date=today, reason=reason, currency=invoice.currency,
                          net_amount=doc.totals.net, tax_amount=doc.totals.tax,
                          gross_amount=doc.totals.gross, pdf_sha256=pdf.sha256,
                          xml_sha256=xml.sha256)
        session.add(note)
        session.flush()
        for line in lines_of_credit(lines):
            line.credit_note_id = note.id
            session.add(line)
        if set_off > 0:  # what is refunded settles nothing of the invoice
            session.add(Allocation(invoice_id=invoice.id, credit_note_id=note.id,
                                   amount=set_off, kind="credit_note", created_by=actor))
        session.flush()
        settle_if_paid(session, [invoice.id])
        t = WORDS[customer.language]
        mail(session, key=f"credit-note-{number}", kind="credit_note", recipient=customer.email,
             subject=f"{t['credit_note']} {number}",
             body=greeting(customer.language, t["credit_note"], number), files=[pdf, xml])
        audit(session, actor, "credit_note.issued", "invoice", invoice.id, number=number,
              reason=reason, gross=doc.totals.gross)
        return number


def lines_of_credit(lines: list[DocumentLine]) -> list[CreditNoteLine]:
    return [CreditNoteLine(position=x.position, sku=x.sku, description=x.description,
                           quantity=x.quantity, unit=x.unit, unit_price=x.unit_price,
                           vat_rate=x.vat_rate) for x in lines]


__all__ = ["InvoiceRejected", "check_documents", "invoice_deliveries", "issue_credit_note",
           "lines_of"]
