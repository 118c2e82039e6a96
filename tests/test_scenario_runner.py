"""Scenario files: batch semantics, per-document expectations, edits, errors and coverage."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support.addresses import address
from support.repo import EXAMPLES, ROOT

from vasp_rules.entities.identity import network_of_chain
from vasp_rules.testing.scenarios import Coverage, PackCache, ScenarioError, load_cases, run_case

PK = ROOT / "rules" / "pk"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.scenarios.yaml"
    path.write_text(f"pack: {PK}\nas_of: 2026-06-01\ncases:\n" + textwrap.indent(
        textwrap.dedent(body), "  "))
    return path


def run_all(path: Path) -> list:
    packs = PackCache()
    return [run_case(c, packs) for c in load_cases(path)]


def declaration(decl_id: str, wallet: str) -> dict:
    doc = json.loads((EXAMPLES / "amnesty_declaration.json").read_text())
    doc["declaration_id"] = decl_id
    for h in doc["holdings"]:
        # a valid address of the holding's network, the same for the same `wallet`
        network = network_of_chain(h["chain"], h["asset_symbol"]) or "evm"
        h["wallet_address"] = address(network, (wallet, h["asset_symbol"]))
    return doc


def test_batch_expectations_apply_to_the_batch_as_a_whole(tmp_path: Path) -> None:
    a, b, c = declaration("D-A", "w1"), declaration("D-B", "w1"), declaration("D-C", "w9")
    path = write(tmp_path, f"""\
        - name: duplicate wallets in a batch
          input: {json.dumps([a, b, c])}
          expect:
            findings: [AMN-14]
        - name: per document
          input: {json.dumps([a, b, c])}
          expect:
            D-A: {{findings: [AMN-14]}}
            D-C: {{absent: [AMN-14]}}
        - name: alone never sees the others
          input: {json.dumps(a)}
          expect: {{absent: [AMN-14]}}
    """)
    results = run_all(path)
    assert [r.passed for r in results] == [True, True, True], [r.diff() for r in results]


def test_absent_fails_when_any_document_fires(tmp_path: Path) -> None:
    a, b = declaration("D-A", "w1"), declaration("D-B", "w1")
    path = write(tmp_path, f"""\
        - name: wrong
          input: {json.dumps([a, b])}
          expect: {{absent: [AMN-14]}}
    """)
    (result,) = run_all(path)
    assert not result.passed
    assert "AMN-14 expected not to fire, fired" in result.diff()


def test_set_edits_the_input_file(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
        - name: mlro outsourced
          input_file: {EXAMPLES / 'licence_application.json'}
          set: {{"firm.people[1].outsourced": true}}
          expect: {{outcome: REJECT, findings: [LIC-07]}}
        - name: overheads removed
          input_file: {EXAMPLES / 'licence_application.json'}
          set: {{firm.annual_fixed_overheads: null}}
          expect: {{findings: [LIC-14]}}
    """)
    assert all(r.passed for r in run_all(path))


def test_expected_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
        - name: bad cnic
          input_file: {EXAMPLES / 'customer.json'}
          set: {{id_document.number: "123"}}
          expect: {{error: "13 digits"}}
        - name: accepted although an error was expected
          input_file: {EXAMPLES / 'customer.json'}
          expect: {{error: "13 digits"}}
    """)
    first, second = run_all(path)
    assert first.passed and not second.passed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("- name: a\n  as_of: 2026-06-01\n  expect: {outcome: APPROVE}\n", "exactly one of input"),
        ("- name: a\n  input: {kind: customer}\n  expect: {outcome: MAYBE}\n", "unknown outcome"),
        ("- name: a\n  input: {kind: customer}\n  expect: {NOPE-1: {outcome: APPROVE}}\n",
         "names document 'NOPE-1'"),
        ("- name: a\n  input: {kind: customer}\n  expected: {outcome: APPROVE}\n", "unknown keys"),
    ],
)
def test_invalid_scenarios_name_file_line_and_case(tmp_path: Path, body: str, message: str
                                                   ) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ScenarioError) as info:
        load_cases(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_coverage_counts_fired_and_quiet_cases(tmp_path: Path) -> None:
    path = write(tmp_path, f"""\
        - name: fires
          input_file: {EXAMPLES / 'licence_application.json'}
          set: {{"firm.people[1].outsourced": true}}
          expect: {{findings: [LIC-07]}}
        - name: quiet
          input_file: {EXAMPLES / 'licence_application.json'}
          expect: {{absent: [LIC-07]}}
    """)
    cov = Coverage()
    for result in run_all(path):
        cov.add(result)
    rows = {r: (f, n) for r, f, n in cov.rows(["LIC-07", "TR-01"])}
    assert rows["LIC-07"] == (1, 1)
    assert rows["TR-01"] == (0, 0)
    assert cov.gaps(["LIC-07", "TR-01"]) == ["TR-01"]
