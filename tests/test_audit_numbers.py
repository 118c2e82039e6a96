"""Issue 21, "exact numbers": a document holding JSON numbers with a fraction or an exponent is
recorded with its exact decimal text and replays byte for byte; NaN and Infinity are refused
before anything is written; a streamed run with --log writes no decision to its output before
the log has committed it."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from support.audit import opened
from support.batches import _mixed
from support.repo import AS_OF, EXAMPLES

from vasp_rules import RulePack
from vasp_rules.audit import DecisionLog, RecordingError, record_decisions, replay, verify_log
from vasp_rules.audit.jsontext import dumps_exact, identical, loads_exact
from vasp_rules.audit.log import KIND_DECISION
from vasp_rules.cli import main

# --------------------------------------------------------------------------- jsontext

_NUMBERS = ["2500.5", "1E+3", "1e3", "-0.0", "0.123456789012345678", "1.5E1", "1E0", "0E-7",
            "999999999999999999.999999999999999999", "12345678901234567890123"]  # fmt: skip


@pytest.mark.parametrize("literal", _NUMBERS)
def test_a_number_comes_back_as_it_was_read(literal: str) -> None:
    read = json.loads(f'{{"n": [{literal}]}}', parse_float=Decimal)
    text = dumps_exact(read)
    back = loads_exact(text)
    assert identical(back, read), (literal, text, back)
    assert json.loads(text) is not None  # plain JSON to any reader
    if "." in literal or "e" in literal.lower():
        assert type(back["n"][0]) is Decimal and str(back["n"][0]) == str(read["n"][0])
    else:
        assert type(back["n"][0]) is int


def test_text_is_compact_in_key_order_and_not_escaped() -> None:
    value = {"z": Decimal("2500.5"), "a": [1, True, None, 'Ω\n"'], "m": {"k": Decimal("1E+3")}}
    assert dumps_exact(value) == '{"z":2500.5,"a":[1,true,null,"Ω\\n\\""],"m":{"k":1E+3}}'
    assert dumps_exact((1, 2)) == "[1,2]"
    assert dumps_exact(Decimal("15")) == "15E0"  # a Decimal with exponent 0 stays a Decimal


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN")]
)
def test_nan_and_infinity_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        dumps_exact({"amount": [value]})


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_loads_refuses_nan_and_infinity(text: str) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        loads_exact(text)


@pytest.mark.parametrize("value", [{1: "a"}, {"a": {None: 1}}, {"d": object()}, {"s": {1, 2}}])
def test_what_json_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps_exact(value)


def test_identical_tells_types_and_exponents_apart() -> None:
    assert identical({"a": [Decimal("1.0")]}, {"a": [Decimal("1.0")]})
    assert not identical(Decimal("1.0"), Decimal("1"))
    assert not identical(Decimal("1"), 1)
    assert not identical(Decimal("-0.0"), Decimal("0.0"))
    assert not identical(True, 1)
    assert not identical({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not identical([1], (1,))


_decimals = st.decimals(allow_nan=False, allow_infinity=False)
_leaves = st.none() | st.booleans() | st.integers() | _decimals | st.text(max_size=8)
_json = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_any_json_value_with_decimals_round_trips_exactly(value: Any) -> None:
    text = dumps_exact(value)
    assert identical(loads_exact(text), value)
    assert dumps_exact(loads_exact(text)) == text


_plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(_plain_json, st.sampled_from([None, 0, 2]))
def test_without_decimals_the_text_is_what_json_dumps_writes(
    value: Any, indent: int | None
) -> None:
    separators = (",", ":") if indent is None else None
    expected = json.dumps(value, ensure_ascii=False, indent=indent, separators=separators)
    assert dumps_exact(value, indent=indent) == expected


# --------------------------------------------------------------------------- recorded and replayed


def _transfer(amount: str, value_amount: str = '"2500.00"') -> str:
    text = (EXAMPLES / "transfer.json").read_text()
    text = text.replace('"amount": "2500.00",', f'"amount": {amount},', 1)
    return text.replace('{"amount": "2500.00", "currency": "USD"}',
                        f'{{"amount": {value_amount}, "currency": "USD"}}')  # fmt: skip


def _amnesty() -> str:
    """A declaration whose numbers sit in a list of holdings, as JSON numbers."""
    text = (EXAMPLES / "amnesty_declaration.json").read_text()
    for quoted, number in (('"1.84210000"', "1.842100000000000001"), ('"0.4"', "4E-1"),
                           ('"49350000.00"', "4.935E+7"), ('"0.1"', "0.1000")):  # fmt: skip
        assert quoted in text
        text = text.replace(quoted, number, 1)
    return text


_DOCUMENTS = {
    "2500.5": _transfer("2500.5", "2500.5"),
    "1E+3": _transfer("1E+3", "1e3"),
    "-0.0": _transfer("2500.00", "-0.0"),
    "18 digits": _transfer("0.123456789012345678", "123456.123456789012345678"),
    "big integer": _transfer("999999999999999999", "123456789012345678"),
    "in lists": _amnesty(),
}


def _replays_same(db: Path, seqs: list[int]) -> None:
    for seq in seqs:
        result = CliRunner().invoke(main, ["audit", "replay", str(db), str(seq)])
        assert result.exit_code == 0 and f"SAME: record {seq}" in result.stdout, result.output


def _decision_records(db: Path) -> list[Any]:
    with DecisionLog.open(db) as log:  # as readers see them: personal data joined back
        return [opened(log, r) for r in log.records() if r.kind == KIND_DECISION]


@pytest.mark.parametrize("name", list(_DOCUMENTS))
def test_a_document_with_json_numbers_is_recorded_exactly_and_replays(
    tmp_path: Path, name: str
) -> None:
    source = tmp_path / "doc.json"
    source.write_text(_DOCUMENTS[name])
    read = json.loads(_DOCUMENTS[name], parse_float=Decimal)
    db = tmp_path / "log.db"
    done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                     "--format", "json", "--log", str(db)])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert verify_log(db).ok
    [record] = _decision_records(db)
    assert identical(record.document(), read)  # the very values the engine was given
    assert record.decision_json == json.dumps(json.loads(done.stdout), indent=2, sort_keys=True,
                                              ensure_ascii=False)  # fmt: skip
    _replays_same(db, [record.seq])


def test_a_streamed_run_records_the_same_numbers(tmp_path: Path) -> None:
    lines = "".join(_one_line(text) + "\n" for text in _DOCUMENTS.values())
    source = tmp_path / "in.jsonl"
    source.write_text(lines)
    db = tmp_path / "log.db"
    out = tmp_path / "out.jsonl"
    done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                     "--separate", "-o", str(out), "--log", str(db),
                                     "--log-chunk", "2"])  # fmt: skip
    assert done.exit_code == 0, done.output
    records = _decision_records(db)
    assert len(records) == len(_DOCUMENTS)
    for record, text in zip(records, _DOCUMENTS.values(), strict=True):
        assert identical(record.document(), json.loads(text, parse_float=Decimal))
    assert [json.loads(r.decision_json) for r in records] == [
        json.loads(line) for line in out.read_text().splitlines()
    ]
    _replays_same(db, [r.seq for r in records])


def _one_line(text: str) -> str:
    """A JSON document on one line, its number literals untouched."""
    return " ".join(line.strip() for line in text.splitlines())


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("how", ["json", "jsonl"])
def test_nan_is_refused_in_one_line_before_anything_is_written(
    tmp_path: Path, literal: str, how: str
) -> None:
    source = tmp_path / f"doc.{how}"
    source.write_text(_one_line(_transfer(literal)) + "\n")
    db = tmp_path / "log.db"
    out = tmp_path / "out.jsonl"
    extra = ["-o", str(out)] if how == "jsonl" else []
    done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                     "--log", str(db), *extra])  # fmt: skip
    assert done.exit_code == 2, done.output
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and f"{literal} is not a JSON number" in line, line
    if how == "json":
        assert not db.exists()  # refused while reading, before the log was opened
    else:
        assert out.read_text() == ""
        assert _decision_records(db) == []


# --------------------------------------------------------------------------- output after commit


def _failing_append(monkeypatch: pytest.MonkeyPatch, calls_before: int) -> None:
    """Make the log's decision appends fail (as a full disk would) after `calls_before`."""
    from vasp_rules.audit.log.store import DecisionLog as Store

    real = Store._append
    calls = 0

    def append(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > calls_before:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "_append", append)


