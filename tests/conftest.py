"""Pytest's configuration and the shared fixtures: the hypothesis profile, the slow marker, a
private pack cache per run, the bundled pack (loaded once) and a lax umask. Helpers that tests
import live in tests/support/ (repo: paths and examples; packs: shared and small packs;
processes: killed runs), never here."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import Phase, settings

from vasp_rules import RulePack

# Hypothesis's "explain" phase traces every line while re-running a failing example; on this
# engine that turns a failure report into many minutes. Report failures without it.
settings.register_profile(
    "vasp", phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], deadline=None
)
settings.load_profile("vasp")

# The suite's heap grows to about a million objects (compiled packs of many dates, hypothesis's
# caches): with the default thresholds the collector walks all of them about every few seconds
# of property testing. Collecting the young generations less often, and the old one a tenth as
# often, halves the time spent collecting; nothing a test asserts depends on it.
gc.set_threshold(10_000, 20, 100)

# The slowest modules (whole-pack engine agreement, property runs, durable-rules hazards in
# subprocesses, real-pack replays): `pytest -m "not slow"` skips them (and tests marked slow
# one by one) for the edit-test loop; plain `pytest` runs everything.
SLOW_MODULES = {
    "test_engine_agreement.py",
    "test_explain_properties.py",
    "test_durable_hazards.py",
    "test_audit_replay.py",
    "test_audit_tamper.py",
    "test_bad_input.py",
}


def pytest_configure(config: pytest.Config) -> None:
    """The checked-pack cache of this run lives in a folder of its own (subprocesses inherit
    it), so tests neither read nor fill the user's cache."""
    if "VASP_RULES_CACHE" not in os.environ:
        os.environ["VASP_RULES_CACHE"] = tempfile.mkdtemp(prefix="vasp-rules-cache-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pk() -> RulePack:
    """The bundled pack, loaded once per run and shared (support.packs.pack("pk"))."""
    from support.packs import pack

    return pack("pk")


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual umask 022, which makes new files readable by every local user: files that
    must stay private have to be so despite it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
