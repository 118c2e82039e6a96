"""The packs the tests share, each loaded once per run: the bundled pack and the test packs
under tests/packs. A test that needs a pack of its own (closed, patched, freshly compiled)
loads it itself."""

from __future__ import annotations

import functools
from pathlib import Path

from vasp_rules import RulePack

HERE = Path(__file__).resolve().parent.parent
PACKS = {
    "pk": HERE.parent / "rules" / "pk",
    "constructs": HERE / "packs" / "constructs",
    "batchshapes": HERE / "packs" / "batchshapes",
}


@functools.cache
def pack(name: str) -> RulePack:
    """The named pack, loaded on first use and shared by every test after."""
    return RulePack.load(PACKS[name])
