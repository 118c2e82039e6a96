"""Splitting a batch: chunks decided beside their neighbours (the documents their batch rules
may visit, from the keyed plan) decide exactly as the whole batch in one process, in this
process and in a persistent pool of worker processes, including groups that span chunks."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.batches import _chunked, _mixed, _whole, declaration_batches, pack, transfer_batches

from vasp_rules import RulePack
from vasp_rules.entities.registry import DocumentError
from vasp_rules.scale.chunks import Invalid, evaluate_chunked

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=transfer_batches(), size=st.integers(1, 4))
def test_transfer_chunks_decide_as_the_whole_batch(docs: list[dict], size: int) -> None:
    for name in ("pk", "batchshapes"):
        assert _chunked(pack(name), docs, size) == _whole(pack(name), docs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=declaration_batches(), size=st.integers(1, 3))
def test_declaration_chunks_decide_as_the_whole_batch(docs: list[dict], size: int) -> None:
    for name in ("pk", "batchshapes"):
        assert _chunked(pack(name), docs, size) == _whole(pack(name), docs)


def _batchshapes_with(tmp: Path, ids: set[str]) -> RulePack:
    """The batchshapes pack with only some of its rules: with no unkeyed transfer rule, chunks
    receive their documents' groups only (one unkeyed access sends every transfer)."""
    from ruamel.yaml import YAML

    root = tmp / "batchshapes"
    shutil.copytree(ROOT / "tests" / "packs" / "batchshapes", root)
    yaml = YAML(typ="rt")
    path = root / "rules" / "batch.yaml"
    data = yaml.load(path.read_text())
    data["rules"] = [r for r in data["rules"] if r["id"] in ids]
    with path.open("w") as out:
        yaml.dump(data, out)
    return RulePack.load(root)


@pytest.fixture(scope="module")
def nested_packs(tmp_path_factory: pytest.TempPathFactory) -> list[RulePack]:
    """Keyed transfer rules only (a batch quantifier inside another keyed by this transfer's
    fields among them), and the same with a nested access keyed by the other transfer's."""
    keyed = {"B-WINDOW", "B-TWOKEY", "B-NESTED"}
    packs = [
        _batchshapes_with(tmp_path_factory.mktemp("keyed"), keyed),
        _batchshapes_with(tmp_path_factory.mktemp("other"), keyed | {"B-NESTED-OTHER"}),
    ]
    assert not packs[0].batch_plan().unkeyed
    assert [a.rule_id for a in packs[1].batch_plan().unkeyed] == ["B-NESTED-OTHER"]
    return packs


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(docs=transfer_batches(), size=st.integers(1, 4))
def test_chunks_with_nested_batch_quantifiers_decide_as_the_whole_batch(
    nested_packs: list[RulePack], docs: list[dict], size: int
) -> None:
    for p in nested_packs:
        assert _chunked(p, docs, size) == _whole(p, docs)


def test_worker_pool_decides_as_one_process_with_groups_across_chunks(pk: RulePack) -> None:
    """With the shared pack (its pool of two workers persists from test to test)."""
    p = pk
    docs = _mixed()
    whole = _whole(p, docs)
    assert sum("AMN-14" in d for d in whole) == 8 and sum("TR-10" in d for d in whole) >= 2
    assert _chunked(p, docs, size=5, workers=2) == whole
    # the pool persists between calls, with the pack loaded once per worker
    pool = p.worker_pool(2)
    assert [d.to_json(indent=None) for d in p.evaluate_many(docs, AS_OF, workers=2)] == whole
    assert p.worker_pool(2) is pool
    separate = [d.to_json() for d in p.evaluate_many(docs, AS_OF, batch=False)]
    spread = p.evaluate_many(docs, AS_OF, workers=2, batch=False)
    assert [d.to_json() for d in spread] == separate
    bad = copy.deepcopy(docs)
    bad[7]["value"] = {"amount": "-1", "currency": "USD"}
    with pytest.raises(DocumentError, match=r"documents\[7\]\.value"):
        p.evaluate_many(bad, AS_OF, workers=2)