@pytest.mark.parametrize("output", ["file", "-", "none"])
@pytest.mark.parametrize("separate", [False, True], ids=["batch", "separate"])
def test_a_failed_log_commit_leaves_no_decision_in_the_output_that_the_log_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, separate: bool
) -> None:
    docs = _mixed()[:9]
    lines = [json.dumps(d) for d in docs]
    lines.insert(2, "not json")  # an error record, which the log does not hold, keeps its place
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    db = tmp_path / "log.db"
    out = tmp_path / "out.jsonl"
    _failing_append(monkeypatch, 1)  # the first chunk commits, the second fails
    args = ["evaluate", str(source), "--as-of", AS_OF.isoformat(), "--on-error", "record",
            "--chunk-size", "2", "--log", str(db), "--log-chunk", "3"]  # fmt: skip
    if output != "none":
        args += ["-o", str(out) if output == "file" else "-"]
    if separate:
        args.append("--separate")
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2 and "disk is full" in done.stderr, done.output
    written = (out.read_text() if output == "file" else done.stdout).splitlines()
    logged = _decision_records(db)
    assert len(logged) == 3
    assert [json.loads(r.decision_json) for r in logged] == [
        json.loads(line) for line in written if '"error"' not in line
    ]
    assert len(written) == 4 and json.loads(written[2]) == {"line": 3, "error": ANY}
    assert verify_log(db).ok


