"""Shared fixtures: the bundled pack (loaded once) and helpers to build small packs on disk."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings

from vasp_rules import RulePack

# Hypothesis's "explain" phase traces every line while re-running a failing example; on this
# engine that turns a failure report into many minutes. Report failures without it.
settings.register_profile(
    "vasp", phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink], deadline=None
)
settings.load_profile("vasp")

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


ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PK = ROOT / "rules" / "pk"
AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="session")
def pk() -> RulePack:
    """The bundled pack, loaded once per run and shared (support.packs.pack("pk"))."""
    from support.packs import pack

    return pack("pk")


def example(kind: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{kind}.json").read_text())


def make_pack(tmp: Path, rules_yaml: str, *, params_yaml: str | None = None) -> Path:
    """A pack folder: the bundled manifest and parameters, plus the given rule file."""
    root = tmp / "pack"
    if root.exists():
        shutil.rmtree(root)
    (root / "rules").mkdir(parents=True)
    shutil.copy(PK / "pack.yaml", root / "pack.yaml")
    shutil.copytree(PK / "parameters", root / "parameters")
    if params_yaml is not None:
        (root / "parameters" / "extra.yaml").write_text(textwrap.dedent(params_yaml))
    (root / "rules" / "test.yaml").write_text(textwrap.dedent(rules_yaml))
    return root


def rule_yaml(rule_id: str, kind: str, when: str, outcome: str = "REJECT", **extra: str) -> str:
    """One rule as YAML text (a list item), with a valid citation and dates."""
    lines = [
        f"  - id: {rule_id}",
        "    version: 1",
        f"    title: test rule {rule_id}",
        f"    applies_to: {kind}",
        f"    when: {json.dumps(when)}",
        f"    outcome: {outcome}",
        f"    reason: {json.dumps(extra.pop('reason', 'fired'))}",
        "    citation: {instrument: Test, provision: s.1, confidence: A}",
        "    remediation: fix it",
        f"    effective_from: {extra.pop('effective_from', '2018-01-01')}",
    ]
    for key, value in extra.items():
        lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"


def logged_decisions(db: Path) -> int:
    """Decision records committed to the audit log `db` so far (0 while it is being created)."""
    from vasp_rules.audit.log import KIND_DECISION, DecisionLog

    if not db.exists():
        return 0
    try:
        with DecisionLog.open(db) as log:
            return sum(1 for r in log.records() if r.kind == KIND_DECISION)
    except Exception:  # not created yet, or mid-creation
        return 0


def sigkill_after_commits(cmd: list[str], db: Path, decisions: int) -> None:
    """Run `cmd` (an `evaluate --log db` run) and kill it with SIGKILL as soon as `db` holds
    at least `decisions` committed decision records; fails if it ends or stalls before."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while logged_decisions(db) < decisions:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run committed nothing in two minutes"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual umask 022, which makes new files readable by every local user: files that
    must stay private have to be so despite it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)
