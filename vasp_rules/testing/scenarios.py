"""Scenario files: behaviour tests for rule packs, written as data.

A scenario file (`*.scenarios.yaml`) holds cases; each evaluates one document or a batch on an
`as_of` date and states what the decision must be. See docs/scenarios.md for the format.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..core.docfiles import InputFileError, iso_dates, read_document_file
from ..core.docpath import PathError, parse_path, set_at
from ..core.errors import InputError
from ..core.plaintext import iso_date
from ..core.yamlio import YamlError, line_of, load_yaml, plain
from ..entities.ivms101 import parse_ivms101_many
from ..entities.registry import ID_FIELD, DocumentError
from ..entities.transfer import Transfer
from ..model.decision import SEVERITY, Decision, Outcome
from ..pack.discovery import is_path
from ..pack.loader import PackError
from ..runtime.rulepack import RulePack

SCENARIO_SUFFIX = ".scenarios.yaml"
_EXPECT_KEYS = {"outcome", "findings", "absent", "error"}
_CASE_KEYS = {
    "name",
    "as_of",
    "input",
    "input_file",
    "input_format",
    "set",
    "expect",
    "description",
    "batch",
}
#: `input_format` values: plain documents, or IVMS101 envelopes mapped to transfers
INPUT_FORMATS = ("document", "ivms101")


class ScenarioError(InputError):
    """A scenario file that cannot be run: names the file, line and case."""

    def __init__(self, file: Path, line: int | None, case: str | None, message: str) -> None:
        self.file, self.line, self.case = file, line, case
        where = f"{file}" + (f":{line}" if line else "") + (f" [{case}]" if case else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Expectation:
    outcome: Outcome | None = None
    findings: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class Case:
    file: Path
    line: int | None
    name: str
    as_of: date
    documents: list[dict[str, Any]]
    is_batch: bool
    expect: Expectation | None
    per_document: dict[str, Expectation]
    pack: str
    input_format: str = "document"

    @property
    def id(self) -> str:
        return self.name


@dataclass
class CaseResult:
    case: Case
    passed: bool
    problems: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def diff(self) -> str:
        """What differed, and what the engine decided, for a failing case."""
        lines = [f"  - {p}" for p in self.problems]
        for d in self.decisions:
            lines.append(f"  decided {d.document_id}: {d.outcome.value}")
            for f in d.findings:
                lines.append(f"    {f.rule_id} {f.outcome.value}: {f.reason}")
        return "\n".join(lines)


def discover(paths: Sequence[Path]) -> list[Path]:
    """Scenario files in the given files and folders (recursively), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*" + SCENARIO_SUFFIX)))
        elif path.exists():
            found.append(path)
        else:
            raise ScenarioError(path, None, None, "no such file or folder")
    return found


def load_cases(file: Path, default_pack: str | None = None) -> list[Case]:
    """Parse a scenario file; raise ScenarioError naming the line and case of any problem."""
    try:
        node = load_yaml(file)
    except YamlError as exc:
        raise ScenarioError(file, exc.line, None, exc.message) from None
    except OSError as exc:
        raise ScenarioError(file, None, None, f"cannot read: {exc.strerror}") from None
    data = plain(node)
    if isinstance(data, list):
        header: dict[str, Any] = {}
        raw_cases, case_nodes = data, node
    elif isinstance(data, dict) and isinstance(data.get("cases"), list):
        header = {k: v for k, v in data.items() if k != "cases"}
        raw_cases, case_nodes = data["cases"], node["cases"]
        unknown = set(header) - {"pack", "as_of", "description"}
        if unknown:
            raise ScenarioError(file, 1, None, f"unknown top-level keys: {sorted(unknown)}")
    else:
        raise ScenarioError(
            file,
            1,
            None,
            "a scenario file is a list of cases, or a mapping "
            "with 'cases' (and optional 'pack', 'as_of')",
        )
    if header.get("pack"):
        pack = _pack_ref(file, str(header["pack"]))
    elif default_pack and is_path(default_pack):  # given on the command line: from the cwd
        pack = str(Path(default_pack).resolve())
    else:
        pack = default_pack or "pk"
    cases: list[Case] = []
    names: set[str] = set()
    for i, raw in enumerate(raw_cases):
        line = line_of(case_nodes, [i])
        case = _case(file, line, raw, header, pack)
        if case.name in names:
            raise ScenarioError(file, line, case.name, "two cases have this name")
        names.add(case.name)
        cases.append(case)
    return cases


