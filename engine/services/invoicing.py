"""Invoicing: delivered goods become invoices as rules/invoicing.yaml decides; each invoice
gets a gapless number, a Factur-X PDF (PDF/A-3 with the EN 16931 XML embedded as
factur-x.xml) and the XRechnung XML beside it. Credit notes correct an issued invoice, which
itself never changes.

The customer decides the VAT treatment (engine.core.invoicing.vat_treatment: S at home, K
intra-community, G export). Before anything is issued, the document must be complete by
§ 14 (4) UStG (engine.core.ustg) and both XML flavours must pass the Factur-X XSD and the
official EN 16931 rules (documents.validation), the XRechnung file also XRechnung's rules.
Otherwise `InvoiceRejected` names the failed rules; the invoice is issued in a savepoint,
so nothing of it remains and its number is not used up. The batch job issues the others,
opens a task for a clerk per refused delivery, and raises the refusals at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.cii import facturx_pdf, invoice_xml, xrechnung_xml, xsd_errors
from documents.girocode import invoice_girocode
from documents.render import WORDS, render_pdf
from documents.validation import RuleFailure, en16931_errors, xrechnung_errors
from engine.core.invoicing import (
    Terms,
    VatTreatment,
    apply_treatment,
    build_invoice,
    invoice_notes,
    vat_treatment,
)
from engine.core.records import DocumentLine, InvoiceDocument
from engine.core.rules import evaluate
from engine.core.ustg import missing as ustg_missing
from engine.runtime import Runtime
from engine.services.convert import info_rows, lines_of, party_of
from engine.services.ledger import settle_if_paid
from engine.services.publish import Issued, greeting, mail, store_file
from engine.services.records import audit, next_number, record_decision
from engine.services.tasks import open_task
from engine.store.models import (
    Allocation,
    CreditNote,
    CreditNoteLine,
    Customer,
    Delivery,
    Invoice,
    InvoiceLine,
)


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
            invoice = _issue_or_refuse(rt, session, [delivery], terms, today, rejected)
            if invoice is not None:
                invoice.decision_id = row.id
                count += 1
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
    count = 0
    for deliveries in by_customer.values():
        customer = deliveries[0].order.customer
        terms = Terms(customer.payment_terms_days)
        if _issue_or_refuse(rt, session, deliveries, terms, today, rejected) is not None:
            count += 1
    return count


def _issue_or_refuse(rt: Runtime, session: Session, deliveries: list[Delivery], terms: Terms,
                     today: date, rejected: list[InvoiceRejected]) -> Invoice | None:
    """Issue in a savepoint; a refusal rolls it back (number included), is audited, opens a
    task for a clerk and is collected in `rejected`."""
    try:
        with session.begin_nested():
            return _issue(rt, session, deliveries, terms, today)
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


def _issue(rt: Runtime, session: Session, deliveries: list[Delivery], terms: Terms,
           today: date) -> Invoice:
    """One invoice for one delivery, or a collective one for several of one customer."""
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
                        buyer=party_of(customer), lines=lines, terms=terms,
                        currency=order.currency, language=customer.language,
                        order_reference=references, vat_category=_zero_category(treatment),
                        consumer=not customer.b2b)
    subject = (f"Invoice for delivery {', '.join(d.number for d in deliveries)} "
               f"(customer {customer.number})")
    pdf, xml = _files(rt, session, doc, "invoices", subject)
    invoice = Invoice(number=number, customer_id=customer.id,
                      order_id=order.id if len(deliveries) == 1 else None,
                      issue_date=today, delivery_date=delivered,
                      due_date=doc.due_date, payment_reference=doc.payment_reference,
                      cash_discount_percent=terms.discount_percent,
                      cash_discount_days=terms.discount_days, currency=order.currency,
                      net_amount=doc.totals.net, tax_amount=doc.totals.tax,
                      gross_amount=doc.totals.gross, pdf_sha256=pdf.sha256,
                      xml_sha256=xml.sha256)
    session.add(invoice)
    session.flush()
    for line, (_, dl) in zip(lines, shipped, strict=True):
        session.add(InvoiceLine(invoice_id=invoice.id, position=line.position, sku=line.sku,
                                description=line.description, quantity=line.quantity,
                                unit=line.unit, unit_price=line.unit_price,
                                vat_rate=line.vat_rate, delivery_line_id=dl.id))
    for delivery in deliveries:
        delivery.invoice_id, delivery.status = invoice.id, "invoiced"
    t = WORDS[customer.language]
    mail(session, key=f"invoice-{number}", kind="invoice", recipient=customer.email,
         subject=f"{t['invoice']} {number}", body=greeting(customer.language, t["invoice"], number),
         files=[pdf, xml])
    audit(session, "system:invoicing", "invoice.issued", "invoice", invoice.id, number=number,
          gross=doc.totals.gross, deliveries=[d.number for d in deliveries])
    return invoice


def _treatment(rt: Runtime, customer: Customer) -> VatTreatment:
    return vat_treatment(rt.config.company.address.country, customer.country, customer.b2b,
                         customer.vat_id, lang=customer.language)


def _zero_category(treatment: VatTreatment) -> str:
    """The category of zero-rated lines: K or G by the treatment, else Z (zero rated)."""
    return treatment.category if treatment.rate is not None else "Z"


def check_documents(doc: InvoiceDocument, notes: Sequence[str], facturx: bytes,
                    xrechnung: bytes) -> list[RuleFailure]:
    """Everything that stops issuing: § 14 UStG gaps, then per XML flavour the XSD and the
    EN 16931 rules, and XRechnung's own rules on the XRechnung file. [] when all pass."""
    found = [RuleFailure("§ 14 UStG", "fatal", doc.number, text)
             for text in ustg_missing(doc, notes)]
    for flavour, xml in (("factur-x.xml", facturx), (f"{doc.number}.xml", xrechnung)):
        schema = xsd_errors(xml)
        found += [RuleFailure("XSD", "fatal", flavour, text) for text in schema]
        if not schema:
            found += en16931_errors(xml)
    found += xrechnung_errors(xrechnung)
    return list({(f.id, f.text): f for f in found}.values())


