"""Reading requests: the JSON body (exact decimals, no duplicate keys, within the limits), the
query parameters, the documents of a body; and the decision JSON the endpoints answer with.
Below app.py and the endpoints beside it (monitor.py)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..core.limits import LimitError, check_tree, invalid_unicode
from ..entities.ivms101 import parse_ivms101_many
from ..model.decision import Decision
from .problems import ApiError

#: an endpoint
Handler = Callable[[Request], Awaitable[Response]]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ApiError(400, f"invalid JSON: duplicate key {key!r} in one object")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ApiError(400, f"invalid JSON: {name} is not allowed")


def check_content_type(request: Request) -> None:
    """415 unless the body is declared JSON: ``application/json`` or a ``+json`` type, in
    UTF-8. A body without Content-Type is read as JSON; form and text types are refused, since
    a web page may send those to the service from any browser without asking first."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media, _, params = declared.partition(";")
    media = media.strip().lower()
    kind, _, subtype = media.partition("/")
    if media != "application/json" and not (kind == "application" and subtype.endswith("+json")):
        raise ApiError(
            415,
            f"Content-Type {media[:60] or '(empty)'!r} is not JSON: send Content-Type: "
            "application/json (curl: --json, or -H 'content-type: application/json')",
            headers={"accept-post": "application/json"},
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise ApiError(
                415,
                f"charset {charset[:40]!r}: the body must be application/json in UTF-8",
                headers={"accept-post": "application/json"},
            )


def check_query(request: Request, names: Sequence[str], repeatable: Sequence[str] = ()) -> None:
    """422 for a query parameter the endpoint does not know (it would be ignored and change
    the meaning silently, e.g. `bacth=false`) or one given twice that is not repeatable
    (which value was meant?), naming each."""
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        shown = name[:40]
        if name not in names:
            near = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            known = ", ".join(names) or "none"
            errors.append((f"query.{shown}", f"unknown parameter{hint}; known: {known}"))
        elif name in seen and name not in repeatable:
            errors.append((f"query.{shown}", "given more than once"))
        seen.add(name)
    if errors:
        unique = list(dict.fromkeys(errors))
        shown = "; ".join(f"{p}: {m}" for p, m in unique)
        raise ApiError(422, f"invalid query: {shown}", unique, problem="invalid-parameter")


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON (numbers with a fraction as exact decimals); 413 past `limit` bytes,
    415 when its Content-Type is not JSON."""
    check_content_type(request)
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "invalid Content-Length", problem="bad-request")
        if int(declared) > limit:
            raise ApiError(413, f"body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise ApiError(400, "empty body: send a JSON document or a list of documents")
    try:
        data = json.loads(
            body,
            parse_float=Decimal,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
        )
        check_tree(data)  # nesting within the limit every reader applies
    except LimitError as exc:
        raise ApiError(400, f"invalid JSON: {exc.message}") from None
    except UnicodeDecodeError:
        raise ApiError(400, "invalid JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ApiError(400, f"invalid JSON at {where}: {exc.msg}") from None
    except RecursionError:
        raise ApiError(400, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer too long to read
        raise ApiError(400, f"invalid JSON: {exc}") from None
    broken = invalid_unicode(data)  # valid JSON, but text no encoder can write (ENTITIES.md)
    if broken:
        errors = [(f"documents{p}" if p.startswith("[") else p, m) for p, m in broken]
        shown = "; ".join(f"{p or 'body'}: {m}" for p, m in errors)
        raise ApiError(422, f"invalid document: {shown}", errors, problem="invalid-document")
    return data


def query_date(request: Request, name: str, *, required: bool = True) -> date | None:
    value = request.query_params.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name}=YYYY-MM-DD is required", [(f"query.{name}", "missing")])
        return None
    try:
        if not _DATE.fullmatch(value):  # fromisoformat alone would take 20260601 too
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422,
            f"{name} {value[:40]!r} is not a date (YYYY-MM-DD)",
            [(f"query.{name}", "not a date (YYYY-MM-DD)")],
        ) from None


def query_choice(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise ApiError(
            422,
            f"{name} is one of {', '.join(choices)}; got {value[:40]!r}",
            [(f"query.{name}", f"one of {', '.join(choices)}")],
        )
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    return query_choice(request, name, ("true", "false"), "true" if default else "false") == "true"


def document_list(body: Any, input_format: str, max_batch: int) -> tuple[list[Any], bool]:
    """The documents of a body (one, or a list) in the given input format."""
    is_list = isinstance(body, list)
    items = body if is_list else [body]
    if not items:
        raise ApiError(422, "empty list: send at least one document")
    if len(items) > max_batch:
        raise ApiError(413, f"{len(items)} documents: at most {max_batch} per request")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            where = f"documents[{i}]" if is_list else ""
            raise ApiError(
                422,
                f"{where or 'body'}: a document is a JSON object, not {type(item).__name__}",
                [(where, "expected an object")],
            )
    if input_format == "ivms101":
        return list(parse_ivms101_many(items)), is_list
    return items, is_list


def decisions_json(decisions: Sequence[Decision], as_list: bool) -> str:
    """The library's decision JSON; a list as `vasp-rules evaluate --format json` writes it."""
    if not as_list:
        return decisions[0].to_json()
    return "[\n" + ",\n".join(d.to_json() for d in decisions) + "\n]"