def _pack_ref(file: Path, ref: str) -> str:
    """A pack path is relative to the scenario file; a bare name is an installed pack."""
    return str((file.parent / ref).resolve()) if is_path(ref) else ref


def _case(file: Path, line: int | None, raw: Any, header: Mapping[str, Any], pack: str) -> Case:
    if not isinstance(raw, dict):
        raise ScenarioError(
            file, line, None, "each case is a mapping with name, as_of, input, expect"
        )
    name = str(raw.get("name") or "")
    if not name:
        raise ScenarioError(file, line, None, "a case needs a name")
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise ScenarioError(
            file,
            line,
            name,
            f"unknown keys {sorted(unknown)} (known: {', '.join(sorted(_CASE_KEYS))})",
        )
    as_of = _as_of(raw.get("as_of", header.get("as_of")))
    if as_of is None:
        raise ScenarioError(file, line, name, "as_of must be a date (YYYY-MM-DD)")
    documents, is_batch = _documents(file, line, name, raw)
    input_format = str(raw.get("input_format", "document"))
    if input_format not in INPUT_FORMATS:
        raise ScenarioError(file, line, name, f"input_format is one of {', '.join(INPUT_FORMATS)}")
    expect_raw = raw.get("expect")
    if not isinstance(expect_raw, dict) or not expect_raw:
        raise ScenarioError(file, line, name, "expect must state outcome, findings or absent")
    expect: Expectation | None = None
    per_document: dict[str, Expectation] = {}
    if set(expect_raw) <= _EXPECT_KEYS:
        expect = _expectation(file, line, name, expect_raw)
    else:
        ids = {_doc_id(d, input_format) for d in documents}
        for doc_id, sub in expect_raw.items():
            if str(doc_id) not in ids:
                raise ScenarioError(
                    file,
                    line,
                    name,
                    f"expect names document {doc_id!r}, which "
                    f"is not in the input (ids: {sorted(i for i in ids if i)})",
                )
            if not isinstance(sub, dict):
                raise ScenarioError(file, line, name, f"expect.{doc_id} must be a mapping")
            per_document[str(doc_id)] = _expectation(file, line, name, sub)
    return Case(
        file, line, name, as_of, documents, is_batch, expect, per_document, pack, input_format
    )


