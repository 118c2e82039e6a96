"""The compiled fast path gives exactly what the reference interpreter gives.

Projection uses generated value-only code (vasp_rules/compiler/codegen.py) and findings use
generated code in recording mode (the same module); the tree-walking interpreter stays the
oracle. These properties compare them part by part (every derived field, every rule's finding,
fired or not), on generated documents and dates, for the bundled pack and the constructs pack.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.dates import as_of_dates as sampled_dates
from support.packs import PACKS as ALL_PACKS
from support.packs import pack
from support.strategies import any_document

from vasp_rules import RulePack
from vasp_rules.compiler.codegen import Env
from vasp_rules.interp.reference import Evaluator
from vasp_rules.lang.values import money_to_paisa
from vasp_rules.runtime.evaluate import (
    batch_view,
    context_for,
    finding_for,
    reference_finding_for,
)
from vasp_rules.runtime.rulepack import _item

HERE = Path(__file__).resolve().parent
PACKS = {"pk": ALL_PACKS["pk"], "constructs": ALL_PACKS["constructs"]}
as_of_dates = sampled_dates(date(2025, 12, 5), date(2031, 6, 30), *PACKS)
EXAMPLES = int(os.environ.get("FASTPATH_EXAMPLES", "80"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("pack_name", sorted(PACKS))
@SETTINGS
@given(docs=st.lists(any_document(), min_size=1, max_size=3), as_of=as_of_dates)
def test_value_closures_agree_with_the_reference_on_every_field(
    pack_name: str, docs: list[dict], as_of: date
) -> None:
    compiled = pack(pack_name).compiled(as_of)
    items = [_item(d, i) for i, d in enumerate(docs)]
    view = batch_view(items)
    for item in items:
        plan = compiled.plans.get(item.kind)
        if plan is None:
            continue
        ctx = context_for(compiled, item, view)
        exprs = {**plan.field_paths, **plan.hoisted}
        env = Env(ctx)
        for key, getter in plan.getters:
            expected = Evaluator(ctx, record=False).evaluate(exprs[key]).value
            assert getter(env) == expected, key
            assert type(getter(env)) is type(expected), key


@pytest.mark.parametrize("pack_name", sorted(PACKS))
@SETTINGS
@given(docs=st.lists(any_document(), min_size=1, max_size=3), as_of=as_of_dates)
def test_compiled_findings_equal_the_reference_for_every_rule(
    pack_name: str, docs: list[dict], as_of: date
) -> None:
    """Every rule's finding, built by closures or by walking the tree, whether or not it
    fired and whether its condition held or was unknown: the same JSON."""
    compiled = pack(pack_name).compiled(as_of)
    items = [_item(d, i) for i, d in enumerate(docs)]
    view = batch_view(items)
    for item in items:
        ctx = context_for(compiled, item, view)
        for rule in compiled.rules_for(item.kind):
            for held in (True, False):
                fast = finding_for(rule, held, ctx)
                slow = reference_finding_for(rule, held, ctx)
                assert fast.model_dump_json() == slow.model_dump_json(), rule.id


def test_loading_compiles_no_date_until_one_is_evaluated() -> None:
    """RulePack.load is cheap: dates are compiled on first use; the every-date check is
    explicit (vasp-rules check) and remembered by the pack's sha256."""
    fresh = RulePack.load(PACKS["constructs"])
    assert not fresh._compiled
    fresh.check_every_date()
    assert not fresh._compiled
    checked = RulePack.load(PACKS["constructs"], check_every_date=True)
    assert checked.sha256 == fresh.sha256


def test_money_without_a_reference_rate_is_still_present() -> None:
    """Regression (found by the fast-path benchmark): overheads stated in a currency the pack
    has no rate for are present, so LIC-14 ("overheads not stated") must not fire; durable-rules
    used to test presence on the converted value (absent without a rate) and disagreed with the
    reference interpreter. Presence of a money field is now computed, not tested natively."""
    import json

    doc = json.loads((HERE.parent / "examples" / "licence_application.json").read_text())
    doc["firm"]["annual_fixed_overheads"] = {"amount": "1000000", "currency": "JPY"}
    p = pack("pk")
    durable = p.evaluate(doc, date(2026, 6, 1))
    reference = p.evaluate(doc, date(2026, 6, 1), engine="reference")
    assert "LIC-14" not in durable.fired
    assert durable.to_json() == reference.to_json()


