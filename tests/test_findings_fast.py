"""The findings fast path's shortcuts give what the general definitions give: a template's
renderer formats as `format_value`, `_read` tells a document's fact as `from_document`, and a
rule's ready code is made once."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vasp_rules import RulePack
from vasp_rules.compiler.codegen import NOT_DOCUMENT, Env, compile_recording
from vasp_rules.compiler.compile import Later, _renderer
from vasp_rules.interp.reference import Context, Evaluator, from_document
from vasp_rules.lang.ast import Path
from vasp_rules.lang.values import UNKNOWN, format_value
from vasp_rules.runtime.evaluate import context_for, finding_for
from vasp_rules.runtime.rulepack import _item

TYPE_NAMES = ["", "string", "money", "date", "datetime", "list:string", "list:money", "list:date"]
VALUES = st.one_of(
    st.text(max_size=8),
    st.lists(st.text(max_size=5), max_size=4),
    st.integers(-(10**6), 10**10),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9, min_value=-1),
    st.just(UNKNOWN),
    st.lists(st.integers(0, 10**6), max_size=3),
)


def _hole(value: Any) -> Any:
    return lambda env, ev, scope: value


@settings(max_examples=300)
@given(value=VALUES, type_name=st.sampled_from(TYPE_NAMES))
def test_renderer_formats_as_format_value(value: Any, type_name: str) -> None:
    render = _renderer(
        (("Seen: ", None, "", None), ("", _hole(value), type_name, None), (".", None, "", None))
    )
    try:
        expected = "Seen: " + format_value(value, type_name) + "."
    except (TypeError, ValueError, ArithmeticError):
        return  # a value its type could never have (the type checker keeps them apart)
    assert render(None, None, {}) == expected


def test_renderer_of_plain_text_is_the_text() -> None:
    render = _renderer((("No holes", None, "", None), (" here.", None, "", None)))
    assert render(None, None, {}) == "No holes here."


def test_renderer_calls_holes_in_order() -> None:
    calls: list[str] = []

    def hole(name: str, value: Any) -> Any:
        def fn(env: Any, ev: Any, scope: Any) -> Any:
            calls.append(name)
            return value

        return fn

    render = _renderer(
        (
            ("", hole("a", ["x", "y"]), "list:string", None),
            (" / ", None, "", None),
            ("", hole("b", Decimal("2.50")), "", None),
        )
    )
    assert render(None, None, {}) == "x, y / 2.5"
    assert calls == ["a", "b"]


@settings(max_examples=200)
@given(value=VALUES, type_name=st.sampled_from(TYPE_NAMES))
def test_a_hole_naming_a_computed_value_reads_it_as_the_generated_read(
    value: Any, type_name: str
) -> None:
    """A hole that names one of the rule's values takes it from the finding's scope, inline;
    it writes what the generated read of that name writes, and records nothing."""
    node = Path(("total",))
    ctx = Context(document={}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    generated = compile_recording(node, frozenset({"total"}))
    scope = {"total": (value, "total")}
    inline = _renderer((("", _hole("never called"), type_name, "total"),))
    called = _renderer((("", generated, type_name, None),))
    seen: list[Evaluator] = []
    for render in (inline, called):
        ev = Evaluator(ctx)
        ev.computed.add("total")
        try:
            text = render(Env(ctx), ev, scope)
        except (TypeError, ValueError, ArithmeticError):
            return  # a value its type could never have
        seen.append(ev)
        assert ev.reads == {}
    assert inline(Env(ctx), seen[0], scope) == called(Env(ctx), seen[1], scope) == text


def test_constant_holes_are_written_into_the_text_and_date_holes_are_arguments(
    pk: RulePack,
) -> None:
    """A hole folded to a constant (a parameter) is written into the text when the rule
    compiles; a hole that reads `as_of` is a date slot, read by each finding, so that one
    compiled rule serves every date. Both texts are the reference interpreter's."""
    from vasp_rules.runtime.evaluate import reference_finding_for

    example = FilePath(__file__).resolve().parent.parent / "examples"
    doc = json.loads((example / "licence_application.json").read_text())
    doc["firm"]["foreign_licences"][0]["status"] = "SUSPENDED"
    item = _item(doc, None)
    seen = []
    for day in (date(2026, 6, 1), date(2026, 6, 2)):
        with pk.using(day) as compiled:
            rules = compiled.rules_for("licence_application")
            (due,) = [r for r in rules if r.key == "LIC-11/licence_application/due"]
            written = "".join(text for text, fn, _t, _n in due.program.reason if fn is None)
            assert " (60 days)." in written  # param.noc_decision_days
            (rule,) = [r for r in rules if r.id == "LIC-03"]
            assert not any(str(day) in part[0] for part in rule.program.reason)
            seen.append(rule)
            ctx = context_for(compiled, item, [item])
            fast = finding_for(rule, True, ctx)
            assert fast == reference_finding_for(rule, True, ctx)
            assert f"before {day}" in fast.reason
    assert seen[0] is seen[1]


@given(st.sampled_from(["param.", "list[", "as_of", "", "persons", "batch.", "x"]), st.text())
def test_not_document_is_from_document(head: str, rest: str) -> None:
    path = head + rest
    assert (not path.startswith(NOT_DOCUMENT)) == from_document(path)


def test_ready_code_is_made_once(pk: RulePack) -> None:
    from datetime import date

    pack = pk
    with pack.using(date(2026, 6, 1)) as compiled:
        rule = compiled.rules_for("licence_application")[0]
        ready = rule.program.ready()
        assert rule.program.ready() is ready
        assert not isinstance(ready.held, Later)
        assert all(not isinstance(fn, Later) for _, fn in ready.values)
