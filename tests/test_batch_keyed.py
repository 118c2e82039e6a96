"""Property: cross-document rules compiled to keyed plans decide exactly as their plain
definition (every batch quantifier visiting every other document of the whole batch).

Batches are small and share keys on purpose (a few wallets, originators, times an hour apart,
absent keys), so that groups, windows, unknown keys and documents filtered out all occur. The
keyed evaluation reads only the documents that can pass a filter: the facts it records from
other documents (`batch.*` paths) are those documents' only, so they are left out of the
comparison; everything else (outcomes, findings, reasons, the document's own facts) must match
byte for byte.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from addresses import address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import documents

from vasp_rules import RulePack
from vasp_rules.compiler.batchplan import plan_quantifier
from vasp_rules.engine.evaluate import Item, batch_view
from vasp_rules.lang.parser import parse_condition
from vasp_rules.rulepack import _item

HERE = Path(__file__).resolve().parent
PACKS = {"pk": HERE.parent / "rules" / "pk", "batchshapes": HERE / "packs" / "batchshapes"}
_loaded: dict[str, RulePack] = {}
SETTINGS = settings(
    max_examples=int(os.environ.get("BATCH_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
as_of_dates = st.sampled_from([date(2026, 6, 1), date(2031, 1, 15)])


def pack(name: str) -> RulePack:
    if name not in _loaded:
        _loaded[name] = RulePack.load(PACKS[name])
    return _loaded[name]


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


@SETTINGS
@given(docs=transfer_batches(), as_of=as_of_dates)
def test_keyed_transfers_decide_as_the_plain_definition(docs: list[dict], as_of: date) -> None:
    for name in PACKS:
        keyed, plain = _both(pack(name), docs, as_of)
        assert keyed == plain


@SETTINGS
@given(docs=declaration_batches(), as_of=as_of_dates)
def test_keyed_declarations_decide_as_the_plain_definition(docs: list[dict], as_of: date) -> None:
    for name in PACKS:
        keyed, plain = _both(pack(name), docs, as_of)
        assert keyed == plain


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=transfer_batches())
def test_keyed_reference_engine_agrees_too(docs: list[dict]) -> None:
    keyed, plain = _both(pack("batchshapes"), docs, date(2026, 6, 1), "reference")
    assert keyed == plain


def test_plans_read_keys_windows_and_filters() -> None:
    """The plan of a structuring filter: two equality keys, a window on executed_at, and the
    conjuncts on the other transfer alone filtered once."""
    node = parse_condition(
        "sum(t in batch.transfer where t.originator.account_or_wallet is present "
        "and t.originator.account_or_wallet == originator.account_or_wallet "
        "and t.direction == direction and t.value < 100 "
        "and t.executed_at <= executed_at and executed_at - hours(24) < t.executed_at: t.value)"
    )
    plan = plan_quantifier(node)  # type: ignore[arg-type]
    assert plan is not None and plan.kind == "transfer" and plan.var == "t"
    assert len(plan.static) == 2 and len(plan.equalities) == 2
    assert [b.op for b in plan.bounds] == ["<=", ">"]


def test_unkeyed_batch_rules_are_named_with_their_cost() -> None:
    """`vasp-rules check` lists batch filters that are scanned in full (quadratic)."""
    unkeyed = pack("batchshapes").batch_plan().unkeyed
    assert {a.rule_id for a in unkeyed} == {"B-UNKEYED", "B-STATIC", "B-SEMI", "B-NESTED-OTHER"}
    assert all(a.reason for a in unkeyed)
    assert not pack("pk").batch_plan().unkeyed


def test_a_batch_quantifier_inside_another_is_keyed_by_this_documents_fields() -> None:
    """Inside `any(s in batch.transfer ...)` an inner batch quantifier is evaluated once per s:
    it is keyed when its key is compared with this document's own field (its window may be
    probed by s), not when compared with s's (TR-10 of pack 0.3.0 has the first shape)."""
    accesses = pack("batchshapes").batch_plan().accesses
    nested = [a for a in accesses if a.rule_id == "B-NESTED"]
    assert [a.var for a in nested] == ["s", "t"] and all(a.group for a in nested)
    other = [a for a in accesses if a.rule_id == "B-NESTED-OTHER"]
    assert [(a.var, a.group is None) for a in other] == [("s", False), ("t", True)]
    assert "inside another batch quantifier" in other[1].reason
    tr10 = [a for a in pack("pk").batch_plan().accesses if a.rule_id == "TR-10"]
    assert len(tr10) == 8 and all(a.group for a in tr10)
    # its windows (condition and linked_transfers) and by_chain follow linked(...)
    assert [a.var for a in tr10 if a.transitive] == ["t", "s", "t", "t", "t"]


def test_check_names_batch_rules_scanned_in_full() -> None:
    from click.testing import CliRunner

    from vasp_rules.cli import main

    result = CliRunner().invoke(main, ["check", str(PACKS["batchshapes"])])
    assert result.exit_code == 0
    assert "note: B-UNKEYED reads batch.transfer with no key" in result.output
    assert "B-WINDOW" not in result.stdout  # (warned of on stderr: an unguarded optional read)
    clean = CliRunner().invoke(main, ["check", str(PACKS["pk"])])
    assert "note:" not in clean.output


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


@SETTINGS
@given(docs=structuring_batches(), as_of=as_of_dates)
def test_compiled_batch_quantifiers_equal_the_reference(docs: list[dict], as_of: date) -> None:
    """Batch quantifiers (TR-10's nested windows, the batchshapes pack's keyed shapes) run
    their `where` and body as generated code, over the candidates the reference takes from the
    keyed plan: every derived field (projection) and every finding, held or unknown (generated
    code in recording mode), equals the reference interpreter's, byte for byte, facts
    read from other documents (`batch.transfer[...]`) included."""
    from vasp_rules.compiler.codegen import Env
    from vasp_rules.engine.evaluate import context_for, finding_for, reference_finding_for
    from vasp_rules.engine.reference import Evaluator

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


def test_recording_skips_only_items_that_would_record_nothing_new() -> None:
    """The held condition's recording (generated, effects only) skips an item of a batch
    quantifier once the document was evaluated in full before, but never in a run that has
    not yet evaluated its `where`: its parts that name the outer document (`s.transfer_id`)
    are read in every run."""
    from vasp_rules.compiler.codegen import Env, compile_effects, compile_recording
    from vasp_rules.engine.evaluate import context_for
    from vasp_rules.engine.reference import Evaluator

    template = json.loads((HERE.parent / "examples" / "transfer.json").read_text())
    docs = []
    for i in range(4):
        doc = json.loads(json.dumps(template))
        doc["transfer_id"] = f"T-{i}"
        docs.append(doc)
    items = [_item(d, i) for i, d in enumerate(docs)]
    condition = parse_condition(
        "any(s in batch.transfer where s.direction == direction: "
        'count(t in batch.transfer where t.direction == direction and s.transfer_id != ""'
        ": t.amount > 0) >= 0)"
    )
    compiled = pack("pk").compiled(date(2026, 6, 1))
    view = batch_view(items)
    for item in items:
        ctx = context_for(compiled, item, view)
        expected = Evaluator(ctx)
        expected.evaluate(condition)
        assert len([p for p in expected.reads if p.endswith(".transfer_id")]) == 3
        for fn in (compile_effects(condition), compile_recording(condition)):
            ev = Evaluator(ctx)
            fn(Env(ctx), ev, {})
            assert list(ev.reads.items()) == list(expected.reads.items())
