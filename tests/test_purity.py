"""Decisions are a pure function of (document, pack, as_of): nothing in evaluation reads the
clock, the environment or the network."""

from __future__ import annotations

import re

from support.repo import ROOT

CLOCK = re.compile(r"\b(datetime\.now|date\.today|datetime\.utcnow|time\.time|os\.environ|"
                   r"urllib|requests|socket)\b")


def test_no_clock_environment_or_network_outside_the_audit_log() -> None:
    """Only the audit log stamps the time a record was written (metadata, not decision). The
    HTTP service is I/O around evaluation: it reads its worker configuration from the
    environment; it decides nothing itself. So is the checked-pack cache: the environment says
    where it lives, and what it returns is exactly the pack parsing gives (test_pack_cache)."""
    offenders = []
    for path in sorted((ROOT / "vasp_rules").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("vasp_rules/audit/", "vasp_rules/service/")) or rel in (
            "vasp_rules/pack/cache.py",
            "vasp_rules/cli/serve.py",  # starts the service's workers: their configuration
        ):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if CLOCK.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == []
