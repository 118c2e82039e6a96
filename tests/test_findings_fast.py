"""The findings fast path's shortcuts give what the general definitions give: a template's
renderer formats as `format_value`, `_read` tells a document's fact as `from_document`, and a
rule's ready code is made once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vasp_rules import RulePack
from vasp_rules.compiler.codegen import NOT_DOCUMENT
from vasp_rules.compiler.compile import Later, _renderer
from vasp_rules.interp.reference import from_document
from vasp_rules.lang.values import UNKNOWN, format_value

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
    render = _renderer((("Seen: ", None, ""), ("", _hole(value), type_name), (".", None, "")))
    try:
        expected = "Seen: " + format_value(value, type_name) + "."
    except (TypeError, ValueError, ArithmeticError):
        return  # a value its type could never have (the type checker keeps them apart)
    assert render(None, None, {}) == expected


def test_renderer_of_plain_text_is_the_text() -> None:
    render = _renderer((("No holes", None, ""), (" here.", None, "")))
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
            ("", hole("a", ["x", "y"]), "list:string"),
            (" / ", None, ""),
            ("", hole("b", Decimal("2.50")), ""),
        )
    )
    assert render(None, None, {}) == "x, y / 2.5"
    assert calls == ["a", "b"]


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
