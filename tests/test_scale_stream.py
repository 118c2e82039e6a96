"""Streaming JSON Lines: `vasp-rules evaluate FILE.jsonl --as-of D -o out.jsonl` (and - for
stdin/stdout) writes one decision per line, in input order, identical to evaluating the whole
batch in memory; bad lines stop the run or become error records, never losing decisions
already made; --summary counts outcomes and rules; progress shows on stderr when asked."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from support.batches import _mixed
from support.packs import pack

from vasp_rules.cli import main

AS_OF = date(2026, 6, 1)


def _lines(docs: list[dict]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def _expected(docs: list[dict], batch: bool = True) -> list[str]:
    return [d.to_json(indent=None) for d in pack("pk").evaluate_many(docs, AS_OF, batch=batch)]


def test_jsonl_file_to_jsonl_file_in_order(tmp_path: Path) -> None:
    docs = _mixed()
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main, ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out), "--chunk-size", "5"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == _expected(docs)


def test_stdin_to_stdout_and_workers(tmp_path: Path) -> None:
    docs = _mixed()
    result = CliRunner().invoke(
        main,
        ["evaluate", "-", "--as-of", "2026-06-01", "-o", "-", "--chunk-size", "4",
         "--workers", "2"],
        input=_lines(docs).encode(),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == _expected(docs)


def test_separate_documents_stream_in_one_pass(tmp_path: Path) -> None:
    docs = _mixed()
    result = CliRunner().invoke(
        main, ["evaluate", "-", "--input-format", "jsonl", "--as-of", "2026-06-01", "--separate",
               "--chunk-size", "3"],
        input=_lines(docs).encode(),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == _expected(docs, batch=False)


def _with_bad_line(tmp_path: Path) -> tuple[Path, list[dict]]:
    docs = _mixed()[:9]
    text = _lines(docs[:6]) + '{"kind": "transfer", "transfer_id": 12\n' + _lines(docs[6:])
    src = tmp_path / "in.jsonl"
    src.write_text(text)
    return src, docs


def test_bad_line_stops_with_its_line_number_keeping_earlier_decisions(tmp_path: Path) -> None:
    src, docs = _with_bad_line(tmp_path)
    for extra in ([], ["--separate"]):
        out = tmp_path / "out.jsonl"
        result = CliRunner().invoke(
            main,
            ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out), "--chunk-size", "4",
             *extra],
        )
        assert result.exit_code == 2
        assert "in.jsonl:7: invalid JSON" in result.output
        assert "6 decisions before it were written" in result.output
        written = out.read_text().splitlines()
        # the documents before the bad line, decided (as one batch) and written
        assert written == _expected(docs[:6], batch=not extra)


def test_bad_line_recorded_in_place(tmp_path: Path) -> None:
    src, docs = _with_bad_line(tmp_path)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main,
        ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out), "--on-error", "record",
         "--summary", "json"],
    )
    assert result.exit_code == 0, result.output
    written = out.read_text().splitlines()
    assert len(written) == 10
    error = json.loads(written[6])
    assert error["line"] == 7 and "JSON" in error["error"]
    assert written[:6] + written[7:] == _expected(docs)
    summary = json.loads(result.stdout)
    assert summary["documents"] == 9 and summary["errors"] == 1
    assert summary["rules_fired"]["AMN-14"] == 2
    assert sum(summary["outcomes"].values()) == 9


def test_summary_text_and_progress(tmp_path: Path) -> None:
    docs = _mixed()
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs))
    result = CliRunner().invoke(
        main,
        ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(tmp_path / "o.jsonl"),
         "--summary", "text", "--progress"],
    )
    assert result.exit_code == 0, result.output
    assert "24 decisions, 0 bad lines" in result.stdout
    assert "AMN-14" in result.stdout
    assert "documents" in result.stderr and "/s" in result.stderr


def test_streamed_lines_are_read_within_the_input_limits(tmp_path: Path) -> None:
    """A line with a duplicate key (which value is meant is ambiguous) or nested past the
    limit is an error record in its place, like any bad line, never a silent last-key-wins or
    a traceback."""
    docs = _mixed()[:3]
    dup = json.dumps(docs[0])[:-1] + ', "kind": "customer"}'
    deep = "[" * 100_000 + "]" * 100_000
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs[:1]) + dup + "\n" + deep + "\n" + _lines(docs[1:]))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main, ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out),
               "--on-error", "record", "--separate"],
    )
    assert result.exit_code == 0, result.output
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert written[1] == {"line": 2, "error": written[1]["error"]}
    assert "duplicate key 'kind'" in written[1]["error"]
    assert written[2]["line"] == 3 and "nested more than" in written[2]["error"]
    assert len(written) == 5
    assert all("outcome" in w for i, w in enumerate(written) if i not in (1, 2))
