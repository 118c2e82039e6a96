"""`vasp-rules schema pack|rule|parameters|scenario`: JSON Schemas (2020-12) generated from the
loader's models; every bundled file validates, and the mistakes an author makes do not."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from vasp_rules.authoring.schemas import FILE_MODELS, ScenarioCase, ScenarioExpect
from vasp_rules.cli import main
from vasp_rules.core.yamlio import load_yaml, parse_yaml, plain
from vasp_rules.testing import scenarios

ROOT = Path(__file__).resolve().parent.parent
PACKS = [ROOT / "rules" / "pk", *sorted((ROOT / "tests" / "packs").iterdir())]


def printed_schema(kind: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["schema", kind])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def as_json(value: Any) -> Any:
    """YAML data as a JSON document would hold it (dates as ISO text), as an editor sees it."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def validator(kind: str) -> Draft202012Validator:
    schema = printed_schema(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def errors(kind: str, data: Any) -> list[str]:
    return [e.message for e in validator(kind).iter_errors(as_json(data))]


def bundled_files() -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for pack in PACKS:
        out.append(("pack", pack / "pack.yaml"))
        out += [("parameters", p) for p in sorted((pack / "parameters").glob("*.yaml"))]
        out += [("rule", p) for p in sorted((pack / "rules").glob("*.yaml"))]
    found = sorted((ROOT / "tests" / "scenarios").glob("*.scenarios.yaml"))
    out += [("scenario", p) for p in found]
    return out


@pytest.mark.parametrize("kind", sorted(FILE_MODELS))
def test_schema_is_2020_12_with_an_id(kind: str) -> None:
    schema = printed_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:vasp-rules:") and schema["$id"].endswith(kind)
    assert schema["additionalProperties"] is False


def test_every_bundled_file_validates() -> None:
    files = bundled_files()
    assert sum(kind == "rule" for kind, _ in files) >= 4
    for kind, path in files:
        assert errors(kind, plain(load_yaml(path))) == [], path


RULE = """\
rules:
  - id: TRF-99
    version: 1
    title: A test rule
    applies_to: transfer
    when: amount.amount > 0
    outcome: REFER
    reason: r
    remediation: m
    citation: {instrument: I, provision: P, confidence: A}
    effective_from: 2026-01-01
"""


def rule_data(**change: Any) -> dict[str, Any]:
    data: dict[str, Any] = plain(parse_yaml(RULE))
    data["rules"][0].update(change)
    return data


def test_a_correct_rule_file_validates() -> None:
    assert errors("rule", rule_data()) == []


def test_a_wrong_outcome_is_caught() -> None:
    found = errors("rule", rule_data(outcome="DENY"))
    assert any("'DENY' is not valid" in m for m in found), found


def test_an_unknown_key_is_caught() -> None:
    found = errors("rule", rule_data(effective_form="2026-01-01"))
    assert any("'effective_form' was unexpected" in m for m in found), found


def test_a_wrong_date_is_caught() -> None:
    # YAML cannot build 2026-13-01 as a date: the loader keeps it as text, and so does an editor
    found = errors("rule", plain(parse_yaml(RULE.replace("2026-01-01", "2026-13-01"))))
    assert any("'2026-13-01' is not a 'date'" in m for m in found), found


def test_a_malformed_rule_id_and_a_parameter_without_values_are_caught() -> None:
    assert any("does not match" in m for m in errors("rule", rule_data(id="trf 99")))
    params = {"parameters": {"x": {"type": "int", "description": "d", "values": []}}}
    assert errors("parameters", params)


def test_scenario_schema_matches_the_reader() -> None:
    """The scenario models and the scenario reader accept the same keys."""
    assert set(ScenarioCase.model_fields) == scenarios._CASE_KEYS
    assert set(ScenarioExpect.model_fields) == scenarios._EXPECT_KEYS
    case = {"name": "n", "as_of": "2026-06-01", "input_file": "x.json", "expect": {"out": 1}}
    assert errors("scenario", {"cases": [case]})


def test_document_kinds_still_print_their_schema() -> None:
    assert "transfer_id" in printed_schema("transfer")["properties"]
    refused = CliRunner().invoke(main, ["schema", "rules"])
    assert refused.exit_code == 2
