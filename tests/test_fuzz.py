"""Fuzz suite (issue 11): mutated documents, pack files, scenario files, audit logs and command
lines through the `vasp-rules` commands. Whatever the input: exit code 0, 1 or 2 only; an error
is one `error:` line; never a traceback; never a hang (each run is cut off by an alarm).

Bounded for CI (a few examples per target). For a long run set VASP_RULES_FUZZ to the number of
examples per target, e.g. `VASP_RULES_FUZZ=2000 python -m pytest tests/test_fuzz.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.repo import EXAMPLES, PK, ROOT

from vasp_rules import RulePack
from vasp_rules.cli import main

EXAMPLES_N = int(os.environ.get("VASP_RULES_FUZZ", "0") or 0)
FUZZ = settings(
    max_examples=EXAMPLES_N or 12,
    suppress_health_check=list(HealthCheck),
    database=None,
)
HANG_SECONDS = 60
AS_OF = "2026-06-01"

# Fragments that broke readers before (issue 11) or that readers must refuse cleanly.
NASTY = [
    "[" * 3000,
    "]" * 5,
    '{"a":' * 2000,
    "1e999999999",
    "-1e-999999999",
    "NaN",
    "Infinity",
    "&a [*a]",
    "*a",
    "&x",
    '"kind": "transfer", "kind": "customer", ',
    "kind: customer\nkind: transfer\n",
    "\x00",
    "\ufeff",
    "\\ud800",
    '"' + "a" * 5000 + '"',
    "!!python/object/apply:os.system ['true']",
    "%YAML 1.1\n",
    "---\n",
    "? [a, b]\n: c\n",
    "<<: *a\n",
    "null",
    "-",
    ":",
    "\n  - ",
    "2026-02-30",
    "99999999999999999999999999999999999999",
    '"matches(full_name, \\"(a+)+$\\")"',
]


class Hang(Exception):
    pass


@pytest.fixture(scope="module", autouse=True)
def cached_bundled_pack() -> Iterator[None]:
    """Load the bundled pack once: the commands under test load it on every run otherwise."""
    real = RulePack.load.__func__  # type: ignore[attr-defined]
    cache: dict[str, RulePack] = {}

    def load(cls: type[RulePack], name_or_path: Any = "pk", **options: Any) -> RulePack:
        key = str(name_or_path)
        # the commands pass `overrides={}` when no --set-param is given: that is no option
        if key in ("pk", str(PK)) and not any(options.values()):
            if key not in cache:
                cache[key] = real(cls, name_or_path)
            return cache[key]
        result: RulePack = real(cls, name_or_path, **options)
        return result

    mp = pytest.MonkeyPatch()
    mp.setattr(RulePack, "load", classmethod(load))
    yield
    mp.undo()


def run(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process under an alarm; check the universal promises."""

    def on_alarm(_sig: int, _frame: FrameType | None) -> None:
        raise Hang(f"vasp-rules {' '.join(a[:40] for a in args)} ran past {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_SECONDS)
    here = os.getcwd()
    try:
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)  # relative paths and "." name an empty folder
            result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(here)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        raise AssertionError(f"uncaught {type(exc).__name__}: {exc}") from exc
    out, err = result.stdout, result.stderr
    assert result.exit_code in (0, 1, 2), (result.exit_code, err[-500:])
    assert "Traceback" not in out + err
    if result.exit_code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        if args[:1] == ("check",):  # check lists each problem on stderr, then the count
            assert lines and lines[-1].startswith("error: "), err[-2000:]
        else:
            assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    return result.exit_code, out, err


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` with a few cuts, duplications, replacements and nasty insertions."""
    for _ in range(draw(st.integers(1, 4))):
        n = len(text)
        at = draw(st.integers(0, n))
        how = draw(st.sampled_from(["insert", "cut", "dup", "char"]))
        if how == "insert":
            piece = draw(st.sampled_from(NASTY) | st.text(max_size=8))
            text = text[:at] + piece + text[at:]
        elif how == "cut" and n:
            end = draw(st.integers(at, min(n, at + 40)))
            text = text[:at] + text[end:]
        elif how == "dup" and n:
            end = draw(st.integers(at, min(n, at + 200)))
            text = text[:end] + text[at:end] + text[end:]
        elif n:
            text = text[:at] + draw(st.characters()) + text[at + 1 :]
    return text


def _yaml_of(doc: Any, indent: int = 0) -> str:
    """A simple block-YAML rendering of a JSON document (strings quoted)."""
    pad = " " * indent
    if isinstance(doc, dict):
        if not doc:
            return pad + "{}\n"
        out = ""
        for k, v in doc.items():
            if isinstance(v, dict | list) and v:
                out += f"{pad}{k}:\n{_yaml_of(v, indent + 2)}"
            else:
                out += f"{pad}{k}: {json.dumps(v)}\n"
        return out
    if isinstance(doc, list):
        out = ""
        for v in doc:
            body = (
                _yaml_of(v, indent + 2).lstrip()
                if isinstance(v, dict | list) and v
                else (json.dumps(v) + "\n")
            )
            out += f"{pad}- {body}"
        return out
    return pad + json.dumps(doc) + "\n"


_SOURCES = sorted(p.name for p in EXAMPLES.glob("*.json"))


@st.composite
def document_file(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(_SOURCES))
    text = (EXAMPLES / name).read_text()
    if draw(st.booleans()):
        return "doc.yaml", draw(mutated(_yaml_of(json.loads(text))))
    return "doc.json", draw(mutated(text))


@FUZZ
@given(doc=document_file(), command=st.sampled_from(["evaluate", "explain", "whatif"]))
def test_mutated_documents(
    tmp_path_factory: pytest.TempPathFactory, doc: Any, command: str
) -> None:
    folder = tmp_path_factory.mktemp("doc")
    path = folder / doc[0]
    path.write_text(doc[1], encoding="utf-8", errors="surrogatepass")
    extra = ["--set", "risk_rating=HIGH"] if command == "whatif" else []
    if command == "explain":
        extra = ["--no-suggest"]
    run(command, str(path), "--as-of", AS_OF, *extra)


@FUZZ
@given(value=mutated('{"result": "CLEAR", "screened_on": "2026-02-27"}'))
def test_mutated_set_values(value: str) -> None:
    run(
        "whatif", str(EXAMPLES / "customer.json"), "--as-of", AS_OF,
        "--set", f"sanctions_screening={value}",
    )  # fmt: skip


_SCENARIO = """pack: {pack}
as_of: 2026-06-01
cases:
  - name: clean customer
    input_file: {example}
    expect: {{outcome: APPROVE}}
  - name: sanctions hit
    input_file: {example}
    set:
      "sanctions_screening.result": CONFIRMED_MATCH
    expect: {{outcome: REJECT}}
"""


@FUZZ
@given(text=mutated(_SCENARIO.format(pack=PK, example=EXAMPLES / "customer.json")))
def test_mutated_scenario_files(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("scen") / "x.scenarios.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    run("test", str(path))


_RULES = """rules:
  - id: T-1
    version: 1
    title: a customer rule
    applies_to: customer
    when: "risk_rating == \\"HIGH\\" and matches(full_name, \\"[A-Z][a-z]+( [A-Z][a-z]+)*\\")"
    outcome: REFER
    reason: "high risk: {full_name}"
    citation: {instrument: Test, provision: s.1, confidence: A}
    remediation: review
    effective_from: 2018-01-01
"""


@settings(FUZZ, max_examples=max(EXAMPLES_N // 4, 6))
@given(
    target=st.sampled_from(["rules/test.yaml", "pack.yaml", "parameters/fx.yaml"]),
    data=st.data(),
)
def test_mutated_packs(tmp_path_factory: pytest.TempPathFactory, target: str, data: Any) -> None:
    root = tmp_path_factory.mktemp("pack") / "pack"
    (root / "rules").mkdir(parents=True)
    shutil.copy(PK / "pack.yaml", root / "pack.yaml")
    shutil.copytree(PK / "parameters", root / "parameters")
    (root / "rules" / "test.yaml").write_text(_RULES)
    original = (root / target).read_text()
    (root / target).write_text(
        data.draw(mutated(original), label="file"), encoding="utf-8", errors="surrogatepass"
    )
    code, _, _ = run("check", str(root))
    if code == 0:
        run("evaluate", str(EXAMPLES / "customer.json"), "--as-of", AS_OF, "--pack", str(root))


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("log") / "log.db"
    run("evaluate", str(EXAMPLES / "customer.json"), "--as-of", AS_OF, "--log", str(db))
    return db


@FUZZ
@given(data=st.data(), command=st.sampled_from(["verify", "show", "replay"]))
def test_mutated_audit_logs(
    tmp_path_factory: pytest.TempPathFactory, small_log: Path, data: Any, command: str
) -> None:
    db = tmp_path_factory.mktemp("log") / "log.db"
    how = data.draw(st.sampled_from(["bytes", "sql"]), label="how")
    if how == "bytes":
        raw = bytearray(small_log.read_bytes())
        for _ in range(data.draw(st.integers(1, 8), label="edits")):
            at = data.draw(st.integers(0, len(raw) - 1), label="at")
            raw[at] = data.draw(st.integers(0, 255), label="byte")
        db.write_bytes(bytes(raw))
    else:
        shutil.copy(small_log, db)
        column = data.draw(st.sampled_from(["input_json", "decision_json", "batch_start"]))
        value = data.draw(st.sampled_from(NASTY) | st.integers(-3, 3).map(str), label="value")
        conn = sqlite3.connect(db)
        try:
            conn.execute(f"UPDATE records SET {column} = ?", (value,))
            conn.commit()
        except sqlite3.IntegrityError:  # the STRICT table refuses it: nothing to test
            return
        finally:
            conn.close()
    args = {"verify": [str(db)], "show": [str(db), "1"], "replay": [str(db), "1"]}[command]
    run("audit", command, *args)


_WORDS = [
    "evaluate", "explain", "whatif", "test", "check", "schema", "audit", "verify", "show",
    "replay", "override", "nosuch", "--as-of", AS_OF, "2026-13-45", "yesterday", "--pack",
    "pk", "no/such/pack", "--format", "json", "text", "html", "--set", "x=1", "risk_rating=",
    "=", "--workers", "0", "--separate", "--log-chunk", "-1", "--rule", "VER-01",
    "--coverage", "-q", "--help", "customer", "transfer", "", "-", "--", "--log",
    str(EXAMPLES / "customer.json"), str(EXAMPLES / "transfer.json"), str(ROOT / "README.md"),
    str(ROOT / "tests" / "scenarios" / "verification.scenarios.yaml"), "/dev/null",
]  # fmt: skip


@FUZZ
@given(words=st.lists(st.sampled_from(_WORDS) | st.text(max_size=6), min_size=0, max_size=7))
def test_random_command_lines(tmp_path_factory: pytest.TempPathFactory, words: list[str]) -> None:
    folder = tmp_path_factory.mktemp("cwd")
    args = [str(folder / "x.db") if w == "--log" else w for w in words]
    if "--log" in words:
        args.insert(args.index(str(folder / "x.db")), "--log")
    if "-o" in args or "--output" in args:  # never write outside the temporary folder
        return
    run(*args)
