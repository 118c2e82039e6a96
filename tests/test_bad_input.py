"""Bad input never crashes: any mangled document either evaluates or is refused with a
DocumentError naming a path. Never another exception, never a hang."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.packs import pack
from support.strategies import any_document

from vasp_rules import Decision, DocumentError

_PACK = pack("pk")

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2026-02-30", "1e400", "NaN", "-1", "PKR", "12345-1234567-1", "", "Z"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=any_document(), data=st.data(), as_of=st.dates(date(2018, 1, 1), date(2032, 1, 1)))
def test_mangled_documents_evaluate_or_are_refused_with_a_path(
    doc: dict[str, Any], data: st.DataObject, as_of: date
) -> None:
    paths = _paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        if isinstance(target, dict) and data.draw(st.booleans()):
            target.pop(path[-1], None) if data.draw(st.booleans()) else target.update(
                {data.draw(st.text(min_size=1, max_size=8)): data.draw(junk)})
        else:
            try:
                target[path[-1]] = data.draw(junk)
            except (IndexError, KeyError, TypeError):
                pass
        paths = _paths(doc) or paths
    try:
        decision = _PACK.evaluate(doc, as_of)
    except DocumentError as exc:
        assert exc.errors and all(isinstance(p, str) and m for p, m in exc.errors)
        return
    assert isinstance(decision, Decision)
    assert decision.to_json() == _PACK.evaluate(doc, as_of, engine="reference").to_json()
