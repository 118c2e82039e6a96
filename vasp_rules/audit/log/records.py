"""Records and hashing: what one row of the chain holds, how its hash is computed, and one
factory per kind of record (decision, override, run), so every append builds rows one way."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel

from vasp_rules.audit.jsontext import dumps_exact, loads_exact
from vasp_rules.audit.log.errors import RecordingError, TamperedLogError
from vasp_rules.core.canonical import canonical_bytes
from vasp_rules.model.decision import Decision

if TYPE_CHECKING:
    from vasp_rules.audit.keystore import KeyStore
    from vasp_rules.audit.log.packs import PackFiles
    from vasp_rules.audit.sealing import OpenedRecord

#: ``prev_hash`` of the first record.
GENESIS_HASH: Final = "0" * 64

#: The kinds of record in the chain.
KIND_DECISION: Final = "decision"
KIND_OVERRIDE: Final = "override"
#: Schema 2: the start or end of a run (one `evaluate` run, one service request).
KIND_RUN: Final = "run"
#: ``document_kind`` of a run record (its ``document_id`` is the run id).
RUN_DOCUMENT_KIND: Final = "run"

#: ``outcome`` of a run record: the run began; it ended normally; it ended on an error.
RUN_STARTED: Final = "started"
RUN_COMPLETED: Final = "completed"
RUN_STOPPED: Final = "stopped"
#: Status of a run with a start record and no end record (killed, or still running).
RUN_INCOMPLETE: Final = "incomplete"

#: Columns added by schema 2. The hash covers them only when set, so every schema-1 record
#: keeps its hash.
RUN_COLUMNS: Final = ("run_id", "request_id", "run_decisions")
#: Columns added by schema 3, hashed only when set like the run columns: a decision's sealed
#: personal data, an override's signer and signature.
SCHEMA3_COLUMNS: Final = ("sealed", "signer", "signature")

_HASH_DOMAIN: Final = b"vasp-rules decision-log v1\n"

Clock = Callable[[], datetime]
#: An input document: a JSON-like mapping, or a validated pydantic document model.
Document = Mapping[str, Any] | BaseModel


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """A recorded time: UTC, microseconds, ``Z``; a naive clock is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordingError("the clock returned a naive datetime; it must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Head:
    """The last record of a chain: its sequence number and hash (``0`` and zeros when empty)."""

    seq: int
    hash: str

    @property
    def token(self) -> str:
        """``SEQ:HASH``, the form printed by ``audit head`` and accepted by ``--anchor``."""
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, token: str) -> Head:
        """Parse ``SEQ:HASH``; raises :class:`ValueError` on anything else."""
        seq_text, sep, digest = token.strip().partition(":")
        if not sep or not seq_text.isdigit() or len(digest) != 64:
            raise ValueError(f"anchor must look like SEQ:HASH (64 hex digits), got {token!r}")
        try:
            int(digest, 16)
        except ValueError:
            raise ValueError(f"anchor hash is not hexadecimal: {digest!r}") from None
        return cls(int(seq_text), digest.lower())


