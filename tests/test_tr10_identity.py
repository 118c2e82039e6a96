"""TR-10 groups one originator's transfers by identity, transitively, through the language's
`linked(VAR, KEY, ...)`: its keyed plan (union-find components, once per batch) decides exactly
as its plain definition (breadth-first search over the batch), on dense windows and chains."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.batches import (
    SETTINGS,
    _both,
    _chunked,
    _whole,
    compiled_equals_reference,
    pack,
    structuring_batches,
)

from vasp_rules import RulePack
from vasp_rules.interp.keyed import components
from vasp_rules.lang.checker import Checker, TypeCheckError
from vasp_rules.lang.parser import parse_condition
from vasp_rules.lang.types import STRING, Type, list_of
from vasp_rules.runtime.evaluate import batch_view
from vasp_rules.runtime.rulepack import _item

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 1)
KEYS = (
    ("originator", "account_or_wallet"),
    ("originator", "customer_id"),
    ("originator", "national_id"),
)

# one EVM address in two spellings (canonical form: lower case), a base58-like account, none
WALLETS = [
    "0x9F3C1E7A42B8D05E6C1A7B3F94D2E8C05A6B71D2",
    "0x9f3c1e7a42b8d05e6c1a7b3f94d2e8c05a6b71d2",
    "CUST-A",
    "CUST-B",
    None,
]
CUSTOMERS = ["C-1", "C-2", None, None]
NATIONAL = ["4210177342905", "4210188265511", None, None]


@st.composite
def identity_batches(draw: st.DrawFn) -> list[dict]:
    """Dense TR-10 batches: many transfers at one instant, window ends at exactly 24 hours,
    amounts at the threshold, currencies without a rate, duplicate ids, and originators whose
    account/wallet, customer_id and national_id are drawn apart so that chains (A-wallet-B,
    B-national_id-C) and absent keys occur."""
    docs = draw(structuring_batches())
    for doc in docs:
        minutes = draw(st.sampled_from([0, 0, 0, 0, 24 * 60, 24 * 60, 24 * 60 + 1, 48 * 60]))
        day, rest = divmod(minutes, 24 * 60)
        doc["executed_at"] = f"2026-03-{1 + day:02d}T{rest // 60:02d}:{rest % 60:02d}:00+05:00"
        doc["value"]["amount"] = draw(st.sampled_from(["300.00", "500.00", "999.99", "1000.00"]))
        doc["direction"] = draw(st.sampled_from(["OUT", "OUT", "IN"]))
        # a token of no single network: its wallets are compared in canonical form, unchecked
        # (a BTC transfer would refuse the EVM spellings below at their path)
        doc["asset"] = "USDT"
        origin = doc["originator"]
        for field, choices in (
            ("account_or_wallet", WALLETS),
            ("customer_id", CUSTOMERS),
            ("national_id", NATIONAL),
        ):
            value = draw(st.sampled_from(choices))
            if value is None:
                origin.pop(field, None)
            else:
                origin[field] = value
    return docs


@st.composite
def chains(draw: st.DrawFn) -> list[dict]:
    """A chain of transfers each sharing one key with the next (a different key each step),
    no two ends sharing anything directly, shuffled, sometimes with a stranger between."""
    template = json.loads((ROOT / "examples" / "transfer.json").read_text())
    n = draw(st.integers(2, 7))
    docs = []
    for i in range(n):
        doc = copy.deepcopy(template)
        doc["transfer_id"] = f"C-{i}"
        doc["value"] = {"amount": draw(st.sampled_from(["200.00", "300.00"])), "currency": "USD"}
        doc["executed_at"] = f"2026-03-01T{draw(st.integers(0, 23)):02d}:00:00+05:00"
        doc["direction"] = "OUT"
        origin = doc["originator"]
        origin["account_or_wallet"] = f"W-{i // 2}" if i % 2 == 0 else f"W-{(i - 1) // 2}"
        origin["national_id"] = f"N-{(i + 1) // 2}"
        origin["customer_id"] = f"C-own-{i}"
        docs.append(doc)
    stranger = copy.deepcopy(template)
    stranger["transfer_id"] = "X-0"
    stranger["originator"].pop("customer_id", None)
    stranger["originator"].pop("national_id", None)
    stranger["originator"]["account_or_wallet"] = "W-stranger"
    docs.append(stranger)
    return draw(st.permutations(docs))


def _linked_pairs(docs: list[dict], keyed: bool) -> set[tuple[str, str]]:
    """Every ordered pair of linked transfers, by the keyed plan or the plain definition."""
    compiled = pack("pk").compiled(AS_OF)
    items = [_item(d, i) for i, d in enumerate(docs)]
    view = batch_view(items, keyed=keyed)
    from vasp_rules.runtime.evaluate import context_for

    out = set()
    for a in items:
        ctx = context_for(compiled, a, view)
        for b in items:
            if b is not a and view.linked("transfer", KEYS, a.model, b.model, ctx):
                out.add((a.id, b.id))
    return out


@SETTINGS
@given(docs=identity_batches(), as_of=st.sampled_from([AS_OF, date(2031, 1, 15)]))
def test_tr10_keyed_decides_as_the_plain_definition_on_dense_identity_batches(
    docs: list[dict], as_of: date
) -> None:
    keyed, plain = _both(pack("pk"), docs, as_of)
    assert keyed == plain


@SETTINGS
@given(docs=st.one_of(identity_batches(), chains()))
def test_compiled_closures_equal_the_reference_on_linked_batches(docs: list[dict]) -> None:
    """The compiled closures (projection, recording, Result) delegate `linked(...)` to the
    reference interpreter: every derived field and finding equals the reference's, byte for
    byte, facts read from other documents included (test_batch_keyed's property, on chains)."""
    compiled_equals_reference(docs, AS_OF)


@SETTINGS
@given(docs=st.one_of(identity_batches(), chains()))
def test_union_find_components_equal_breadth_first_search(docs: list[dict]) -> None:
    for i, doc in enumerate(docs):
        doc["transfer_id"] = f"{doc['transfer_id']}#{i}"  # pairs by position, ids unique
    assert _linked_pairs(docs, keyed=True) == _linked_pairs(docs, keyed=False)


@SETTINGS
@given(docs=chains())
def test_a_chain_is_one_originator(docs: list[dict]) -> None:
    """Every transfer of a chain is linked to every other one, however far apart; the
    stranger to none; and TR-10 (300 + 300 + 200 + ... USD within one day) refers the chain."""
    pairs = _linked_pairs(docs, keyed=True)
    chain = [d["transfer_id"] for d in docs if d["transfer_id"].startswith("C-")]
    assert pairs == {(a, b) for a in chain for b in chain if a != b}
    keyed, plain = _both(pack("pk"), docs, AS_OF)
    assert keyed == plain
    total = sum(float(d["value"]["amount"]) for d in docs if d["transfer_id"].startswith("C-"))
    for decision in keyed:
        referred = any(f["rule_id"] == "TR-10" for f in decision["findings"])
        in_chain = decision["document_id"].startswith("C-")
        assert referred == (in_chain and total >= 1000), decision["document_id"]


@SETTINGS
@given(docs=chains(), size=st.integers(1, 3))
def test_chains_split_into_chunks_decide_as_the_whole_batch(docs: list[dict], size: int) -> None:
    """A chunk is sent its documents' whole components (the chain followed across chunks)."""
    p = pack("pk")
    assert _chunked(p, docs, size) == _whole(p, docs)


def test_components_join_groups_transitively() -> None:
    assert components(6, [[0, 1], [2, 3], [1, 2], [5]]) == [0, 0, 0, 0, 4, 5]
    assert components(3, []) == [0, 1, 2]


def test_example_linked_only_transitively_is_referred_whole(pk: RulePack) -> None:
    """examples/batches/transfers_structuring_linked.json: A and B share an account, B and C
    a national ID, A and C nothing; USD 400 + 350 + 300 within a day: all three referred, and
    the reason says how each is linked."""
    docs = json.loads(
        (ROOT / "examples" / "batches" / "transfers_structuring_linked.json").read_text()
    )
    decisions = pk.evaluate_many(docs, AS_OF)
    assert [d.outcome for d in decisions] == ["REFER"] * 3
    reasons = [next(f.reason for f in d.findings if f.rule_id == "TR-10") for d in decisions]
    assert "same account/wallet: TX-20260302-7B1A2;" in reasons[0]
    assert "linked only through other transfers: TX-20260302-7B2A3." in reasons[0]
    assert "same national ID: TX-20260302-7B2A3;" in reasons[1]
    assert "linked only through other transfers: TX-20260302-7B0A1." in reasons[2]
    # without the chain's middle transfer, A and C are not one originator: nothing referred
    alone = pk.evaluate_many([docs[0], docs[2]], AS_OF)
    assert all("TR-10" not in d.fired for d in alone)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("linked(originator.customer_id)", "linked(VAR, KEY, ...) takes"),
        (
            "any(t in batch.transfer: linked(originator, originator.customer_id))",
            "first argument must be a variable ranging over the batch",
        ),
        (
            "any(d in batch.amnesty_declaration: linked(d, originator.customer_id))",
            "links documents of the kind being evaluated (Transfer)",
        ),
        (
            "any(t in batch.transfer: linked(t, t.originator.customer_id))",
            "keys are field paths of the document",
        ),
        ("any(t in batch.transfer: linked(t, originator))", "must be one value"),
        (
            "any(t in batch.transfer: linked(t, originator.name, originator.name))",
            "names originator.name twice",
        ),
        (
            "any(t in batch.transfer: any(t in param.ids: linked(t, originator.name)))",
            "first argument must be a variable ranging over the batch",
        ),
    ],
)
def test_checker_refuses_misused_linked(condition: str, message: str) -> None:
    from vasp_rules.entities.registry import KINDS

    checker = Checker(KINDS["transfer"], {"ids": list_of(STRING)}, KINDS, None)
    with pytest.raises(TypeCheckError, match=message.replace("(", r"\(").replace(")", r"\)")):
        checker.check(parse_condition(condition), Type("bool"))


