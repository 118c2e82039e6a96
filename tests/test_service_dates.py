"""A new `as_of` is compiled off the service's event loop, once however many requests ask for
it at the same time (issue 22)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from support.asgi import asgi_request as call
from support.repo import AS_OF, example

from vasp_rules import RulePack
from vasp_rules.runtime import rulepack
from vasp_rules.service import ServiceConfig, create_app

SLOW = 0.6  # seconds a compilation takes in these tests


@pytest.fixture
def slow_compiles(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """Every compilation blocks its thread for SLOW seconds; the dates compiled, in order."""
    real = rulepack.compile_pack
    seen: list[date] = []
    lock = threading.Lock()

    def slow(loaded: Any, as_of: date, *rest: Any) -> Any:
        with lock:
            seen.append(as_of)
        time.sleep(SLOW)  # blocks the thread, as CPU-bound compilation does
        return real(loaded, as_of, *rest)

    monkeypatch.setattr(rulepack, "compile_pack", slow)
    return seen


@pytest.fixture
def served() -> tuple[RulePack, Any]:
    """A fresh pack (nothing compiled) and a service over it."""
    pack = RulePack.load("pk")
    return pack, create_app(ServiceConfig(loaded={"pk": pack}))


def test_a_new_date_does_not_delay_healthz_nor_requests_on_compiled_dates(
    slow_compiles: list[date], served: tuple[RulePack, Any]
) -> None:
    pack, app = served
    doc = json.dumps(example("transfer")).encode()
    new_day = AS_OF + timedelta(days=17)

    async def scenario() -> tuple[tuple[int, bytes, float], ...]:
        await call(app, "POST", f"/v1/evaluate?as_of={AS_OF}", doc)  # compiled before
        new = asyncio.create_task(call(app, "POST", f"/v1/evaluate?as_of={new_day}", doc))
        await asyncio.sleep(0.05)  # the new date is compiling now
        health = await call(app, "GET", "/healthz")
        old = await call(app, "POST", f"/v1/evaluate?as_of={AS_OF}", doc)
        assert not new.done()
        return health, old, await new

    health, old, new = asyncio.run(scenario())
    assert health[0] == 200 and health[2] < SLOW / 3
    assert old[0] == 200 and old[2] < SLOW / 3
    assert old[1] == pack.evaluate(example("transfer"), AS_OF).to_json().encode()
    assert new[0] == 200 and new[2] >= SLOW
    assert json.loads(new[1])["as_of"] == new_day.isoformat()
    assert slow_compiles == [AS_OF, new_day]


def test_concurrent_requests_for_one_new_date_compile_it_once(
    slow_compiles: list[date], served: tuple[RulePack, Any]
) -> None:
    pack, app = served
    doc = json.dumps(example("licence_application")).encode()
    day = AS_OF + timedelta(days=3)

    async def scenario() -> list[tuple[int, bytes, float]]:
        return list(
            await asyncio.gather(
                *(call(app, "POST", f"/v1/evaluate?as_of={day}", doc) for _ in range(6))
            )
        )

    answers = asyncio.run(scenario())
    assert slow_compiles == [day]
    expected = pack.evaluate(example("licence_application"), day).to_json().encode()
    assert all(status == 200 and body == expected for status, body, _ in answers)


def test_threads_asking_for_one_new_date_share_one_compilation(
    slow_compiles: list[date],
) -> None:
    pack = RulePack.load("pk")
    day = AS_OF + timedelta(days=5)
    doc = example("customer")
    out: list[str] = []

    def run() -> None:
        out.append(pack.evaluate(doc, day).to_json())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slow_compiles == [day] and len(set(out)) == 1 and len(out) == 4
    assert pack.is_compiled(day) and not pack.is_compiled(day + timedelta(days=1))
