"""Verification: read the whole chain in one snapshot and report its first broken record."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from vasp_rules.audit.log.errors import AuditError, RecordingError, TamperedLogError
from vasp_rules.audit.log.packs import load_pack
from vasp_rules.audit.log.records import (
    GENESIS_HASH,
    KIND_DECISION,
    KIND_OVERRIDE,
    KIND_RUN,
    Head,
    Record,
)
from vasp_rules.audit.log.runs import IncompleteRun, OpenRun, run_problem
from vasp_rules.audit.log.schema import meta_head
from vasp_rules.audit.signing import Keyring, PublicKey, SignedHead, override_signature
from vasp_rules.model.decision import Outcome

_DECISION_OUTCOMES: Final = frozenset(o.value for o in Outcome if o is not Outcome.INFO)


@dataclass(frozen=True)
class VerifyReport:
    """Result of :meth:`DecisionLog.verify`. ``first_bad_seq`` is the first broken record."""

    ok: bool
    records: int
    head: Head
    first_bad_seq: int | None = None
    problem: str | None = None
    #: Runs with a start record and no end record (killed, or still running): not a fault of
    #: the chain, but what they decided is only part of what they were asked to.
    incomplete_runs: tuple[IncompleteRun, ...] = ()
    #: Overrides with no signature (allowed without a keyring; a keyring refuses them).
    unsigned_overrides: tuple[int, ...] = ()
    #: The keyring every override was checked against, if one was given.
    keyring: str | None = None
    #: The key that signed the anchor (``key ID (label)``), if the anchor was a signed head.
    anchor_key: str | None = None

    def summary(self) -> str:
        """One line for humans, and note lines: incomplete runs, unsigned overrides, the
        anchor's signer."""
        if not self.ok:
            return f"FAILED at record {self.first_bad_seq}: {self.problem}"
        first = f"OK: {self.records} records verified; head {self.head.token}"
        if self.keyring is not None:
            first += f"; every override is signed by a key of {self.keyring}"
        lines = [first] + [f"note: {run.summary()}" for run in self.incomplete_runs]
        if self.unsigned_overrides:
            n = len(self.unsigned_overrides)
            seqs = ", ".join(str(s) for s in self.unsigned_overrides[:20])
            seqs += ", ..." if n > 20 else ""
            lines.append(
                f"note: {n} override{' is' if n == 1 else 's are'} unsigned: "
                f"record{'' if n == 1 else 's'} {seqs} "
                "(verify with --keyring to require signatures)"
            )
        if self.anchor_key is not None:
            trust = (
                "in the keyring" if self.keyring else "no keyring given, so not checked for trust"
            )
            lines.append(f"note: the anchor is signed by {self.anchor_key}, {trust}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "ok": self.ok,
            "records": self.records,
            "head": self.head.token,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "incomplete_runs": [dataclasses.asdict(run) for run in self.incomplete_runs],
            "unsigned_overrides": list(self.unsigned_overrides),
            "keyring": self.keyring,
            "anchor_key": self.anchor_key,
        }


