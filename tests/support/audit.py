"""Shared helpers for the audit-log tests: a small fake rule pack and documents.

The fake pack is a real folder-backed pack: ``FakePack.load(folder)`` reads its files, and its
decisions depend on a threshold read from one of them, so replay genuinely re-evaluates from the
stored files. Its sha256 is computed here independently of ``vasp_rules.audit.pack_digest``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from vasp_rules.model.decision import (
    Citation,
    Decision,
    EngineRef,
    Finding,
    Outcome,
    RulePackRef,
    most_severe,
)

ENGINE_VERSION = "0.1.0"
AS_OF = date(2025, 7, 1)


def spec_pack_sha256(files: Mapping[str, bytes]) -> str:
    """The pack hash as the interface specifies it, written out independently."""
    text = "".join(
        f"{path}\x00{hashlib.sha256(files[path]).hexdigest()}\n" for path in sorted(files)
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pack_files(threshold: int = 1000, version: str = "1.0.0") -> dict[str, bytes]:
    return {
        "pack.toml": f'name = "fake-pk"\nversion = "{version}"\n'.encode(),
        "rules/limits/threshold.txt": f"{threshold}\n".encode(),
        "rules/README.md": b"Fake pack for audit-log tests.\n",
    }


@dataclass
class FakePack:
    """Exposes what the log and replay need: name, version, sha256, files, evaluate."""

    files: dict[str, bytes]
    engine_version: str = ENGINE_VERSION
    name: str = field(init=False)
    version: str = field(init=False)
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        meta = dict(
            line.split(" = ", 1) for line in self.files["pack.toml"].decode().splitlines() if line
        )
        self.name = json.loads(meta["name"])
        self.version = json.loads(meta["version"])
        self.sha256 = spec_pack_sha256(self.files)

    @classmethod
    def load(cls, root: Path, engine_version: str = ENGINE_VERSION) -> FakePack:
        files = {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        return cls(files, engine_version)

    def evaluate(self, document: Mapping[str, Any], as_of: date) -> Decision:
        return self.evaluate_many([document], as_of)[0]

    def evaluate_many(self, documents: Sequence[Mapping[str, Any]], as_of: date) -> list[Decision]:
        """Like the real pack's batch evaluation: a cross-document rule refers a wallet that
        more than one document of the batch declares."""
        wallets = Counter(d["wallet"] for d in documents if "wallet" in d)
        return [self._decide(d, as_of, wallets) for d in documents]

    def _decide(self, document: Mapping[str, Any], as_of: date, wallets: Counter[str]) -> Decision:
        threshold = int(self.files["rules/limits/threshold.txt"].decode())
        findings: list[Finding] = []
        citation = Citation(instrument="Test Act", provision="s. 1", confidence="A")
        if wallets.get(document.get("wallet", ""), 0) > 1:
            findings.append(
                Finding(
                    rule_id="WALLET-1",
                    rule_version=1,
                    title="Wallet declared twice",
                    outcome=Outcome.REFER,
                    reason=f"wallet {document['wallet']} appears {wallets[document['wallet']]} "
                    "times in the batch",
                    citation=citation,
                    remediation="explain the shared wallet",
                )
            )
        amount = document.get("amount")
        if amount is None:
            findings.append(
                Finding(
                    rule_id="LIMIT-1",
                    rule_version=1,
                    title="Amount needed",
                    outcome=Outcome.REQUIRE_DOCUMENTS,
                    reason="no amount",
                    citation=citation,
                    missing=["amount"],
                    remediation="state the amount",
                )
            )
        elif amount > threshold:
            findings.append(
                Finding(
                    rule_id="LIMIT-1",
                    rule_version=1,
                    title="Amount over threshold",
                    outcome=Outcome.REJECT,
                    reason=f"amount {amount} exceeds {threshold}",
                    citation=citation,
                    facts={"amount": amount},
                    remediation="reduce the amount",
                )
            )
        outcome = most_severe([f.outcome for f in findings])
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return Decision(
            document_kind=str(document.get("kind", "transfer")),
            document_id=str(document["id"]),
            outcome=outcome,
            as_of=as_of,
            findings=findings,
            rules_evaluated=["LIMIT-1", "WALLET-1"],
            rulepack=RulePackRef(name=self.name, version=self.version, sha256=self.sha256),
            input_sha256=hashlib.sha256(canonical.encode()).hexdigest(),
            engine=EngineRef(name="vasp-rules", version=self.engine_version),
        )


def document(i: int, amount: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "transfer", "id": f"T-{i:04d}", "note": "ünïcode ok"}
    if amount is not None:
        doc["amount"] = amount
    return doc


def pairs(pack: FakePack, start: int, count: int) -> list[tuple[Decision, dict[str, Any]]]:
    """``count`` (decision, document) pairs with a mix of outcomes."""
    out = []
    for i in range(start, start + count):
        doc = document(i, None if i % 5 == 0 else (i * 397) % 2000)
        out.append((pack.evaluate(doc, AS_OF), doc))
    return out


class StepClock:
    """A deterministic clock: each call returns one second later than the previous."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 7, 1, 9, 0, tzinfo=UTC)
        self.calls = 0

    def __call__(self) -> datetime:
        self.calls += 1
        self.now += timedelta(seconds=1)
        return self.now


def opened(log: Any, record: Any) -> Any:
    """``record`` as its readers see it: its decision JSON and input with the personal data
    joined back from the log's key store (the stored columns hold them redacted)."""
    import dataclasses

    from vasp_rules.audit.jsontext import dumps_exact

    if record.sealed is None:
        return record
    joined = log.opened(record)
    assert joined.complete, (record.seq, joined)
    return dataclasses.replace(
        record,
        decision_json=Decision.model_validate(joined.decision).to_json(),
        input_json=dumps_exact(joined.input),  # numbers exactly as stored
    )