def test_a_run_that_completes_writes_every_decision_in_input_order(tmp_path: Path) -> None:
    docs = _mixed()[:7]
    lines = [json.dumps(d) for d in docs]
    lines.insert(4, "[1]")
    lines.append("not json")  # an error record after the last decision
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    db = tmp_path / "log.db"
    done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                     "--on-error", "record", "--log", str(db), "--log-chunk",
                                     "2", "--chunk-size", "3"])  # fmt: skip
    assert done.exit_code == 0, done.output
    written = [json.loads(line) for line in done.stdout.splitlines()]
    assert [w.get("line") for w in written] == [None] * 4 + [5] + [None] * 3 + [9]
    logged = [json.loads(r.decision_json) for r in _decision_records(db)]
    assert logged == [w for w in written if "line" not in w]


@pytest.mark.parametrize("name", list(_DOCUMENTS))
def test_yaml_numbers_are_read_as_exactly_as_json_numbers(tmp_path: Path, name: str) -> None:
    """The same document as YAML (a superset of JSON) is read with the same Decimals, never
    through a float (0.123456789012345678 used to become 0.12345678901234568): it gets the
    same decision, input hash included, and is recorded the same way."""
    decisions = []
    for suffix in ("json", "yaml"):
        source = tmp_path / f"doc.{suffix}"
        source.write_text(_DOCUMENTS[name])
        db = tmp_path / f"{suffix}.db"
        done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                         "--format", "json", "--log", str(db)])  # fmt: skip
        assert done.exit_code == 0, done.output
        decisions.append(done.stdout)
        [record] = _decision_records(db)
        assert identical(record.document(), json.loads(_DOCUMENTS[name], parse_float=Decimal))
    assert decisions[0] == decisions[1]


def test_floats_from_a_python_caller_are_recorded_as_the_models_read_them(
    tmp_path: Path, pk: RulePack
) -> None:
    pack = pk
    doc = json.loads(_DOCUMENTS["2500.5"])
    doc["amount"], doc["value"]["amount"] = 0.1, 1e16  # floats: read through their shortest text
    db = tmp_path / "log.db"
    [seq] = record_decisions(db, [(pack.evaluate(doc, AS_OF), doc)], pack)
    with DecisionLog.open(db) as log:
        stored = opened(log, log.get(seq)).document()
        assert (stored["amount"], stored["value"]["amount"]) == (Decimal("0.1"), Decimal("1E+16"))
        assert replay(log, seq).same
    with pytest.raises(RecordingError, match="not plain JSON"):
        record_decisions(db, [(pack.evaluate(doc, AS_OF), {**doc, "extra": float("nan")})], pack)
    assert verify_log(db).records == seq  # nothing was written


def test_audit_show_prints_the_numbers_as_stored(tmp_path: Path) -> None:
    source = tmp_path / "doc.json"
    source.write_text(_DOCUMENTS["18 digits"])
    db = tmp_path / "log.db"
    done = CliRunner().invoke(main, ["evaluate", str(source), "--as-of", AS_OF.isoformat(),
                                     "--log", str(db)])  # fmt: skip
    assert done.exit_code == 0, done.output
    [record] = _decision_records(db)
    shown = CliRunner().invoke(main, ["audit", "show", str(db), str(record.seq)])
    assert shown.exit_code == 0, shown.output
    assert '"amount": 0.123456789012345678,' in shown.stdout
    assert '"amount": 123456.123456789012345678,' in shown.stdout