def verify_chain(
    conn: sqlite3.Connection,
    select: str,
    path: Path,
    anchor: Head | SignedHead | None,
    keyring: Keyring | None = None,
) -> VerifyReport:
    """Check the chain read by ``select`` in the snapshot of ``conn`` (see
    :meth:`~vasp_rules.audit.log.DecisionLog.verify` for what is checked). A signed
    ``anchor`` is checked first (raises :class:`~vasp_rules.audit.signing.SignatureError`)."""
    anchor_key = None
    if isinstance(anchor, SignedHead):
        anchor_key = anchor.check(keyring).describe()
        anchor = anchor.head
    unsigned: list[int] = []
    untrusted: tuple[int, str] | None = None  # the first override the keyring does not accept
    prev = Head(0, GENESIS_HASH)
    count = 0
    chain_bad: tuple[int, str] | None = None
    pack_first_use: dict[str, int] = {}
    leader: Record | None = None  # first record of a batch still expecting members
    open_runs: dict[str, OpenRun] = {}  # runs started and not yet ended
    for row in conn.execute(f"{select} ORDER BY seq"):
        record = Record.from_row(row)
        expected = prev.seq + 1
        if record.seq != expected:
            chain_bad = (expected, f"record {expected} is missing (next is {record.seq})")
            break
        if record.prev_hash != prev.hash:
            chain_bad = (record.seq, f"does not link to record {prev.seq} (prev_hash differs)")
            break
        if not record.hash_ok:
            chain_bad = (record.seq, "content does not match its hash (record was changed)")
            break
        if leader is not None and leader.batch_size is None and record.batch_start != leader.seq:
            leader = None  # a batch recorded in chunks ends at its first non-member
        problem = (
            consistency(conn, record)
            or batch_problem(record, leader)
            or run_problem(record, open_runs)
        )
        if problem is not None:
            chain_bad = (record.seq, problem)
            break
        if record.kind == KIND_OVERRIDE:
            if record.signer is None:
                unsigned.append(record.seq)
            if keyring is not None and untrusted is None:
                untrusted = _untrusted(record, keyring)
        if record.kind in (KIND_DECISION, KIND_RUN) and record.pack_sha256 is not None:
            pack_first_use.setdefault(record.pack_sha256, record.seq)
        if record.batch_start == record.seq:
            leader = record
        if leader is not None and leader.batch_size and record.seq == batch_end(leader):
            leader = None
        prev = Head(record.seq, record.hash)
        count += 1

    if chain_bad is None:
        try:
            stored_head = meta_head(conn, path)
        except TamperedLogError:
            stored_head = Head(-1, "")
        if stored_head != prev:
            if stored_head.seq > prev.seq:
                first = prev.seq + 1
                why = (
                    f"the log's head is record {stored_head.seq} but the chain ends at "
                    f"{prev.seq}: records were removed from the end"
                )
            elif 0 <= stored_head.seq < prev.seq:
                first = stored_head.seq + 1
                why = (
                    f"records after the log's head ({stored_head.seq}) were added "
                    "without going through the log"
                )
            else:
                first = max(prev.seq, 1)
                why = "the log's head entry does not match the last record"
            chain_bad = (first, why)

    if chain_bad is None and leader is not None and leader.batch_size is not None:
        chain_bad = (
            prev.seq + 1,
            f"batch of records {leader.seq}-{batch_end(leader)} ends early at {prev.seq}",
        )

    bad: list[tuple[int, str]] = [] if chain_bad is None else [chain_bad]
    if untrusted is not None:
        bad.append(untrusted)
    for sha, first_use in sorted(pack_first_use.items(), key=lambda kv: kv[1]):
        _, problem = load_pack(conn, sha)
        if problem is not None:
            bad.append((first_use, problem))
            break

    if not bad and anchor is not None:
        if anchor.seq > prev.seq:
            bad.append(
                (
                    prev.seq + 1,
                    f"the anchor names record {anchor.seq} but the chain ends at "
                    f"{prev.seq}: records were removed",
                )
            )
        elif anchor.seq >= 1:
            row = conn.execute("SELECT hash FROM records WHERE seq = ?", (anchor.seq,))
            stored = row.fetchone()
            if stored is None or stored[0] != anchor.hash:
                bad.append((anchor.seq, "differs from the anchored hash: the chain was rewritten"))
        elif anchor.hash != GENESIS_HASH:
            bad.append((1, "the anchor is not a head of this log"))

    if bad:
        first_seq, problem = min(bad, key=lambda b: b[0])
        return VerifyReport(False, count, prev, first_seq, problem)
    incomplete = tuple(
        IncompleteRun(run.start.run_id or "", run.start.seq, run.decisions)
        for run in sorted(open_runs.values(), key=lambda r: r.start.seq)
    )
    return VerifyReport(
        True,
        count,
        prev,
        incomplete_runs=incomplete,
        unsigned_overrides=tuple(unsigned),
        keyring=None if keyring is None else keyring.source,
        anchor_key=anchor_key,
    )


def _untrusted(record: Record, keyring: Keyring) -> tuple[int, str] | None:
    """Why the keyring does not accept override ``record`` (its seq and the problem), or None.
    Its signature was checked already (:func:`consistency`): only its key is looked up."""
    key = None if record.signer is None else PublicKey.from_signer(record.signer)
    if key is None:
        return record.seq, f"override is not signed, and {keyring.source} requires signatures"
    if keyring.find(key) is None:
        return (
            record.seq,
            f"override is signed by key {key.key_id}, which is not in {keyring.source}",
        )
    return None


