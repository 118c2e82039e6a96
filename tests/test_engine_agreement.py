"""Property: durable-rules and the reference interpreter reach identical decisions.

The reference interpreter evaluates each compiled condition directly; durable-rules matches the
lowered patterns over projected facts. Any disagreement is a bug in lowering, projection or the
engine guards. Documents come from tests/support/strategies.py (valid documents of every kind, with
optional facts randomly absent), batches mix kinds, and `as_of` ranges over the regime's timeline.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.addresses import wallet_for
from support.dates import as_of_dates as sampled_dates
from support.dates import sample_dates
from support.packs import PACKS as ALL_PACKS
from support.packs import pack
from support.strategies import any_document, documents

from vasp_rules import RulePack

HERE = Path(__file__).resolve().parent
PACKS = {"pk": ALL_PACKS["pk"], "constructs": ALL_PACKS["constructs"]}
_loaded: dict[str, RulePack] = {}


def _second_instance() -> RulePack:
    """The pk pack loaded again, separately from pack("pk") (its own caches and rulesets)."""
    if "pk-again" not in _loaded:
        _loaded["pk-again"] = RulePack.load(PACKS["pk"])
    return _loaded["pk-again"]


LO, HI = date(2025, 12, 5), date(2031, 6, 30)
as_of_dates = sampled_dates(LO, HI, *PACKS)  # every change of both packs, holidays, month ends
SETTINGS = settings(max_examples=int(os.environ.get("AGREEMENT_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _decisions(p: RulePack, docs: list[dict], as_of: date, engine: str) -> list[str]:
    return [d.to_json() for d in p.evaluate_many(docs, as_of, engine=engine)]  # type: ignore[arg-type]


@pytest.mark.parametrize("pack_name", sorted(PACKS))
@SETTINGS
@given(docs=st.lists(any_document(), min_size=1, max_size=4), as_of=as_of_dates)
def test_durable_agrees_with_reference(pack_name: str, docs: list[dict], as_of: date) -> None:
    p = pack(pack_name)
    assert _decisions(p, docs, as_of, "durable") == _decisions(p, docs, as_of, "reference")


@SETTINGS
@given(docs=st.lists(documents("transfer"), min_size=2, max_size=6),
       as_of=as_of_dates, gap=st.integers(0, 30))
def test_agreement_on_transfer_batches(docs: list[dict], as_of: date, gap: int) -> None:
    """Transfers of one originator close in time, so the structuring rules really aggregate."""
    base = docs[0]
    for i, doc in enumerate(docs):
        doc["originator"] = dict(base["originator"])
        doc["executed_at"] = f"2026-03-01T{(i * gap // 60) % 24:02d}:{(i * gap) % 60:02d}:00+05:00"
        doc["transfer_id"] = f"T-{i}"
    for name in PACKS:
        p = pack(name)
        assert _decisions(p, docs, as_of, "durable") == _decisions(p, docs, as_of, "reference")


@SETTINGS
@given(docs=st.lists(documents("amnesty_declaration"), min_size=2, max_size=4), as_of=as_of_dates)
def test_agreement_on_shared_wallets(docs: list[dict], as_of: date) -> None:
    """Declarations sharing wallets, so the duplicate-claim rules fire."""
    for i, doc in enumerate(docs):
        doc["declaration_id"] = f"D-{i}"
        for h in doc["holdings"]:
            h["wallet_address"] = wallet_for(h, "shared") if i % 2 == 0 else h["wallet_address"]
    for name in PACKS:
        p = pack(name)
        assert _decisions(p, docs, as_of, "durable") == _decisions(p, docs, as_of, "reference")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=any_document(), as_of=as_of_dates)
def test_decisions_are_deterministic(doc: dict, as_of: date) -> None:
    """Same input, pack and date: byte-identical JSON, also from a freshly loaded pack."""
    first = pack("pk").evaluate(doc, as_of).to_json()
    again = pack("pk").evaluate(doc, as_of).to_json()
    fresh = _second_instance().evaluate(doc, as_of).to_json()
    assert first == again == fresh


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=any_document(), others=st.lists(any_document(), max_size=4), as_of=as_of_dates)
def test_documents_evaluated_separately_never_see_each_other(
    target: dict, others: list[dict], as_of: date
) -> None:
    """Isolation: a document's decision alone equals its decision next to any others when the
    batch is not related (batch=False), whatever their content."""
    p = pack("constructs")
    alone = p.evaluate(target, as_of).to_json()
    together = p.evaluate_many([*others, target], as_of, batch=False)[-1].to_json()
    assert alone == together


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents("licence_application"), as_of=as_of_dates,
       extra=st.integers(min_value=1, max_value=10**9))
def test_more_capital_never_adds_a_capital_finding(doc: dict, as_of: date, extra: int) -> None:
    """Monotonicity: raising paid-up capital can clear capital findings but never create them."""
    p = pack("pk")
    before = set(p.evaluate(doc, as_of).fired)
    money = doc["firm"]["paid_up_capital"]
    money["amount"] = str(round(float(money["amount"])) + extra)
    after = set(p.evaluate(doc, as_of).fired)
    capital_rules = {"LIC-12", "LIC-13"}
    assert (after & capital_rules) <= (before & capital_rules)


def test_as_of_dates_cover_the_timeline() -> None:
    """The dates drawn must straddle the regime's milestones, or the properties prove little:
    each milestone and the day before it are among them."""
    days = sample_dates(LO, HI, *map(pack, PACKS))
    for milestone in (date(2025, 12, 2) + timedelta(days=3), date(2026, 3, 3), date(2030, 12, 31)):
        assert milestone in days
        assert milestone == LO or milestone - timedelta(days=1) in days


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents("transfer"), min_size=2, max_size=8),
       wallets=st.lists(st.sampled_from(["W1", "W2", None]), min_size=8, max_size=8),
       as_of=as_of_dates)
def test_batch_index_changes_no_decision(docs: list[dict], wallets: list, as_of: date) -> None:
    """The batch's equality index (which skips documents that cannot pass an equality filter)
    gives the same decisions as visiting every document, absent values included. Only the facts
    read from the skipped documents differ: those are not read at all."""
    from vasp_rules.interp.reference import Evaluator

    for i, doc in enumerate(docs):
        doc["transfer_id"] = f"T-{i}"
        doc["executed_at"] = f"2026-03-01T{i:02d}:00:00+05:00"
        if wallets[i] is None:
            doc["originator"].pop("account_or_wallet", None)
        else:
            doc["originator"]["account_or_wallet"] = wallets[i]
    p = pack("pk")
    indexed = _decisions(p, docs, as_of, "durable")
    original = Evaluator.candidates
    try:
        Evaluator.candidates = lambda self, node, kind, scope: None  # type: ignore[method-assign]
        naive = _decisions(p, docs, as_of, "durable")
    finally:
        Evaluator.candidates = original  # type: ignore[method-assign]
    assert [_without_batch_facts(d) for d in indexed] == [_without_batch_facts(d) for d in naive]


def _without_batch_facts(decision_json: str) -> dict:
    import json

    data = json.loads(decision_json)
    for finding in data["findings"]:
        finding["facts"] = {k: v for k, v in finding["facts"].items() if not k.startswith("batch.")}
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(documents("amnesty_declaration"), min_size=2, max_size=6),
       wallets=st.lists(st.sampled_from(["a", "b", "c"]), min_size=30, max_size=30),
       as_of=as_of_dates)
def test_batch_value_index_changes_no_decision(
    docs: list[dict], wallets: list[str], as_of: date
) -> None:
    """`x in batch.KIND.path` answered from the batch's value index gives the decisions a scan
    of every other document gives (only the facts read from non-matching documents differ)."""
    from vasp_rules.interp.reference import Evaluator

    n = 0
    for i, doc in enumerate(docs):
        doc["declaration_id"] = f"D-{i}"
        for h in doc["holdings"]:
            h["wallet_address"] = wallet_for(h, wallets[n % len(wallets)])  # valid for its chain
            n += 1
    p = pack("pk")
    indexed = _decisions(p, docs, as_of, "durable")
    original = Evaluator._is_batch_path
    try:
        Evaluator._is_batch_path = lambda self, node, scope: False  # type: ignore[method-assign]
        naive = _decisions(p, docs, as_of, "durable")
    finally:
        Evaluator._is_batch_path = original  # type: ignore[method-assign]
    assert [_without_batch_facts(d) for d in indexed] == [_without_batch_facts(d) for d in naive]
