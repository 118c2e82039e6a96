"""``vasp-rules audit``: verify, inspect, replay and override recorded decisions.

Every command takes the log file as its first argument: ``vasp-rules audit verify DB``,
``audit head DB``, ``audit runs DB``, ``audit show DB ID``, ``audit replay DB ID``,
``audit override DB ID --by NAME --reason TEXT --outcome OUTCOME``,
``audit export DB --subject VALUE``, ``audit erase DB --subject VALUE``.

Exit codes: 0 ok; 1 verification failed, replay differs, the log is tampered, or no data subject
has the VALUE given; 2 invalid input (missing file, not a log, newer schema, corrupt database,
unknown id, missing key store), with a one-line error on stderr; 3 replay cannot reproduce a
record whose personal data was erased. Reading commands open the file read-only.

``record_decisions`` is re-exported here for the main CLI's ``evaluate --log``; it raises
:class:`AuditError`, whose ``exit_code`` is the code to exit with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from vasp_rules.audit.log import (
    KIND_OVERRIDE,
    KIND_RUN,
    AuditError,
    DecisionLog,
    Head,
    Record,
    RunSummary,
    record_decisions,
)
from vasp_rules.audit.log.store import KEYS_BESIDE
from vasp_rules.audit.replay import PackLoader, replay
from vasp_rules.audit.sealing import OpenedRecord
from vasp_rules.cli_support import Group, handles_errors
from vasp_rules.decision import Decision, Outcome, notice
from vasp_rules.pack.yamlio import YamlError, parse_yaml

__all__ = ["AuditError", "audit", "record_decisions"]

# an override records a person's decision: never INFO, never "nothing was checked"
_OUTCOMES = [o.value for o in Outcome if o not in (Outcome.INFO, Outcome.NO_RULES_IN_FORCE)]
T = TypeVar("T")
_DB = click.argument("db", type=click.Path(path_type=Path))
_KEYS = click.option(
    "--keys",
    "keys",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="PATH",
    help="The key store of the log's personal data (default: DB-keys beside the log).",
)
_SUBJECT = click.option(
    "--subject",
    required=True,
    metavar="VALUE",
    help="Any identifier of the person as documents carry it: CNIC/NICOP, passport or "
    "customer number, national id, wallet address or account.",
)


def _open(db: Path, keys: Path | None, *, write: bool = False) -> DecisionLog:
    """The log, with the key store ``keys`` (which must exist) or the one beside it."""
    if keys is not None and not keys.is_file():
        _fail(f"{keys}: no such key store", 2)
    return DecisionLog.open(db, write=write, keys=KEYS_BESIDE if keys is None else keys)


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    raise click.exceptions.Exit(code)


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action``; audit, SQLite and file errors become the one-line message and exit
    code every `vasp-rules` command gives (vasp_rules.cli_support)."""
    result: T = handles_errors(action)()
    return result


def _parse_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        _fail(f"record id must be a positive integer, got {text!r}", 2)
    return int(text)


