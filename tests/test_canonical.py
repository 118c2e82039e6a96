"""Canonical JSON (vasp_rules/core/canonical.py) writes exactly the bytes ``json.dumps`` wrote.

``input_sha256``, decision JSON, a pack's override digest and the audit log's hashes were
``json.dumps(..., sort_keys=True, ensure_ascii=False)`` text (compact, or indented by two for
decisions); orjson now writes them where it agrees. Each property compares with that
``json.dumps`` form, written out here, on adversarial text (Arabic, CJK, emoji, combining marks,
BOM, U+2028/U+2029, NUL and other control characters, lone surrogates), floats json and orjson
write differently, ints of every size, decimals and deep nesting, and on every scenario case.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel
from support.repo import AS_OF, EXAMPLES

from vasp_rules import DocumentError, RulePack
from vasp_rules.core.canonical import (
    _typed,
    canonical_bytes,
    canonical_json,
    document_sha256,
    model_json,
    pretty_json,
)
from vasp_rules.entities.ivms101 import parse_ivms101_many
from vasp_rules.entities.registry import KINDS, parse_document
from vasp_rules.model.decision import Decision
from vasp_rules.testing.scenarios import PackCache, discover, load_cases, run_case

SCENARIOS = Path(__file__).parent / "scenarios"


def old_compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def old_pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def old_sha256(model: BaseModel) -> str:
    """``input_sha256`` as rulepack.document_sha256 computed it before orjson."""
    return hashlib.sha256(old_compact(model.model_dump(mode="json")).encode()).hexdigest()


# characters each writer might treat its own way
ADVERSARIAL = [
    "\u0645\u062d\u0645\u062f \u0639\u0644\u06cc",  # Arabic, right to left
    "\u738b\u5c0f\u660e",  # CJK
    "\U0001f600\U0001f1f5\U0001f1f0",  # emoji, a flag (regional indicators)
    "e\u0301\u0651",  # combining marks
    "\ufeff",  # BOM
    "\u2028\u2029",  # line and paragraph separators
    "\x00",
    "\x01\x08\x09\x0a\x0c\x0d\x1b\x1f",  # control characters (some with short escapes)
    "\x7f\x80\x85\xa0",
    '"\\/',
    "\ud800",  # lone surrogates: json writes them, orjson refuses them
    "\udfff",
    "\uffff\U0010ffff",
]

texts = st.lists(
    st.sampled_from(ADVERSARIAL) | st.text(max_size=4) | st.characters(codec=None).map(str),
    max_size=4,
).map("".join)

ints = st.integers() | st.sampled_from(
    [0, -1, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]
)
floats = st.floats() | st.sampled_from(
    [-0.0, 1e-05, 1e-07, 1e16, 1e22, 5e-324, 1.7976931348623157e308, math.nan, math.inf]
)
decimals = st.sampled_from(
    ["0", "0.00", "123456789012345678", "999999999999999999.99", "1E+3", "-0.5", "1e-7"]
).map(Decimal)

scalars = st.none() | st.booleans() | ints | texts
json_values = st.recursive(
    scalars | floats,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(texts, inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=20,
)


def outcome(write: Any, value: Any) -> Any:
    """What ``write(value)`` gives: its result, or the type of the error it raises."""
    try:
        return write(value)
    except Exception as exc:  # noqa: BLE001 (the error is what is compared)
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_canonical_json_is_the_json_dumps_form(value: Any) -> None:
    assert outcome(canonical_json, value) == outcome(old_compact, value)
    assert outcome(pretty_json, value) == outcome(old_pretty, value)
    assert outcome(canonical_bytes, value) == outcome(lambda v: old_compact(v).encode(), value)


@settings(max_examples=100, deadline=None)
@given(st.recursive(decimals | scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=8))
def test_values_json_cannot_write_fail_as_before(value: Any) -> None:
    """A Decimal is no JSON value to json.dumps (orjson would need a default): still refused."""
    assert outcome(canonical_json, value) == outcome(old_compact, value)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": {"\u00e9": [], "z": {}}, "\u4e2d": "x", "\U0001f600": None, "\uffff": 0},
        [1e-05, -0.0, 1e16],
        {"x": math.nan, "y": -math.inf},
        2**64,
        -(2**63) - 1,
        "\ud800",
        {"k": "\u2028\x00\ufeff"},
    ],
)
def test_edge_values(value: Any) -> None:
    assert canonical_json(value) == old_compact(value)
    assert pretty_json(value) == old_pretty(value)


def test_nesting_deeper_than_orjson_writes() -> None:
    deep: Any = "leaf"
    for _ in range(300):
        deep = {"a": [deep]}
    assert canonical_json(deep) == old_compact(deep)
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular"):
        canonical_json(looped)


def test_types_json_refuses_stay_refused() -> None:
    """orjson writes datetimes, enums and dataclasses; canonical JSON refuses them, as before."""
    from dataclasses import dataclass
    from datetime import datetime
    from enum import Enum

    class Colour(Enum):
        RED = "red"

    @dataclass
    class Point:
        x: int

    for value in (datetime(2026, 1, 1), Colour.RED, Point(1), {1: "int key"}.keys()):
        with pytest.raises(TypeError):
            canonical_json([value])


# --------------------------------------------------------------------------- models


class Inner(BaseModel):
    f: float


class Typed(BaseModel):
    text: str
    count: int
    amount: Decimal
    tags: list[str]
    note: str | None = None


class Untyped(BaseModel):
    f: float
    anything: Any


class Mistyped(BaseModel):
    """A validator that returns a value of another type than its field's: pydantic writes it by
    inference (with a warning), here a float NaN the orjson writer would turn into null."""

    text: Annotated[str, AfterValidator(lambda _: Inner(f=math.nan))]
    when: Annotated[str, AfterValidator(lambda _: 1e-05)]


def test_a_value_not_of_its_fields_type_is_written_as_before() -> None:
    model = Mistyped(text="x", when="y")
    assert _typed(Mistyped)  # the schema alone does not show it
    with pytest.warns(UserWarning, match="serialized value may not be as expected"):
        old = old_compact(model.model_dump(mode="json"))
    assert "NaN" in old and "1e-05" in old
    with pytest.warns(UserWarning, match="serialized value may not be as expected"):
        assert model_json(model) == old


def test_which_models_orjson_may_write_without_a_walk() -> None:
    assert _typed(Typed)
    assert not _typed(Untyped)
    for kind in ("licence_application", "customer", "amnesty_declaration"):
        assert _typed(KINDS[kind]), kind  # input_sha256 of these takes the fastest path


@settings(max_examples=150, deadline=None)
@given(
    st.builds(
        Typed,
        text=texts,
        count=ints,
        amount=st.decimals(allow_nan=False, allow_infinity=False, places=2) | decimals,
        tags=st.lists(texts, max_size=3),
        note=st.none() | texts,
    )
    | st.builds(
        Untyped,
        f=floats,
        anything=json_values | st.builds(Inner, f=floats) | decimals,
    )
)
def test_model_json_is_the_json_dumps_form(model: BaseModel) -> None:
    def dump(m: BaseModel) -> Any:
        return m.model_dump(mode="json")

    assert outcome(model_json, model) == outcome(lambda m: old_compact(dump(m)), model)
    pretty = outcome(lambda m: model_json(m, pretty=True), model)
    assert pretty == outcome(lambda m: old_pretty(dump(m)), model)
    assert outcome(document_sha256, model) == outcome(old_sha256, model)


# --------------------------------------------------------------------------- documents

#: Free text in each example: fields that take any valid text, and names (visible text only).
FREE_TEXT = {
    "transfer.json": [("originator", "address"), ("originator", "place_of_birth"), ("asset",)],
    "licence_application_full.json": [
        ("firm", "shariah_clearance_ref"),
        ("firm", "foreign_licences", 0, "regulator"),
    ],
    "amnesty_declaration.json": [("holdings", 0, "chain")],
    "customer.json": [],
}
NAMES = {
    "transfer.json": [("originator", "name"), ("beneficiary", "name")],
    "licence_application_full.json": [("firm", "legal_name"), ("firm", "people", 0, "full_name")],
    "amnesty_declaration.json": [("declarant", "full_name"), ("holdings", 1, "custodian_name")],
    "customer.json": [("full_name",)],
}
#: Decimal fields: (example, path to a money object's amount or a quantity).
DECIMALS = {
    "transfer.json": [("value", "amount"), ("amount",)],
    "licence_application_full.json": [("firm", "paid_up_capital", "amount")],
    "amnesty_declaration.json": [("holdings", 0, "quantity")],
    "customer.json": [("outward_transfers_this_year", "amount")],
}
VALID = [t for t in ADVERSARIAL if not any("\ud800" <= c <= "\udfff" for c in t)]
VISIBLE = ADVERSARIAL[:4] + ['"\\/', "O'Brien-\u00e9"]
doc_texts = st.lists(st.sampled_from(VALID) | st.text(max_size=3), max_size=4).map(
    lambda parts: "A" + "".join(parts)
)
names = st.lists(st.sampled_from(VISIBLE), min_size=1, max_size=3).map(" ".join)
amounts = st.sampled_from(
    ["0", "0.01", "999999999999999999", "123456789012345678.12", "1000.000000", "1E+3"]
) | st.decimals(min_value=0, max_value=10**17, allow_nan=False, places=4).map(str)


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(FREE_TEXT)),
    data=st.data(),
)
def test_decisions_and_input_sha256_are_the_json_dumps_form(
    pk: RulePack, name: str, data: st.DataObject
) -> None:
    doc = copy.deepcopy(json.loads((EXAMPLES / name).read_text()))
    for path in FREE_TEXT[name]:
        _set(doc, path, data.draw(texts.filter(str.strip), label="/".join(map(str, path))))
    for path in DECIMALS[name]:
        _set(doc, path, data.draw(amounts, label="/".join(map(str, path))))
    try:
        model = parse_document(doc)
    except DocumentError:
        assume(False)
        return
    assert document_sha256(model) == old_sha256(model)
    decision = pk.evaluate(doc, AS_OF)
    assert decision.input_sha256 == old_sha256(model)
    assert decision.to_json() == _old_decision_json(decision)


def _old_decision_json(decision: Decision) -> str:
    """Decision.to_json as written before orjson."""
    return old_pretty(decision.model_dump(mode="json", exclude=decision._json_exclude()))


def _scenario_models() -> list[tuple[Any, list[BaseModel]]]:
    """Every scenario case whose documents are valid, with their validated models."""
    out: list[tuple[Any, list[BaseModel]]] = []
    for file in discover([SCENARIOS]):
        for case in load_cases(file):
            try:
                if case.input_format == "ivms101":
                    models: list[BaseModel] = list(parse_ivms101_many(case.documents))
                else:
                    models = [parse_document(d) for d in case.documents]
            except DocumentError:
                continue
            out.append((case, models))
    return out


def test_every_scenario_document_keeps_its_input_sha256() -> None:
    checked = 0
    for case, models in _scenario_models():
        for model in models:
            assert document_sha256(model) == old_sha256(model), case.id
            checked += 1
    assert checked > 300


@pytest.mark.slow
def test_every_scenario_decision_keeps_its_bytes() -> None:
    packs = PackCache()
    checked = 0
    for case, models in _scenario_models():
        decisions = run_case(case, packs).decisions
        assert len(models) == len(decisions), case.id
        for model, decision in zip(models, decisions, strict=True):
            assert decision.input_sha256 == old_sha256(model), case.id
            assert decision.to_json() == _old_decision_json(decision), case.id
            checked += 1
    assert checked > 300


def test_pack_digests_are_unchanged(pk: RulePack) -> None:
    """The pack's sha256 (one definition now, used by the loader and the audit log) and the
    override digest are the formulas decisions and logs already hold."""
    from vasp_rules.audit import pack_digest
    from vasp_rules.core.canonical import overridden_sha256, pack_sha256

    old = hashlib.sha256()
    for path in sorted(pk.files):
        old.update(f"{path}\0{hashlib.sha256(pk.files[path]).hexdigest()}\n".encode())
    assert pack_digest(pk.files) == pack_sha256(pk.files) == pk.sha256 == old.hexdigest()
    records = [
        {"name": "threshold", "value": "1000.5", "from": None},
        {"name": "\u00e9", "value": 1},
    ]
    text = old_compact(records)
    digest = hashlib.sha256(f"{'a' * 64}\0overrides\0{text}".encode()).hexdigest()
    assert overridden_sha256("a" * 64, records) == digest


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_example_documents_are_written_by_orjson(path: Path) -> None:
    """No example falls back to the stdlib writer (which would be correct, only slower)."""
    from vasp_rules.core.canonical import _model_json

    data = json.loads(path.read_text())
    if "kind" not in data:
        pytest.skip("not a document")
    model = parse_document(data)
    assert isinstance(_model_json(model, None, False), bytes)
    assert document_sha256(model) == old_sha256(model)
