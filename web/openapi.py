"""The OpenAPI 3.1 document of the JSON API, generated from the app's route table.

Each API view carries an `Operation` (set by `web.api.endpoint`): its summary, the role it
needs, its query parameters and the schema of its answer. `build(app)` walks
`app.url_map`, so every route of the API blueprint appears, with the path parameters and
methods Flask itself routes; nothing lists the routes a second time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

VERSION = "1.0.0"
MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "decimal, 2 places"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date"}


def _obj(required: list[str] | None = None, **props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props)}


PARTY = _obj(number={"type": "string"}, name={"type": "string"})
LINE = _obj(position={"type": "integer"}, sku={"type": "string"},
            description={"type": "string"}, quantity={"type": "string"},
            unit={"type": "string"}, unit_price=MONEY, vat_rate={"type": "string"})
SCHEMAS: dict[str, dict[str, Any]] = {
    "OpenAPI": {"type": "object", "description": "an OpenAPI 3.1 document"},
    "Error": _obj(error=_obj(status={"type": "integer"}, message={"type": "string"})),
    "Document": _obj(
        ["id", "filename", "sha256", "state"], id={"type": "integer"},
        filename={"type": "string"}, sha256={"type": "string"},
        state={"enum": ["received", "reading", "extracted", "needs_review", "recorded",
                        "failed"]},
        kind={"type": "string"}, file_type={"type": "string"}, reason={"type": "string"},
        confidence={"type": ["string", "null"]}, origin={"type": "string"},
        fields={"type": "object", "description": "name → {value, confidence, where}"},
        lines={"type": "array", "items": {"type": "object"}},
        issues={"type": "array", "items": {"type": "string"}}, created_at=DATETIME),
    "UploadResult": _obj(
        documents={"type": "array", "items": _obj(
            ["id", "filename", "sha256", "state", "new"], id={"type": "integer"},
            filename={"type": "string"}, sha256={"type": "string"},
            state={"type": "string"}, new={"type": "boolean"})},
        refused={"type": "array", "items": _obj(filename={"type": "string"},
                                                 error={"type": "string"})}),
    "Order": _obj(
        ["id", "number", "customer", "status"], id={"type": "integer"},
        number={"type": "string"}, customer=PARTY, customer_reference={"type": "string"},
        order_date=DATE, requested_date=NULLABLE_DATE, status={"type": "string"},
        currency={"type": "string"}, net_amount=MONEY, tax_amount=MONEY, gross_amount=MONEY,
        quote_id={"type": ["integer", "null"]}, document_id={"type": ["integer", "null"]},
        lines={"type": "array", "items": LINE},
        approvals={"type": "array", "items": {"type": "object"}},
        decisions={"type": "array", "items": {"type": "integer"}}),
    "Invoice": _obj(
        ["id", "number", "customer", "status"], id={"type": "integer"},
        number={"type": "string"}, customer=PARTY, order_id={"type": ["integer", "null"]},
        issue_date=DATE, delivery_date=DATE, due_date=DATE, status={"type": "string"},
        currency={"type": "string"}, net_amount=MONEY, tax_amount=MONEY, gross_amount=MONEY,
        open_amount=MONEY, payment_reference={"type": "string"},
        files=_obj(pdf={"type": ["string", "null"]}, xml={"type": ["string", "null"]}),
        lines={"type": "array", "items": LINE},
        decision_id={"type": ["integer", "null"]}),
    "Payment": _obj(
        ["id", "booking_date", "amount", "status"], id={"type": "integer"},
        booking_date=DATE, value_date=NULLABLE_DATE, amount=MONEY,
        currency={"type": "string"}, counterparty_name={"type": "string"},
        counterparty_iban={"type": "string"}, reference={"type": "string"},
        remittance_info={"type": "string"}, status={"type": "string"},
        match_confidence={"type": ["string", "null"]},
        decision_id={"type": ["integer", "null"]},
        allocations={"type": "array", "items": _obj(
            invoice_id={"type": "integer"}, invoice_number={"type": "string"},
            amount=MONEY, kind={"type": "string"}, created_by={"type": "string"},
            active={"type": "boolean"})},
        suggestions={"type": "array", "items": {"type": "object"}}),
    "Decision": _obj(
        ["id", "event", "outcome", "trace"], id={"type": "integer"},
        event={"type": "string"}, subject_type={"type": "string"},
        subject_id={"type": "integer"}, rule_set={"type": "string"},
        version={"type": "string"}, sha256={"type": "string"}, outcome={"type": "string"},
        effects={"type": "array", "items": {"type": "object"}},
        trace={"type": "array", "items": {"type": "object"},
               "description": "every rule looked at: id, matched, message"},
        facts={"type": "object"}, today=DATE, created_at=DATETIME),
}


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Operation:
    summary: str
    role: str | None  # None: no token needed
    schema: str | None = None  # the answer's schema name; None with `media`
    paginated: bool = False
    query: tuple[Param, ...] = ()
    upload: bool = False  # a multipart body with `files`
    media: tuple[str, ...] = ()  # a file answer of these types
    status: int = 200


PAGE_PARAMS = (Param("page", "page number, from 1", {"type": "integer", "minimum": 1}),
               Param("per_page", "items per page, 1 to 200 (default 50)",
                     {"type": "integer", "minimum": 1, "maximum": 200}))
ERRORS = {400: "bad request", 401: "no valid token", 403: "the token's role may not do this",
          404: "not found", 405: "method not allowed", 413: "upload too large",
          422: "the input cannot be processed"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(name: str) -> dict[str, Any]:
    return _obj(items={"type": "array", "items": _ref(name)}, page={"type": "integer"},
                per_page={"type": "integer"}, total={"type": "integer"},
                next={"type": ["string", "null"]})


def _operation(endpoint: str, method: str, op: Operation,
               path_params: list[tuple[str, str, str]]) -> dict[str, Any]:
    def param_schema(conv: str, args: str) -> dict[str, Any]:
        if conv == "int":
            return {"type": "integer"}
        if conv == "any":
            return {"type": "string", "enum": [a.strip() for a in args.split(",")]}
        return {"type": "string"}

    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": param_schema(conv, args)}
        for conv, args, name in path_params]
    for p in (PAGE_PARAMS if op.paginated else ()) + op.query:
        params.append({"name": p.name, "in": "query", "required": False,
                       "description": p.description, "schema": p.schema})
    if op.media:
        ok: dict[str, Any] = {"description": "the file",
                              "content": {m: {"schema": {"type": "string",
                                                         "contentMediaType": m}}
                                          for m in op.media}}
    else:
        assert op.schema, endpoint
        schema = _page(op.schema) if op.paginated else _ref(op.schema)
        ok = {"description": op.summary, "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {str(op.status): ok}
    codes = [400, 404, 405] + ([401, 403] if op.role else []) + (
        [413, 422] if op.upload else [])
    for code in sorted(codes):
        responses[str(code)] = {"description": ERRORS[code], "content": {
            "application/json": {"schema": _ref("Error")}}}
    result: dict[str, Any] = {
        "operationId": endpoint.split(".", 1)[1] + ("" if method == "get" else f"_{method}"),
        "summary": op.summary, "parameters": params, "responses": responses,
        "security": [{"bearer": []}] if op.role else []}
    if op.role:
        result["description"] = f"Needs a token with the role {op.role} or above."
    if op.upload:
        result["requestBody"] = {"required": True, "content": {"multipart/form-data": {
            "schema": _obj(files={"type": "array", "items": {
                "type": "string", "contentMediaType": "application/octet-stream"}})}}}
    return result


def build(app: Flask, blueprint: str = "api") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(blueprint + "."):
            continue
        op: Operation | None = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if op is None:
            raise LookupError(f"API route {rule.rule} ({rule.endpoint}) declares no Operation")
        path_params = re.findall(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule)
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule.endpoint, method.lower(), op, path_params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "o2c order-to-cash API", "version": VERSION,
                 "description": "Money is a decimal string; dates are ISO 8601. Errors are "
                                "{\"error\": {\"status\", \"message\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "a token from `o2c token create NAME --role ROLE`"}}},
    }
