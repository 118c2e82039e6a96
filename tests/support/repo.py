"""Where the repository keeps what tests read: its root, the example documents, the bundled
pack's folder, and the date most tests decide on."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PK = ROOT / "rules" / "pk"
AS_OF = date(2026, 6, 1)


def example(kind: str) -> dict[str, Any]:
    """The example document examples/KIND.json, read afresh (a test may change it)."""
    return json.loads((EXAMPLES / f"{kind}.json").read_text())


__all__ = ["AS_OF", "EXAMPLES", "PK", "ROOT", "example"]