def consistency(conn: sqlite3.Connection, record: Record) -> str | None:
    """Problems a well-formed record cannot have (a forger who recomputed hashes might)."""
    if record.kind != KIND_OVERRIDE and (record.signer, record.signature) != (None, None):
        return f"a {record.kind} record carries a signature; only overrides are signed"
    if record.kind == KIND_DECISION:
        return decision_consistency(record)
    if record.sealed is not None:
        return f"an {record.kind} record carries sealed personal data"
    if record.kind == KIND_OVERRIDE:
        if record.overrides_seq is None or record.overrides_seq >= record.seq:
            return "override does not point at an earlier record"
        target = conn.execute(
            "SELECT kind, hash, document_kind, document_id FROM records WHERE seq = ?",
            (record.overrides_seq,),
        ).fetchone()
        if target is None or target[0] != KIND_DECISION:
            return f"override points at record {record.overrides_seq}, not a decision"
        if target[1] != record.overrides_hash:
            return f"override does not match the hash of record {record.overrides_seq}"
        if (target[2], target[3]) != (record.document_kind, record.document_id):
            return "override names a different document than the decision it overrides"
        if not (record.override_by or "").strip() or not (record.override_reason or "").strip():
            return "override without who or why"
        if record.outcome not in _DECISION_OUTCOMES:
            return f"override has an invalid outcome {record.outcome!r}"
        return override_signature(record).problem  # a signature present must verify
    if record.kind == KIND_RUN:
        return None  # checked with the run it belongs to (_run_problem)
    return f"unknown record kind {record.kind!r}"


def batch_end(leader: Record) -> int:
    """The last record of the batch that ``leader`` starts."""
    return leader.seq + (leader.batch_size or 1) - 1


def batch_problem(record: Record, leader: Record | None) -> str | None:
    """Batches are contiguous runs of decisions sharing batch fields, as_of and pack. A batch
    recorded in one transaction has its size; one recorded in chunks as it was evaluated
    (:class:`ChunkedRecorder`) has none, and ends at its first non-member (a run killed
    midway keeps its committed chunks)."""
    if leader is not None:
        same = (
            record.kind == KIND_DECISION
            and record.batch_start == leader.seq
            and record.batch_size == leader.batch_size
            and record.as_of == leader.as_of
            and record.pack_sha256 == leader.pack_sha256
        )
        if not same:
            return f"breaks the batch of records {leader.seq}-{batch_end(leader)}"
        return None
    if record.batch_start is None and record.batch_size is None:
        return None
    if record.kind != KIND_DECISION or record.batch_start is None:
        return "malformed batch fields"
    if record.batch_size is None:
        if record.batch_start != record.seq:
            return f"claims a batch starting at record {record.batch_start} it is not part of"
        return None
    if record.batch_size < 2 or record.batch_start != record.seq:
        return f"claims a batch starting at record {record.batch_start} it is not part of"
    return None


def decision_consistency(record: Record) -> str | None:
    """What is wrong with a decision record's decision and columns, or None."""
    try:
        decision = record.decision()
    except (ValidationError, RecordingError):
        return "stored decision is not a valid decision"
    if decision.to_json() != record.decision_json:
        return "stored decision is not in canonical form"
    expected = (
        decision.document_kind,
        decision.document_id,
        decision.outcome.value,
        decision.as_of.isoformat(),
        decision.rulepack.name,
        decision.rulepack.version,
        decision.rulepack.sha256,
        decision.engine.name,
        decision.engine.version,
    )
    actual = (
        record.document_kind,
        record.document_id,
        record.outcome,
        record.as_of,
        record.pack_name,
        record.pack_version,
        record.pack_sha256,
        record.engine_name,
        record.engine_version,
    )
    if expected != actual:
        return "columns disagree with the stored decision"
    if any(
        v is not None
        for v in (
            record.overrides_seq,
            record.overrides_hash,
            record.override_by,
            record.override_reason,
        )
    ):
        return "decision record carries override fields"
    try:
        record.document()
    except (ValueError, TamperedLogError):
        return "stored input is not a JSON object"
    if record.sealed is not None:
        # the redacted decision's public fields were compared above; the personal parts are
        # checked in shape only (reading them needs the key store, verifying must not)
        from vasp_rules.audit.sealing import parse_sealed

        try:
            parse_sealed(record.sealed)
        except AuditError:
            return "sealed personal data is malformed"
    return None
