"""Value types and sub-models shared by the four document kinds.

Validation is strict where a loose reading could change a compliance outcome: dates must be
``YYYY-MM-DD`` (no timestamps, no ``01/03/2026``), datetimes must carry an offset, amounts are
exact decimals (never binary floats), codes must be upper-case ISO codes, and booleans and
integers are not coerced from strings. Enumerations are ``typing.Literal`` so that rule
type-checking can read their values with :func:`typing.get_args`.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import stdnum.lei
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from vasp_rules.core.limits import unicode_problem
from vasp_rules.core.plaintext import json_type, shown_value
from vasp_rules.entities.facts import EVENT, OfRecord
from vasp_rules.entities.identity import (
    IGNORABLE,
    Address,
    IdNumber,
    WalletAddress,
    canonical_address,
    check_ascii,
    code_point_ranges,
    regex_class,
)
from vasp_rules.entities.iso import COUNTRIES, CURRENCIES

__all__ = [
    "Address",
    "Country",
    "Currency",
    "Date",
    "DateTime",
    "Decimal0",
    "IdDocument",
    "IdDocumentType",
    "Identifier",
    "Lei",
    "Money",
    "NonNegativeInt",
    "Pep",
    "Percentage",
    "SanctionsResult",
    "SanctionsScreening",
    "StrictModel",
    "Text",
    "WalletAddress",
    "canonical_address",
    "invisible_ranges",
    "is_blank",
    "visible_ranges",
]


# --- text hygiene: blanks and lone surrogates ----------------------------------------------------

#: Unicode categories that are never visible: spaces, line and paragraph separators, controls and
#: format characters (zero-width space U+200B, BOM U+FEFF, word joiner U+2060, bidi marks, ...).
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})
#: ASCII white space and control characters, stripped in one call on the fast path.
_ASCII_BLANK = "".join(map(chr, range(33))) + "\x7f"


def _shows_nothing(ch: str) -> bool:
    """Whether a character is invisible: white space, a control, format or ignorable one."""
    return ch in IGNORABLE or ch.isspace() or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: empty, or only white space (any Unicode space, NBSP
    included), control, format or zero-width characters. ENTITIES.md: a blank is not a value."""
    rest = text.strip(_ASCII_BLANK)
    if not rest or rest.isascii():
        return not rest
    return all(_shows_nothing(ch) for ch in rest)


@functools.cache
def invisible_ranges() -> tuple[tuple[int, int], ...]:
    """The code point ranges :func:`is_blank` skips, lone surrogates aside (computed once, for
    JSON schemas and the symbolic model of the analysis: it scans all of Unicode)."""
    return code_point_ranges(lambda ch: not 0xD800 <= ord(ch) <= 0xDFFF and _shows_nothing(ch))


def visible_ranges() -> tuple[tuple[int, int], ...]:
    """The code point ranges of characters that show something (not blank, not surrogates)."""
    out: list[tuple[int, int]] = []
    start = 0
    for low, high in sorted([*invisible_ranges(), (0xD800, 0xDFFF)]):
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= sys.maxunicode:
        out.append((start, sys.maxunicode))
    return tuple(out)


def _invisible_class() -> str:
    """A regular-expression character class body of :func:`invisible_ranges`."""
    return regex_class(invisible_ranges())


#: Lone surrogates, as a class range (a valid pair decodes to one character outside it).
_SURROGATES = "\\ud800-\\udfff"


def blank_pattern() -> str:
    """JSON Schema pattern of blank text (what an optional field reads as absent)."""
    return f"^[{_invisible_class()}]*$"


def text_pattern() -> str:
    """JSON Schema pattern of text that is a value: valid Unicode, not blank."""
    return f"^[^{_SURROGATES}]*[^{_invisible_class()}{_SURROGATES}][^{_SURROGATES}]*$"


def _text_schema(schema: dict[str, Any]) -> None:
    schema.clear()
    schema.update(
        type="string",
        minLength=1,
        pattern=text_pattern(),
        description="Text with a visible character (ENTITIES.md: a blank is no value); valid "
        "Unicode (no lone surrogate).",
    )


