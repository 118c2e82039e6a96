"""The one-document evaluation path (issue 22, "pipeline"): what it sends durable-rules, how
it reads what fired, and that its shortcuts decide exactly as the general path."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date
from decimal import Decimal

import pytest
from support.repo import AS_OF, example

from vasp_rules import RulePack
from vasp_rules.core.canonical import _typed, document_sha256
from vasp_rules.engine.durable_backend import Matcher, MatchRule, session_json
from vasp_rules.entities.registry import parse_document
from vasp_rules.entities.transfer import Transfer


def test_session_facts_carry_their_ids_first_and_a_fact_field_never_replaces_them() -> None:
    fact = {"f_a": "x\u2028é", "kind": "customer", "id": 3}
    text = session_json("s9", "s9.4", "transfer", [fact])
    (fact,) = json.loads(text)
    assert fact == {"sid": "s9", "id": "s9.4.0", "kind": "transfer", "f_a": "x\u2028é"}
    assert text.index('"id":"s9.4.0"') < text.index('"f_a"')  # found early by _fired


@pytest.mark.parametrize(
    ("value", "above"), [(2**70, None), (Decimal("1234.5"), True), (Decimal("-7.25"), False)]
)
def test_values_orjson_cannot_write_are_written_plainly_and_still_match(
    value: object, above: bool | None
) -> None:
    """A fact orjson refuses (an int beyond 64 bits) or must not write (a Decimal) is written by
    to_json in the same compact layout: its rules still fire, and nothing in exponent form
    reaches durable-rules. (durable-rules itself saturates integers at 2**63 - 1, so the big
    int is only checked to pass through.)"""
    text = session_json("s1", "s1.2", "k", [{"f_v": value, "f_t": "t"}])
    assert text.startswith('[{"sid":"s1","id":"s1.2.0"')
    assert f'"f_v":{value},' in text  # plain digits, never exponent form
    assert json.loads(text, parse_float=Decimal)[0]["f_v"] == value
    matcher = Matcher([
        MatchRule("above|T", "k", {"$gt": {"f_v": 1000}}),
        MatchRule("text|T", "k", {"f_t": "t"}),
    ])
    try:
        (fired,) = matcher.match_many("k", [{"f_v": value, "f_t": "t"}])
    finally:
        matcher.close()
    assert "text|T" in fired
    if above is not None:
        assert ("above|T" in fired) == above


def test_facts_sharing_a_session_each_get_their_own_rules() -> None:
    matcher = Matcher([MatchRule("odd|T", "k", {"f_odd": True})])
    try:
        facts = [{"f_odd": i % 2 == 1, "f_i": i} for i in range(12)]
        fired = matcher.match_many("k", facts)
    finally:
        matcher.close()
    assert fired == [{"odd|T"} if i % 2 else set() for i in range(12)]


@pytest.mark.parametrize("kind", ["licence_application", "transfer", "customer",
                                  "amnesty_declaration"])
def test_evaluate_decides_as_evaluate_many_does_for_one_document(
    pk: RulePack, kind: str
) -> None:
    doc = example(kind)
    for engine in ("durable", "reference"):
        for on in (AS_OF, date(2024, 1, 1)):  # the second: before some regimes start
            alone = pk.evaluate(doc, on, engine=engine)  # type: ignore[arg-type]
            many = pk.evaluate_many([doc], on, engine=engine)[0]  # type: ignore[arg-type]
            assert alone.to_json() == many.to_json()


def test_regime_start_is_the_same_answer_asked_again(pk: RulePack) -> None:
    days = [date(2020, 1, 1), date(2024, 1, 1), AS_OF, date(2030, 1, 1)]
    first = [[pk.regime_start(k, d) for d in days] for k in ("transfer", "customer")]
    again = [[pk.regime_start(k, d) for d in days] for k in ("transfer", "customer")]
    assert first == again
    fresh = RulePack.load("pk")
    assert [[fresh.regime_start(k, d) for d in days] for k in ("transfer", "customer")] == first


def test_a_transfer_dump_leaves_out_absent_joint_holders_and_stays_typed() -> None:
    """joint_holders is left out of the dump when absent (input_sha256 of older documents is
    unchanged), kept when given; the model's dump is typed, so input_sha256 is written by
    orjson without a walk of the dump."""
    doc = example("transfer")
    model = parse_document(doc)
    dumped = model.model_dump(mode="json")
    assert "joint_holders" not in dumped["originator"]
    assert "joint_holders" not in dumped["beneficiary"]
    joint = copy.deepcopy(doc)
    joint["originator"]["joint_holders"] = [{"name": "Sara Khan"}]
    assert parse_document(joint).model_dump(mode="json")["originator"]["joint_holders"] == [
        {"name": "Sara Khan", "sanctions_screening": None}
    ]
    assert _typed(Transfer)
    expected = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert document_sha256(model) == hashlib.sha256(expected.encode()).hexdigest()