@SETTINGS
@given(docs=st.lists(any_document(), min_size=2, max_size=6), as_of=as_of_dates)
def test_a_shared_session_matches_each_fact_as_if_alone(docs: list[dict], as_of: date) -> None:
    """Isolation inside one durable-rules session: the rules each fact fires among others
    are exactly those it fires in a session of its own."""
    from vasp_rules.runtime.evaluate import project

    compiled = pack("pk").compiled(as_of)
    matcher = compiled.matcher()
    items = [_item(d, i) for i, d in enumerate(docs)]
    by_kind: dict[str, list[dict]] = {}
    for item in items:
        ctx = context_for(compiled, item, batch_view([item]))
        by_kind.setdefault(item.kind, []).append(project(compiled, item, ctx))
    for kind, facts in by_kind.items():
        together = matcher.match_many(kind, facts + facts)  # identical facts too
        assert together == [matcher.match(kind, f) for f in facts + facts]


def test_trusted_models_equal_validated_ones() -> None:
    """Decisions and findings are assembled without re-validation; they are the same models,
    with the same JSON, as validated ones."""
    import json

    from vasp_rules.model.decision import Decision

    doc = json.loads((HERE.parent / "examples" / "licence_application.json").read_text())
    decision = pack("pk").evaluate(doc, date(2026, 6, 1))
    validated = Decision.model_validate(decision.model_dump())
    assert decision == validated
    assert decision.to_json() == validated.to_json()
    assert decision.findings, "the example should fire some rules"


BULK = int(os.environ.get("FASTPATH_BULK", "100"))  # FASTPATH_BULK=20000 for the full check


def test_generated_documents_of_every_kind_decide_alike_with_both_engines() -> None:
    """Decision JSON from durable-rules (compiled fast path) and from the reference
    interpreter, byte for byte, on the benchmark's generated documents of all four kinds (most
    rules exercised) at random dates. 100 by default; FASTPATH_BULK=20000 for the long run."""
    import random
    import sys
    from datetime import timedelta

    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    from engine import synthetic
    from fastpath import licence_applications, transfers

    quarter = max(BULK // 4, 1)
    others = synthetic(4 * quarter + 8, 5)
    docs = (
        licence_applications(quarter, 21)
        + transfers(quarter, 22)
        + [d for d in others if d["kind"] == "customer"][:quarter]
        + [d for d in others if d["kind"] == "amnesty_declaration"][:quarter]
    )
    rng = random.Random(99)
    p = pack("pk")
    for i, doc in enumerate(docs):
        day = date(2025, 7, 1) + timedelta(days=rng.randrange(0, 6 * 365))
        durable = p.evaluate(doc, day).to_json()
        assert durable == p.evaluate(doc, day, engine="reference").to_json(), (i, day)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("  0xAbC0123456789DEF  ", "0xabc0123456789def"),  # EVM checksum case, spaces
        (  # bech32, written in upper case
            "BC1QXY2KGDYGJRSQTZQ2N0YRF2493P83KKFJHX0WLH",
            "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        ),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),  # base58
    ],
)
def test_closures_read_wallet_addresses_in_canonical_form(written: str, canonical: str) -> None:
    """Wallet addresses compare in their chain's canonical form in the reference interpreter;
    the value closures (projection) and the recording closures (findings) read them so too."""
    import json

    doc = json.loads((HERE.parent / "examples" / "transfer.json").read_text())
    doc["originator"]["account_or_wallet"] = written
    doc["beneficiary"]["account_or_wallet"] = written
    compiled = pack("pk").compiled(date(2026, 6, 1))
    item = _item(doc, 0)
    ctx = context_for(compiled, item, batch_view([item]))
    plan = compiled.plans["transfer"]
    exprs = {**plan.field_paths, **plan.hoisted}
    getters = dict(plan.getters)
    env = Env(ctx)
    for key in ("f_originator__account_or_wallet", "f_beneficiary__account_or_wallet"):
        assert Evaluator(ctx, record=False).evaluate(exprs[key]).value == canonical
        assert getters[key](env) == canonical and type(getters[key](env)) is str
    for rule in compiled.rules_for("transfer"):
        fast = finding_for(rule, True, ctx)
        slow = reference_finding_for(rule, True, ctx)
        assert fast.model_dump_json() == slow.model_dump_json(), rule.id


