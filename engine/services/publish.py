"""Issuing a document: render it, store it by sha256, archive it in the hash chain, keep a
copy under out/<kind>/, and queue the mail that carries it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from documents.render import logo_uri, render_pdf
from engine.runtime import Runtime
from engine.services.archive import archive_file
from engine.services.outbox import enqueue
from engine.services.records import audit

KINDS = ("quotes", "confirmations", "delivery_notes", "invoices", "credit_notes", "reminders",
         "statements")


@dataclass(frozen=True)
class Issued:
    filename: str
    sha256: str
    type: str

    def attachment(self) -> dict[str, Any]:
        return {"filename": self.filename, "sha256": self.sha256, "type": self.type}


def store_file(rt: Runtime, kind: str, filename: str, data: bytes, mime: str, *,
               session: Session | None = None) -> Issued:
    """Store an issued file by sha256 (the archive copy) and under out/<kind>/.

    Given the caller's `session`, the file is also appended to the archive chain in that
    transaction (GoBD): a rollback removes the entry together with the document's row.
    """
    assert kind in KINDS, kind
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    digest = rt.blobs.put(data)
    folder = rt.out_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / safe).write_bytes(data)
    if session is not None:
        archive_file(session, kind, safe, data)
    return Issued(safe, digest, mime)


def render_document(rt: Runtime, kind: str, filename: str, template: str,
                    context: dict[str, Any], pdf_variant: str | None = None, *,
                    session: Session | None = None) -> Issued:
    """Render a template to PDF (with the company's logo) and store it (archived when
    `session` is given)."""
    pdf = render_pdf(template, {"logo": logo(rt), **context}, override=rt.templates,
                     pdf_variant=pdf_variant)
    return store_file(rt, kind, filename, pdf, "application/pdf", session=session)


def logo(rt: Runtime) -> str | None:
    """The letterhead logo (company.logo) as a file URI, or None."""
    return logo_uri(rt.config.path("company.logo")) if rt.config["company.logo"] else None


def mail(session: Session, *, key: str, kind: str, recipient: str, subject: str, body: str,
         files: list[Issued]) -> None:
    """Queue the mail; a customer without an address gets none (the document is still
    issued and archived), and the audit log says so."""
    if not recipient.strip():
        audit(session, "system:outbox", "mail.no_recipient", "outbox", None, key=key, kind=kind,
              files=[f.filename for f in files])
        return
    enqueue(session, key=key, kind=kind, recipient=recipient, subject=subject, body=body,
            attachments=[f.attachment() for f in files])


def greeting(lang: str, what: str, number: str, extra: str = "") -> str:
    """The body of the mail that carries a document (`extra`: a paragraph such as the
    portal link)."""
    more = f"{extra}\n\n" if extra else ""
    if lang == "de":
        return (f"Sehr geehrte Damen und Herren,\n\nanbei erhalten Sie: {what} {number}.\n\n"
                f"{more}Mit freundlichen Grüßen\nIhre Buchhaltung")
    return f"Dear Sir or Madam,\n\nplease find attached: {what} {number}.\n\n{more}Kind regards"
