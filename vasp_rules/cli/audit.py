"""``vasp-rules audit``: verify, inspect, replay and override recorded decisions.

Every command takes the log file as its first argument: ``vasp-rules audit verify DB``,
``audit head DB``, ``audit runs DB``, ``audit show DB ID``, ``audit replay DB ID``,
``audit override DB ID --by NAME --reason TEXT --outcome OUTCOME [--key NAME.key]``,
``audit backup DB OUT``, ``audit export DB --subject VALUE``, ``audit erase DB --subject
VALUE``; and ``audit keygen --out NAME.key`` makes the Ed25519 key pair that signs overrides
and heads (``override --key``, ``head --key``; ``verify --keyring FILE`` requires signed
overrides).

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

from vasp_rules.audit.jsontext import dumps_exact, loads_exact
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
from vasp_rules.audit.signing import (
    Keyring,
    SignedHead,
    SigningKey,
    generate_key,
    load_keyring,
    load_signing_key,
    override_signature,
    parse_anchor,
)
from vasp_rules.cli.support import Group, handles_errors, utf8_text
from vasp_rules.core.yamlio import YamlError, parse_yaml
from vasp_rules.model.decision import Decision, Outcome, notice

__all__ = ["AuditError", "audit", "record_decisions"]

# an override records a person's decision: never INFO, never "nothing was checked"
_OUTCOMES = [o.value for o in Outcome if o not in (Outcome.INFO, Outcome.NO_RULES_IN_FORCE)]
T = TypeVar("T")
_DB = click.argument("db", type=click.Path(path_type=Path))
_KEYRING = click.option(
    "--keyring",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Public keys trusted to sign overrides and heads: `ed25519 KEY LABEL` lines "
    "(NAME.pub files from `audit keygen`, concatenated).",
)
_KEY = click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=Path),
    metavar="NAME.key",
    help="Sign with this private key (made by `audit keygen`).",
)


def _keyring(path: Path | None) -> Keyring | None:
    return None if path is None else _guarded(lambda: load_keyring(path))


def _signing_key(path: Path | None) -> SigningKey | None:
    return None if path is None else _guarded(lambda: load_signing_key(path))


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
    callback=utf8_text,
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
    code every `vasp-rules` command gives (vasp_rules.cli.support)."""
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
      vasp-rules audit keygen --out analyst.key --label "A. Analyst"
      vasp-rules audit override decisions.db 1 --by "A. Analyst" --reason "checked" \\
          --outcome APPROVE --key analyst.key
      vasp-rules audit verify decisions.db --keyring officers.keyring
      vasp-rules audit export decisions.db --subject 42101-7734290-5
      vasp-rules audit erase decisions.db --subject 42101-7734290-5
    """


@audit.command("verify")
@_DB
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="A head printed earlier by `audit head` (plain, or signed with --key) and kept "
    "elsewhere; fail if the log no longer contains it (detects a rewritten chain).",
)
@_KEYRING
@_format_options
def verify_command(
    db: Path, anchor: str | None, keyring: Path | None, fmt: str, as_json: bool
) -> None:
    """Check the whole chain of DB; report the first broken record (exit 1 if any).

    Every override signature present is checked; unsigned overrides are listed. With
    --keyring, an override not signed by a key of FILE fails, and a signed --anchor must be
    signed by one of its keys.

    \b
    Example:
      vasp-rules audit verify decisions.db --format json
      vasp-rules audit verify decisions.db --keyring officers.keyring
    """
    as_json = as_json or fmt == "json"
    anchor_head = None
    if anchor is not None:
        try:
            anchor_head = parse_anchor(anchor)
        except ValueError as exc:
            _fail(str(exc), 2)
    trusted = _keyring(keyring)

    def run() -> Any:
        with DecisionLog.open(db) as log:
            return log.verify(anchor=anchor_head, keyring=trusted)

    report = _guarded(run)
    _refuse_records_left_in_wal(db, report.records)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else report.summary())
    if not report.ok:
        raise click.exceptions.Exit(1)


def _refuse_records_left_in_wal(db: Path, records: int) -> None:
    """A log that reads as empty beside a non-empty ``-wal`` file is not "OK: 0 records": its
    records may sit in a WAL file SQLite could not use (a file copied or restored without its
    own ``-wal``, or with another log's). Exit 1 rather than vouch for an empty log."""
    wal = db.with_name(db.name + "-wal")
    try:
        size = wal.stat().st_size
    except OSError:
        return
    if records == 0 and size > 0:
        _fail(
            f"{db}: the log reads as empty, but {wal.name} beside it holds {size} bytes: its "
            "records may be there, unreadable to SQLite (a log copied without its own -wal "
            "file?); copy a live log with `vasp-rules audit backup`",
            1,
        )


@audit.command("backup")
@_DB
@click.argument("out", type=click.Path(path_type=Path))
def backup_command(db: Path, out: Path) -> None:
    """Copy DB to the new file OUT with SQLite's backup API, then verify the copy and print
    its head (SEQ:HASH), which is DB's head at the moment of the copy.

    The one safe way to copy a live log: a plain file copy can miss the records still in the
    -wal file or catch a commit half-written. OUT is created 0600, in one step, and never
    overwritten. Exit 1 if the copy does not verify.

    \b
    Example:
      vasp-rules audit backup decisions.db /backups/decisions-2026-06-01.db
    """

    def run() -> tuple[Head, Any]:
        with DecisionLog.open(db) as log:
            head = log.backup(out)
        with DecisionLog.open(out) as copy:
            return head, copy.verify()

    head, report = _guarded(run)
    if not report.ok or report.head != head:
        problem = report.summary() if not report.ok else f"its head is {report.head.token}"
        _fail(f"{out}: the copy does not verify as the log it copies ({head.token}): {problem}", 1)
    click.echo(f"copied {report.records} records to {out}; head {head.token}")


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
@_KEY
def head_command(db: Path, key_file: Path | None) -> None:
    """Verify DB, then print its head as SEQ:HASH: store it elsewhere to anchor the log.

    With --key, print a signed head, SEQ:HASH:ed25519:KEY:SIGNATURE, that anyone holding
    the public key can check (`audit verify DB --anchor TOKEN --keyring NAME.pub`).

    \b
    Example:
      vasp-rules audit head decisions.db > decisions.head
      vasp-rules audit head decisions.db --key anchor.key > decisions.head
    """
    signing_key = _signing_key(key_file)

    def run() -> Any:
        with DecisionLog.open(db) as log:
            return log.verify()

    report = _guarded(run)
    _refuse_records_left_in_wal(db, report.records)
    if not report.ok:
        click.echo(report.summary(), err=True)
        raise click.exceptions.Exit(1)
    if signing_key is None:
        click.echo(report.head.token)
    else:
        click.echo(SignedHead.sign(report.head, signing_key).token)


def _describe(record: Record, keyring: Keyring | None = None) -> list[str]:
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
            f"  signature   {override_signature(record, keyring).summary()}",
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
        return dumps_exact(loads_exact(text or "null"), indent=2)  # numbers as stored
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
    return dumps_exact(opened.input, indent=2), decision


def _show_decision(
    record: Record,
    overrides: list[Record],
    run: RunSummary | None = None,
    keyring: Keyring | None = None,
    opened: OpenedRecord | None = None,
    keys: Path | None = None,
) -> list[str]:
    lines = _describe(record) + _run_line(run) + _personal_line(record, opened, keys)
    standing = [o for o in overrides if keyring is None or override_signature(o, keyring).trusted]
    if standing:  # with a keyring, only overrides signed by its keys count
        latest = standing[-1]
        lines.append(
            f"  effective   {latest.outcome} (overridden by record {latest.seq}, "
            f"{override_signature(latest, keyring).summary()}; recorded outcome {record.outcome})"
        )
    elif overrides:
        lines.append(
            f"  effective   {record.outcome} (recorded; no override is signed by a key of "
            f"{keyring.source if keyring else 'the keyring'})"
        )
    input_text, decision_text = _opened_texts(record, opened)
    lines += ["input:", input_text]
    lines += ["decision:", decision_text]
    for override in overrides:
        lines.append("override:")
        lines += _describe(override, keyring)
    return lines


@audit.command("show")
@_DB
@click.argument("record_id", metavar="ID")
@_KEYRING
@_format_options
@_KEYS
def show_command(
    db: Path, record_id: str, keyring: Path | None, fmt: str, as_json: bool, keys: Path | None
) -> None:
    """Show record ID of DB with its input and decision, and any overrides of it.

    For an override, shows the override and the decision it overrides. Each override says
    whether it is signed and by which key; with --keyring, whether that key is trusted (and
    only trusted overrides make the effective outcome). Personal data is shown joined back
    from the key store; a record whose personal data was erased says so.

    \b
    Example:
      vasp-rules audit show decisions.db 1
    """
    as_json = as_json or fmt == "json"
    seq = _parse_id(record_id)
    trusted = _keyring(keyring)

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
            "overrides": [
                {**o.as_dict(), "signature": override_signature(o, trusted).as_dict()}
                for o in overrides
            ],
            "run": None if run_summary is None else run_summary.as_dict(),
            "opened": None if opened is None else _opened_dict(opened),
        }
        click.echo(dumps_exact(payload, indent=2))
        return
    if record.kind == KIND_RUN:
        lines = [*_describe(record), *_run_line(run_summary)]
    elif original is None:
        lines = _show_decision(record, overrides, run_summary, trusted, opened, keys_path)
    else:
        lines = [*_describe(record, trusted), "", "overridden decision:"]
        lines += _show_decision(original, overrides, run_summary, trusted, opened, keys_path)
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
@click.option("--by", "by", required=True, callback=utf8_text, help="Who overrides the decision.")
@click.option("--reason", required=True, callback=utf8_text, help="Why.")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice(_OUTCOMES, case_sensitive=False),
    metavar="OUTCOME",
    help=f"The outcome that now stands: {', '.join(_OUTCOMES)}.",
)
@_KEY
def override_command(
    db: Path, record_id: str, by: str, reason: str, outcome: str, key_file: Path | None
) -> None:
    """Append an override of decision ID; the original record is never changed.

    With --key, the override is signed (who, why, the outcome, the overridden record's hash),
    so `audit verify DB --keyring FILE` can tell it from one anyone could have written.

    \b
    Example:
      vasp-rules audit override decisions.db 1 --by "A. Analyst" \\
          --reason "documents checked by hand" --outcome APPROVE --key analyst.key
    """
    seq = _parse_id(record_id)
    signing_key = _signing_key(key_file)  # a bad key file changes nothing

    if not db.exists():  # an override needs an existing log; never create one here
        _fail(f"{db}: no such file", 2)

    def run() -> tuple[int, Record]:
        with DecisionLog.open(db, write=True) as log:
            new = log.override(
                seq, by=by, reason=reason, outcome=outcome.upper(), signing_key=signing_key
            )
            return new, log.get(seq)

    new_seq, original = _guarded(run)
    signed = "" if signing_key is None else f" (signed by {signing_key.public.describe()})"
    click.echo(
        f"recorded override {new_seq} of record {seq}: {original.outcome} -> "
        f"{outcome.upper()}{signed}"
    )


@audit.command("keygen")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    metavar="NAME.key",
    help="The private key file to create (0600); the public key goes to NAME.pub.",
)
@click.option("--label", help="Who holds the key, written in NAME.pub (default: NAME).")
def keygen_command(out: Path, label: str | None) -> None:
    """Make an Ed25519 key pair for signing overrides and heads: NAME.key (private, readable
    by you alone; keep it secret) and NAME.pub (one line: give it to whoever verifies, who
    adds it to their keyring). Never overwrites a file.

    \b
    Example:
      vasp-rules audit keygen --out officer-khan.key --label "A. Khan, CCO"
    """
    public = _guarded(lambda: generate_key(out, label))
    click.echo(f"wrote {out} (private, keep it secret) and {out.with_suffix('.pub')} (public)")
    click.echo(f"key id {public.key_id}: {public.line}")


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

    click.echo(dumps_exact(_guarded(run), indent=2))


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
