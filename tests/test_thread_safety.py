"""Evaluation is thread-safe for any number of `as_of` dates (issue 11, finding 3). The per-date
cache drops old dates; a dropped date's durable-rules rulesets are freed only once no thread
uses them (a freed handle may be reused by another ruleset: a silently wrong decision)."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from support.dates import sample_dates
from support.packs import pack as shared_pack
from support.repo import PK, example

from vasp_rules import RulePack
from vasp_rules.compiler.compile import CompiledPack
from vasp_rules.engine.durable_backend import EngineError
from vasp_rules.runtime import rulepack as rulepack_module

KINDS = ["customer", "transfer", "licence_application", "amnesty_declaration"]
# the representative dates of 2024-01-01 to 2026-06-10 (every change of the pack and the day
# before, holidays and month ends near them, seeded random days): rules come into and out of
# force between them, and there are many more of them than the cache of 4 holds
DATES = sample_dates(date(2024, 1, 1), date(2026, 6, 10), shared_pack("pk"))


def test_eight_threads_over_many_dates_match_sequential_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rulepack_module, "COMPILED_CACHE_SIZE", 4)  # drop dates constantly
    docs = [example(k) for k in KINDS]
    jobs = [(d, i) for d in DATES for i in range(len(docs))]
    sequential_pack = RulePack.load(PK)
    expected = {(d, i): sequential_pack.evaluate(docs[i], d).to_json() for d, i in jobs}

    pack = RulePack.load(PK)
    closed: list[int] = []
    real_close = CompiledPack.close

    def counting_close(self: CompiledPack) -> None:
        closed.append(id(self))
        real_close(self)

    monkeypatch.setattr(CompiledPack, "close", counting_close)
    shuffled = jobs * 2
    random.Random(11).shuffle(shuffled)
    barrier = threading.Barrier(8)

    def run(part: list[tuple[date, int]]) -> list[tuple[date, int, str]]:
        barrier.wait()
        return [(d, i, pack.evaluate(docs[i], d).to_json()) for d, i in part]

    parts = [shuffled[k::8] for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for part in pool.map(run, parts) for r in part]
    assert len(results) == len(shuffled)
    for d, i, text in results:
        assert text == expected[(d, i)], f"{KINDS[i]} on {d} differs from sequential"
    assert closed, "dates were dropped from the cache and their rulesets freed"
    assert len(pack._compiled) <= 4


def test_a_dropped_date_in_use_is_not_freed_until_released(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rulepack_module, "COMPILED_CACHE_SIZE", 1)
    pack = RulePack.load(PK)
    doc = example("customer")
    with pack.using(DATES[0]) as held:
        matcher = held.matcher()
        for d in DATES[1:4]:  # pushes DATES[0] out of the cache while it is held
            pack.evaluate(doc, d)
        assert DATES[0] not in pack._compiled
        assert matcher.match("customer", {"kind": "customer"}) is not None  # still alive
        first = pack.evaluate(doc, DATES[0]).to_json()
    with pytest.raises(EngineError, match="freed"):  # never a reused handle
        matcher.match("customer", {"kind": "customer"})
    assert pack.evaluate(doc, DATES[0]).to_json() == first


def test_two_threads_asking_for_one_new_date_compile_it_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 22: the second thread waits for the first one's compilation instead of compiling
    a copy of its own (which used to be closed as the losing copy)."""
    pack = RulePack.load(PK)
    closed: list[CompiledPack] = []
    compiled: list[date] = []
    real_close = CompiledPack.close
    real_compile = rulepack_module.compile_pack
    started = threading.Event()

    def slow_compile(loaded, as_of, *rest):  # type: ignore[no-untyped-def]
        compiled.append(as_of)
        started.set()
        time.sleep(0.3)  # the other thread asks meanwhile
        return real_compile(loaded, as_of, *rest)

    def counting_close(self: CompiledPack) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(rulepack_module, "compile_pack", slow_compile)
    monkeypatch.setattr(CompiledPack, "close", counting_close)
    day = date(2026, 6, 1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(pack.compiled, day)
        started.wait(timeout=10)
        second = pool.submit(pack.compiled, day)
        got = [first.result(), second.result()]
    assert got[0] is got[1]
    assert compiled == [day] and closed == []