def _format_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--format text|json` (as every command spells it); `--json` stays as a hidden alias."""
    func = click.option("--json", "as_json", is_flag=True, hidden=True)(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )(func)


@click.group("audit", cls=Group)
def audit() -> None:
    """Verify, inspect, replay and override decisions in a tamper-evident decision log.

    \b
    Examples:
      vasp-rules evaluate examples/transfer.json --as-of 2026-06-01 --log decisions.db
      vasp-rules audit verify decisions.db
      vasp-rules audit runs decisions.db
      vasp-rules audit show decisions.db 1
      vasp-rules audit replay decisions.db 1
      vasp-rules audit override decisions.db 1 --by "A. Analyst" --reason "checked" \\
          --outcome APPROVE
      vasp-rules audit export decisions.db --subject 42101-7734290-5
      vasp-rules audit erase decisions.db --subject 42101-7734290-5
    """


@audit.command("verify")
@_DB
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="A head printed earlier by `audit head` and kept elsewhere; fail if the log no "
    "longer contains it (detects a rewritten chain).",
)
@_format_options
def verify_command(db: Path, anchor: str | None, fmt: str, as_json: bool) -> None:
    """Check the whole chain of DB; report the first broken record (exit 1 if any).

    \b
    Example:
      vasp-rules audit verify decisions.db --format json
    """
    as_json = as_json or fmt == "json"
    anchor_head = None
    if anchor is not None:
        try:
            anchor_head = Head.parse(anchor)
        except ValueError as exc:
            _fail(str(exc), 2)

    def run() -> Any:
        with DecisionLog.open(db) as log:
            return log.verify(anchor=anchor_head)

    report = _guarded(run)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    if not report.ok:
        raise click.exceptions.Exit(1)


@audit.command("runs")
@_DB
@click.option("--incomplete", is_flag=True, help="Only runs that did not complete.")
@_format_options
def runs_command(db: Path, incomplete: bool, fmt: str, as_json: bool) -> None:
    """List the runs recorded in DB (an `evaluate --log` run, a service request): id, status,
    decisions and records. A run with no end record is INCOMPLETE (killed, or still running);
    one that ended on an error is STOPPED. The listing is read, not verified: see
    `audit verify`.

    \b
    Example:
      vasp-rules audit runs decisions.db --incomplete
    """
    as_json = as_json or fmt == "json"

    def run() -> list[RunSummary]:
        with DecisionLog.open(db) as log:
            return log.runs(incomplete=incomplete)

    runs = _guarded(run)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in runs], indent=2, ensure_ascii=False))
        return
    for summary in runs:
        click.echo(summary.summary())
    if not runs:
        click.echo("no incomplete runs" if incomplete else "no runs recorded")


@audit.command("head")
@_DB
def head_command(db: Path) -> None:
    """Verify DB, then print its head as SEQ:HASH: store it elsewhere to anchor the log.

    \b
    Example:
      vasp-rules audit head decisions.db > decisions.head
    """

    def run() -> Any:
        with DecisionLog.open(db) as log:
            return log.verify()

    report = _guarded(run)
    if not report.ok:
        click.echo(report.summary(), err=True)
        raise click.exceptions.Exit(1)
    click.echo(report.head.token)


def _describe(record: Record) -> list[str]:
    lines = [
        f"record {record.seq}  {record.kind}  recorded {record.recorded_at}",
        f"  hash        {record.hash}" + ("" if record.hash_ok else "  (DOES NOT MATCH CONTENT)"),
        f"  prev_hash   {record.prev_hash}",
        f"  document    {record.document_kind} {record.document_id}",
        f"  outcome     {record.outcome}",
    ]
    if record.kind == KIND_OVERRIDE:
        lines += [
            f"  overrides   record {record.overrides_seq} ({record.overrides_hash})",
            f"  by          {record.override_by}",
            f"  reason      {record.override_reason}",
        ]
    elif record.kind == KIND_RUN:
        label = "announced" if record.outcome == "started" else "recorded"
        count = "unknown" if record.run_decisions is None else str(record.run_decisions)
        lines += [
            f"  as_of       {record.as_of}",
            f"  rule pack   {record.pack_name} {record.pack_version} sha256 {record.pack_sha256}",
            f"  decisions   {count} {label}",
        ]
    else:
        lines += [
            f"  as_of       {record.as_of}",
            f"  rule pack   {record.pack_name} {record.pack_version} sha256 {record.pack_sha256}",
            f"  engine      {record.engine_name} {record.engine_version}",
        ]
    if record.run_id is not None:
        lines.append(f"  run         {record.run_id}")
    if record.request_id is not None:
        lines.append(f"  request id  {record.request_id}")
    return lines


def _run_line(run: RunSummary | None) -> list[str]:
    if run is None:
        return []
    end = "no end record" if run.end_seq is None else f"ended at record {run.end_seq}"
    return [
        f"  run status  {run.status}: {run.decisions} decisions; started at record "
        f"{run.start_seq}, {end}"
    ]


def _pretty(text: str | None) -> str:
    """Indented JSON for display; the raw text if it is not JSON (a damaged record)."""
    try:
        return json.dumps(json.loads(text or "null"), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text or ""


def _personal_line(record: Record, opened: OpenedRecord | None, keys: Path | None) -> list[str]:
    """What became of the record's personal data (sealed records only)."""
    if record.sealed is None or opened is None:
        return []
    if opened.erased:
        return [
            f"  personal    ERASED on {opened.erased_at}: the personal data of this record was "
            "erased (shown as [personal data])"
        ]
    if opened.unavailable:
        return [
            f"  personal    sealed; not shown: the key store {keys} lacks its keys "
            "(shown as [personal data])"
        ]
    return [f"  personal    sealed; shown with the key store {keys}"]


def _opened_texts(record: Record, opened: OpenedRecord | None) -> tuple[str, str]:
    """The input and decision JSON to show: joined back when the record is sealed."""
    if record.sealed is None or opened is None:
        return _pretty(record.input_json), record.decision_json or ""
    try:
        decision = Decision.model_validate(opened.decision).to_json()
    except ValueError:
        decision = json.dumps(opened.decision, indent=2, ensure_ascii=False)
    return json.dumps(opened.input, indent=2, ensure_ascii=False), decision


def _show_decision(
    record: Record,
    overrides: list[Record],
    run: RunSummary | None = None,
    opened: OpenedRecord | None = None,
    keys: Path | None = None,
) -> list[str]:
    lines = _describe(record) + _run_line(run) + _personal_line(record, opened, keys)
    if overrides:
        latest = overrides[-1]
        lines.append(
            f"  effective   {latest.outcome} (overridden by record {latest.seq}; "
            f"recorded outcome {record.outcome})"
        )
    input_text, decision_text = _opened_texts(record, opened)
    lines += ["input:", input_text]
    lines += ["decision:", decision_text]
    for override in overrides:
        lines.append("override:")
        lines += _describe(override)
    return lines


@audit.command("show")
@_DB
@click.argument("record_id", metavar="ID")
@_format_options
@_KEYS
def show_command(db: Path, record_id: str, fmt: str, as_json: bool, keys: Path | None) -> None:
    """Show record ID of DB with its input and decision, and any overrides of it.

    For an override, shows the override and the decision it overrides. Personal data is shown
    joined back from the key store; a record whose personal data was erased says so.

    \b
    Example:
      vasp-rules audit show decisions.db 1
    """
    as_json = as_json or fmt == "json"
    seq = _parse_id(record_id)

    def run() -> tuple[
        Record, Record | None, list[Record], RunSummary | None, str, OpenedRecord | None, Any
    ]:
        with _open(db, keys) as log:
            record = log.get(seq)
            original = None
            if record.kind == KIND_OVERRIDE and record.overrides_seq is not None:
                original = log.get(record.overrides_seq)
            decision = original or record
            run_id = decision.run_id
            runs = [] if run_id is None else log.runs(run_id=run_id)
            opened = _opened_or_none(log, decision)
            return (
                record,
                original,
                log.overrides_of(decision.seq),
                runs[0] if runs else None,
                _recorded_notice(log, decision),
                opened,
                log.keys_path,
            )

    record, original, overrides, run_summary, stated, opened, keys_path = _guarded(run)
    if as_json:
        payload: dict[str, Any] = {
            "record": record.as_dict(),
            "hash_ok": record.hash_ok,
            "original": None if original is None else original.as_dict(),
            "overrides": [o.as_dict() for o in overrides],
            "run": None if run_summary is None else run_summary.as_dict(),
            "opened": None if opened is None else _opened_dict(opened),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    if record.kind == KIND_RUN:
        lines = [*_describe(record), *_run_line(run_summary)]
    elif original is None:
        lines = _show_decision(record, overrides, run_summary, opened, keys_path)
    else:
        lines = [*_describe(record), "", "overridden decision:"]
        lines += _show_decision(original, overrides, run_summary, opened, keys_path)
    if record.kind != KIND_RUN:  # a decision is shown: with the notice of the pack that made it
        lines += ["", stated]
    click.echo("\n".join(lines))


def _opened_or_none(log: DecisionLog, record: Record) -> OpenedRecord | None:
    """A sealed decision record joined back; None for others, and for a damaged record (shown
    as stored: `audit verify` says what is wrong with it)."""
    if record.sealed is None or record.kind == KIND_RUN:
        return None
    try:
        return log.opened(record)
    except (AuditError, ValueError, RecursionError):
        return None


def _opened_dict(opened: OpenedRecord) -> dict[str, Any]:
    """The joined input and decision, and what could not be joined back."""
    return {
        "input": opened.input,
        "decision": opened.decision,
        "complete": opened.complete,
        "erased_at": opened.erased_at,
        "erased_keys": sorted(opened.erased),
        "unavailable_keys": list(opened.unavailable),
    }


def _recorded_notice(log: DecisionLog, record: Record) -> str:
    """The notice of the pack a decision record was made with: the disclaimer of its stored
    pack.yaml, then what the tags mean (the tags alone if the pack's files cannot be read,
    which `audit verify` reports)."""
    if record.pack_sha256 is None:
        return notice("")
    try:
        manifest = parse_yaml(log.pack_files(record.pack_sha256)["pack.yaml"].decode("utf-8"))
    except (AuditError, KeyError, UnicodeDecodeError, YamlError):
        return notice("")
    disclaimer = manifest.get("disclaimer") if isinstance(manifest, dict) else None
    return notice(disclaimer if isinstance(disclaimer, str) else "")


@audit.command("replay")
@_DB
@click.argument("record_id", metavar="ID")
@_KEYS
@click.pass_context
def replay_command(ctx: click.Context, db: Path, record_id: str, keys: Path | None) -> None:
    """Re-evaluate record ID from its stored input, rule pack and as_of; exit 1 on any difference.

    Prints the unified diff between the recorded and the replayed decision when they differ.
    A record whose personal data was erased cannot be reproduced: exit 3.

    \b
    Example:
      vasp-rules audit replay decisions.db 1
    """
    seq = _parse_id(record_id)
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    loader: PackLoader | None = obj.get("pack_loader")

    def run() -> Any:
        with _open(db, keys) as log:
            return replay(log, seq, loader)

    result = _guarded(run)
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.same:
        click.echo(f"SAME: record {result.seq} replays byte for byte")
        return
    click.echo(f"DIFFERENT: record {result.seq} does not replay to the recorded decision")
    click.echo(result.diff(), nl=False)
    raise click.exceptions.Exit(1)


@audit.command("override")
@_DB
@click.argument("record_id", metavar="ID")
@click.option("--by", "by", required=True, help="Who overrides the decision.")
@click.option("--reason", required=True, help="Why.")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(_OUTCOMES, case_sensitive=False),
    metavar="OUTCOME",
    help=f"The outcome that now stands: {', '.join(_OUTCOMES)}.",
)
def override_command(db: Path, record_id: str, by: str, reason: str, outcome: str) -> None:
    """Append an override of decision ID; the original record is never changed.

    \b
    Example:
      vasp-rules audit override decisions.db 1 --by "A. Analyst" \\
          --reason "documents checked by hand" --outcome APPROVE
    """
    seq = _parse_id(record_id)

    if not db.exists():  # an override needs an existing log; never create one here
        _fail(f"{db}: no such file", 2)

    def run() -> tuple[int, Record]:
        with DecisionLog.open(db, write=True) as log:
            new = log.override(seq, by=by, reason=reason, outcome=outcome.upper())
            return new, log.get(seq)

    new_seq, original = _guarded(run)
    click.echo(
        f"recorded override {new_seq} of record {seq}: {original.outcome} -> {outcome.upper()}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@audit.command("export")
@_DB
@_SUBJECT
@_KEYS
def export_command(db: Path, subject: str, keys: Path | None) -> None:
    """Write every decision about one person as JSON: a subject access request.

    The person is found through any of their identifiers; each decision comes with its
    record number, recorded time, outcome (and overrides), and its input and decision with the
    personal data joined back. Exit 1 if no data subject has VALUE.

    \b
    Example:
      vasp-rules audit export decisions.db --subject 42101-7734290-5 > request-17.json
    """

    def run() -> dict[str, Any]:
        with _open(db, keys) as log:
            found = log.about(subject)
            return {
                "subject": subject,
                "decisions": [
                    {
                        "seq": one.record.seq,
                        "recorded_at": one.record.recorded_at,
                        "document_kind": one.record.document_kind,
                        "document_id": one.record.document_id,
                        "outcome": one.record.outcome,
                        "effective_outcome": log.effective_outcome(one.record.seq).value,
                        "as_of": one.record.as_of,
                        "personal_data": "complete" if one.opened.complete else "partly erased",
                        "input": one.opened.input,
                        "decision": one.opened.decision,
                    }
                    for one in found
                ],
            }

    click.echo(json.dumps(_guarded(run), indent=2, ensure_ascii=False, default=str))


@audit.command("erase")
@_DB
@_SUBJECT
@_KEYS
def erase_command(db: Path, subject: str, keys: Path | None) -> None:
    """Erase one person's personal data by destroying their keys; the chain stays intact.

    Every key of the data subject VALUE identifies (with every identifier linked to it) is
    destroyed in the key store and wiped from its file; the log is not changed and still
    verifies with the same head. Records about the person then show their personal data as
    erased, and replaying them exits 3. Exit 1 if no data subject has VALUE.

    \b
    Example:
      vasp-rules audit erase decisions.db --subject 42101-7734290-5
    """
    if not db.exists():
        _fail(f"{db}: no such file", 2)

    def run() -> Any:
        with _open(db, keys) as log:
            return log.erase(subject)

    report = _guarded(run)
    click.echo(
        f"erased {_count(report.subjects, 'subject')}: {_count(report.keys, 'key')} destroyed; "
        f"personal data of {_count(len(report.records), 'record')} erased ({report.erased_at})"
    )
    if report.records:
        click.echo("records: " + " ".join(str(seq) for seq in report.records))
    if not report.wiped:
        click.echo(
            "warning: another process holds a read on the key store, so the destroyed keys "
            "may stay in its -wal file until that process closes it",
            err=True,
        )
