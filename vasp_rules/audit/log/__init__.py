"""The decision log: an append-only, hash-chained record of decisions in one SQLite file.

One job per module: :mod:`.errors`; :mod:`.handles` (the only code that opens the file outside
SQLite); :mod:`.schema` (tables, versions, migrations); :mod:`.records` (records, hashing, one
factory per kind); :mod:`.packs` (rule packs stored content-addressed); :mod:`.runs` (runs and
the chunked recorder); :mod:`.verify` (verification); :mod:`.copy` (a consistent copy of a
live log); :mod:`.store` (:class:`DecisionLog`: opening, transactions, reading, appending).
"""

from vasp_rules.audit.log.errors import (
    AuditError,
    CorruptLogError,
    LogBusyError,
    LogFormatError,
    NewerSchemaError,
    NotALogError,
    RecordingError,
    TamperedLogError,
    UnknownRecordError,
)
from vasp_rules.audit.log.packs import PackFiles, check_pack_path, pack_digest
from vasp_rules.audit.log.records import (
    GENESIS_HASH,
    KIND_DECISION,
    KIND_OVERRIDE,
    KIND_RUN,
    RECORD_COLUMNS,
    RUN_COLUMNS,
    RUN_COMPLETED,
    RUN_DOCUMENT_KIND,
    RUN_INCOMPLETE,
    RUN_STARTED,
    RUN_STOPPED,
    SCHEMA3_COLUMNS,
    Clock,
    Document,
    Head,
    Record,
    as_of_date,
    utc_now,
)
from vasp_rules.audit.log.runs import ChunkedRecorder, IncompleteRun, RunRecorded, RunSummary
from vasp_rules.audit.log.schema import (
    APPLICATION_ID,
    KNOWN_SCHEMA_VERSIONS,
    MAGIC,
    SCHEMA_VERSION,
)
from vasp_rules.audit.log.store import (
    DEFAULT_CHUNK,
    KEYS_BESIDE,
    DecisionLog,
    record_decisions,
    verify_log,
)
from vasp_rules.audit.log.verify import VerifyReport
from vasp_rules.core.canonical import canonical_json

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_CHUNK",
    "GENESIS_HASH",
    "KIND_DECISION",
    "KIND_OVERRIDE",
    "KEYS_BESIDE",
    "KIND_RUN",
    "KNOWN_SCHEMA_VERSIONS",
    "MAGIC",
    "RECORD_COLUMNS",
    "RUN_COLUMNS",
    "RUN_COMPLETED",
    "RUN_DOCUMENT_KIND",
    "RUN_INCOMPLETE",
    "RUN_STARTED",
    "RUN_STOPPED",
    "SCHEMA3_COLUMNS",
    "SCHEMA_VERSION",
    "AuditError",
    "ChunkedRecorder",
    "Clock",
    "CorruptLogError",
    "DecisionLog",
    "Document",
    "Head",
    "IncompleteRun",
    "LogBusyError",
    "LogFormatError",
    "NewerSchemaError",
    "NotALogError",
    "PackFiles",
    "Record",
    "RecordingError",
    "RunRecorded",
    "RunSummary",
    "TamperedLogError",
    "UnknownRecordError",
    "VerifyReport",
    "as_of_date",
    "canonical_json",
    "check_pack_path",
    "pack_digest",
    "record_decisions",
    "utc_now",
    "verify_log",
]
