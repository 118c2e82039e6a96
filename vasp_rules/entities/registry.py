"""The document kinds: dispatch on ``kind``, turn validation failures into readable errors.

:func:`parse_document` is the one entry point for untrusted input: whatever it is given, it
returns a model or raises :class:`DocumentError`, whose errors carry a path relative to the
document root (``firm.people[0].id_document.number``) and a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from vasp_rules.core.limits import shown
from vasp_rules.core.plaintext import shown_value
from vasp_rules.entities.amnesty import AmnestyDeclaration
from vasp_rules.entities.customer import Customer
from vasp_rules.entities.licence import LicenceApplication
from vasp_rules.entities.transfer import Transfer

from ..core.errors import VaspRulesError

__all__ = [
    "ID_FIELD",
    "KINDS",
    "SCHEMA_LIMITS",
    "Document",
    "DocumentError",
    "add_schema_limits",
    "document_id",
    "format_path",
    "json_schema",
    "parse_document",
]

KINDS: dict[str, type[BaseModel]] = {
    "licence_application": LicenceApplication,
    "customer": Customer,
    "amnesty_declaration": AmnestyDeclaration,
    "transfer": Transfer,
}

#: The field that identifies a document of each kind.
ID_FIELD: dict[str, str] = {
    "licence_application": "application_id",
    "customer": "customer_id",
    "amnesty_declaration": "declaration_id",
    "transfer": "transfer_id",
}

Document = LicenceApplication | Customer | AmnestyDeclaration | Transfer

#: How a path to the document itself is shown.
ROOT = "<document>"


class DocumentError(VaspRulesError, ValueError):
    """An input document is invalid. ``errors`` lists ``(path, message)``; ``""`` is the root."""

    def __init__(self, errors: Iterable[tuple[str, str]]) -> None:
        self.errors: list[tuple[str, str]] = list(errors)
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "\n".join(f"{path or ROOT}: {message}" for path, message in self.errors)

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> DocumentError:
        """Convert pydantic's errors, keeping their order."""
        return cls((format_path(err["loc"]), _message(err)) for err in exc.errors())


def format_path(loc: Iterable[int | str]) -> str:
    """``("firm", "people", 0, "lei")`` -> ``"firm.people[0].lei"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = shown(str(part))
            path += f".{name}" if path else name
    return path


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "string_unicode":  # pydantic's word for a key holding a lone surrogate
        name = _short(err.get("input"))
        return f"a field name is not valid Unicode (it holds a lone surrogate): {name}"
    message = err["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        message += f" (got {_short(err.get('input'))})"
    return message


def _short(value: Any) -> str:
    return shown_value(value)


def _known_kinds() -> str:
    return ", ".join(KINDS)


def _model_for(kind: object) -> type[BaseModel]:
    if kind is None:
        raise DocumentError([("kind", f"'kind' is missing; known kinds: {_known_kinds()}")])
    if not isinstance(kind, str) or kind not in KINDS:
        raise DocumentError(
            [("kind", f"unknown kind {_short(kind)}; known kinds: {_known_kinds()}")]
        )
    return KINDS[kind]


def parse_document(data: Mapping[str, Any]) -> Document:
    """Validate one document (a JSON/YAML mapping) into its model, or raise DocumentError."""
    if not isinstance(data, Mapping):
        raise DocumentError(
            [("", f"a document must be a mapping (JSON object), not {type(data).__name__}")]
        )
    model = _model_for(data.get("kind"))
    try:
        return cast(Document, model.model_validate(dict(data)))
    except ValidationError as exc:
        raise DocumentError.from_validation_error(exc) from None


#: What the validator checks that a JSON Schema cannot say (tests/test_schema_strict.py names
#: exactly these as the only places where the two may disagree).
SCHEMA_LIMITS = (
    "Not expressed by this schema, checked by the validator: LEI check digits (ISO 17442 "
    "MOD 97-10); that a datetime's day exists in its month (2026-02-30T10:00Z); decimal text in "
    "exponent notation ('1e3', read within the same range); JSON numbers with more than 18 "
    "significant decimals (refused); a wallet address's format and checksum on its network "
    "(EIP-55, bech32/bech32m, base58check: the network comes from the document's asset or "
    "chain, see identities.md); hidden or unassigned characters beyond the Basic Multilingual "
    "Plane in a name (the schema's character class stops at U+FFFF)."
)


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON schema (Draft 2020-12, validation mode) of one document kind: as strict as
    :func:`parse_document` except for :data:`SCHEMA_LIMITS`, which its description states."""
    schema = _model_for(kind).model_json_schema()
    add_schema_limits(schema)
    return schema


def add_schema_limits(schema: dict[str, Any]) -> None:
    """Append :data:`SCHEMA_LIMITS` to a document schema's description."""
    schema["description"] = f"{schema.get('description', '')}\n\n{SCHEMA_LIMITS}".strip()


def document_id(doc: Document) -> str:
    """The identifier of a document (its ``application_id``, ``customer_id``, ...)."""
    return str(getattr(doc, ID_FIELD[doc.kind]))
