"""The errors of the decision log; each carries the exit code the CLI uses."""

from __future__ import annotations

from ...core.errors import VaspRulesError


class AuditError(VaspRulesError):
    """Base of every error of the audit log. ``exit_code`` is what the CLI exits with; the
    service answers 503 (the decision log is unavailable)."""

    exit_code: int = 2
    http_status: int = 503


class LogFormatError(AuditError):
    """The file cannot be used as a decision log (missing, not a log, corrupt, newer schema)."""


class NotALogError(LogFormatError):
    """The file exists but is not a vasp-rules decision log."""


class NewerSchemaError(LogFormatError):
    """The log was written by a newer vasp-rules with a schema this version does not know."""


class CorruptLogError(LogFormatError):
    """SQLite cannot read the file consistently: the database itself is damaged."""


class UnknownRecordError(AuditError):
    """No record with that sequence number."""


class RecordingError(AuditError):
    """A request to append was invalid (mismatched pack, non-JSON input, bad override)."""


class TamperedLogError(AuditError):
    """The log fails its integrity checks, so the operation was refused (exit code 1)."""

    exit_code = 1


class LogBusyError(AuditError):
    """Another process held the log's write lock for longer than the timeout."""


# --------------------------------------------------------------------------- packs


def describe(path: object) -> str:
    """How messages name a log file."""
    return str(path)
