"""`vasp-rules bench`: decisions per CPU-second and latency percentiles for generated or given
documents (figures are printed, never asserted against a clock), and the seeded generator it
uses."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.repo import EXAMPLES

from vasp_rules import RulePack
from vasp_rules.cli import main
from vasp_rules.cli.generate import documents
from vasp_rules.entities.registry import KINDS, parse_document


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generated_documents_are_valid_seeded_and_varied(kind: str) -> None:
    docs = documents(kind, 12, seed=3)
    for doc in docs:
        assert doc["kind"] == kind
        parse_document(doc)  # raises DocumentError if the generator wrote a bad document
    assert docs == documents(kind, 12, seed=3)
    assert docs != documents(kind, 12, seed=4)
    assert len({json.dumps(d, sort_keys=True) for d in docs}) == 12


def test_bench_json_reports_throughput_percentiles_and_outcomes(pk: RulePack) -> None:
    res = run("bench", "pk", "--kind", "transfer", "--count", "40", "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["pack"] == {"name": "pk", "version": pk.version, "sha256": pk.sha256}
    assert data["kind"] == "transfer" and data["decisions"] == 40
    assert data["as_of"] == "2026-06-01" and data["engine"] == "durable"
    assert data["decisions_per_cpu_second"] > 0
    lat = data["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert sum(data["outcomes"].values()) == 40
    # the outcomes are what evaluating the same generated documents decides
    expected: dict[str, int] = {}
    for doc in documents("transfer", 40, seed=0):
        outcome = pk.evaluate(doc, date(2026, 6, 1)).outcome.value
        expected[outcome] = expected.get(outcome, 0) + 1
    assert data["outcomes"] == dict(sorted(expected.items()))


def test_bench_text_is_a_table_with_the_figures() -> None:
    res = run("bench", "pk", "--kind", "customer", "--count", "10", "--engine", "reference")
    assert res.exit_code == 0, res.output
    for label in ("decisions per CPU-second", "latency p50", "latency p90", "latency p99"):
        assert label in res.output
    assert "10 customer (generated, seed 0)" in res.output
    assert "reference" in res.output


def test_bench_given_documents_repeats_them_and_filters_by_kind(tmp_path: Path) -> None:
    res = run(
        "bench",
        "--input",
        str(EXAMPLES / "licence_application.json"),
        "--count",
        "7",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["decisions"] == 7 and data["kind"] == "licence_application"
    assert data["outcomes"] == {"REFER": 7}
    batch = tmp_path / "mixed.json"
    batch.write_text(
        json.dumps(
            [json.loads((EXAMPLES / f).read_text()) for f in ("customer.json", "transfer.json")]
        ),
        encoding="utf-8",
    )
    mixed = json.loads(run("bench", "--input", str(batch), "--format", "json").output)
    assert mixed["kind"] == "mixed" and mixed["decisions"] == 2
    only = run("bench", "--input", str(batch), "--kind", "transfer", "--format", "json")
    assert json.loads(only.output)["decisions"] == 1
    none = run("bench", "--input", str(batch), "--kind", "amnesty_declaration")
    assert none.exit_code == 2 and "no amnesty_declaration documents" in none.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "pk"], "bench needs --kind KIND to generate documents, or --input FILE"),
        (["bench", "pk", "--kind", "transfer", "--as-of", "20260601"], "is not a date"),
        (["bench", "nosuchpack", "--kind", "transfer", "--count", "1"], "nosuchpack"),
    ],
)
def test_bench_usage_errors_are_one_line(args: list[str], message: str) -> None:
    res = run(*args)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