def test_worker_processes_evaluate_with_the_callers_parameter_overrides(pk: RulePack) -> None:
    """Workers load the pack with the same overrides (a reform), or they would decide with the
    stock parameters; the pool checks the sha256, which covers the overrides."""
    reform = RulePack.load(
        "pk", overrides={"travel_rule_threshold": {"amount": 100, "currency": "USD"}}
    )
    try:
        docs = _mixed()
        here = [d.to_json() for d in reform.evaluate_many(docs, AS_OF)]
        assert here != [d.to_json() for d in pk.evaluate_many(docs, AS_OF)]
        assert [d.to_json() for d in reform.evaluate_many(docs, AS_OF, workers=2)] == here
    finally:
        reform.close()


def test_worker_processes_report_each_decision_in_order_as_chunks_return(pk: RulePack) -> None:
    """Progress (and the chunked audit log) with workers: on_decision sees every decision,
    in input order, not only at the end."""
    docs = _mixed()
    seen: list[str] = []
    got = pk.evaluate_many(docs, AS_OF, workers=2, on_decision=lambda d: seen.append(d.to_json()))
    assert seen == [d.to_json() for d in got] and len(seen) == len(docs)


def test_large_chunks_and_answers_do_not_deadlock_the_pipes(pk: RulePack) -> None:
    """Regression: with jobs and answers both larger than a pipe's buffer, the parent blocked
    sending a third job to a worker that was blocked sending its first answer (found by
    benchmarks/scale.py workers at 50,000 documents). Answers are now read while jobs are sent."""
    import threading

    from support.repo import EXAMPLES

    template = json.loads((EXAMPLES / "customer.json").read_text())
    docs = []
    # 6 chunks of 1,000 (3 per worker, 2 in flight): each job (~700 kB) and answer (~950 kB)
    # is several times a pipe's buffer (~180 kB)
    for i in range(6_000):
        doc = copy.deepcopy(template)
        doc["customer_id"] = f"CUST-{i:08d}"
        docs.append(doc)
    got: list[str] = []
    run = threading.Thread(
        target=lambda: got.extend(
            r.to_json() for _, r in evaluate_chunked(pk, docs, AS_OF, batch=False, workers=2,
                                                     size=1000)
        ),
        daemon=True,
    )
    run.start()
    run.join(timeout=240)
    if run.is_alive():
        pk.close()  # the shared pack's workers, stuck
        raise AssertionError("the worker pool deadlocked")
    assert got == [d.to_json() for d in pk.evaluate_many(docs, AS_OF, batch=False)]


def test_decisions_come_back_from_workers_equal_and_byte_identical() -> None:
    """Workers send decisions as plain tuples (scale/wire.py) and the parent rebuilds them
    without validation: every field, every finding (with facts, missing facts and shared
    citations), and the JSON must be exactly what the worker made; other answers (JSON text,
    invalid documents, explained decisions) pass through untouched."""
    import pickle

    from vasp_rules.scale.wire import decode, encode

    p = pack("pk")
    docs = [json.loads(f.read_text()) for f in sorted((ROOT / "examples").glob("*.json"))]
    decisions = p.evaluate_many(docs, AS_OF, batch=False)
    assert any(f.missing for d in decisions for f in d.findings)  # a finding that asks for facts
    assert any(f.facts for d in decisions for f in d.findings)
    explained = p.evaluate(docs[0], AS_OF, explain=True)
    bad = Invalid(7, [("value.amount", "not a number")])
    part = [(i, d) for i, d in enumerate(decisions)] + [(7, bad), (8, explained)]
    wire = encode(part)
    assert wire != part  # a compact form was used ...
    back = decode(pickle.loads(pickle.dumps(wire)))
    assert [pos for pos, _ in back] == [pos for pos, _ in part]
    for (_, mine), (_, theirs) in zip(back, part, strict=True):
        assert mine == theirs
        if not isinstance(theirs, Invalid):
            assert mine.to_json() == theirs.to_json()
            assert mine.model_dump() == theirs.model_dump()
    assert encode(["{}", "{}"]) == ["{}", "{}"]  # JSON text answers are sent as they are
    assert decode(encode([(0, bad)])) == [(0, bad)]