def _files(rt: Runtime, session: Session, doc: InvoiceDocument, kind: str,
           subject: str) -> tuple[Issued, Issued]:
    """Check the document and both XML flavours; then write (and archive, in `session`)
    the Factur-X PDF and the XRechnung XML. Raises InvoiceRejected, before anything is
    written, when a check fails."""
    notes = invoice_notes(doc)
    facturx, xml = invoice_xml(doc), xrechnung_xml(doc)
    failures = check_documents(doc, notes, facturx, xml)
    if failures:
        raise InvoiceRejected(subject, failures)
    t = WORDS[doc.language]
    title = t["invoice"] if doc.type_code == "380" else t["credit_note"]
    your_vat_id = "Ihre USt-IdNr." if doc.language == "de" else "Your VAT ID"
    html_pdf = render_pdf("document.html", {
        "company": doc.seller, "recipient": doc.buyer, "lang": doc.language,
        "title": f"{title} {doc.number}",
        "info": info_rows(t, ("number", doc.number), ("date", doc.issue_date),
                          ("customer_number", doc.buyer.customer_number),
                          ("your_order", doc.order_reference),
                          (your_vat_id, doc.buyer.vat_id),
                          ("delivery_date", doc.delivery_date),
                          ("invoice_no", doc.preceding_invoice),
                          ("reference", doc.payment_reference)),
        "intro": "", "lines": doc.lines, "show_prices": True, "totals": doc.totals,
        "currency": doc.currency, "legal_notes": list(notes),
        "girocode": invoice_girocode(doc),
        "notes": [doc.terms, f"{t['reference']}: {doc.payment_reference}"]},
        override=rt.templates, pdf_variant="pdf/a-3b")
    pdf = store_file(rt, kind, f"{doc.number}.pdf", facturx_pdf(html_pdf, facturx),
                     "application/pdf", session=session)
    return pdf, store_file(rt, kind, f"{doc.number}.xml", xml, "application/xml",
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
                            buyer=party_of(customer), lines=lines, terms=Terms(0),
                            currency=invoice.currency, language=customer.language,
                            preceding_invoice=invoice.number,
                            vat_category=_zero_category(_treatment(rt, customer)))
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
        session.add(Allocation(invoice_id=invoice.id, credit_note_id=note.id,
                               amount=doc.totals.gross, kind="credit_note", created_by=actor))
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


__all__ = ["InvoiceRejected", "invoice_deliveries", "issue_credit_note", "lines_of"]
