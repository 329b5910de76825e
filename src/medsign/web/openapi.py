"""The OpenAPI document at ``/openapi.json``: problem responses, auth, examples.

FastAPI documents each route's success answer and a 422 ``HTTPValidationError`` in
``application/json``; medsign answers every error as an RFC 9457 problem
(``application/problem+json``, :mod:`medsign.web.problems`). This module rewrites the
generated document once, by rules that follow where each problem comes from, so every
route (including routes added later) documents them the same way:

- 401 ``unauthorized``: every ``/api/v1`` operation that needs a bearer token (RFC 6750
  §3.1), which also gets ``security: [{"bearer": []}]``;
- 404 ``not-found``: operations with an object id in the path or a request body that
  names objects (another organization's or, for a branch token, another branch's
  objects are 404 too);
- 409 ``conflict``: every state-changing operation (the object's state forbids it, or a
  request with the same ``Idempotency-Key`` is still running);
- 413 ``limit-exceeded``: operations with a request body (the size limit is enforced
  before the body is read, DESIGN.md "Security floor");
- 400 ``http-error``: operations with a body (it cannot be parsed at all);
- 415 ``unsupported-file-type``: uploads (``multipart/form-data``);
- 422 ``invalid-request`` / ``invalid-input`` / ...: operations with parameters or a body;
- 429 ``too-many-requests``: every ``/api/v1`` operation (per token, or per address on
  the public verification endpoints), with ``Retry-After`` (RFC 9110 §10.2.3);
- 503 ``service-unavailable`` (or ``storage-unavailable``, ``busy``): every ``/api/v1``
  operation, when the database or storage is away or the service is saturated, with
  ``Retry-After`` (docs/concurrency.md).

Codes a route declares itself (``responses=``) keep their description; their content
becomes the problem schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from medsign.web.problems import PROBLEM_JSON

PUBLIC_PREFIXES = (
    "/api/v1/verify",
    "/api/v1/notifications/receipts/",  # authenticated by a receipt token
    "/api/v1/notifications/callbacks/",  # authenticated by the provider's signature
)
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
STATE_CHANGING = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem. `type` names the problem (`/problems/<slug>`); "
    "`detail` says what to do next. Some problems add members: `field` (the input at "
    "fault), `errors` (each invalid field), `limit`, `rule` and `accepted_methods` "
    "(signature policy), `retry_after` (seconds).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/not-found"]},
        "title": {"type": "string", "examples": ["Not found"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer"},
    },
    "additionalProperties": True,
    "examples": [
        {
            "type": "/problems/not-found",
            "title": "Not found",
            "status": 404,
            "detail": "No envelope with id 7d1c... in this organization.",
        }
    ],
}

_DESCRIPTIONS = {
    400: ("http-error", "The body cannot be parsed (JSON not in UTF-8, malformed multipart)."),
    401: ("unauthorized", "No valid API token (missing, unknown or revoked)."),
    403: ("forbidden", "The token may not do this (e.g. a branch token managing branches)."),
    404: (
        "not-found",
        "No such object for this token (another organization's, or another branch's "
        "for a branch token, is not found either).",
    ),
    409: (
        "conflict",
        "The object's state does not allow this, or a request with the same "
        "Idempotency-Key is still being processed.",
    ),
    413: ("limit-exceeded", "The request or an uploaded file is over a configured limit."),
    415: ("unsupported-file-type", "An uploaded file is not a format medsign takes."),
    422: (
        "invalid-request",
        "A parameter or the body is not valid (unknown fields are refused), a value is "
        "not acceptable, or the signature policy refuses the request.",
    ),
    429: ("too-many-requests", "Rate limit reached: retry after `Retry-After` seconds."),
    503: (
        "service-unavailable",
        "The database or the document storage cannot be reached right now, or the service "
        "is busy; nothing was changed: retry after `Retry-After` seconds.",
    ),
}


def _problem(status: int, description: str | None = None) -> dict[str, Any]:
    slug, default = _DESCRIPTIONS[status]
    headers: dict[str, Any] = {}
    if status in (429, 503):
        headers["Retry-After"] = {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    out: dict[str, Any] = {
        "description": description or default,
        "content": {
            PROBLEM_JSON: {
                "schema": PROBLEM_REF,
                "example": {
                    "type": f"/problems/{slug}",
                    "title": slug.replace("-", " ").capitalize(),
                    "status": status,
                    "detail": default,
                },
            }
        },
    }
    if headers:
        out["headers"] = headers
    return out


def _codes(path: str, method: str, op: dict[str, Any]) -> set[int]:
    """The problem statuses an operation can answer (see the module docstring)."""
    body = op.get("requestBody", {}).get("content", {})
    has_params = bool(op.get("parameters")) or bool(body)
    codes = {429, 503}
    if not path.startswith(PUBLIC_PREFIXES):
        codes.add(401)
    if "{" in path or (body and not path.startswith(PUBLIC_PREFIXES)):
        codes.add(404)
    if method in STATE_CHANGING and not path.startswith(PUBLIC_PREFIXES):
        codes.add(409)
    if body:
        codes.add(413)
    if body:
        codes.add(400)
    if "multipart/form-data" in body:
        codes.add(415)
    if has_params:
        codes.add(422)
    for declared in op.get("responses", {}):
        if declared.isdigit() and int(declared) in _DESCRIPTIONS:
            codes.add(int(declared))
    return codes


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a generated OpenAPI document in place (and return it)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`msk_...`): `medsign org create`, or "
        "`POST /api/v1/tokens`. Organization- or branch-scoped.",
    }
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if not path.startswith(PUBLIC_PREFIXES):
                op["security"] = [{"bearer": []}]
            responses = op.setdefault("responses", {})
            for code in sorted(_codes(path, method, op)):
                declared = responses.get(str(code), {})
                description = declared.get("description")
                if code == 422 or description in (None, "", "Validation Error"):
                    description = None
                responses[str(code)] = _problem(code, description)
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and f'"#/components/schemas/{name}"' not in str(schema).replace(
            "'", '"'
        ):
            del schemas[name]
    return schema


def install(app: FastAPI) -> None:
    """Serve the rewritten document at ``/openapi.json`` (FastAPI builds and caches it;
    each newly built document is rewritten once)."""
    generate = app.openapi
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not done or done[0] != id(schema):
            document_problems(schema)
            done[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
