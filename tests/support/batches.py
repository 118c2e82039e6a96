"""Helpers shared by the batch, chunking and identity tests (no tests here): the packs,
hypothesis strategies for batches that share keys, and the comparisons they run.

Batches are small and share keys on purpose (a few wallets, originators, times an hour apart,
absent keys), so that groups, windows, unknown keys and documents filtered out all occur.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from support.addresses import address, wallet_for
from support.packs import PACKS as ALL_PACKS
from support.packs import pack
from support.strategies import documents
from vasp_rules import RulePack
from vasp_rules.runtime.evaluate import Item, batch_view
from vasp_rules.runtime.rulepack import _item
from vasp_rules.scale.chunks import Invalid, evaluate_chunked

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parent
AS_OF = date(2026, 6, 1)
#: the packs the batch properties run on (loaded once, shared: support.packs)
PACKS = {"pk": ALL_PACKS["pk"], "batchshapes": ALL_PACKS["batchshapes"]}
SETTINGS = settings(
    max_examples=int(os.environ.get("BATCH_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
as_of_dates = st.sampled_from([date(2026, 6, 1), date(2031, 1, 15)])



def _both(p: RulePack, docs: list[dict], as_of: date, engine: str = "durable") -> tuple[list, list]:
    items: list[Item] = [_item(d, i) for i, d in enumerate(docs)]
    compiled = p.compiled(as_of)
    keyed = batch_view(items)
    plain = batch_view(items, keyed=False)
    a = [p._decide(compiled, it, keyed, engine).to_json() for it in items]  # type: ignore[arg-type]
    b = [p._decide(compiled, it, plain, engine).to_json() for it in items]  # type: ignore[arg-type]
    return [_own_facts(x) for x in a], [_own_facts(x) for x in b]


def _own_facts(decision_json: str) -> dict:
    data = json.loads(decision_json)
    for finding in data["findings"]:
        finding["facts"] = {k: v for k, v in finding["facts"].items() if not k.startswith("batch.")}
    return data


WALLETS = ["W1", "W2", "W3", None]


@st.composite
def transfer_batches(draw: st.DrawFn) -> list[dict]:
    docs = draw(st.lists(documents("transfer"), min_size=2, max_size=9))
    for i, doc in enumerate(docs):
        doc["transfer_id"] = f"T-{i}"
        hour = draw(st.sampled_from([0, 1, 5, 23, 24, 25, 47, 48, 49]))
        day, hh = divmod(hour, 24)
        doc["executed_at"] = f"2026-03-{1 + day:02d}T{hh:02d}:00:00+05:00"
        wallet = draw(st.sampled_from(WALLETS))
        if wallet is None:
            doc["originator"].pop("account_or_wallet", None)
        else:
            doc["originator"]["account_or_wallet"] = wallet
        doc["direction"] = draw(st.sampled_from(["IN", "OUT"]))
        amount = draw(st.sampled_from(["100.00", "400.00", "999.99", "1000.00"]))
        doc["value"] = {"amount": amount, "currency": draw(st.sampled_from(["USD", "PKR"]))}
    return docs


_BTC, _ETH = address("bitcoin", "a"), address("evm", "c")
#: (chain, symbol, wallet): valid addresses, some the same wallet spelt in another case
HOLDINGS = [
    ("bitcoin", "BTC", _BTC),
    ("bitcoin", "BTC", _BTC.upper()),
    ("bitcoin", "BTC", address("bitcoin", "b")),
    ("ethereum", "ETH", _ETH),
    ("ethereum", "USDT", _ETH.lower()),
    ("ethereum", "ETH", address("evm", "d")),
    ("solana", "SOL", "So1anaWa11etXyz"),
]


@st.composite
def declaration_batches(draw: st.DrawFn) -> list[dict]:
    docs = draw(st.lists(documents("amnesty_declaration"), min_size=2, max_size=6))
    for i, doc in enumerate(docs):
        doc["declaration_id"] = f"D-{i}"
        for h in doc["holdings"]:
            h["chain"], h["asset_symbol"], h["wallet_address"] = draw(st.sampled_from(HOLDINGS))
    return docs


@st.composite
def structuring_batches(draw: st.DrawFn) -> list[dict]:
    """Transfers for TR-10 (structuring): a few originators, times on both sides of 24-hour
    window ends, amounts around the USD 1,000 threshold, values in a currency without a
    reference rate (unknown), and now and then two transfers with the same id."""
    docs = draw(transfer_batches())
    for i, doc in enumerate(docs):
        minutes = draw(st.sampled_from([0, 0, 30, 60, 24 * 60, 24 * 60 + 1, 25 * 60, 48 * 60]))
        day, rest = divmod(minutes, 24 * 60)
        doc["executed_at"] = f"2026-03-{1 + day:02d}T{rest // 60:02d}:{rest % 60:02d}:00+05:00"
        amount = draw(st.sampled_from(["100.00", "300.00", "500.00", "600.00", "999.99"]))
        currency = draw(st.sampled_from(["USD", "USD", "USD", "PKR", "JPY"]))
        doc["value"] = {"amount": amount, "currency": currency}
        if i and draw(st.integers(0, 9)) == 0:
            doc["transfer_id"] = docs[i - 1]["transfer_id"]
    return docs


def compiled_equals_reference(docs: list[dict], as_of: date) -> None:
    """Batch quantifiers (TR-10's nested windows, the batchshapes pack's keyed shapes) run
    their `where` and body as generated code, over the candidates the reference takes from the
    keyed plan: every derived field (projection) and every finding, held or unknown (generated
    code in recording mode), equals the reference interpreter's, byte for byte, facts
    read from other documents (`batch.transfer[...]`) included."""
    from vasp_rules.compiler.codegen import Env
    from vasp_rules.interp.reference import Evaluator
    from vasp_rules.runtime.evaluate import context_for, finding_for, reference_finding_for

    items = [_item(d, i) for i, d in enumerate(docs)]
    for name in PACKS:
        compiled = pack(name).compiled(as_of)
        view = batch_view(items)
        plan = compiled.plans["transfer"]
        exprs = {**plan.field_paths, **plan.hoisted}
        rule_ids = {rule.id for rule in compiled.rules_for("transfer")}
        assert name != "pk" or "TR-10" in rule_ids
        for item in items:
            ctx = context_for(compiled, item, view)
            env = Env(ctx)
            for key, getter in plan.getters:
                expected = Evaluator(ctx, record=False).evaluate(exprs[key]).value
                got = getter(env)
                assert got == expected and type(got) is type(expected), key
            for rule in compiled.rules_for("transfer"):
                # the held condition's recording alone (no values to mask a difference):
                # the same reads, first recorded in the same order, and the same absent paths
                fast_ev, slow_ev = Evaluator(ctx), Evaluator(ctx)
                rule.program.held(env, fast_ev, {})
                slow_ev.evaluate(rule.condition)
                assert list(fast_ev.reads.items()) == list(slow_ev.reads.items()), rule.id
                assert fast_ev.absent == slow_ev.absent, rule.id
                for held in (True, False):
                    fast = finding_for(rule, held, ctx)
                    slow = reference_finding_for(rule, held, ctx)
                    assert fast.model_dump_json() == slow.model_dump_json(), (rule.id, held)



def _whole(p: RulePack, docs: list[dict], as_of: date = AS_OF) -> list[str]:
    return [d.to_json(indent=None) for d in p.evaluate_many(docs, as_of)]  # type: ignore[arg-type]


def _chunked(p: RulePack, docs: list[dict], size: int, workers: int = 1) -> list[str]:
    out = []
    for _, result in evaluate_chunked(p, docs, AS_OF, workers=workers, size=size, as_json=True):
        assert not isinstance(result, Invalid)
        out.append(result)
    return out


def _mixed() -> list[dict]:
    """Shared wallets and one originator's transfers spread over the whole input."""
    docs = []
    for i in range(24):
        kind = ("amnesty_declaration", "transfer", "customer")[i % 3]
        doc = json.loads((ROOT / "examples" / f"{kind}.json").read_text())
        if kind == "amnesty_declaration":
            doc["declaration_id"] = f"D-{i}"
            doc["holdings"][0]["wallet_address"] = wallet_for(doc["holdings"][0], f"shared-{i % 2}")
            doc["holdings"][1]["wallet_address"] = wallet_for(doc["holdings"][1], f"own-{i}")
        elif kind == "transfer":
            doc["transfer_id"] = f"T-{i}"
            doc["value"] = {"amount": "400.00", "currency": "USD"}
            doc["executed_at"] = f"2026-03-01T{i % 24:02d}:00:00+05:00"
        else:
            doc["customer_id"] = f"CUST-{i:08d}"
        docs.append(copy.deepcopy(doc))
    return docs

