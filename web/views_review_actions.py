"""The review queue's one use case: a person corrects the fields of a document the reader
was unsure of and confirms it; the corrected document is then recorded like any other
(an order from a purchase order, an advice from a remittance advice), in one transaction.
What is still wrong keeps the document in review, with the reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.core.records import Field, ParsedDocument, ParsedLine, RemittanceLine
from engine.runtime import Runtime
from engine.services import orders, payments
from engine.services.records import audit, jsonable
from engine.store.models import Document

CONFIRMABLE = ("purchase_order", "remittance_advice")
PERSON = 1.0  # the confidence of a value a person typed or confirmed


@dataclass(frozen=True)
class Outcome:
    status: str
    problems: tuple[str, ...]


def typed(name: str, text: str) -> Any:
    """A field's text as the type the recorders expect: dates, amounts, or text."""
    text = text.strip()
    if not text:
        return None
    if name.endswith("_date"):
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"{name}: '{text}' is not a date (YYYY-MM-DD)") from exc
    if name.endswith("_amount") or name == "total":
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation as exc:
            raise ValueError(f"{name}: '{text}' is not an amount") from exc
    return text


def revive(summary: Mapping[str, Any], source: str,
           corrections: Mapping[str, str]) -> ParsedDocument:
    """The stored summary of a parsed document, with the person's corrections applied."""
    fields: dict[str, Field] = {}
    for name, stored in (summary.get("fields") or {}).items():
        value = typed(name, str(stored["value"])) if stored.get("value") is not None else None
        fields[name] = Field(value, float(stored.get("confidence") or 0), stored.get("source", ""))
    for name, text in corrections.items():
        old = fields.get(name)
        value = typed(name, text)
        if old is None or old.value != value:
            fields[name] = Field(value, PERSON, "corrected by a person")
        else:
            fields[name] = Field(old.value, PERSON, old.source)
    lines = tuple(ParsedLine(int(x["position"]), str(x["sku"]), str(x["description"]),
                             Decimal(str(x["quantity"])), str(x["unit"]),
                             Decimal(str(x["unit_price"])), Decimal(str(x["amount"])),
                             str(x.get("source", "")))
                  for x in summary.get("lines") or [])
    remittance = tuple(RemittanceLine(str(x["invoice_number"]), Decimal(str(x["amount"])),
                                      Decimal(str(x.get("deduction") or 0)),
                                      str(x.get("source", "")))
                       for x in summary.get("remittance") or [])
    return ParsedDocument(kind=str(summary.get("kind", "")), source=source, fields=fields,
                          lines=lines, remittance=remittance)


def confirm(rt: Runtime, document_id: int, corrections: Mapping[str, str], actor: str,
            today: date) -> Outcome:
    """Record the corrected document, or keep it in review saying why."""
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.status != "needs_review":
            raise ValueError(f"document {document_id} is not waiting for review")
        if doc.kind not in CONFIRMABLE:
            raise ValueError(f"{doc.filename}: a {doc.kind or 'unknown'} document cannot be "
                             "confirmed here; reject it or import it where it belongs")
        parsed = revive(doc.parsed, doc.filename, corrections)
        changed = {k: v for k, v in corrections.items()
                   if str((doc.parsed.get("fields") or {}).get(k, {}).get("value") or "")
                   != v.strip()}
        if doc.kind == "purchase_order":
            if not parsed.lines:
                problems = [f"{doc.filename}: no order lines were read; the order cannot be "
                            "recorded from this document"]
            else:
                problems = orders.record_order(session, parsed, doc, today)
        else:
            payments.record_remittance(session, parsed, doc)
            problems = []
        doc.parsed = {**doc.parsed, "fields": jsonable(
            {k: {"value": f.value, "confidence": f.confidence, "source": f.source}
             for k, f in parsed.fields.items()})}
        if problems:
            doc.reason = "\n".join(problems)
            audit(session, actor, "document.review_failed", "document", doc.id,
                  corrections=changed, problems=problems)
            return Outcome("needs_review", tuple(problems))
        doc.status, doc.reason = "recorded", ""
        doc.confidence = Decimal("1.000")
        audit(session, actor, "document.confirmed", "document", doc.id, corrections=changed)
        return Outcome("recorded", ())


def reject(rt: Runtime, document_id: int, reason: str, actor: str) -> None:
    """A person decides the document is not for this service (kept, never processed)."""
    if not reason.strip():
        raise ValueError("say why the document is rejected")
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.status not in ("needs_review", "failed"):
            raise ValueError(f"document {document_id} is not waiting for review")
        doc.status, doc.reason = "rejected", reason.strip()
        audit(session, actor, "document.rejected", "document", doc.id, reason=reason.strip())
