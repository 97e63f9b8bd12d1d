"""Files handed to the browser as attachments: the originals of documents and the issued
PDF and XML of invoices and credit notes (back office, API and portal use the same)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask_babel import gettext

from web.auth import runtime
from web.i18n import N_

MIME = {"pdf": "application/pdf", "xml": "application/xml"}


def attachment(data: bytes, filename: str, mime: str = "application/octet-stream") -> Response:
    return Response(data, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


INVOICE, CREDIT_NOTE = N_("Invoice"), N_("Credit note")


def issued_file(model: Any, ident: int, kind: str, what: str) -> Response:
    """The PDF or XML an invoice or credit note was issued with, or 404 naming what is
    missing."""
    if kind not in MIME:
        abort(404, gettext("There is no %(kind)s file: pdf or xml.", kind=kind))
    rt = runtime()
    with rt.db.unit_of_work() as session:
        row = session.get(model, ident)
        if row is None:
            abort(404, gettext("%(what)s %(id)s does not exist.", what=gettext(what), id=ident))
        sha, number = (row.pdf_sha256 if kind == "pdf" else row.xml_sha256), row.number
    if not sha:
        abort(404, gettext("%(what)s %(number)s has no %(kind)s file.", what=gettext(what),
                           number=number, kind=kind.upper()))
    return attachment(rt.blobs.get(sha), f"{number}.{kind}", MIME[kind])
