"""The OpenAPI 3.1 description the service serves at /openapi.json, built from the same
pydantic models that validate requests and shape decisions (so it cannot drift from them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..core.version import __version__
from ..entities.registry import KINDS, add_schema_limits
from ..model.decision import Decision, Notice
from . import problems
from .problems import MEDIA_TYPE

_REF = "#/components/schemas/{model}"


def _hoist(model: type[BaseModel], schemas: dict[str, Any], *, mode: str) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
    for name, sub in schema.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    return schema


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path" or name == "as_of",
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _error(description: str, **headers: str) -> dict[str, Any]:
    """An error response: RFC 9457 problem details (service/problems.py)."""
    out: dict[str, Any] = {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}},
    }
    if headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    return out


def openapi_document(packs: list[str]) -> dict[str, Any]:
    """The API description; `packs` are the names this instance serves."""
    schemas: dict[str, Any] = {}
    kinds = {kind: _hoist(model, schemas, mode="validation") for kind, model in KINDS.items()}
    for schema in kinds.values():
        add_schema_limits(schema)
    schemas.update({f"Document_{kind}": s for kind, s in kinds.items()})
    schemas["Decision"] = _hoist(Decision, schemas, mode="serialization")
    schemas["Notice"] = _hoist(Notice, schemas, mode="serialization")
    schemas["Pack"] = {
        "type": "object",
        "description": "A served pack; `notice` is the text to show with its decisions, whose "
        "`notice.id` names it",
        "required": ["name", "version", "sha256", "rules", "notice"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "sha256": {"type": "string"},
            "rules": {"type": "array", "items": {"type": "string"}},
            "notice": {"$ref": _REF.format(model="Notice")},
            "on": {"type": "string", "format": "date"},
            "rules_in_force": {"type": "array", "items": {"type": "string"}},
        },
    }
    schemas["Document"] = {
        "oneOf": [{"$ref": _REF.format(model=f"Document_{k}")} for k in kinds],
        "discriminator": {"propertyName": "kind"},
    }
    schemas["Ivms101Envelope"] = {
        "type": "object",
        "description": "An IVMS101 payload and the transfer's own fields (docs/ivms101.md)",
        "required": ["ivms101", "transfer"],
        "additionalProperties": False,
        "properties": {"ivms101": {"type": "object"}, "transfer": {"type": "object"}},
    }
    schemas["Problem"] = problems.schema()
    dates = {"type": ["string", "null"], "format": "date"}
    schemas["PackRule"] = {
        "type": "object",
        "description": "A rule as written: the kinds, outcomes and citations of its forms",
        "required": [
            "id",
            "version",
            "title",
            "kinds",
            "outcomes",
            "citations",
            "effective_from",
            "effective_to",
            "parameters",
        ],
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "kinds": {"type": "array", "items": {"type": "string"}},
            "outcomes": {"type": "array", "items": {"type": "string"}},
            "citations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "`confidence` is the tag (P, S or A); from/to: when the "
                    "rule cites it",
                    "properties": {
                        "instrument": {"type": "string"},
                        "provision": {"type": "string"},
                        "url": {"type": ["string", "null"]},
                        "confidence": {"enum": ["P", "S", "A"]},
                        "text": {"type": "string"},
                        "from": {"type": "string", "format": "date"},
                        "to": dates,
                    },
                },
            },
            "effective_from": {"type": "string", "format": "date"},
            "effective_to": dates,
            "parameters": {"type": "array", "items": {"type": "string"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "file": {"type": "string"},
            "line": {"type": ["integer", "null"]},
        },
    }
    schemas["PackDetail"] = {
        "allOf": [{"$ref": _REF.format(model="Pack")}],
        "type": "object",
        "description": "One pack, each rule described",
        "properties": {
            "title": {"type": "string"},
            "rules": {"type": "array", "items": {"$ref": _REF.format(model="PackRule")}},
        },
    }
    schemas["PackParameters"] = {
        "type": "object",
        "required": ["name", "version", "parameters"],
        "properties": {
            "name": {"type": "string"},
            "version": {"type": "string"},
            "on": {"type": "string", "format": "date"},
            "parameters": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["description", "type", "values"],
                    "properties": {
                        "description": {"type": "string"},
                        "type": {"type": "string"},
                        "illustrative": {"type": "boolean"},
                        "values": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "description": "a value from `from` to `to` (inclusive), "
                                "its legal source and confidence tag",
                                "required": ["from", "value", "source", "confidence"],
                                "properties": {
                                    "from": {"type": "string", "format": "date"},
                                    "to": dates,
                                    "value": {},
                                    "source": {"type": "string"},
                                    "url": {"type": ["string", "null"]},
                                    "confidence": {"enum": ["P", "S", "A"]},
                                },
                            },
                        },
                        "value_on": {"description": "with `on`: the value in force that day"},
                        "file": {"type": ["string", "null"]},
                        "line": {"type": ["integer", "null"]},
                    },
                },
            },
        },
    }
    input_body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": _REF.format(model="Document")},
                        {"type": "array", "items": {"$ref": _REF.format(model="Document")}},
                        {"$ref": _REF.format(model="Ivms101Envelope")},
                        {"type": "array", "items": {"$ref": _REF.format(model="Ivms101Envelope")}},
                    ]
                }
            }
        },
    }
    pack = _param("pack", "query", "Rule pack name (default: the first served)", enum=packs)
    as_of = _param("as_of", "query", "Evaluation date, YYYY-MM-DD", type="string", format="date")
    input_format = _param(
        "input_format", "query", "document, or ivms101 envelopes", enum=["document", "ivms101"]
    )
    common = {
        "401": _error("Missing or wrong API key", **{"WWW-Authenticate": "Bearer"}),
        "404": _error("Unknown pack, kind or endpoint"),
        "405": _error("Wrong method", Allow="The methods the endpoint takes"),
        "422": _error("Invalid or repeated query parameter, with field paths"),
        "500": _error("Internal error (the server's log has it under the request id)"),
        "503": _error(
            "Too many requests in progress, or the decision log unavailable",
            **{"Retry-After": "Seconds to wait (when too many requests are in progress)"},
        ),
    }
    errors = {
        **common,
        "400": _error("Unreadable JSON"),
        "413": _error("Body over the size limit"),
        "415": _error("Body not declared JSON", **{"Accept-Post": "application/json"}),
        "422": _error("Invalid document or parameter, with field paths"),
    }
    decision_ref = {"$ref": _REF.format(model="Decision")}
    pack_ref = {"$ref": _REF.format(model="Pack")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vasp-rules decision service",
            "version": __version__,
            "description": "Explainable compliance decisions for virtual-asset regulation.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": {
            "/v1/evaluate": {
                "post": {
                    "summary": "Decide one document, or a list evaluated together as a batch",
                    "parameters": [
                        as_of,
                        pack,
                        input_format,
                        _param("explain", "query", "Attach explanations", enum=["true", "false"]),
                        _param(
                            "batch",
                            "query",
                            "Relate the documents of a list (cross-document rules)",
                            enum=["true", "false"],
                        ),
                    ],
                    "requestBody": input_body,
                    "responses": {
                        "200": {
                            "description": "The decision (the library's JSON), or a list of them",
                            "headers": {
                                "X-Request-Id": {"schema": {"type": "string"}},
                                "X-Audit-Records": {
                                    "description": "Audit log decision records written "
                                    "(with --log); each carries the X-Request-Id",
                                    "schema": {"type": "string"},
                                },
                                "X-Audit-Run": {
                                    "description": "The audit log run of this request",
                                    "schema": {"type": "string"},
                                },
                                "X-Audit-Head": {
                                    "description": "The log's head after them, SEQ:HASH",
                                    "schema": {"type": "string"},
                                },
                            },
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "oneOf": [
                                            decision_ref,
                                            {"type": "array", "items": decision_ref},
                                        ]
                                    }
                                }
                            },
                        },
                        **errors,
                    },
                }
            },
            "/v1/explain": {
                "post": {
                    "summary": "Decide one document and explain it",
                    "parameters": [
                        as_of,
                        pack,
                        input_format,
                        _param(
                            "format",
                            "query",
                            "Report format",
                            enum=["json", "html", "markdown", "text"],
                        ),
                        _param("rule", "query", "Also explain this rule (repeatable)"),
                        _param(
                            "suggest",
                            "query",
                            "Look for changes that would clear",
                            enum=["true", "false"],
                        ),
                    ],
                    "requestBody": input_body,
                    "responses": {
                        "200": {
                            "description": "The decision with its explanation, or a report",
                            "content": {
                                "application/json": {"schema": decision_ref},
                                "text/html": {"schema": {"type": "string"}},
                                "text/markdown": {"schema": {"type": "string"}},
                                "text/plain": {"schema": {"type": "string"}},
                            },
                        },
                        **errors,
                    },
                }
            },
            "/v1/whatif": {
                "post": {
                    "summary": "Decide a document before and after PATH=VALUE changes",
                    "parameters": [as_of, pack, input_format],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["document", "set"],
                                    "properties": {
                                        "document": {"type": "object"},
                                        "set": {"type": "array", "items": {"type": "string"}},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Outcome before and after; findings added, "
                            "removed and changed",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **errors,
                    },
                }
            },
            "/v1/monitor": {
                "post": {
                    "summary": "Decide transfers on arrival against the window before them "
                    "(one window state per pack and as_of in this process)",
                    "parameters": [as_of, pack],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"type": "object"},
                                        {"type": "array", "items": {"type": "object"}},
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "For each transfer in arrival order: its arrival "
                            "number and decision with any group alerts it raised, or `late`",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **errors,
                    },
                }
            },
            "/v1/packs": {
                "get": {
                    "summary": "Packs served: name, version, sha256, rules (in force on `on`)",
                    "parameters": [
                        _param(
                            "on",
                            "query",
                            "List the rules in force on this date",
                            type="string",
                            format="date",
                        )
                    ],
                    "responses": {
                        "200": {
                            "description": "The packs",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": pack_ref}
                                }
                            },
                        },
                        **common,
                    },
                }
            },
            "/v1/packs/{name}": {
                "get": {
                    "summary": "One pack",
                    "parameters": [
                        _param("name", "path", "Pack name"),
                        _param(
                            "on",
                            "query",
                            "List the rules in force on this date",
                            type="string",
                            format="date",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "The pack, with the notice its decisions name and "
                            "each rule described",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": _REF.format(model="PackDetail")}
                                }
                            },
                        },
                        **common,
                    },
                }
            },
            "/v1/packs/{name}/parameters": {
                "get": {
                    "summary": "A pack's parameters, their values by date and sources",
                    "parameters": [
                        _param("name", "path", "Pack name (any case)"),
                        _param(
                            "on",
                            "query",
                            "Also give each parameter's value in force on this date",
                            type="string",
                            format="date",
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "The parameters by name",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": _REF.format(model="PackParameters")}
                                }
                            },
                        },
                        **common,
                    },
                }
            },
            "/v1/schema/{kind}": {
                "get": {
                    "summary": "JSON Schema of a document kind",
                    "parameters": [_param("kind", "path", "Document kind", enum=list(KINDS))],
                    "responses": {"200": {"description": "The JSON Schema"}, **common},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness (no API key needed)",
                    "security": [],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (no key needed from --metrics-allow networks)",
                    "responses": {"200": {"description": "Prometheus text format"}, **common},
                }
            },
        },
    }