def _blank_is_absent(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """JSON schema of a model: an optional field also takes blank text (read as absent)."""
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        if name in required:
            continue
        choices = prop.setdefault("anyOf", [])
        if not choices:  # a single schema: move it into the alternatives
            choices.append({k: prop.pop(k) for k in list(prop) if k not in _ANNOTATIONS})
        choices.append({"type": "string", "pattern": blank_pattern()})


_ANNOTATIONS = frozenset({"anyOf", "title", "description", "default", "examples"})


def _text_problem(text: str, needed: str = "this field is required") -> PydanticCustomError | None:
    """The error for invalid or blank text, or None for text that is a value."""
    problem = unicode_problem(text)
    if problem is not None:
        return PydanticCustomError("unicode", problem)
    if is_blank(text):
        return PydanticCustomError(
            "blank",
            "is blank ({got}): empty text, spaces or invisible characters are not a value, "
            "and {needed}; give the real value",
            {"got": repr(text)[:40], "needed": needed},
        )
    return None


#: Types of input values that hold no text of their own (nested mappings validate themselves).
_NOT_TEXT = frozenset({dict, bool, int, float, Decimal, type(None)})


class StrictModel(BaseModel):
    """Base of every entity model: unknown fields are errors and instances are immutable.

    Every field of every model also follows ENTITIES.md's text rules before its own type sees
    it: text with a lone surrogate is refused; blank text (see :func:`is_blank`) is refused
    where the field is required and read as absent (``None``) where it is optional, so the rule
    that needs the value asks for it. Field validators never see a blank or invalid text (a
    subclass's own ``mode="before"`` model validator runs earlier and must let them pass).
    The JSON schema says the same (``_text_schema``, ``_blank_is_absent``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_blank_is_absent)

    @model_validator(mode="before")
    @classmethod
    def _text_rules(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for value in data.values():  # the common case (plain ASCII text), decided quickly
            kind = type(value)
            if kind is str:
                if value.isascii() and value.strip(_ASCII_BLANK):
                    continue
                break
            if kind is list:
                for item in value:
                    kind = type(item)
                    if kind is str:
                        if item.isascii() and item.strip(_ASCII_BLANK):
                            continue
                        break
                    if kind not in _NOT_TEXT:
                        break
                else:
                    continue
                break
            if kind not in _NOT_TEXT:
                break
        else:
            return data
        return _apply_text_rules(cls, data)


def _apply_text_rules(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its blank optional fields; raises for blank required ones (or list
    items) and for invalid Unicode. Unknown fields are left for the model to refuse."""
    absent: list[str] = []
    errors: list[InitErrorDetails] = []
    fields = model.__pydantic_fields__
    for name, value in data.items():
        if name not in fields:
            continue
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem is None:
                continue
            if problem.type == "blank" and not fields[name].is_required():
                absent.append(name)
            else:
                errors.append(InitErrorDetails(type=problem, loc=(name,), input=value))
        elif isinstance(value, list):
            errors.extend(
                InitErrorDetails(type=problem, loc=(name, index), input=item)
                for index, item in enumerate(value)
                if isinstance(item, str)
                and (problem := _text_problem(item, "every list item needs one")) is not None
            )
    if errors:
        raise ValidationError.from_exception_data(model.__name__, errors)
    return {name: value for name, value in data.items() if name not in absent}


# --- scalars -------------------------------------------------------------------------------------

#: Free text (never blank: see StrictModel). Numbers are not turned into strings.
Text = Annotated[StrictStr, Field(json_schema_extra=_text_schema)]
#: A document or record identifier: non-empty text.
Identifier = Annotated[StrictStr, Field(min_length=1, json_schema_extra=_text_schema)]


#: An integer >= 0; ``True``, ``"7"`` and ``7.0`` are rejected.
NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=10**9)]

MAX_DECIMAL = Decimal(10) ** 18