def test_catalogue_says_what_linked_means() -> None:
    from vasp_rules.cli.catalogue import render_catalogue

    text = render_catalogue(pack("pk"))
    assert (
        "t is linked to this document (by the originator's account or wallet, the "
        "originator's customer ID or the originator's national ID, shared directly or through "
        "a chain of documents that each share one of them)"
    ) in text


def test_checker_accepts_linked_and_types_it_bool() -> None:
    from vasp_rules.entities.registry import KINDS

    checker = Checker(KINDS["transfer"], {}, KINDS, None)
    result = checker.check(
        parse_condition(
            "count(t in batch.transfer where linked(t, originator.account_or_wallet, "
            "originator.national_id)) > 0"
        ),
        Type("bool"),
    )
    assert {"originator.account_or_wallet", "originator.national_id"} <= result.root_paths


def _chain_docs() -> list[dict]:
    """Four USD 300 transfers in one day, chained A-wallet-B-national ID-C-wallet-D (no two
    others share anything), between two strangers' transfers, in an order that puts chain
    neighbours in different chunks: only the whole chain reaches USD 1,000."""
    template = json.loads((ROOT / "examples" / "transfer.json").read_text())
    docs = []
    for i, (wallet, national) in enumerate(
        [
            ("W-a", "N-a"),
            ("W-a", "N-b"),
            ("W-c", "N-b"),
            ("W-c", "N-d"),
            ("W-x", None),
            ("W-y", None),
        ]
    ):
        doc = copy.deepcopy(template)
        doc["transfer_id"] = f"T-{i}"
        doc["value"] = {"amount": "300.00", "currency": "USD"}
        doc["executed_at"] = f"2026-03-01T{1 + i:02d}:00:00+05:00"
        doc["originator"]["account_or_wallet"] = wallet
        doc["originator"]["customer_id"] = f"C-{i}"
        if national is None:
            doc["originator"].pop("national_id", None)
        else:
            doc["originator"]["national_id"] = national
        docs.append(doc)
    return [docs[i] for i in (0, 4, 2, 5, 1, 3)]


