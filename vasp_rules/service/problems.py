"""Errors as RFC 9457 problem details: every error the service answers is an
``application/problem+json`` object with ``type``, ``title``, ``status``, ``detail`` and
``instance``, plus ``errors`` (field paths) when there are some, and ``request_id``.

A problem type is a stable URI, :data:`PROBLEM_BASE` followed by a slug (docs/service.md lists
them): clients branch on ``type``, never on the wording of ``detail``. The base is a ``tag:``
URI (RFC 4151): an identifier that no client should try to fetch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

#: every problem type is this base and a slug from PROBLEMS
PROBLEM_BASE = "tag:vasp-rules,2026:problems/"
MEDIA_TYPE = "application/problem+json"

#: slug -> (status, title): the title is the same for every occurrence of a type
PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid-json": (400, "The body is not readable JSON"),
    "bad-request": (400, "Malformed request"),
    "unauthorized": (401, "Missing or wrong API key"),
    "not-found": (404, "No such endpoint"),
    "unknown-pack": (404, "Unknown rule pack"),
    "unknown-kind": (404, "Unknown document kind"),
    "method-not-allowed": (405, "Method not allowed"),
    "too-large": (413, "Request too large"),
    "unsupported-media-type": (415, "The body is not declared as JSON"),
    "invalid-document": (422, "Invalid document"),
    "invalid-parameter": (422, "Invalid query parameter"),
    "invalid-request": (422, "Invalid request"),
    "engine-refused": (422, "The rule engine refused the input"),
    "internal-error": (500, "Internal error"),
    "overloaded": (503, "Too many requests in progress"),
    "decision-log-unavailable": (503, "Decision log unavailable"),
}

#: the type of an error raised without one, by status
_BY_STATUS = {
    400: "invalid-json",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    500: "internal-error",
    503: "overloaded",
}


def problem_type(slug: str) -> str:
    """The stable URI of a problem type."""
    return PROBLEM_BASE + slug


def slug_for(status: int, errors: Sequence[tuple[str, str]] = ()) -> str:
    """The problem type of an error that names none: by status (a 422 whose field paths are
    all query parameters is an invalid parameter)."""
    if status == 422 and errors and all(p.startswith("query.") for p, _ in errors):
        return "invalid-parameter"
    return _BY_STATUS.get(status, "bad-request" if status < 500 else "internal-error")


class ApiError(Exception):
    """An error response: status, one-line detail, optional (path, message) details, the
    problem type's slug (None: chosen by status) and extra response headers."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[tuple[str, str]] = (),
        *,
        problem: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())
        self.errors = list(errors)
        self.problem = problem or slug_for(status, self.errors)
        self.headers = dict(headers or {})


def problem_body(exc: ApiError, request_id: str, instance: str) -> dict[str, Any]:
    """The problem details object. `error` repeats `detail`: the one-line message of the
    service's earlier error bodies, kept so that their clients keep working."""
    body: dict[str, Any] = {
        "type": problem_type(exc.problem),
        "title": PROBLEMS[exc.problem][1],
        "status": exc.status,
        "detail": exc.message,
        "instance": instance,
        "request_id": request_id,
        "error": exc.message,
    }
    if exc.errors:
        body["errors"] = [{"path": p, "message": " ".join(m.split())} for p, m in exc.errors]
    return body


def from_error(exc: ApiError, request_id: str, instance: str) -> Response:
    """The error as an ``application/problem+json`` response on one line."""
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("www-authenticate", "Bearer")
    return Response(
        json.dumps(problem_body(exc, request_id, instance), ensure_ascii=False) + "\n",
        exc.status,
        headers=headers,
        media_type=MEDIA_TYPE,
    )


def problem_response(
    status: int,
    detail: str,
    request_id: str,
    instance: str,
    *,
    problem: str | None = None,
    errors: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The response of an error that was not raised (see ApiError for the arguments)."""
    exc = ApiError(status, detail, errors, problem=problem, headers=headers)
    return from_error(exc, request_id, instance)


def schema() -> dict[str, Any]:
    """The JSON Schema of a problem details object, for the OpenAPI document."""
    return {
        "type": "object",
        "description": "RFC 9457 problem details; `type` is one of the documented problem "
        "types (docs/service.md, Errors)",
        "required": ["type", "title", "status", "detail", "instance", "request_id"],
        "properties": {
            "type": {"type": "string", "enum": [problem_type(s) for s in PROBLEMS]},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "one line"},
            "instance": {"type": "string", "description": "the request's path"},
            "request_id": {"type": "string"},
            "error": {"type": "string", "description": "the same as detail"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
