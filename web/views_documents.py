"""Documents: the list, the batch upload (progress streamed as each file is read), the
review queue and the review screen (page picture beside the fields, coloured by
confidence), confirm or reject, and "save as this sender's layout"."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from typing import Any

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_template,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select

from documents.pdftext import PdfError, read_pdf
from documents.preview import PreviewError, page_count, page_png
from engine.services import intake, payments
from engine.services.records import audit
from engine.store.models import Document, Order
from web.auth import login_required, runtime
from web.downloads import attachment
from web.i18n import N_
from web.views_common import PAGE_SIZE, actor, bp, today
from web.views_review_actions import CONFIRMABLE, confirm, reject
from web.views_text import said


def layouts_available() -> bool:
    return importlib.util.find_spec("documents.layouts") is not None


@bp.route("/documents")
@login_required()
def documents() -> Any:
    status = request.args.get("status", "")
    with runtime().db.unit_of_work() as s:
        query = select(Document).order_by(Document.id.desc()).limit(PAGE_SIZE)
        if status:
            query = query.where(Document.status == status)
        rows = list(s.scalars(query))
        s.expunge_all()
    return render_template("documents.html", rows=rows, status=status)


@bp.route("/documents/upload", methods=["POST"])
@login_required("clerk")
def upload() -> Any:
    """Store every file first (nothing accepted is lost), then read them one by one,
    streaming a line per file so the person sees the progress."""
    rt = runtime()
    files = [(f.filename or "upload", f.read()) for f in request.files.getlist("files")
             if f.filename]
    if not files:
        flash(gettext("Choose one or more files to upload."))
        return redirect(url_for("views.documents"))
    received: list[tuple[str, intake.Received | None, str]] = []
    for name, data in files:
        try:
            received.append((name, intake.receive(rt, data, name, "upload"), ""))
        except intake.RejectedFile as exc:
            received.append((name, None, said(exc)))
    return stream_template("upload_progress.html", total=len(received),
                           steps=_process(received))


def _process(received: list[tuple[str, intake.Received | None, str]]
             ) -> Iterator[dict[str, Any]]:
    rt, now = runtime(), today()
    statements = 0
    for n, (name, got, refused) in enumerate(received, start=1):
        safe = intake.safe_filename(name)
        if got is None:
            yield {"n": n, "name": safe, "status": "refused", "note": refused, "id": None}
            continue
        status = intake.process(rt, got.document_id, now)
        with rt.db.unit_of_work() as s:
            doc = s.get(Document, got.document_id)
            kind = doc.kind if doc else ""
            note = doc.reason.splitlines()[0] if doc and doc.reason else ""
        statements += kind == "bank_statement" and status == "recorded"
        yield {"n": n, "name": safe, "status": status, "id": got.document_id,
               "note": said(note) if got.new else gettext("the same file arrived before")}
    if statements:
        counts = payments.match_new(rt, now)
        yield {"n": len(received), "name": N_("matching"), "status": "matched",
               "note": gettext("%(booked)s booked, %(review)s for review",
                               booked=counts["matched"], review=counts["review"]), "id": None}


@bp.route("/documents/<int:document_id>")
@login_required()
def document(document_id: int) -> Any:
    rt = runtime()
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            abort(404)
        order = s.scalar(select(Order).where(Order.document_id == doc.id))
        order_ref = (order.id, order.number) if order else None
        s.expunge(doc)
    pages, problem = 0, ""
    if doc.file_type == "pdf":
        try:
            pages = page_count(rt.blobs.get(doc.sha256), doc.filename)
        except PreviewError as exc:
            problem = str(exc)
    elif doc.file_type in ("png", "jpeg", "tiff"):
        pages = 1
    fields = (doc.parsed.get("fields") or {}) if doc.parsed else {}
    return render_template("review.html", doc=doc, pages=pages, problem=problem, fields=fields,
                           order_ref=order_ref, confirmable=doc.kind in CONFIRMABLE,
                           next_id=_next_in_review(doc.id), layouts=layouts_available())


@bp.route("/documents/<int:document_id>/page/<int:page>.png")
@login_required()
def document_page(document_id: int, page: int) -> Any:
    rt = runtime()
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            abort(404)
        sha, name = doc.sha256, doc.filename
    try:
        png = page_png(rt.blobs.get(sha), name, page, width=request.args.get("w", 900, int))
    except PreviewError as exc:
        abort(404, str(exc))
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/documents/<int:document_id>/original")
@login_required()
def document_original(document_id: int) -> Any:
    rt = runtime()
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            abort(404)
        sha, name = doc.sha256, intake.safe_filename(doc.filename)
    return attachment(rt.blobs.get(sha), name)


@bp.route("/review")
@login_required()
def review_queue() -> Any:
    with runtime().db.unit_of_work() as s:
        rows = list(s.scalars(select(Document).where(Document.status == "needs_review")
                              .order_by(Document.id).limit(PAGE_SIZE)))
        s.expunge_all()
    return render_template("review_queue.html", rows=rows)


def _next_in_review(after: int) -> int | None:
    with runtime().db.unit_of_work() as s:
        return s.scalar(select(Document.id).where(Document.status == "needs_review",
                                                  Document.id > after)
                        .order_by(Document.id).limit(1))


def _corrections() -> dict[str, str]:
    return {k[2:]: v for k, v in request.form.items() if k.startswith("f_")}


@bp.route("/documents/<int:document_id>/confirm", methods=["POST"])
@login_required("clerk")
def confirm_document(document_id: int) -> Any:
    try:
        outcome = confirm(runtime(), document_id, _corrections(), actor(), today())
    except ValueError as exc:
        flash(said(exc))
        return redirect(url_for("views.document", document_id=document_id))
    if outcome.problems:
        for problem in outcome.problems:
            flash(said(problem))
        return redirect(url_for("views.document", document_id=document_id))
    flash(gettext("document %(id)s: recorded", id=document_id))
    following = _next_in_review(document_id)
    return redirect(url_for("views.document", document_id=following) if following
                    else url_for("views.review_queue"))


@bp.route("/documents/<int:document_id>/reject", methods=["POST"])
@login_required("clerk")
def reject_document(document_id: int) -> Any:
    try:
        reject(runtime(), document_id, request.form.get("reason", ""), actor())
        flash(gettext("document %(id)s: rejected", id=document_id))
    except ValueError as exc:
        flash(said(exc))
    return redirect(url_for("views.review_queue"))


def layout_corrections(kind: str, extracted: dict[str, Any], typed: dict[str, str],
                       fields: tuple[str, ...]) -> dict[str, str]:
    """The person's values under the layout's field names (the intake renames them, see
    documents.parse.INTAKE_NAMES): those changed, or all when none was; empty ones left out
    (a layout finds values, it cannot find nothing)."""
    from documents.parse import INTAKE_NAMES

    to_layout = {intake_name: name for name, intake_name in INTAKE_NAMES.get(kind, {}).items()}
    values = {to_layout.get(k, k): v.strip() for k, v in typed.items() if v.strip()}
    changed = {to_layout.get(k, k) for k, v in typed.items()
               if v.strip() != str((extracted.get(k) or {}).get("value") or "")}
    chosen = {k: v for k, v in values.items() if k in changed} or values
    return {k: v for k, v in chosen.items() if k in fields}


@bp.route("/documents/<int:document_id>/layout", methods=["POST"])
@login_required("clerk")
def save_layout(document_id: int) -> Any:
    """Save the corrected fields as the sender's layout (documents.layouts)."""
    if not layouts_available():
        abort(404, gettext("sender layouts are not available in this version"))
    layouts: Any = importlib.import_module("documents.layouts")
    rt = runtime()
    name = request.form.get("layout_name", "").strip()
    keywords = [k.strip() for k in request.form.get("keywords", "").split(",") if k.strip()]
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None:
            abort(404)
        sha, filename, kind = doc.sha256, doc.filename, doc.kind
        extracted = dict((doc.parsed or {}).get("fields") or {})
    corrections = layout_corrections(kind, extracted, _corrections(), tuple(layouts.FIELDS))
    try:
        if not corrections:
            raise ValueError("no field to learn: type the right values first")
        pages, _ = read_pdf(rt.blobs.get(sha), filename, max_pages=rt.config["limits.pdf_pages"])
        words = pages[0].words if pages else ()
        path = layouts.save_correction(
            rt.config.path("storage.rules") / "layouts", name=name, keywords=keywords,
            vat_id=request.form.get("vat_id", "").strip() or None, words=words,
            corrections=corrections)
    except (ValueError, PdfError, layouts.LayoutError) as exc:
        flash(gettext("the layout was not saved: %(why)s", why=said(exc)))
    else:
        flash(gettext("saved the sender's layout as %(file)s (%(fields)s)", file=path.name,
                      fields=", ".join(sorted(corrections))))
        with rt.db.unit_of_work() as s:
            audit(s, actor(), "layout.saved", "document", document_id, file=path.name,
                  fields=sorted(corrections))
    return redirect(url_for("views.document", document_id=document_id))
