"""Generated projection code reads a path once where an enclosing block or the quantifier's
`where` already read it (compiler/codegen.py, values mode), and still gives the reference
interpreter's value."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from vasp_rules.compiler.codegen import Env, compile_value, source_of
from vasp_rules.interp.reference import Context, Evaluator
from vasp_rules.lang.parser import parse_condition

ROLES = 'any(p in people: "A" in p.roles or "B" in p.roles or "C" in p.roles)'
WHERE = 'any(p in people where "A" in p.roles: "B" in p.roles)'
PEOPLE: list[dict[str, Any]] = [
    {"roles": ["C"]},
    {"roles": None},
    {},
    {"roles": ["B", "A"]},
    {"roles": []},
]


def _walks(text: str) -> int:
    """How many inline path walks the generated function holds (one `while True` each)."""
    return source_of(compile_value(parse_condition(text))).count("while True:")


def test_a_path_read_in_an_enclosing_block_is_not_walked_again() -> None:
    assert _walks(ROLES) == 1  # p.roles, once per person, not three times
    assert _walks(WHERE) == 1  # read by the `where`, reused by the body


@pytest.mark.parametrize("text", [ROLES, WHERE])
@pytest.mark.parametrize("cut", range(len(PEOPLE) + 1))
def test_reused_reads_give_the_reference_value(text: str, cut: int) -> None:
    for people in (PEOPLE[:cut], PEOPLE[cut:], PEOPLE[::-1][:cut]):
        ctx = Context(document={"people": people}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
        generated = compile_value(parse_condition(text))(Env(ctx))
        assert generated == Evaluator(ctx, record=False).evaluate(parse_condition(text)).value
