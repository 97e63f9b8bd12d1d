"""Intake: store the original first, then read, extract and record it.

`receive` stores the bytes under their sha256 and creates the `documents` row (status
`received`) in its own transaction: from then on nothing is lost. `process` moves the
document `received → reading → extracted → needs_review | recorded`, or `failed` with
a reason; a crash leaves it in `received` or `reading`, and the intake job resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import PurePath

from sqlalchemy import select

from documents.errors import ReadError
from documents.parse import ReadOptions, parse_document
from documents.sniff import sniff
from documents.statements import malformed
from engine.core.records import ParsedDocument
from engine.runtime import Runtime
from engine.services import orders, payments
from engine.services.records import audit, jsonable
from engine.store.models import Document, DocumentArrival

MAX_NAME = 200


@dataclass(frozen=True)
class Received:
    document_id: int
    new: bool


class RejectedFile(Exception):
    """The file is refused before it is stored (too large, empty)."""


class Unreadable(Exception):
    """The stored file cannot be read; the message says why, naming the file."""


def safe_filename(name: str) -> str:
    """Only the last path part, printable, at most 200 characters."""
    base = PurePath(name.replace("\\", "/")).name
    cleaned = "".join(c for c in base if c.isprintable() and c not in "\x00/").strip(" .")
    return (cleaned or "unnamed")[:MAX_NAME]


def receive(rt: Runtime, data: bytes, filename: str, origin: str) -> Received:
    limit = rt.config["limits.upload_mb"] * 1024 * 1024
    if not data:
        raise RejectedFile(f"{safe_filename(filename)}: the file is empty")
    if len(data) > limit:
        raise RejectedFile(f"{safe_filename(filename)}: {len(data)} bytes, more than the "
                           f"limit of {rt.config['limits.upload_mb']} MB")
    digest = rt.blobs.put(data)
    name = safe_filename(filename)
    with rt.db.unit_of_work() as session:
        doc = session.scalar(select(Document).where(Document.sha256 == digest))
        new = doc is None
        if doc is None:
            doc = Document(sha256=digest, filename=name, origin=origin, size=len(data),
                           file_type=sniff(data), status="received")
            session.add(doc)
            session.flush()
        session.add(DocumentArrival(document_id=doc.id, origin=origin, filename=name))
        audit(session, f"system:{origin}", "document.received", "document", doc.id,
              filename=name, sha256=digest, new=new)
        return Received(doc.id, new)


def process_pending(rt: Runtime, today: date) -> int:
    with rt.db.unit_of_work() as session:
        ids = list(session.scalars(select(Document.id).where(
            Document.status.in_(("received", "reading"))).order_by(Document.id)))
    for doc_id in ids:
        process(rt, doc_id, today)
    return len(ids)


def process(rt: Runtime, document_id: int, today: date) -> str:
    """Read, extract and record one document; returns its new status."""
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        if doc is None or doc.status not in ("received", "reading"):
            return doc.status if doc else "missing"
        if doc.file_type == "eml":  # a mail: its attachments become documents of their own
            from engine.services import mailbox  # mailbox imports this module

            return mailbox.expand(rt, document_id, today).status
        doc.status = "reading"
        file_type, filename, sha = doc.file_type, doc.filename, doc.sha256
    data = rt.blobs.get(sha)
    try:
        parsed = read(rt, data, file_type, filename)
    except Unreadable as exc:
        return _fail(rt, document_id, str(exc))
    threshold = rt.config["review.confidence_threshold"]
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        assert doc is not None
        doc.kind = parsed.kind
        doc.parsed = jsonable(_summary(parsed))
        doc.confidence = Decimal(str(round(parsed.confidence, 3)))
        if parsed.kind == "unknown":
            doc.status, doc.reason = "failed", f"{filename}: not a purchase order, remittance " \
                "advice or bank statement that this service can read"
        elif parsed.kind == "bank_statement":
            problems = payments.import_statements(session, parsed, doc)
            # a malformed file books nothing and cannot be mended by a person here
            doc.status = "failed" if malformed(parsed.issues) else \
                ("recorded" if not problems else "needs_review")
            doc.reason = "\n".join(problems)
        elif parsed.confidence < threshold or _blocking(parsed):
            doc.status = "needs_review"
            doc.reason = "\n".join(str(i) for i in parsed.issues) or "low confidence"
        elif parsed.kind == "purchase_order":
            problems = orders.record_order(session, parsed, doc, today)
            doc.status, doc.reason = ("needs_review", "\n".join(problems)) if problems \
                else ("recorded", "")
        elif parsed.kind == "remittance_advice":
            payments.record_remittance(session, parsed, doc)
            doc.status = "recorded"
        else:
            doc.status, doc.reason = "needs_review", f"{filename}: {parsed.kind} needs a person"
        audit(session, "system:intake", f"document.{doc.status}", "document", doc.id,
              kind=parsed.kind, confidence=str(doc.confidence), reason=doc.reason)
        return doc.status


def read(rt: Runtime, data: bytes, file_type: str, filename: str) -> ParsedDocument:
    """Bytes → ParsedDocument by content (documents.parse: structured data wins, then the
    text layer, then OCR for pages without one)."""
    try:
        return parse_document(data, filename, ReadOptions.of(rt.config))
    except ReadError as exc:
        raise Unreadable(str(exc)) from exc


def _blocking(parsed: ParsedDocument) -> bool:
    return parsed.kind == "purchase_order" and not parsed.lines


def _fail(rt: Runtime, document_id: int, reason: str) -> str:
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        assert doc is not None
        doc.status, doc.reason = "failed", reason
        audit(session, "system:intake", "document.failed", "document", doc.id, reason=reason)
    return "failed"


def _summary(parsed: ParsedDocument) -> dict[str, object]:
    return {
        "kind": parsed.kind,
        "fields": {k: {"value": f.value, "confidence": f.confidence, "source": f.source}
                   for k, f in parsed.fields.items()},
        "lines": [vars(line) for line in parsed.lines],
        "remittance": [vars(line) for line in parsed.remittance],
        "statements": len(parsed.statements),
        "issues": [str(i) for i in parsed.issues],
    }