_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _to_decimal(value: object) -> object:
    """Exact decimal from a string, int, Decimal or float (via ``str`` so 0.1 stays 0.1)."""
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "expected a decimal number, got a boolean")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            raise PydanticCustomError(
                "decimal_parsing",
                "expected a decimal number such as '1500000.00', got {got}",
                {"got": repr(value)[:60]},
            )
        try:
            result = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise PydanticCustomError("decimal_parsing", "not a decimal number") from None
    else:
        raise PydanticCustomError(
            "decimal_type",
            "expected a decimal number (string or number), got {got}",
            {"got": json_type(value)},
        )
    if not result.is_finite():
        raise PydanticCustomError("decimal_finite", "NaN and Infinity are not allowed")
    # adjusted() needs no arithmetic context: 1e999999999 would overflow normalize()
    huge = bool(result) and not -40 <= result.adjusted() <= 40
    exponent = 0 if huge else result.normalize().as_tuple().exponent  # an int when finite
    if result and (
        huge or abs(result) >= MAX_DECIMAL or (isinstance(exponent, int) and exponent < -18)
    ):
        # no real amount, quantity or share comes near these; past them the arithmetic of the
        # engines (and Python's integer-to-text limit) would be strained
        raise PydanticCustomError(
            "decimal_range",
            "out of range: at most 18 digits before and 18 after the decimal point, got {got}",
            {"got": shown_value(value, 40)},
        )
    return result


#: Decimal text as the validator takes it, in plain notation: at most 18 digits before the point
#: and 18 significant ones after it (more zeros may follow); `-` only on a zero.
_PLAIN_DECIMAL = (
    r"^(?:\+?(?:0*[0-9]{1,18}(?:\.[0-9]{0,18}0*)?|\.[0-9]{1,18}0*)|-(?:0+(?:\.0*)?|\.0+))$"
)
#: The same for a percentage: 0 to 100.
_PLAIN_PERCENTAGE = (
    r"^(?:\+?(?:0*(?:100(?:\.0*)?|[0-9]{1,2}(?:\.[0-9]{0,18}0*)?)|\.[0-9]{1,18}0*)"
    r"|-(?:0+(?:\.0*)?|\.0+))$"
)


def _decimal_schema(pattern: str, **bounds: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", **bounds},
                {"type": "string", "pattern": pattern},
            ],
            "description": "An exact decimal: a JSON number, or text in plain notation "
            "(exponent notation such as '1e3' is also read, but not described here).",
        }
    )


#: An exact decimal >= 0 (string, int, Decimal or float; floats are read through ``str``).
Decimal0 = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    Field(ge=0),
    _decimal_schema(_PLAIN_DECIMAL, minimum=0, exclusiveMaximum=10**18),
]
#: A percentage: an exact decimal from 0 to 100 inclusive.
Percentage = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    Field(ge=0, le=100),
    _decimal_schema(_PLAIN_PERCENTAGE, minimum=0, maximum=100),
]


def _check_code(value: str, codes: frozenset[str], width: int, standard: str) -> str:
    if value in codes:
        return value
    if value.upper() in codes:
        raise PydanticCustomError(
            "iso_code_case",
            "{standard} codes are upper-case: use {upper}, not {got}",
            {"standard": standard, "upper": repr(value.upper()), "got": repr(value)},
        )
    raise PydanticCustomError(
        "iso_code",
        "{got} is not an {standard} code",
        {"got": repr(value)[: width + 20], "standard": standard},
    )


def _check_country(value: str) -> str:
    return _check_code(value, COUNTRIES, 2, "ISO 3166-1 alpha-2 country")


def _check_currency(value: str) -> str:
    return _check_code(value, CURRENCIES, 3, "ISO 4217 currency")


#: ISO 3166-1 alpha-2 code, upper case (``"pk"`` is rejected with a hint, not normalised).
Country = Annotated[
    StrictStr,
    AfterValidator(_check_country),
    WithJsonSchema({"type": "string", "enum": sorted(COUNTRIES)}),
]
#: ISO 4217 alphabetic code, upper case.
Currency = Annotated[
    StrictStr,
    AfterValidator(_check_currency),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]

