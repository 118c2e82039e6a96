"""What an applicant cannot change, declared on the entity fields.

A field annotated ``Annotated[T, OfRecord("a date of birth")]`` holds a fact of record: no
suggestion of what would change a decision ever changes it, nor anything inside it (an entry of a
list of record, a field of an object of record). A field annotated with :data:`EVENT` is the date
of an event: once recorded on or before the evaluation date it has happened and stays.

The markers are read by path (:func:`marks_at`), so a field named like a fixed one elsewhere (the
`amount` of a money value, a `value` of another object) stays editable. Entries of a list that
do not exist yet (an entry being added) record nothing, so nothing inside them is fixed.

A list annotated with :data:`WITHDRAWABLE` holds the applicant's own choices (the activities
applied for, a person's roles, where data is kept): an entry may be withdrawn. Entries of other
lists are facts, and a finding is never cleared by leaving a fact out.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class OfRecord:
    """A fact of record; `what` names it for a reader ("a date of birth")."""

    what: str


@dataclass(frozen=True)
class Event:
    """The date of an event: fixed once it is on or before the evaluation date."""


EVENT = Event()


@dataclass(frozen=True)
class Withdrawable:
    """A list of the applicant's own choices: an entry may be withdrawn."""


WITHDRAWABLE = Withdrawable()


@dataclass(frozen=True)
class Marks:
    """What the markers say of one document path: the innermost fact of record it lies in
    (its path and what it is), and whether the path is an event's date."""

    record: tuple[tuple[Any, ...], str] | None = None
    event: bool = False
    #: the path is an entry of a list of the applicant's choices (it may be withdrawn)
    withdrawable: bool = False


def _markers(info: Any) -> list[Any]:
    return list(info.metadata) + [
        m
        for a in [info.annotation]
        if typing.get_origin(a) is typing.Annotated
        for m in typing.get_args(a)[1:]
    ]


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The entity model a field holds (through Optional, list and Annotated), if any."""
    tp = annotation
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated or origin is list:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return None
            tp = members[0]
        else:
            break
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def marks_at(root: type[BaseModel], path: tuple[Any, ...]) -> Marks:
    """The markers on the fields along a document path (list indices are skipped)."""
    model: type[BaseModel] | None = root
    record: tuple[tuple[Any, ...], str] | None = None
    event = False
    found: list[Any] = []
    for k, part in enumerate(path):
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return Marks(record, False)
        info = model.model_fields[part]
        found = _markers(info)
        event = any(isinstance(m, Event) for m in found)
        for m in found:
            if isinstance(m, OfRecord) and record is None:
                record = (tuple(path[: k + 1]), m.what)
        model = _inner_model(info.annotation)
    entry = len(path) >= 2 and isinstance(path[-1], int) and not isinstance(path[-2], int)
    withdrawable = entry and record is None and any(isinstance(m, Withdrawable) for m in found)
    return Marks(record, event, withdrawable)


__all__ = ["EVENT", "WITHDRAWABLE", "Event", "Marks", "OfRecord", "Withdrawable", "marks_at"]