def test_a_chain_spread_over_stream_chunks_and_dask_partitions_is_found_whole(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from vasp_rules.cli import main

    docs = _chain_docs()
    p = pack("pk")
    expected = _whole(p, docs)
    fired = [any(f["rule_id"] == "TR-10" for f in json.loads(d)["findings"]) for d in expected]
    assert fired == [True, False, True, False, True, True]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    for size in ("1", "2"):
        out = tmp_path / f"out{size}.jsonl"
        result = CliRunner().invoke(
            main,
            ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out), "--chunk-size", size],
        )
        assert result.exit_code == 0, result.output
        assert out.read_text().splitlines() == expected
    assert _chunked(p, docs, 1) == expected
    db = pytest.importorskip("dask.bag")
    import dask

    from vasp_rules.scale.dask import evaluate_bag

    # the partitions and the group-by are what is tested here, so dask runs them in this
    # process; test_scale_dask.py runs them on a real cluster of worker processes
    with dask.config.set(scheduler="synchronous"):
        assert evaluate_bag(p, db.from_sequence(docs, npartitions=6), AS_OF) == expected


def test_a_transfer_without_identity_is_never_in_a_group(pk: RulePack) -> None:
    """No account/wallet, customer_id or national_id: nothing links it, so TR-10 neither
    refers it nor asks for a rate to convert its value (JPY has none)."""
    template = json.loads((ROOT / "examples" / "transfer.json").read_text())
    docs = []
    for i in range(2):
        doc = copy.deepcopy(template)
        doc["transfer_id"] = f"N-{i}"
        doc["value"] = {"amount": "90000", "currency": "JPY"}
        for key in ("account_or_wallet", "customer_id", "national_id"):
            doc["originator"].pop(key, None)
        docs.append(doc)
    for decision in pk.evaluate_many(docs, AS_OF):
        assert all(f.rule_id != "TR-10" for f in decision.findings)