def _as_of(value: Any) -> date | None:
    """A YAML date, or an ISO date string (what programs writing YAML produce)."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return iso_date(value.strip())
        except ValueError:
            return None
    return None


def _documents(
    file: Path, line: int | None, name: str, raw: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    if ("input" in raw) == ("input_file" in raw):
        raise ScenarioError(file, line, name, "give exactly one of input or input_file")
    if "input_file" in raw:
        source = file.parent / str(raw["input_file"])
        try:
            documents, is_batch = read_document_file(str(source))
        except (OSError, InputFileError) as exc:
            raise ScenarioError(
                file, line, name, f"cannot read input_file {source}: {exc}"
            ) from None
    else:
        data = copy.deepcopy(raw["input"])
        is_batch = isinstance(data, list)
        documents = data if is_batch else [data]
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise ScenarioError(
            file, line, name, "input is a document (mapping) or a non-empty list of documents"
        )
    edits = raw.get("set") or {}
    if not isinstance(edits, dict):
        raise ScenarioError(file, line, name, "set maps field paths to new values")
    for path, value in edits.items():
        try:
            target = documents[0] if not is_batch else documents
            set_at(target, parse_path(str(path)), iso_dates(value))
        except PathError as exc:
            raise ScenarioError(file, line, name, f"set {path}: {exc}") from None
    return [iso_dates(d) for d in documents], is_batch


def _expectation(file: Path, line: int | None, name: str, raw: Mapping[str, Any]) -> Expectation:
    unknown = set(raw) - _EXPECT_KEYS
    if unknown:
        raise ScenarioError(file, line, name, f"unknown expect keys {sorted(unknown)}")
    outcome = raw.get("outcome")
    if outcome is not None and outcome not in Outcome.__members__:
        raise ScenarioError(
            file,
            line,
            name,
            f"unknown outcome {outcome!r} (one of {', '.join(Outcome.__members__)})",
        )

    def ids(key: str) -> tuple[str, ...]:
        value = raw.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ScenarioError(file, line, name, f"expect.{key} is a list of rule ids")
        return tuple(str(v) for v in value)

    return Expectation(
        Outcome(outcome) if outcome else None,
        ids("findings"),
        ids("absent"),
        str(raw["error"]) if raw.get("error") is not None else None,
    )


def _doc_id(doc: Mapping[str, Any], input_format: str = "document") -> str:
    if input_format == "ivms101":
        side = doc.get("transfer")
        return str(side.get("transfer_id", "")) if isinstance(side, Mapping) else ""
    kind = doc.get("kind")
    return str(doc.get(ID_FIELD.get(str(kind), ""), "")) if kind else ""


class PackCache:
    """Packs loaded once per run."""

    def __init__(self) -> None:
        self._packs: dict[str, RulePack] = {}

    def get(self, ref: str) -> RulePack:
        if ref not in self._packs:
            self._packs[ref] = RulePack.load(ref)
        return self._packs[ref]


def run_case(case: Case, packs: PackCache) -> CaseResult:
    """Evaluate a case and compare with what it expects."""
    pack = packs.get(case.pack)
    try:
        inputs: Sequence[Mapping[str, Any] | Transfer] = case.documents
        if case.input_format == "ivms101":
            inputs = parse_ivms101_many(case.documents)
        decisions = pack.evaluate_many(inputs, case.as_of)
    except DocumentError as exc:
        wanted = case.expect.error if case.expect else None
        if wanted is not None and wanted in str(exc):
            return CaseResult(case, True)
        return CaseResult(case, False, [f"invalid input: {exc}"])
    if case.expect is not None and case.expect.error is not None:
        return CaseResult(
            case,
            False,
            [
                f"expected an input error containing "
                f"{case.expect.error!r}, but the input was accepted"
            ],
            decisions,
        )
    problems: list[str] = []
    if case.expect is not None:
        problems += _compare(case.expect, decisions, "")
    by_id = {d.document_id: d for d in decisions}
    for doc_id, exp in case.per_document.items():
        problems += _compare(exp, [by_id[doc_id]], f"{doc_id}: ")
    return CaseResult(case, not problems, problems, decisions)


def _compare(expect: Expectation, decisions: list[Decision], prefix: str) -> list[str]:
    problems: list[str] = []
    outcomes = [d.outcome for d in decisions]
    overall = max(outcomes, key=lambda o: SEVERITY[o])
    if expect.outcome is not None and overall is not expect.outcome:
        problems.append(f"{prefix}outcome {overall.value}, expected {expect.outcome.value}")
    fired = {f.rule_id for d in decisions for f in d.findings}
    for rule_id in expect.findings:
        if rule_id not in fired:
            problems.append(f"{prefix}{rule_id} expected to fire, did not")
    for rule_id in expect.absent:
        if rule_id in fired:
            problems.append(f"{prefix}{rule_id} expected not to fire, fired")
    return problems


@dataclass
class Coverage:
    """Per rule in force: how many cases fired it, and how many evaluated it without firing."""

    fired: dict[str, int] = field(default_factory=dict)
    not_fired: dict[str, int] = field(default_factory=dict)

    def add(self, result: CaseResult) -> None:
        fired: set[str] = set()
        evaluated: set[str] = set()
        for d in result.decisions:
            evaluated.update(d.rules_evaluated)
            fired.update(d.fired)
        for rule_id in evaluated:
            self.fired.setdefault(rule_id, 0)
            self.not_fired.setdefault(rule_id, 0)
        for rule_id in fired:
            self.fired[rule_id] = self.fired.get(rule_id, 0) + 1
        # "seen not firing": evaluated on some document of the case that it did not fire on
        quiet: set[str] = set()
        for d in result.decisions:
            quiet.update(set(d.rules_evaluated) - set(d.fired))
        for rule_id in quiet:
            self.not_fired[rule_id] = self.not_fired.get(rule_id, 0) + 1

    def rows(self, all_rules: Sequence[str]) -> list[tuple[str, int, int]]:
        return [(r, self.fired.get(r, 0), self.not_fired.get(r, 0)) for r in sorted(all_rules)]

    def gaps(self, all_rules: Sequence[str], always: Collection[str] = ()) -> list[str]:
        """Rules never fired, or never seen not firing; a rule in `always` (a notice stated
        on every decision of its kind, tagged `always`) need only be seen firing."""
        return [r for r, f, n in self.rows(all_rules) if f == 0 or (n == 0 and r not in always)]


def iter_results(files: Sequence[Path], packs: PackCache) -> Iterator[CaseResult]:
    for file in files:
        for case in load_cases(file):
            yield run_case(case, packs)


__all__ = [
    "Case",
    "CaseResult",
    "Coverage",
    "PackCache",
    "PackError",
    "ScenarioError",
    "discover",
    "load_cases",
    "run_case",
]
