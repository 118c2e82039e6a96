"""Property: sums, counts and selects over a window of a keyed batch group, taken from running
sums (interp/windows.py), decide exactly as visiting the window's documents one by one, and
TR-10 refers exactly the transfers its plain definition (written out below, O(n^2)) refers.

Batches are dense on purpose: many transfers at one instant, window edges at exactly 24 hours
(and one second either side), amounts at and around the threshold, a currency without a
reference rate, transfer ids shared by several transfers, and originators linked transitively
through a wallet, a customer ID or a national ID.

Example counts: WINDOWS_EXAMPLES (default 25); VASP_RULES_FUZZ=1 runs 400 of each.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.packs import pack as shared

from vasp_rules import RulePack
from vasp_rules.lang.values import money_to_paisa
from vasp_rules.runtime.evaluate import Item, batch_view
from vasp_rules.runtime.rulepack import _item

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = json.loads((ROOT / "examples" / "transfer.json").read_text())
AS_OF = date(2026, 6, 1)
START = datetime(2026, 3, 1, 9, 0)
DAY = 86_400
#: instants (seconds after START): several transfers share each; 24 hours apart, and a second
#: either side of that edge
OFFSETS = [0, 0, 1, 3_600, DAY - 1, DAY, DAY + 1, 2 * DAY]
#: around USD 1,000 (PKR 280,000 on AS_OF: the threshold); CHF has no reference rate
AMOUNTS = [
    ("USD", "300.00"),
    ("USD", "500.00"),
    ("USD", "999.99"),
    ("USD", "1000.00"),
    ("PKR", "140000.00"),
    ("PKR", "279999.99"),
    ("CHF", "300.00"),
]
_EXAMPLES = (
    400 if os.environ.get("VASP_RULES_FUZZ") else int(os.environ.get("WINDOWS_EXAMPLES", "25"))
)
SETTINGS = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def pack() -> RulePack:
    return shared("pk")


@st.composite
def dense_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=2, max_value=12))
    shared = draw(st.sampled_from([0, 0, 1, 3]))  # how many ids are shared (often none)
    ids = max(1, n - shared)
    out = []
    for _ in range(n):
        doc = copy.deepcopy(TEMPLATE)
        doc["transfer_id"] = f"TX-{len(out) if len(out) < ids else draw(st.integers(0, ids - 1))}"
        origin = doc["originator"]
        for field, pool in (
            ("account_or_wallet", ["ACC-1", "ACC-2", None]),
            ("customer_id", ["CUST-1", "CUST-2", None]),
            ("national_id", ["4210100000001", "4210100000002", None]),
        ):
            value = draw(st.sampled_from(pool))
            if value is None:
                origin.pop(field, None)
            else:
                origin[field] = value
        doc["direction"] = draw(st.sampled_from(["OUT", "OUT", "IN"]))
        currency, amount = draw(st.sampled_from(AMOUNTS))
        doc["value"] = {"amount": amount, "currency": currency}
        doc["amount"] = amount
        at = START + timedelta(seconds=draw(st.sampled_from(OFFSETS)))
        doc["executed_at"] = at.isoformat() + "+05:00"
        doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
        doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
        out.append(doc)
    return out


def _decisions(docs: list[dict[str, Any]], *, windows: bool, keyed: bool = True) -> list[str]:
    p = pack()
    compiled = p.compiled(AS_OF)
    items: list[Item] = [_item(d, i) for i, d in enumerate(docs)]
    view = batch_view(items, keyed=keyed)
    view.windows = windows
    return [p._decide(compiled, it, view, "durable").to_json() for it in items]


@SETTINGS
@given(docs=dense_batches())
def test_running_sums_decide_and_record_as_visiting_each_document(
    docs: list[dict[str, Any]],
) -> None:
    """Byte for byte: outcomes, findings, reasons and every fact read (other transfers' too)."""
    assert _decisions(docs, windows=True) == _decisions(docs, windows=False)


def _referred(decisions: list[str]) -> set[int]:
    out = set()
    for i, text in enumerate(decisions):
        for finding in json.loads(text)["findings"]:
            if finding["rule_id"] == "TR-10" and finding["outcome"] == "REFER":
                out.add(i)
    return out


def plain_tr10(docs: list[dict[str, Any]]) -> set[int] | None:
    """The transfers TR-10 refers, by its definition (rules/pk/rules/travel_rule.yaml), visiting
    every pair (and every triple for a group ending at another transfer); None when a value
    cannot be converted (then TR-10 may ask for the rate instead)."""
    fx = pack().compiled(AS_OF).fx
    values = [
        money_to_paisa(Decimal(d["value"]["amount"]), d["value"]["currency"], fx) for d in docs
    ]
    if any(v is None for v in values):
        return None
    value: list[int] = [v for v in values if v is not None]
    threshold = money_to_paisa(Decimal(1000), "USD", fx)
    assert threshold is not None
    fields = ("account_or_wallet", "customer_id", "national_id")
    keys = [[d["originator"].get(f) for f in fields] for d in docs]
    at = [int(datetime.fromisoformat(d["executed_at"]).timestamp()) for d in docs]
    n = len(docs)

    def linked(i: int) -> set[int]:  # breadth-first: a shared known value of one key links
        seen, todo = {i}, [i]
        while todo:
            u = todo.pop()
            for v in range(n):
                if v not in seen and any(
                    a is not None and a == b for a, b in zip(keys[u], keys[v], strict=True)
                ):
                    seen.add(v)
                    todo.append(v)
        return seen

    out = set()
    for d in range(n):
        if not any(k is not None for k in keys[d]) or value[d] >= threshold:
            continue
        group = [
            x
            for x in linked(d)
            if x != d and docs[x]["direction"] == docs[d]["direction"] and value[x] < threshold
        ]
        ahead = sum(value[x] for x in group if at[d] <= at[x] <= at[d] + DAY)
        if value[d] + ahead >= threshold:
            out.add(d)
            continue
        for s in group:
            if not at[d] - DAY <= at[s] <= at[d]:
                continue
            rest = sum(
                value[x]
                for x in group
                if docs[x]["transfer_id"] != docs[s]["transfer_id"]
                and at[s] <= at[x] <= at[s] + DAY
            )
            if value[d] + value[s] + rest >= threshold:
                out.add(d)
                break
    return out


@SETTINGS
@given(docs=dense_batches())
def test_tr10_refers_what_its_plain_definition_refers(docs: list[dict[str, Any]]) -> None:
    expected = plain_tr10(docs)
    keyed = _decisions(docs, windows=True)
    if expected is not None:
        assert _referred(keyed) == expected
    # and the interpreter's own plain definition (every batch quantifier visits every
    # document) refers the same transfers, with or without a rate
    assert _referred(keyed) == _referred(_decisions(docs, windows=False, keyed=False))


def test_a_dense_instant_is_summed_from_the_window() -> None:
    """Twelve transfers of one originator at one instant, one of another at the same instant:
    each of the twelve is referred (12 x USD 300 > USD 1,000), the other one is not, and the
    reason lists the eleven others of the group."""
    docs = []
    for i in range(13):
        doc = copy.deepcopy(TEMPLATE)
        doc["transfer_id"] = f"TX-{i}"
        doc["originator"]["account_or_wallet"] = "ACC-HOT" if i < 12 else "ACC-COLD"
        doc["originator"].pop("customer_id")
        doc["originator"].pop("national_id")
        doc["value"] = {"amount": "300.00", "currency": "USD"}
        docs.append(doc)
    decisions = _decisions(docs, windows=True)
    assert _referred(decisions) == set(range(12))
    reason = next(
        f["reason"] for f in json.loads(decisions[0])["findings"] if f["rule_id"] == "TR-10"
    )
    assert ", ".join(f"TX-{i}" for i in range(1, 12)) in reason
    assert decisions == _decisions(docs, windows=False)
