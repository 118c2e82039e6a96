"""Batches pause the cyclic garbage collector (core/collector.py): safe only because evaluation
makes no reference cycles, and only if the collector is always put back as it was."""

from __future__ import annotations

import gc
import json
import threading
from typing import Any

import pytest
from support.repo import AS_OF, EXAMPLES, example

from vasp_rules import DocumentError, RulePack
from vasp_rules.core.collector import collector_paused

KINDS = ["licence_application", "transfer", "customer", "amnesty_declaration"]


def _documents() -> list[dict[str, Any]]:
    """Every example document, each kind, and a batch that relates documents (structuring)."""
    docs = [example(kind) for kind in KINDS]
    docs += json.loads((EXAMPLES / "batches" / "transfers_structuring.json").read_text())
    return docs


def _garbage_cycles(run: Any) -> int:
    """How many objects only the cyclic collector could free after `run()` (its result
    dropped), with the collector off meanwhile."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        run()
        return gc.collect()
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("batch", [True, False])
def test_evaluating_makes_no_reference_cycles(pk: RulePack, batch: bool) -> None:
    """If a change made evaluation leave cycles behind, pausing the collector for a batch
    would let them pile up until the batch ends: this fails first."""
    docs = _documents()
    pk.evaluate_many(docs, AS_OF, batch=batch)  # compiled and warmed up: lazy code made once
    for engine in ("durable", "reference"):
        assert _garbage_cycles(lambda e=engine: pk.evaluate_many(docs, AS_OF, batch=batch,
                                                                 engine=e)) == 0
    assert _garbage_cycles(lambda: pk.evaluate_each(docs, AS_OF)) == 0
    assert _garbage_cycles(lambda: [pk.evaluate(d, AS_OF) for d in docs]) == 0


def test_a_batch_runs_with_the_collector_off_and_puts_it_back(pk: RulePack) -> None:
    seen: list[bool] = []
    docs = _documents()
    assert gc.isenabled()
    pk.evaluate_many(docs, AS_OF, batch=False, on_decision=lambda d: seen.append(gc.isenabled()))
    assert seen == [False] * len(docs)
    assert gc.isenabled()
    pk.evaluate_each(docs, AS_OF)
    assert gc.isenabled()


def test_the_collector_comes_back_when_a_document_is_refused(pk: RulePack) -> None:
    bad = dict(example("transfer"), value={"amount": "-1", "currency": "PKR"})
    with pytest.raises(DocumentError):
        pk.evaluate_many([example("customer"), bad], AS_OF)
    assert gc.isenabled()
    out = pk.evaluate_each([example("customer"), bad], AS_OF)
    assert isinstance(out[1], DocumentError)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(pk: RulePack) -> None:
    gc.disable()
    try:
        pk.evaluate_many(_documents(), AS_OF)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_in_threads_restore_the_collector_once_all_end(pk: RulePack) -> None:
    """The first pause records the state and the last one restores it, whatever order the
    threads end in; meanwhile it stays off."""
    docs = _documents()
    start = threading.Barrier(4)
    during: list[bool] = []
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(5):
                pk.evaluate_many(docs, AS_OF, on_decision=lambda d: during.append(gc.isenabled()))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert during and not any(during)
    assert gc.isenabled()


def test_nested_pauses_restore_only_at_the_outermost() -> None:
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