@dataclass(frozen=True, kw_only=True)
class Record:
    """One row of the chain. Decision records carry the decision, input, pack and engine;
    override records carry the link to the decision they override, who, why and the new outcome;
    run records (schema 2) mark the start and the end of a run.

    The run columns (schema 2) come next: ``run_id`` on a run's records, ``request_id`` on
    every record of a service request's run, ``run_decisions`` on run records (announced on
    the start record when known; recorded, on the end record). The columns of schema 3 come
    last: ``sealed`` (a decision's personal data, encrypted) and ``signer`` and ``signature``
    (an override's signature).
    """

    seq: int
    kind: str
    recorded_at: str
    document_kind: str
    document_id: str
    outcome: str
    as_of: str | None = None
    decision_json: str | None = None
    input_json: str | None = None
    batch_start: int | None = None
    batch_size: int | None = None
    pack_name: str | None = None
    pack_version: str | None = None
    pack_sha256: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    overrides_seq: int | None = None
    overrides_hash: str | None = None
    override_by: str | None = None
    override_reason: str | None = None
    prev_hash: str
    hash: str = ""
    run_id: str | None = None
    request_id: str | None = None
    run_decisions: int | None = None
    sealed: str | None = None
    signer: str | None = None
    signature: str | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Record:
        """The record of a row read with the SELECT of :func:`.schema.select_for`."""
        return cls(**dict(zip(RECORD_COLUMNS, row, strict=True)))

    def content(self) -> dict[str, Any]:
        """Every column but ``hash``: what the hash covers (seq and prev_hash included). The
        run columns of schema 2 are left out when empty, so a record without them hashes as
        it did in schema 1; so are the columns of schema 3."""
        data = dataclasses.asdict(self)
        del data["hash"]
        for column in (*RUN_COLUMNS, *SCHEMA3_COLUMNS):
            if data[column] is None:
                del data[column]
        return data

    def computed_hash(self) -> str:
        """The hash this record's content calls for; differs from ``hash`` if it was edited."""
        return hashlib.sha256(_HASH_DOMAIN + canonical_bytes(self.content())).hexdigest()

    @property
    def hash_ok(self) -> bool:
        """Whether the stored hash matches the content (the link to the previous is not checked)."""
        return self.computed_hash() == self.hash

    def decision(self, keys: KeyStore | None = None) -> Decision:
        """The stored decision (decision records only); with ``keys``, with its personal data
        joined back as far as the key store holds the keys (redacted otherwise)."""
        if self.decision_json is None:
            raise RecordingError(f"record {self.seq} is an {self.kind} record, not a decision")
        if keys is not None and self.sealed is not None:
            return Decision.model_validate(self.opened(keys).decision)
        return Decision.model_validate_json(self.decision_json)

    def document(self, keys: KeyStore | None = None) -> dict[str, Any]:
        """The stored input document (decision records only); with ``keys``, with its personal
        data joined back as far as the key store holds the keys (redacted otherwise)."""
        if self.input_json is None:
            raise RecordingError(f"record {self.seq} is an {self.kind} record, not a decision")
        if keys is not None and self.sealed is not None:
            return self.opened(keys).input
        try:
            value = loads_exact(self.input_json)  # the numbers as the engine was given them
        except RecursionError:  # only an edited record can hold this
            raise TamperedLogError(
                f"record {self.seq}: stored input is nested too deeply"
            ) from None
        except ValueError as exc:  # only an edited record can hold this
            raise TamperedLogError(f"record {self.seq}: stored input is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise TamperedLogError(f"record {self.seq}: stored input is not a JSON object")
        return value

    def opened(self, keys: KeyStore | None) -> OpenedRecord:
        """The input and decision with the personal data of ``sealed`` joined back with the
        keys ``keys`` holds; says which parts were erased (and when) or are unavailable."""
        from vasp_rules.audit.sealing import open_record

        if self.decision_json is None:
            raise RecordingError(f"record {self.seq} is an {self.kind} record, not a decision")
        try:
            decision = json.loads(self.decision_json)
        except ValueError:
            raise TamperedLogError(f"record {self.seq}: stored decision is not JSON") from None
        return open_record(self.document(), decision, self.sealed, keys)

    def as_dict(self) -> dict[str, Any]:
        """All columns, for JSON output."""
        return dataclasses.asdict(self)


RECORD_COLUMNS: Final = tuple(f.name for f in dataclasses.fields(Record))


def seal(record: Record) -> Record:
    """The record with its hash computed."""
    return dataclasses.replace(record, hash=record.computed_hash())


def decision_record(
    *,
    head: Head,
    recorded_at: str,
    decision: Decision,
    decision_json: str,
    input_json: str,
    batch_start: int | None = None,
    batch_size: int | None = None,
    run_id: str | None = None,
    request_id: str | None = None,
    sealed: str | None = None,
) -> Record:
    """The decision record appended after ``head``: its columns come from the decision."""
    return seal(
        Record(
            seq=head.seq + 1,
            kind=KIND_DECISION,
            recorded_at=recorded_at,
            document_kind=decision.document_kind,
            document_id=decision.document_id,
            outcome=decision.outcome.value,
            as_of=decision.as_of.isoformat(),
            decision_json=decision_json,
            input_json=input_json,
            batch_start=batch_start,
            batch_size=batch_size,
            pack_name=decision.rulepack.name,
            pack_version=decision.rulepack.version,
            pack_sha256=decision.rulepack.sha256,
            engine_name=decision.engine.name,
            engine_version=decision.engine.version,
            prev_hash=head.hash,
            run_id=run_id,
            request_id=request_id,
            sealed=sealed,
        )
    )


def override_record(
    *,
    head: Head,
    recorded_at: str,
    original: Record,
    outcome: str,
    by: str,
    reason: str,
    signer: str | None = None,
    signature: str | None = None,
) -> Record:
    """The override of decision record ``original`` appended after ``head``."""
    return seal(
        Record(
            seq=head.seq + 1,
            kind=KIND_OVERRIDE,
            recorded_at=recorded_at,
            document_kind=original.document_kind,
            document_id=original.document_id,
            outcome=outcome,
            overrides_seq=original.seq,
            overrides_hash=original.hash,
            override_by=by,
            override_reason=reason,
            prev_hash=head.hash,
            signer=signer,
            signature=signature,
        )
    )


def run_record(
    *,
    head: Head,
    recorded_at: str,
    run_id: str,
    request_id: str | None,
    status: str,
    as_of: str | None,
    pack: PackFiles,
    decisions: int | None,
) -> Record:
    """The start or end record (``status``) of a run, appended after ``head``."""
    return seal(
        Record(
            seq=head.seq + 1,
            kind=KIND_RUN,
            recorded_at=recorded_at,
            document_kind=RUN_DOCUMENT_KIND,
            document_id=run_id,
            outcome=status,
            as_of=as_of,
            pack_name=pack.name,
            pack_version=pack.version,
            pack_sha256=pack.sha256,
            prev_hash=head.hash,
            run_id=run_id,
            request_id=request_id,
            run_decisions=decisions,
        )
    )


def input_json(document: Document, decision: Decision) -> str:
    """The input as exact JSON text (:func:`~vasp_rules.audit.jsontext.dumps_exact`), key order
    kept, each Decimal with its own digits and exponent; refuse what would not come back
    identical (:meth:`Record.document` reads it back), so replay gives the engine the values
    it decided on. A float comes back as the Decimal its shortest text spells, which is how the
    document models read a float."""
    if isinstance(document, BaseModel):
        plain = document.model_dump(mode="json")
    else:
        plain = dict(document)
    try:
        text = dumps_exact(plain)
    except (TypeError, ValueError) as exc:
        raise RecordingError(
            f"input for {decision.document_id} is not plain JSON ({exc}); "
            "it could not be replayed exactly"
        ) from None
    # dumps_exact writes each Decimal's own digits and exponent, so a value that comes back
    # equal comes back identical; a float comes back as the Decimal of its shortest text
    back = loads_exact(text)
    if back != plain and back != _floats_as_read(plain):
        raise RecordingError(
            f"input for {decision.document_id} does not survive a JSON round trip "
            "(tuples, non-string keys?); it could not be replayed exactly"
        )
    return text


def _floats_as_read(value: Any) -> Any:
    """``value`` with each float as the Decimal of its shortest text (what loads_exact reads
    where dumps_exact wrote a float)."""
    if isinstance(value, float):
        return Decimal(float.__repr__(value))
    if isinstance(value, dict):
        return {k: _floats_as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_as_read(v) for v in value]
    return value


def as_of_date(record: Record) -> date:
    """The ``as_of`` of a decision record."""
    if record.as_of is None:
        raise RecordingError(f"record {record.seq} has no as_of (not a decision)")
    return date.fromisoformat(record.as_of)
