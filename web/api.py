"""The JSON API under /api/v1: token auth, JSON errors, pagination, documents in.

A request carries `Authorization: Bearer o2c_…` (a token from `o2c token create`); no
cookies, so no CSRF (web.auth.check_csrf skips /api/). Each view is declared with
`@endpoint(role, summary, …)`: the role the token needs and what web/openapi.py writes
into the OpenAPI document. Errors under /api/ — also Flask's own 404, 405 and 413 —
answer `{"error": {"status", "message"}}`. Reads of orders, invoices, payments and
decisions are in web/api_records.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request, url_for
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from engine.services import intake, tokens
from engine.services.records import audit, jsonable
from engine.store.models import Document
from web import openapi
from web.auth import runtime
from web.openapi import Operation, Param

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/"
ROLES = tokens.ROLES


def is_api() -> bool:
    return request.path.startswith(PREFIX)


def error(status: int, message: str) -> Any:
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="o2c"'
    return response


def json_errors(exc: HTTPException) -> Any:
    """Flask's HTTP errors as JSON under /api/; elsewhere the usual page."""
    if not is_api():
        return exc
    status = exc.code or 500
    message = exc.description or exc.name
    if status == 413:
        message = (f"the upload is larger than the limit of "
                   f"{runtime().config['limits.upload_mb']} MB")
    return error(status, message)


def init_app(app: Flask) -> None:
    """The /api/v1 blueprint; its errors become JSON through web.errors, which calls
    `json_errors` for every path under /api/."""
    app.register_blueprint(bp)


@bp.before_request
def authenticate() -> Any:
    view = current_app.view_functions.get(request.endpoint or "")
    op: Operation | None = getattr(view, "openapi", None)
    if op is not None and op.role is None:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    holder = (tokens.authenticate(runtime(), token.strip())
              if scheme.lower() == "bearer" and token.strip() else None)
    if holder is None:
        return error(401, "send a valid API token: Authorization: Bearer o2c_…")
    g.api_token = holder
    return None


def endpoint(role: str | None, summary: str, schema: str | None = None, *,
             paginated: bool = False, query: tuple[Param, ...] = (), upload: bool = False,
             media: tuple[str, ...] = (), status: int = 200
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view: the token's least role (None: public) and its OpenAPI entry."""
    assert role is None or role in ROLES
    op = Operation(summary, role, schema, paginated, query, upload, media, status)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if role is not None and ROLES.index(g.api_token.role) < ROLES.index(role):
                abort(403, f"this needs a token with the role {role} or above")
            return view(*args, **kwargs)

        inner.openapi = op  # type: ignore[attr-defined]
        inner.api_role = role  # type: ignore[attr-defined]  # read by the route x role test
        return inner

    return decorate


def actor() -> str:
    return f"api:{g.api_token.name}"


def page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", "1"))
        per_page = int(request.args.get("per_page", "50"))
    except ValueError:
        abort(400, "page and per_page must be whole numbers")
    if page < 1 or not 1 <= per_page <= 200:
        abort(400, "page starts at 1; per_page is from 1 to 200")
    return page, per_page


def paginate(query: Select[Any], serialize: Callable[[Any, Session], dict[str, Any]]) -> Any:
    """One page of `query` (ordered by the caller) as {items, page, per_page, total, next}."""
    page, per_page = page_args()
    with runtime().db.unit_of_work() as session:
        total = session.scalar(select(func.count()).select_from(query.order_by(None)
                                                                 .subquery())) or 0
        rows: Iterable[Any] = session.scalars(query.limit(per_page)
                                              .offset((page - 1) * per_page))
        items = [serialize(row, session) for row in rows]
    nxt = None
    if page * per_page < total:
        values: dict[str, Any] = {**request.args.to_dict(), **(request.view_args or {}),
                                  "page": page + 1, "per_page": per_page}
        nxt = url_for(str(request.endpoint), **values)
    return jsonify({"items": jsonable(items), "page": page, "per_page": per_page,
                    "total": total, "next": nxt})


def newest(model: Any, **filters: Any) -> Select[Any]:
    """Rows of `model`, newest first, narrowed by each query argument given (argument name
    → the column it must equal)."""
    query = select(model).order_by(model.id.desc())
    for name, column in filters.items():
        if request.args.get(name):
            query = query.where(column == request.args[name])
    return query


def detail(model: Any, ident: int, what: str,
           serialize: Callable[[Any, Session], dict[str, Any]]) -> Any:
    """One row as JSON, or 404 naming it."""
    with runtime().db.unit_of_work() as session:
        row = session.get(model, ident)
        if row is None:
            abort(404, f"{what} {ident} does not exist")
        return jsonify(jsonable(serialize(row, session)))


def int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        abort(400, f"{name} must be a whole number, not {value!r}")
    return int(value)


@bp.route("/openapi.json")
@endpoint(None, "This document: the API in OpenAPI 3.1", "OpenAPI")
def openapi_document() -> Any:
    return jsonify(openapi.build(current_app))


def _document(doc: Document, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": doc.id, "filename": doc.filename, "sha256": doc.sha256, "state": doc.status,
        "kind": doc.kind, "file_type": doc.file_type, "reason": doc.reason,
        "confidence": None if doc.confidence is None else str(doc.confidence),
        "origin": doc.origin, "created_at": doc.created_at.isoformat(timespec="seconds")}
    if full:
        out["fields"] = (doc.parsed or {}).get("fields", {})
        out["lines"] = (doc.parsed or {}).get("lines", [])
        out["issues"] = (doc.parsed or {}).get("issues", [])
    return out


@bp.route("/documents", methods=["POST"])
@endpoint("clerk", "Upload documents (several files, multipart field `files`)",
          "UploadResult", upload=True, status=201)
def upload() -> Any:
    rt = runtime()
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        abort(400, "send one or more files in the multipart field 'files'")
    done, refused = [], []
    for storage in files:
        name = storage.filename or "upload"
        try:
            received = intake.receive(rt, storage.read(), name, "api")
        except intake.RejectedFile as exc:
            refused.append({"filename": intake.safe_filename(name), "error": str(exc)})
            continue
        state = intake.process(rt, received.document_id, date.today())
        done.append((received, state))
    with rt.db.unit_of_work() as session:
        answer = []
        for received, state in done:
            doc = session.get(Document, received.document_id)
            assert doc is not None
            answer.append({"id": doc.id, "filename": doc.filename, "sha256": doc.sha256,
                           "state": state, "new": received.new})
        audit(session, actor(), "api.documents_uploaded", "document",
              done[0][0].document_id if done else None,
              documents=[a["id"] for a in answer], refused=[r["filename"] for r in refused])
    if not answer:
        return error(422, "; ".join(r["error"] for r in refused))
    response = jsonify({"documents": answer, "refused": refused})
    response.status_code = 201
    return response


@bp.route("/documents")
@endpoint("viewer", "List documents, newest first", "Document", paginated=True,
          query=(Param("state", "only documents in this state"),))
def document_list() -> Any:
    return paginate(newest(Document, state=Document.status),
                    lambda d, _: _document(d, full=False))


@bp.route("/documents/<int:document_id>")
@endpoint("viewer", "A document's state and extracted fields", "Document")
def document(document_id: int) -> Any:
    return detail(Document, document_id, "document", lambda d, _: _document(d, full=True))


from web import api_records  # noqa: E402,F401  # its routes join this blueprint
