"""The compact form in which pool workers send decisions back to the parent process.

Pickling a pydantic model spends most of its time on the model machinery, not the data: a
decision with ten findings took about 45 µs to pickle and 80 µs to unpickle, and the parent,
which unpickles every decision of a run on one core, became the bottleneck of `workers=2`. Here
a decision travels as plain tuples, each citation and pack reference once per answer, and the
parent rebuilds the models without validating them again (they were built by the engine from
validated input in the worker). The rebuilt decision is equal to the worker's, field for field,
and serialises to the same bytes (tested).
"""

from __future__ import annotations

from typing import Any

from ..core.collector import collector_paused
from ..model.decision import Citation, Decision, Finding, Outcome
from ..runtime.evaluate import trusted

_TAG = "decisions/3"  # 2: with the notice reference; 3: with the persons of joint accounts
_OUTCOMES = {o.value: o for o in Outcome}


def encode(payload: Any) -> Any:
    """A job's answer with its decisions in compact form; any other answer unchanged."""
    if not isinstance(payload, list) or not any(isinstance(r, Decision) for _, r in payload):
        return payload
    citations: dict[Citation, int] = {}
    shared: dict[int, tuple[int, Any]] = {}  # id -> (index, object): pack and engine refs
    rows: list[tuple[int, Any]] = []
    for position, result in payload:
        if not isinstance(result, Decision) or result.explanation is not None:
            rows.append((position, result))  # sent as it is
            continue
        findings = tuple(
            (
                f.rule_id,
                f.rule_version,
                f.title,
                f.outcome.value,
                f.reason,
                citations.setdefault(f.citation, len(citations)),
                f.facts,
                f.missing,
                f.remediation,
            )
            for f in result.findings
        )
        refs = tuple(
            shared.setdefault(id(ref), (len(shared), ref))[0]
            for ref in (result.rulepack, result.engine, result.notice)
        )
        rows.append(
            (
                position,
                (
                    result.document_kind,
                    result.document_id,
                    result.outcome.value,
                    result.as_of,
                    findings,
                    result.rules_evaluated,
                    result.no_rules_in_force,
                    result.regime_starts_on,
                    result.input_sha256,
                    refs,
                    result.persons,  # None but for a transfer with a joint account
                ),
            )
        )
    table = [tuple(c.__dict__.values()) for c in citations]
    objects = [ref for _, ref in sorted(shared.values(), key=lambda e: e[0])]
    return (_TAG, table, objects, rows)


def decode(payload: Any) -> Any:
    """The answer as `run_job` made it: decisions as `Decision` objects again."""
    if not (isinstance(payload, tuple) and len(payload) == 4 and payload[0] == _TAG):
        return payload
    with collector_paused():  # no cycles are made here; collections would walk it for none
        return _decode(*payload[1:])


def _decode(table: list[tuple[Any, ...]], objects: list[Any], rows: list[Any]) -> Any:
    fields = list(Citation.model_fields)
    citations = [trusted(Citation, **dict(zip(fields, row, strict=True))) for row in table]
    out: list[tuple[int, Any]] = []
    for position, row in rows:
        if not isinstance(row, tuple):
            out.append((position, row))
            continue
        kind, doc_id, outcome, as_of, findings, evaluated, none, starts, sha, refs, persons = row
        out.append(
            (
                position,
                trusted(
                    Decision,
                    document_kind=kind,
                    document_id=doc_id,
                    outcome=_OUTCOMES[outcome],
                    as_of=as_of,
                    findings=[
                        trusted(
                            Finding,
                            rule_id=f[0],
                            rule_version=f[1],
                            title=f[2],
                            outcome=_OUTCOMES[f[3]],
                            reason=f[4],
                            citation=citations[f[5]],
                            facts=f[6],
                            missing=f[7],
                            remediation=f[8],
                        )
                        for f in findings
                    ],
                    rules_evaluated=evaluated,
                    no_rules_in_force=none,
                    regime_starts_on=starts,
                    rulepack=objects[refs[0]],
                    input_sha256=sha,
                    engine=objects[refs[1]],
                    explanation=None,
                    notice=objects[refs[2]],
                    persons=persons,
                ),
            )
        )
    return out


__all__ = ["decode", "encode"]
