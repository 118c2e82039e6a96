"""Documents for `vasp-rules bench`: the example documents of a kind, varied by a seeded random
generator (identifiers, amounts, dates, risk ratings) so that rules fire in varied
combinations. Every document is valid; the same (kind, count, seed) gives the same documents."""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from typing import Any

from ..entities.registry import KINDS
from .starter import examples_root


def templates(kind: str) -> list[dict[str, Any]]:
    """The example documents of one kind, in file-name order."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    found = []
    for path in sorted(examples_root().glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("kind") == kind:
            found.append(doc)
    return found


def _day(rng: random.Random, start: date, days: int) -> str:
    return (start + timedelta(days=rng.randrange(days))).isoformat()


def _vary(kind: str, doc: dict[str, Any], i: int, rng: random.Random) -> None:
    if kind == "licence_application":
        doc["application_id"] = f"BENCH-APP-{i}"
        doc["firm"]["paid_up_capital"]["amount"] = str(rng.randrange(10**6, 10**9))
        for person in doc["firm"].get("people", []):
            person["outsourced"] = rng.random() < 0.05
            person["years_relevant_experience"] = rng.randrange(0, 20)
    elif kind == "customer":
        doc["customer_id"] = f"BENCH-CUST-{i:08d}"
        doc["risk_rating"] = rng.choice(["LOW", "MEDIUM", "HIGH"])
        doc["outward_transfers_this_year"]["amount"] = str(rng.randrange(0, 200_000))
        if rng.random() < 0.3:
            doc["suspicion_flagged_on"] = _day(rng, date(2026, 1, 1), 120)
    elif kind == "amnesty_declaration":
        doc["declaration_id"] = f"BENCH-DECL-{i}"
        doc["submitted_on"] = _day(rng, date(2026, 3, 25), 60)
        for holding in doc["holdings"]:
            value = holding["value_at_reference"]
            value["amount"] = f"{rng.randrange(1_000, 100_000_000)}.00"
    elif kind == "transfer":
        doc["transfer_id"] = f"BENCH-TX-{i}"
        doc["value"]["amount"] = f"{rng.randrange(10, 3_000)}.00"
        doc["amount"] = doc["value"]["amount"]
        doc["originator"]["account_or_wallet"] = f"ACC-{rng.randrange(0, 1_000)}"
        hour, minute = rng.randrange(0, 24), rng.randrange(0, 60)
        doc["executed_at"] = f"2026-03-01T{hour:02d}:{minute:02d}:00+05:00"
        if rng.random() < 0.1:  # the travel-rule data not transmitted
            doc.pop("data_transmitted_at", None)


def documents(kind: str, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """`count` documents of `kind`, varied from its examples."""
    bases = templates(kind)
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        doc = copy.deepcopy(bases[i % len(bases)])
        _vary(kind, doc, i, rng)
        docs.append(doc)
    return docs
