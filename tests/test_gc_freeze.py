"""Loading freezes the pack out of the cyclic garbage collector's way (rulepack.freeze_loaded),
and a process that loads and drops packs keeps none of them."""

from __future__ import annotations

import gc
import weakref

from support.repo import AS_OF, PK, example

from vasp_rules import RulePack


class _Cycle:
    """An object that refers to itself: freed only by the cyclic collector."""

    def __init__(self) -> None:
        self.me = self


def _tracked(obj: object) -> bool:
    """Whether the collector walks `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_first_evaluation_freezes_the_compiled_pack() -> None:
    gc.collect()
    pack = RulePack.load(PK)
    loaded = pack.loaded
    assert _tracked(loaded)  # loading alone freezes nothing: compiling comes with the first date
    pack.evaluate(example("transfer"), AS_OF)
    compiled = pack.compiled(AS_OF)
    assert not _tracked(loaded) and not _tracked(compiled)
    assert gc.get_freeze_count() > 10_000


def test_a_dropped_pack_leaves_no_frozen_cycles() -> None:
    """Frozen cycles are never collected: dropping the pack must hand them back, or every
    pack a long-running process (or this test suite) loads would stay in memory."""
    refs = []
    gc.disable()  # only the collections the library runs itself
    try:
        last = _load_and_drop(refs)
    finally:
        gc.enable()
    gc.collect()  # walks no frozen object: the probes must have been collected before
    assert [r() for r in refs] == [None, None, None]
    assert last.name == "pk"


def _load_and_drop(refs: list[weakref.ref[_Cycle]]) -> RulePack:
    """Load, evaluate (freeze) and drop three packs, each holding a cycle; return a fourth,
    loaded and evaluated after them, still alive (its freeze must not keep their cycles)."""
    for _ in range(3):
        pack = RulePack.load(PK)
        probe = _Cycle()
        pack.probe = probe  # type: ignore[attr-defined]  # a cycle inside the pack's objects
        refs.append(weakref.ref(probe))
        del probe
        pack.evaluate(example("customer"), AS_OF)  # compiles: freezes the probe too
        assert refs[-1]() is not None and not _tracked(refs[-1]())
        del pack
    last = RulePack.load(PK)
    last.evaluate(example("customer"), AS_OF)  # its freeze collects the dropped cycles first
    return last

