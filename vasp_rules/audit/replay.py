"""Replay: re-evaluate a recorded decision from the log alone and compare it byte for byte.

Why: a stored decision is only evidence if it can be reproduced. Replay takes the stored input,
the stored rule pack files (written to a temporary folder) and the stored ``as_of``, evaluates
again, and compares the canonical JSON of the new decision with the recorded one.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from vasp_rules.audit.log import (
    KIND_OVERRIDE,
    AuditError,
    DecisionLog,
    Record,
    TamperedLogError,
    UnknownRecordError,
    as_of_date,
    check_pack_path,
)
from vasp_rules.audit.sealing import OpenedRecord, readable
from vasp_rules.model.decision import Decision


class EvaluatingPack(Protocol):
    """What replay needs of a loaded rule pack."""

    @property
    def sha256(self) -> str: ...

    def evaluate(self, document: Mapping[str, Any], as_of: date) -> Decision: ...

    def evaluate_many(
        self, documents: Sequence[Mapping[str, Any]], as_of: date
    ) -> list[Decision]: ...


#: Loads a rule pack from a folder holding its files.
PackLoader = Callable[[Path], EvaluatingPack]


class ReplayError(AuditError):
    """The stored decision could not be re-evaluated at all (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of a replay. ``seq`` is the decision replayed (the original, for an override)."""

    requested_seq: int
    seq: int
    recorded: str
    replayed: str
    notes: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        """Whether the replayed decision is byte-for-byte the recorded one."""
        return self.recorded == self.replayed

    def diff(self) -> str:
        """Unified diff from the recorded decision to the replayed one (empty when the same)."""
        lines = difflib.unified_diff(
            self.recorded.splitlines(keepends=True),
            self.replayed.splitlines(keepends=True),
            fromfile=f"recorded (record {self.seq})",
            tofile="replayed",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _batch_members(log: DecisionLog, record: Record) -> list[Record]:
    """The records evaluated together with ``record``, checked against their hashes. A batch
    recorded in chunks (no size) is the contiguous run of records naming its first record."""
    start, size = record.batch_start, record.batch_size
    if start is None or (size is not None and size < 2):
        raise TamperedLogError(f"record {record.seq} has malformed batch fields")
    members: list[Record] = []
    seq = start
    while size is None or seq < start + size:
        try:
            member = log.get(seq)
        except UnknownRecordError:
            if size is None:
                break
            raise
        if size is None and member.batch_start != start:
            break
        members.append(member)
        seq += 1
    for member in members:
        if (
            not member.hash_ok
            or (member.batch_start, member.batch_size) != (start, size)
            or member.as_of != record.as_of
            or member.pack_sha256 != record.pack_sha256
        ):
            raise TamperedLogError(
                f"record {member.seq} of the batch {start}-{members[-1].seq} fails its checks; "
                "run `vasp-rules audit verify`"
            )
    return members


def _readable(log: DecisionLog, record: Record) -> OpenedRecord:
    """The record's input and decision with all its personal data; raises
    :class:`ErasedRecordError` (exit code 3) when some of it was erased."""
    return readable(log.opened(record), record.seq, log.keys_path)


def default_pack_loader() -> PackLoader:
    """``RulePack.load``, imported when needed (loading a pack is the runtime's work)."""
    from ..runtime.rulepack import RulePack

    return RulePack.load


def replay(log: DecisionLog, seq: int, loader: PackLoader | None = None) -> ReplayResult:
    """Re-evaluate decision ``seq`` (or the decision an override ``seq`` points at).

    Raises :class:`TamperedLogError` if the record or its pack fails its hashes,
    :class:`ReplayError` if the stored pack cannot be loaded or evaluated, and
    :class:`~vasp_rules.audit.sealing.ErasedRecordError` (exit code 3) if the personal data of
    the record (or of a member of its batch) was erased.
    """
    notes: list[str] = []
    record = log.get(seq)
    if record.kind == KIND_OVERRIDE:
        if record.overrides_seq is None:
            raise TamperedLogError(f"override record {seq} points at no decision")
        notes.append(f"record {seq} is an override; replaying decision {record.overrides_seq}")
        record = log.get(record.overrides_seq)
    if not record.hash_ok:
        raise TamperedLogError(
            f"record {record.seq} does not match its hash; run `vasp-rules audit verify`"
        )
    if record.pack_sha256 is None or record.decision_json is None:
        raise TamperedLogError(f"record {record.seq} lacks its decision or rule pack")
    files = log.pack_files(record.pack_sha256)
    opened = _readable(log, record)
    documents = [opened.input]
    recorded = record.decision_json
    if record.sealed is not None:  # compare with the decision as it was made
        recorded = Decision.model_validate(opened.decision).to_json()
    index = 0
    if record.batch_start is not None:
        members = _batch_members(log, record)
        documents = [_readable(log, m).input for m in members]
        index = record.seq - record.batch_start
        notes.append(
            f"record {record.seq} was evaluated in one batch with records "
            f"{members[0].seq}-{members[-1].seq}; replaying the batch together"
        )
        if record.batch_size is None:
            runs = [] if record.run_id is None else log.runs(run_id=record.run_id)
            if runs and runs[0].complete:
                notes.append(
                    f"the batch was recorded in chunks by run {runs[0].run_id}, which "
                    "completed: every document of the batch takes part"
                )
            else:
                notes.append(
                    "the batch was recorded in chunks as it was evaluated: if its run was "
                    "stopped before the end, documents never recorded cannot take part in the "
                    "replay, so cross-document findings about them may differ"
                )
    as_of = as_of_date(record)
    load = loader if loader is not None else default_pack_loader()
    with tempfile.TemporaryDirectory(prefix="vasp-rules-replay-") as tmp:
        root = Path(tmp)
        for rel, content in files.items():
            problem = check_pack_path(rel)
            if problem is not None:  # pack_files() already refuses these; belt and braces
                raise TamperedLogError(problem)
            target = root.joinpath(*rel.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        try:
            pack = load(root)
            if len(documents) == 1:
                decision = pack.evaluate(documents[0], as_of)
            else:
                decisions = pack.evaluate_many(documents, as_of)
                if len(decisions) != len(documents):
                    raise ReplayError(
                        f"the engine returned {len(decisions)} decisions for a batch of "
                        f"{len(documents)}"
                    )
                decision = decisions[index]
        except AuditError:
            raise
        except Exception as exc:  # the engine's failure is the replay's result, not a crash
            raise ReplayError(
                f"could not re-evaluate record {record.seq} with its stored rule pack: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    if pack.sha256 != record.pack_sha256:
        notes.append(
            f"the stored files load as rule pack {pack.sha256[:12]}, "
            f"not {record.pack_sha256[:12]} as recorded"
        )
    if record.engine_version != decision.engine.version:
        notes.append(
            f"recorded with engine {record.engine_name} {record.engine_version}, replayed with "
            f"{decision.engine.name} {decision.engine.version}"
        )
    if decision.notice is not None and "notice" not in json.loads(recorded):
        # recorded before decisions named their notice: the id derives from the stored
        # pack's disclaimer, not from the evaluation, so it is left out of the comparison
        notes.append(
            f"recorded before decisions carried the notice id; the replayed decision's "
            f"({decision.notice.id}) is left out of the comparison"
        )
        decision = decision.model_copy(update={"notice": None})
    return ReplayResult(seq, record.seq, recorded, decision.to_json(), tuple(notes))
