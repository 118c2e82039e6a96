"""Which values of a document and its decision are personal data, grouped by data subject.

Stand-in written by helper "privacy" with the interface helper "personal" owns (it handles a
transfer's originator and beneficiary only); the lead merges theirs over it.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

PLACEHOLDER: Final = "[personal data]"

_PARTIES: Final = ("originator", "beneficiary")
_PERSONAL_FIELDS: Final = (
    "name",
    "account_or_wallet",
    "address",
    "national_id",
    "customer_id",
    "date_of_birth",
    "place_of_birth",
)
_CNIC: Final = re.compile(r"^\d{5}-?\d{7}-?\d$")


@dataclass(frozen=True)
class Subject:
    """One data subject of a document: its role, identifiers and name."""

    role: str
    identifiers: tuple[tuple[str, str], ...]
    name: str | None


@dataclass(frozen=True)
class Item:
    """One personal value: where it is (input or decision), its JSON path, and the value."""

    where: str
    path: tuple[str | int, ...]
    value: Any


@dataclass(frozen=True)
class Part:
    """The personal items of one set of subjects."""

    subjects: tuple[int, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Split:
    """A document and decision with every personal value replaced, and the values by subject."""

    input: dict[str, Any]
    decision: dict[str, Any]
    subjects: tuple[Subject, ...]
    parts: tuple[Part, ...]


def _canonical_id(field: str, value: str) -> tuple[str, str]:
    text = unicodedata.normalize("NFKC", value).strip()
    if field == "national_id" and _CNIC.match(text):
        return ("cnic", text.replace("-", ""))
    if field == "account_or_wallet":
        return ("wallet", text)
    return (field, text)


def identifiers_of(value: str) -> list[tuple[str, str]]:
    """The (kind, canonical value) identifiers an operator-typed value may mean."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return []
    found = [("wallet", text), ("customer_id", text), ("national_id", text)]
    if _CNIC.match(text):
        found.insert(0, ("cnic", text.replace("-", "")))
    return found


def _walk(value: Any, path: tuple[str | int, ...]) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _walk(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, (*path, index))


def _set(target: Any, path: tuple[str | int, ...], value: Any) -> None:
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def split(document: Mapping[str, Any], decision: Mapping[str, Any]) -> Split:
    """Separate the personal values of ``document`` and ``decision`` from the rest."""
    redacted_input = copy.deepcopy(dict(document))
    redacted_decision = copy.deepcopy(dict(decision))
    subjects: list[Subject] = []
    by_subjects: dict[tuple[int, ...], list[Item]] = {}
    quoted: list[tuple[int, str]] = []
    if document.get("kind") == "transfer":
        for role in _PARTIES:
            party = document.get(role)
            if not isinstance(party, Mapping):
                continue
            index = len(subjects)
            identifiers: list[tuple[str, str]] = []
            for field in _PERSONAL_FIELDS:
                value = party.get(field)
                if value is None:
                    continue
                by_subjects.setdefault((index,), []).append(Item("input", (role, field), value))
                redacted_input[role][field] = PLACEHOLDER
                if isinstance(value, str) and value.strip():
                    quoted.append((index, value))
                    if field in ("national_id", "customer_id", "account_or_wallet"):
                        identifiers.append(_canonical_id(field, value))
            name = party.get("name")
            subjects.append(
                Subject(
                    role, tuple(dict.fromkeys(identifiers)), name if isinstance(name, str) else None
                )
            )
    for path, text in list(_walk(decision, ())):
        owners = tuple(sorted({i for i, value in quoted if value in text}))
        if owners:
            by_subjects.setdefault(owners, []).append(Item("decision", path, text))
            _set(redacted_decision, path, PLACEHOLDER)
    parts = tuple(Part(key, tuple(items)) for key, items in by_subjects.items())
    return Split(redacted_input, redacted_decision, tuple(subjects), parts)


def join(
    input: Mapping[str, Any], decision: Mapping[str, Any], items: Iterable[Item]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Put ``items`` back into copies of the redacted ``input`` and ``decision``."""
    joined = {"input": copy.deepcopy(dict(input)), "decision": copy.deepcopy(dict(decision))}
    for item in items:
        _set(joined[item.where], item.path, item.value)
    return joined["input"], joined["decision"]