def test_pattern_probes_are_remembered_by_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiling a new date asks durable-rules again whether each rule's patterns are
    accepted; the verdict depends only on the patterns, so each distinct text is probed once,
    and a refused pattern stays refused."""
    from vasp_rules.engine import durable_backend as backend

    probes: list[int] = []
    real = backend.Matcher

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, rules: object) -> None:
            probes.append(1)
            super().__init__(rules)  # type: ignore[arg-type]

    monkeypatch.setattr(backend, "Matcher", Counting)
    accepted = [{"$and": [{"probe_field_a": 7}, {"probe_field_b": 8}]}]
    refused = [{"$or": [{"$and": [{"pa": i}, {"pb": i}]} for i in range(14)]}]  # error 113
    assert [backend.accepts("customer", accepted) for _ in range(3)] == [True] * 3
    assert [backend.accepts("customer", refused) for _ in range(3)] == [False] * 3
    assert len(probes) == 2


def _paisa_as_written(amount: Decimal, currency: str, fx: dict[str, object]) -> int | None:
    """The conversion as the reference states it: in a copy of the caller's decimal context
    with enough digits, multiply, round half-even to the paisa, scale."""
    if currency == "PKR":
        rate = Decimal(1)
    elif currency in fx:
        rate = Decimal(str(fx[currency]))
    else:
        return None
    with localcontext() as ctx:
        ctx.prec = max(28, amount.adjusted() + rate.adjusted() + 12)
        product = amount * rate
        with localcontext() as inner:
            inner.prec = max(28, product.adjusted() + 12)
            quantized = product.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        return int(quantized.scaleb(2))


@settings(max_examples=max(200, EXAMPLES), deadline=None)
@example(amount=Decimal("10.005"), currency="PKR", rate=Decimal(1), as_text=False)
@example(amount=Decimal("10.015"), currency="PKR", rate=Decimal(1), as_text=False)
@given(
    amount=st.one_of(
        st.decimals(min_value=0, max_value=Decimal("1e40"), allow_nan=False,
                    allow_infinity=False),
        st.integers(0, 10**35).map(lambda n: Decimal(n).scaleb(-3)),  # half-paisa ties too
    ),
    currency=st.sampled_from(["PKR", "USD", "AED", "JPY"]),
    rate=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1e9"), allow_nan=False,
                     allow_infinity=False),
    as_text=st.booleans(),
)
def test_money_to_paisa_is_exact_half_even_and_ignores_the_callers_context(
    amount: Decimal, currency: str, rate: Decimal, as_text: bool
) -> None:
    """The fast conversion (shared contexts, no context switches) gives the value of the plain
    statement, for amounts far beyond 28 digits, rates given as Decimals or as text, and a
    currency without a rate; and a caller's own decimal context does not change it."""
    fx: dict[str, object] = {"USD": str(rate) if as_text else rate, "AED": Decimal("75.5")}
    expected = _paisa_as_written(amount, currency, fx)
    assert money_to_paisa(amount, currency, fx) == expected
    with localcontext() as ctx:
        ctx.prec = 5
        ctx.rounding = ROUND_DOWN
        assert money_to_paisa(amount, currency, fx) == expected


@settings(max_examples=max(200, EXAMPLES), deadline=None)
@given(
    words=st.lists(st.text(max_size=4), min_size=1, max_size=6),
    value=st.one_of(
        st.text(max_size=4),
        st.integers(-3, 3),
        st.booleans(),
        st.decimals(allow_nan=False, allow_infinity=False, places=1),
        st.lists(st.text(max_size=2), max_size=2),
    ),
)
def test_membership_in_a_constant_list_of_text_is_the_scan(words: list[str], value: object) -> None:
    """`x in LIST` for a list of text fixed on the date is a set look-up in the compiled
    closures; it answers what the reference's item-by-item `==` answers, for text, numbers,
    booleans and unhashable values alike."""
    from vasp_rules.compiler.codegen import constant_words, member_of
    from vasp_rules.lang.ast import Const

    constant = constant_words(Const(words, "list of text"))
    assert constant is not None
    assert member_of(value, constant) == any(item == value for item in words)
    assert member_of(words[0], constant)
