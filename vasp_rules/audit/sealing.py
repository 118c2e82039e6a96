"""Seal a decision record's personal data under its subjects' keys, and open it again.

Why: the log keeps the redacted document and decision in clear (readable for supervision, and
hashed), and the personal values, grouped by data subject, in the record's ``sealed`` column:
canonical JSON ``[{"keys": [...], "nonce": b64, "ct": b64}, ...]`` whose plaintexts list
``[where, path, value]`` items. Erasing a subject's keys erases its parts; the rest still opens.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vasp_rules.audit import personal
from vasp_rules.audit.jsontext import dumps_exact, loads_exact
from vasp_rules.audit.keystore import (
    SEAL_CONTEXT,
    KeyStore,
    SealError,
    part_key_ids,
    seal,
    unseal,
)
from vasp_rules.audit.log.errors import AuditError
from vasp_rules.core.canonical import canonical_json, pretty_json
from vasp_rules.model.decision import Decision

#: A decision ready to append: the decision, the decision JSON and input JSON to store (redacted
#: when it holds personal data) and its ``sealed`` column (None when there is nothing sealed).
Prepared = tuple[Decision, str, str, str | None]


@dataclass(frozen=True)
class SealedRecord:
    """What a decision record stores: redacted input and decision, and its sealed parts
    (``sealed`` is None when the document holds no personal data)."""

    input: dict[str, Any]
    decision: dict[str, Any]
    sealed: str | None


@dataclass(frozen=True)
class OpenedRecord:
    """A decision record's input and decision with every part that could be opened joined back.

    ``erased`` maps the key ids of parts that could not be opened because the key was erased to
    when; ``unavailable`` lists those whose key is neither in the key store nor erased there
    (another key store, or none given). ``complete`` when every part was joined back."""

    input: dict[str, Any]
    decision: dict[str, Any]
    erased: dict[str, str] = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.erased and not self.unavailable

    @property
    def erased_at(self) -> str | None:
        """When the (latest) erasure that hid part of this record happened, if any."""
        return max(self.erased.values()) if self.erased else None


def _context(index: int) -> bytes:
    return SEAL_CONTEXT + str(index).encode("ascii")


def seal_records(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    store: Callable[[], KeyStore],
) -> list[SealedRecord]:
    """Split each (document, decision JSON value) pair and seal its parts. ``store`` gives the
    key store, and is called only when some pair has personal data; the subjects of all the
    pairs are resolved in one key store transaction."""
    splits = [personal.split(document, decision) for document, decision in pairs]
    wanted = [s.identifiers for one in splits for s in one.subjects]
    keys = store().keys_for(wanted) if wanted else []
    sealed: list[SealedRecord] = []
    offset = 0
    for one in splits:
        own = keys[offset : offset + len(one.subjects)]
        offset += len(one.subjects)
        parts = [
            seal(
                dumps_exact(
                    [[item.where, list(item.path), item.value] for item in part.items]
                ).encode(),
                [own[i] for i in part.subjects],
                _context(index),
            )
            for index, part in enumerate(one.parts)
        ]
        sealed.append(
            SealedRecord(one.input, one.decision, canonical_json(parts) if parts else None)
        )
    return sealed


def seal_prepared(
    prepared: Sequence[tuple[Decision, str, str]], store: Callable[[], KeyStore]
) -> list[Prepared]:
    """Each (decision, decision JSON, input JSON) about to be appended, with the JSON to store
    (redacted when it holds personal data) and its ``sealed`` column (see
    :func:`seal_records`)."""
    pairs = [(loads_exact(ij), json.loads(dj)) for _, dj, ij in prepared]
    out: list[Prepared] = []
    for (decision, dj, ij), one in zip(prepared, seal_records(pairs, store), strict=True):
        if one.sealed is None:
            out.append((decision, dj, ij, None))
        else:
            Decision.model_validate(one.decision)  # still a decision, as verify will check
            # in the canonical form of Decision.to_json
            redacted = pretty_json(one.decision)
            out.append((decision, redacted, dumps_exact(one.input), one.sealed))
    return out


def parse_sealed(sealed: str) -> list[dict[str, Any]]:
    """The parts of a ``sealed`` column (checked in shape, not opened)."""
    try:
        parts = json.loads(sealed)
    except ValueError as exc:
        raise SealError(f"the sealed column is not JSON: {exc}") from exc
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise SealError("the sealed column is not a list of parts")
    for part in parts:
        part_key_ids(part)
    return parts


def sealed_key_ids(sealed: str | None) -> set[str]:
    """Every key id the ``sealed`` column names."""
    if sealed is None:
        return set()
    return {k for part in parse_sealed(sealed) for k in part_key_ids(part)}


def open_record(
    input: Mapping[str, Any],
    decision: Mapping[str, Any],
    sealed: str | None,
    store: KeyStore | None,
) -> OpenedRecord:
    """Join back every part of ``sealed`` whose keys ``store`` holds; report the others."""
    if sealed is None:
        return OpenedRecord(dict(input), dict(decision))
    parts = parse_sealed(sealed)
    wanted = {k for part in parts for k in part_key_ids(part)}
    keys = store.keys(wanted) if store is not None else {}
    erased = store.erased(wanted - keys.keys()) if store is not None else {}
    items: list[personal.Item] = []
    for index, part in enumerate(parts):
        plaintext = unseal(part, keys, _context(index))
        if plaintext is None:
            continue
        for entry in loads_exact(plaintext.decode("utf-8")):
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[1], list)):
                raise SealError("a sealed part holds a malformed item")
            items.append(personal.Item(str(entry[0]), tuple(entry[1]), entry[2]))
    joined_input, joined_decision = personal.join(input, decision, items)
    unavailable = tuple(sorted(wanted - keys.keys() - erased.keys()))
    return OpenedRecord(joined_input, joined_decision, erased, unavailable)


class ErasedRecordError(AuditError):
    """A record's personal data was erased, so it cannot be reproduced (exit code 3)."""

    exit_code = 3


class SealedDataUnavailableError(AuditError):
    """A record's personal data is sealed under keys the key store given does not hold."""


def readable(opened: OpenedRecord, seq: int, keys_path: object) -> OpenedRecord:
    """``opened`` if every part was joined back; otherwise the error saying why not."""
    if opened.erased:
        raise ErasedRecordError(
            f"record {seq} cannot be reproduced: its personal data was erased on {opened.erased_at}"
        )
    if opened.unavailable:
        raise SealedDataUnavailableError(
            f"record {seq}: the key store {keys_path} lacks the keys of its personal data "
            "(pass the log's key store with --keys)"
        )
    return opened