_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?)"
)


def _parse_date(value: object) -> object:
    """A ``date`` object or ``YYYY-MM-DD`` text; not a datetime, timestamp or other format."""
    if isinstance(value, datetime):
        raise PydanticCustomError("date_type", "expected a date (YYYY-MM-DD), got a datetime")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "date_type",
            "expected a date written YYYY-MM-DD, got {got}",
            {"got": json_type(value)},
        )
    if not _DATE_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "date_format",
            "expected a date written YYYY-MM-DD, got {got}",
            {"got": repr(value)[:40]},
        )
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError(
            "date_value",
            "{got} is not a calendar date: {why}",
            {"got": repr(value), "why": str(exc)},
        ) from None


def _parse_datetime(value: object) -> object:
    """A timezone-aware ``datetime`` or ISO 8601 text with an offset (``Z`` or ``+05:00``)."""
    if isinstance(value, str):
        if not _DATETIME_TEXT.fullmatch(value):
            if _DATETIME_TEXT.fullmatch(value + "Z"):
                raise PydanticCustomError(
                    "datetime_naive",
                    "datetime {got} has no UTC offset (add Z or +05:00)",
                    {"got": repr(value)},
                )
            raise PydanticCustomError(
                "datetime_format",
                "expected an ISO 8601 datetime with offset such as "
                "'2026-03-01T14:30:00+05:00', got {got}",
                {"got": repr(value)[:60]},
            )
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "datetime_value",
                "{got} is not a valid datetime: {why}",
                {"got": repr(value), "why": str(exc)},
            ) from None
    if not isinstance(value, datetime):
        raise PydanticCustomError(
            "datetime_type",
            "expected an ISO 8601 datetime with offset, got {got}",
            {"got": json_type(value)},
        )
    if value.utcoffset() is None:
        raise PydanticCustomError("datetime_naive", "datetime has no timezone offset")
    return value


_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = "(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_HOUR, _SIXTY, _FRACTION = "(?:[01][0-9]|2[0-3])", "[0-5][0-9]", r"(?:\.[0-9]{1,6})?"
_DATE_SCHEMA = {
    "type": "string",
    "format": "date",
    "pattern": f"^{_YEAR}-{_MONTH_DAY}$",
    "description": "A calendar date, YYYY-MM-DD.",
}
_DATETIME_SCHEMA = {
    "type": "string",
    "pattern": f"^{_YEAR}-{_MONTH_DAY}[T ]{_HOUR}:{_SIXTY}(?::{_SIXTY}{_FRACTION})?"
    f"(?:Z|[+-]{_HOUR}(?::?{_SIXTY}(?::{_SIXTY}{_FRACTION})?)?)$",
    "description": "An ISO 8601 datetime with a UTC offset (Z or +05:00), such as "
    "2026-03-01T14:30:00+05:00; the day must exist in its month (not described by the pattern).",
}

#: A calendar date: ``datetime.date`` (as YAML gives) or ``YYYY-MM-DD`` text.
Date = Annotated[date, BeforeValidator(_parse_date), WithJsonSchema(_DATE_SCHEMA)]
#: A timezone-aware datetime: an aware ``datetime`` or ISO 8601 text with an offset.
DateTime = Annotated[
    AwareDatetime, BeforeValidator(_parse_datetime), WithJsonSchema(_DATETIME_SCHEMA)
]


def _check_lei(value: str) -> str:
    """ISO 17442: 18 letters or digits then 2 check digits (MOD 97-10, via python-stdnum)."""
    compact: str = stdnum.lei.compact(check_ascii(value, "LEI"))
    if len(compact) != 20:
        raise PydanticCustomError(
            "lei_length", "LEI must have 20 characters (got {n})", {"n": len(compact)}
        )
    if not re.fullmatch(r"[A-Z0-9]{18}[0-9]{2}", compact):
        raise PydanticCustomError(
            "lei_format", "LEI must be 18 letters or digits followed by 2 check digits"
        )
    if not stdnum.lei.is_valid(compact):
        raise PydanticCustomError("lei_checksum", "LEI check digits do not match (ISO 17442)")
    return compact


