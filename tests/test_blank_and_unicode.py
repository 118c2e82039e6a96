"""ENTITIES.md: a blank is not a value, and text is valid Unicode, on every input path.

A blank (empty, white space of any kind, or only invisible characters) is refused with its path
where the field is required and read as absent where it is optional, so the rule that needs the
value fires exactly as if the field were missing. A lone surrogate (valid JSON text, ``"\\ud800"``)
is refused with the path of the value or key that holds it, never a crash later on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.repo import AS_OF, EXAMPLES
from support.strategies import documents

from vasp_rules import DocumentError, RulePack
from vasp_rules.cli import main
from vasp_rules.core.limits import invalid_unicode
from vasp_rules.entities.common import is_blank
from vasp_rules.entities.registry import format_path, parse_document

BLANKS = ["", " ", "   ", "\t\n", "\u00a0", "\u3000", "\u2003 \u2009", "\u200b", "\ufeff", "\u2060"]
NOT_BLANK = ["a", " a ", "\u200ba", "0", "-", "\u00e9", "\u0627\u0644\u06cc"]
SURROGATE = "\ud800"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _text_leaves(node: Any, where: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every text value of a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _text_leaves(value, (*where, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _text_leaves(value, (*where, i))
    elif isinstance(node, str) and where != ("kind",):
        yield where


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def _remove(doc: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


def _outcome(doc: dict[str, Any]) -> Any:
    """The parsed model, or the set of error paths."""
    try:
        return parse_document(doc)
    except DocumentError as exc:
        return {path for path, _ in exc.errors}


@pytest.mark.parametrize("text", BLANKS)
def test_blanks_are_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", NOT_BLANK)
def test_text_that_shows_something_is_not_blank(text: str) -> None:
    assert not is_blank(text)


# -- blanks: the travel rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    "party, field, blank, rule",
    [
        ("originator", "name", "", "TR-01"),
        ("originator", "name", "\u200b", "TR-01"),
        ("originator", "name", "\ufeff\u2060", "TR-01"),
        ("beneficiary", "name", "   ", "TR-02"),
        ("beneficiary", "account_or_wallet", "\u00a0", "TR-02"),
        ("originator", "account_or_wallet", "\u3000", "TR-01"),
    ],
)
@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_a_blank_travel_rule_field_is_a_missing_one(
    pk: RulePack, party: str, field: str, blank: str, rule: str, engine: Any
) -> None:
    """USD 2,500 outgoing: a blank name or wallet rejects the transfer, as a missing one does."""
    doc = _load(EXAMPLES / "transfer.json")
    assert pk.evaluate(doc, AS_OF, engine=engine).outcome.value == "APPROVE"
    blanked = pk.evaluate(_set(doc, (party, field), blank), AS_OF, engine=engine)
    missing = pk.evaluate(_remove(doc, (party, field)), AS_OF, engine=engine)
    assert blanked.outcome.value == "REJECT"
    assert [f.rule_id for f in blanked.findings] == [rule]
    assert blanked.findings == missing.findings


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_every_text_field_blank_is_refused_if_required_and_absent_if_optional(
    path: Path,
) -> None:
    """Generic over every model of every kind: blank == missing, except in the message."""
    doc = _load(path)
    for leaf in _text_leaves(doc):
        missing = _outcome(_remove(doc, leaf)) if isinstance(leaf[-1], str) else None
        for blank in ("", " \u00a0", "\u200b"):
            got = _outcome(_set(doc, leaf, blank))
            where = format_path(leaf)
            if isinstance(missing, set) or missing is None:  # required (or a list item)
                assert got == {where}, (where, got)
                with pytest.raises(DocumentError) as err:
                    parse_document(_set(doc, leaf, blank))
                assert "is blank" in str(err.value) and "give the real value" in str(err.value)
            else:
                assert got == missing, where


@settings(max_examples=40)
@given(st.text(st.sampled_from([" ", "\t", "\u00a0", "\u2007", "\u200b", "\u200d", "\ufeff"])))
def test_any_invisible_customer_name_is_refused(blank: str) -> None:
    doc = _set(_load(EXAMPLES / "customer.json"), ("full_name",), blank)
    with pytest.raises(DocumentError) as err:
        parse_document(doc)
    assert err.value.errors[0][0] == "full_name"


# -- lone surrogates ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_a_lone_surrogate_anywhere_is_refused_with_its_path(path: Path) -> None:
    doc = _load(path)
    for leaf in [*_text_leaves(doc), ("kind",)]:
        bad = _set(doc, leaf, "x" + SURROGATE + "y")
        with pytest.raises(DocumentError) as err:
            parse_document(bad)
        text = str(err.value)
        text.encode("utf-8")  # printable
        assert format_path(leaf) in {p for p, _ in err.value.errors} or leaf == ("kind",)
        assert leaf == ("kind",) or "not valid Unicode" in text


@pytest.mark.parametrize("where", [(), ("originator",), ("value",)])
def test_a_lone_surrogate_in_a_key_is_refused_printably(where: tuple[str, ...]) -> None:
    doc = _load(EXAMPLES / "transfer.json")
    bad = _set(doc, (*where, "na\udc00me"), "x")
    with pytest.raises(DocumentError) as err:
        parse_document(bad)
    [(path, message)] = err.value.errors
    assert path == ".".join(where) and "not valid Unicode" in message and "\\udc00" in message
    str(err.value).encode("utf-8")


def test_invalid_unicode_lists_values_and_keys_with_printable_paths() -> None:
    data = {"a": [{"b\ud800": 1}, "ok", "\udfff"], "c": "\U0001f600 pairs are fine"}
    assert [p for p, _ in invalid_unicode(data)] == ["a[0].b\\ud800", "a[2]"]
    assert invalid_unicode(json.loads('{"emoji": "\\ud83d\\ude00"}')) == []


# -- every input path ------------------------------------------------------------------------


def _bad_transfer_json(key: bool = False) -> str:
    doc = _load(EXAMPLES / "transfer.json")
    if key:
        doc["originator"]["XX"] = "x"
    else:
        doc["asset"] = "XX"
    return json.dumps(doc).replace('"XX"', '"\\ud800"')


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".jsonl"])
@pytest.mark.parametrize("key", [False, True], ids=["value", "key"])
def test_cli_files_refuse_a_surrogate(tmp_path: Path, suffix: str, key: bool) -> None:
    file = tmp_path / f"doc{suffix}"
    file.write_text(_bad_transfer_json(key) + "\n")
    code, out = _run("evaluate", str(file), "--as-of", AS_OF.isoformat())
    assert code == 2, out
    assert "not valid Unicode" in out and ("originator" in out if key else "asset" in out)
    assert "Traceback" not in out


def test_cli_stdin_refuses_a_surrogate() -> None:
    code, out = _run("evaluate", "-", "--as-of", AS_OF.isoformat(), stdin=_bad_transfer_json())
    assert code == 2 and "asset: not valid Unicode" in out


def test_json_lines_stream_records_a_surrogate_line_as_an_error(tmp_path: Path) -> None:
    good = json.dumps(_load(EXAMPLES / "transfer.json"))
    file = tmp_path / "in.jsonl"
    file.write_text(f"{good}\n{_bad_transfer_json()}\n{_bad_transfer_json(key=True)}\n")
    out = tmp_path / "out.jsonl"
    args = ["evaluate", str(file), "--as-of", AS_OF.isoformat(), "-o", str(out)]
    code, text = _run(*args)
    assert code == 2 and "in.jsonl:2: asset: not valid Unicode" in text
    code, text = _run(*args, "--on-error", "record")
    assert code == 0, text
    lines = [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]
    assert lines[0]["outcome"] == "APPROVE"
    assert lines[1] == {"line": 2, "error": lines[1]["error"]}
    assert lines[1]["error"].startswith("asset: not valid Unicode")
    assert "not valid Unicode" in lines[2]["error"]


def test_ivms101_payload_with_a_surrogate_is_refused_even_where_unmapped(tmp_path: Path) -> None:
    text = (EXAMPLES / "ivms101" / "incoming_2023.json").read_text()
    for old in ('"Crescent Textiles"', '"Jail Road"', '"buildingName"'):
        file = tmp_path / "payload.json"
        file.write_text(text.replace(old, old[:-1] + '\\udc00"'))
        code, out = _run(
            "evaluate", str(file), "--input-format", "ivms101", "--as-of", AS_OF.isoformat()
        )
        assert code == 2, out
        assert "invalid document: ivms101.originator.originatorPerson[0].legalPerson" in out
        assert "not valid Unicode" in out


@pytest.mark.parametrize(
    "assignment", ['asset="\\ud800"', "originator.name=\udcff", "asset\udcff=1"]
)
def test_whatif_set_refuses_a_surrogate(assignment: str) -> None:
    code, out = _run(
        "whatif", str(EXAMPLES / "transfer.json"), "--as-of", AS_OF.isoformat(), "--set", assignment
    )
    assert code == 2, out
    assert "Traceback" not in out and "\\ud" in out  # the place, printably


def test_whatif_set_blank_name_is_a_missing_name() -> None:
    code, out = _run(
        "whatif",
        str(EXAMPLES / "transfer.json"),
        "--as-of",
        AS_OF.isoformat(),
        "--set",
        'originator.name=" "',
    )
    assert code == 0, out
    assert "APPROVE -> REJECT" in out and "TR-01" in out


@pytest.mark.parametrize(
    "override",
    [
        'recognised_jurisdictions=["\\ud800", "US"]',
        "recognised_jurisdictions=[US, \udcff]",
        "recogn\udcffised_jurisdictions=[US]",
    ],
)
def test_set_param_refuses_a_surrogate(override: str) -> None:
    code, out = _run(
        "evaluate",
        str(EXAMPLES / "licence_application.json"),
        "--as-of",
        AS_OF.isoformat(),
        "--set-param",
        override,
    )
    assert code == 2, out
    assert "Traceback" not in out and "recogn" in out


def test_library_overrides_refuse_a_surrogate() -> None:
    from vasp_rules.pack.loader import PackError

    with pytest.raises(PackError, match="not valid Unicode"):
        RulePack.load("pk", overrides={"recognised_jurisdictions": ["US", "\ud800"]})


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    documents("transfer"),
    st.sampled_from(
        [
            ("originator", "name"),
            ("originator", "account_or_wallet"),
            ("originator", "address"),
            ("originator", "national_id"),
            ("originator", "customer_id"),
            ("originator", "place_of_birth"),
            ("beneficiary", "name"),
            ("beneficiary", "account_or_wallet"),
        ]
    ),
    st.sampled_from(BLANKS),
)
def test_any_blank_party_field_decides_as_the_missing_field(
    pk: RulePack, doc: dict[str, Any], place: tuple[str, str], blank: str
) -> None:
    blanked = pk.evaluate(_set(doc, place, blank), AS_OF)
    missing = doc if place[1] not in doc[place[0]] else _remove(doc, place)
    assert blanked.to_json() == pk.evaluate(missing, AS_OF).to_json()
