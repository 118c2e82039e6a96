"""One spelling across the command line: dates are exactly YYYY-MM-DD, JSON Lines is read by
one reader (U+2028 inside a string is not a line break), messages never show a Python repr,
and the repository ignores what runs leave behind."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st
from support.repo import EXAMPLES, ROOT

from vasp_rules import PackError, RulePack
from vasp_rules.analysis.impact import read_population
from vasp_rules.cli import main
from vasp_rules.core.docfiles import read_document_file
from vasp_rules.core.jsonlines import numbered_lines, text_lines
from vasp_rules.core.plaintext import iso_date, shown_value
from vasp_rules.scale.stream import read_lines

REPR = re.compile(r"Decimal\(|datetime\.|<class |\[<|b'")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2026-W23-1", "20260601", "2026-06-01T00:00", "2026-6-1", " "])
@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", str(EXAMPLES / "customer.json"), "--as-of"],
        ["explain", str(EXAMPLES / "customer.json"), "--as-of"],
        ["analyze", "pk", "--on"],
    ],
)
def test_every_date_option_takes_exactly_yyyy_mm_dd(command: list[str], bad: str) -> None:
    res = run(*command, bad)
    assert res.exit_code == 2
    assert f"{bad!r} is not a date (YYYY-MM-DD)" in res.output
    assert "Traceback" not in res.output


def set_param(text: str) -> Result:
    """Evaluate the customer example with one --set-param."""
    return run(
        "evaluate", str(EXAMPLES / "customer.json"), "--as-of", "2026-06-01", "--set-param", text
    )


def test_set_param_from_date_is_exactly_yyyy_mm_dd() -> None:
    res = set_param("noc_decision_days@20260101=90")
    assert res.exit_code == 2
    assert "'20260101' is not a date (YYYY-MM-DD)" in res.output


@given(st.dates())
def test_iso_date_reads_what_isoformat_writes(day: date) -> None:
    text = day.isoformat()
    if len(text) == 10:  # years 1000-9999: the form every date option documents
        assert iso_date(text) == day
    else:
        with pytest.raises(ValueError):
            iso_date(text)


# -- one JSON Lines reader --------------------------------------------------------------------

#: Characters str.splitlines breaks at that a JSON string may hold raw.
ODD = "\u2028\u2029\x85"


def test_text_and_byte_readers_split_the_same_lines() -> None:
    text = '{"a": "x' + ODD + 'y"}\r\n\n  \t\r\n{"b": 1}\n{"c": "\u2028"}'
    from_text = [(n, line.rstrip("\r")) for n, line in text_lines(text)]
    from_bytes = [
        (n, line.decode("utf-8").rstrip("\r\n")) for n, _, line in numbered_lines([*_bytes(text)])
    ]
    assert from_text == from_bytes
    assert [n for n, _ in from_text] == [1, 4, 5]
    assert json.loads(from_text[0][1]) == {"a": "x" + ODD + "y"}


def _bytes(text: str) -> list[bytes]:
    import io

    return list(io.BytesIO(text.encode("utf-8")))


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_every_jsonl_reader_keeps_u2028_inside_a_string(tmp_path: Path, separator: str) -> None:
    doc = json.loads((EXAMPLES / "transfer.json").read_text(encoding="utf-8"))
    doc["originator"]["address"] = "House 12\u2028Street 4\u2029F-7/2\x85Islamabad"
    line = json.dumps(doc, ensure_ascii=False)
    path = tmp_path / "two.jsonl"
    path.write_bytes((line + separator + separator + line + separator).encode("utf-8"))
    # docfiles (evaluate of a .jsonl file, scenario input files)
    docs, _ = read_document_file(str(path))
    assert [d["originator"]["address"] for d in docs] == [doc["originator"]["address"]] * 2
    # the streaming path
    with path.open("rb") as handle:
        assert [n for n, _ in read_lines(handle)] == [1, 3]
    # diff --population
    assert [n for n, _ in read_population(path)] == [1, 3]
    # and the command: two decisions, one per line, in order
    res = run("evaluate", str(path), "--as-of", "2026-06-01", "--format", "json", "-o", "-")
    assert res.exit_code == 0, res.output
    assert len([x for x in res.output.splitlines() if x.startswith("{")]) == 2


def test_a_broken_line_is_named_by_its_number_in_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    doc = json.loads((EXAMPLES / "transfer.json").read_text(encoding="utf-8"))
    doc["originator"]["address"] += "\u2028Islamabad"
    path.write_text(json.dumps(doc, ensure_ascii=False) + "\n\n{oops\n", encoding="utf-8")
    res = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert res.exit_code == 2
    assert "bad.jsonl:3: invalid JSON" in res.output
    with pytest.raises(Exception, match=r"bad.jsonl:3: invalid JSON"):
        list(read_population(path))


# -- no Python repr in messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("noc_decision_days", Decimal("1E+309"), "1E+309 is not a valid int"),
        ("noc_decision_days", date(2026, 1, 1), "2026-01-01 is not a valid int"),
        ("significant_ownership_pct", Decimal("NaN"), "NaN is not a valid number"),
        ("significant_ownership_pct", float("nan"), "nan is not a valid number"),
        ("significant_ownership_pct", {"a": 1}, '{"a": 1} is not a valid number'),
        (
            "travel_rule_threshold",
            {"amount": Decimal("NaN"), "currency": "PKR"},
            "money amount NaN must be a finite non-negative number",
        ),
        (
            "travel_rule_threshold",
            {"amount": "abc", "currency": "PKR"},
            "money amount 'abc' must be a finite non-negative number",
        ),
    ],
)
def test_override_errors_show_values_as_written(name: str, value: object, shown: str) -> None:
    with pytest.raises(PackError) as info:
        RulePack.load("pk", overrides={name: value})
    message = str(info.value)
    assert shown in message
    assert not REPR.search(message), message


@pytest.mark.parametrize(
    "value", ["{a: 1}", "2026-01-01", "[1, x]", "'1E+309'", "{amount: .nan, currency: PKR}"]
)
def test_set_param_errors_show_no_repr(value: str) -> None:
    res = set_param(f"significant_ownership_pct={value}")
    assert res.exit_code == 2
    assert "significant_ownership_pct" in res.output
    assert not REPR.search(res.output), res.output
    assert "{'" not in res.output and "datetime" not in res.output


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.decimals()
        | st.floats()
        | st.dates()
        | st.text(max_size=5)
        | st.binary(max_size=3),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=6,
    )
)
def test_shown_value_never_writes_a_repr(value: object) -> None:
    text = shown_value(value)
    assert not re.search(r"Decimal\(|datetime\.date\(|<class |\{'|b'", text), text


# -- the repository --------------------------------------------------------------------------


def test_gitignore_covers_sqlite_side_files() -> None:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "*.db-wal" in lines and "*.db-shm" in lines


def test_no_process_leftovers_are_in_the_repository() -> None:
    # .unlanded/ held unmerged patch series of an earlier session; it must not come back
    assert not (ROOT / ".unlanded").exists()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("risk_rating", "1.5", "(got 1.5)"),
        ("date_of_birth", "19940308", "got a number"),
        ("date_of_birth", "[1]", "got a list"),
        ("outward_transfers_this_year", '{"amount": 1E+400, "currency": "PKR"}', "got 1E+400"),
    ],
)
def test_document_errors_show_values_as_json_writes_them(
    tmp_path: Path, field: str, value: str, shown: str
) -> None:
    text = (EXAMPLES / "customer.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    doc[field] = "PLACEHOLDER"
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc).replace('"PLACEHOLDER"', value), encoding="utf-8")
    res = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert res.exit_code == 2
    assert shown in res.output
    assert not REPR.search(res.output), res.output
    assert "Decimal" not in res.output