#: Legal Entity Identifier; spaces and dashes are removed and letters upper-cased.
Lei = Annotated[
    StrictStr,
    AfterValidator(_check_lei),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[\s-]*(?:[ -]*[A-Za-z0-9]){18}(?:[ -]*[0-9]){2}[\s-]*$",
            "description": "ISO 17442 Legal Entity Identifier: 20 letters or digits (spaces "
            "and dashes ignored), the last two check digits (MOD 97-10), which the pattern "
            "does not check.",
        }
    ),
]


# --- shared sub-models ---------------------------------------------------------------------------


class Money(StrictModel):
    """An exact, non-negative amount in an ISO 4217 currency; never a float."""

    amount: Decimal0
    currency: Currency


IdDocumentType = Literal["CNIC", "NICOP", "PASSPORT"]
Pep = Literal["NONE", "DOMESTIC", "FOREIGN", "INTERNATIONAL_ORG"]
SanctionsResult = Literal["CLEAR", "POTENTIAL_MATCH", "CONFIRMED_MATCH"]

_NADRA_NUMBER = re.compile(r"[0-9]{5}-?[0-9]{7}-?[0-9]")


def _nadra_number_problem(kind: str, number: str) -> PydanticCustomError | None:
    """Why a CNIC/NICOP number is not 13 digits (optionally dashed 12345-1234567-1), or None.

    Only the 13-digit shape is enforced. ``stdnum.pk.cnic`` also requires a first digit 1-7
    and a non-zero last digit; that rejects real numbers (Azad Jammu and Kashmir locality codes
    start with 8) and NICOPs, so it is not used.
    """
    try:  # a hidden or look-alike character is named (identity.py)
        check_ascii(number, f"{kind} number")
    except PydanticCustomError as named:
        return named
    if not re.fullmatch(r"[0-9-]+", number):
        return PydanticCustomError(
            "nadra_number_format",
            "{kind} number may contain only digits and dashes",
            {"kind": kind},
        )
    digits = number.replace("-", "")
    if len(digits) != 13:
        return PydanticCustomError(
            "nadra_number_length",
            "{kind} number must have 13 digits (got {n})",
            {"kind": kind, "n": len(digits)},
        )
    if not _NADRA_NUMBER.fullmatch(number):
        return PydanticCustomError(
            "nadra_number_format", "{kind} number dashes go as 12345-1234567-1", {"kind": kind}
        )
    return None


def _nadra_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A CNIC or NICOP number is 13 digits, optionally dashed 12345-1234567-1."""
    _blank_is_absent(schema, model)
    schema["allOf"] = [
        {
            "if": {"properties": {"type": {"enum": ["CNIC", "NICOP"]}}, "required": ["type"]},
            "then": {"properties": {"number": {"pattern": f"^{_NADRA_NUMBER.pattern}$"}}},
        }
    ]


class IdDocument(StrictModel):
    """An identity document. CNIC/NICOP numbers are checked and normalised to 13 digits."""

    type: Annotated[
        IdDocumentType, OfRecord("the kind of an existing entry (add a new entry instead)")
    ]
    number: IdNumber

    model_config = ConfigDict(json_schema_extra=_nadra_schema)
    expires_on: Date

    @model_validator(mode="before")
    @classmethod
    def _normalise_nadra_number(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind, number = data.get("type"), data.get("number")
        if kind not in ("CNIC", "NICOP") or not isinstance(number, str):
            return data
        if is_blank(number) or unicode_problem(number):
            return data  # StrictModel refuses it, saying why
        problem = _nadra_number_problem(kind, number)
        if problem is not None:
            raise ValidationError.from_exception_data(
                cls.__name__, [InitErrorDetails(type=problem, loc=("number",), input=number)]
            )
        return {**data, "number": number.replace("-", "")}


class SanctionsScreening(StrictModel):
    """The latest sanctions screening of a person or customer."""

    result: SanctionsResult
    screened_on: Annotated[Date, EVENT]
