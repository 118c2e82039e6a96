"""The log never opens or closes its database file beside SQLite's own connections.

Regression test of the corruption of issue 21: on POSIX, closing any descriptor of a file drops
every fcntl lock the process holds on it, SQLite's included. Opening a second DecisionLog of the
same file (which reads the header) and closing it, while a first one of the same process is
inside a write transaction, must leave that transaction's lock in place, so another process
still finds the log locked.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.audit import FakePack, pack_files, pairs

from vasp_rules.audit import DecisionLog, verify_log
from vasp_rules.audit.log import handles

pytestmark = pytest.mark.skipif(os.name != "posix", reason="fcntl semantics are POSIX")

# In WAL mode every SQLite connection holds a read lock on the "shared" byte range of the
# database file for as long as it is open; a process closing its last connection deletes the WAL
# when it can lock that range exclusively. A dropped read lock lets it delete a WAL in use.
_PROBE = (
    "import fcntl, os, sys\n"
    "fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "try:\n"
    "    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 510, 0x40000002, 0)\n"
    "    print('free')\n"
    "except OSError:\n"
    "    print('held')\n"
)


def _shared_range_held(db: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() in ("held", "free"), done.stderr
    return done.stdout.strip() == "held"


def test_opening_and_closing_another_log_of_the_file_keeps_sqlite_locks(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    pack = FakePack(pack_files())
    with DecisionLog.open(db, write=True) as first:
        first.record(*pairs(pack, 1, 1)[0], pack)
        assert _shared_range_held(db)
        for write in (False, True, False):
            DecisionLog.open(db, write=write).close()
        with first._writing():
            DecisionLog.open(db).close()
        assert _shared_range_held(db)  # the first log's connection still holds its lock
        with first.recorder(pack, total=2, batch=True, chunk=1) as recorder:  # run lock
            for decision, document in pairs(pack, 5, 2):
                recorder.add(decision, document)
        assert _shared_range_held(db)
        # the probe does see the hazard: a stray descriptor closed drops SQLite's lock
        open(db, "rb").close()  # noqa: SIM115 - the point is to close a second descriptor
        assert not _shared_range_held(db)
    assert verify_log(db).ok


def test_one_descriptor_per_file_per_process_closed_with_the_last_log(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    before = handles.held_descriptors()
    logs = [DecisionLog.open(db, write=True) for _ in range(3)]
    assert handles.held_descriptors() == before + 1
    for log in logs:
        log.close()
    logs[0].close()  # closing twice is harmless
    assert handles.held_descriptors() == before


def test_the_run_lock_is_a_private_sibling_file(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    pack = FakePack(pack_files())
    with DecisionLog.open(db, write=True) as log:
        log.record(*pairs(pack, 1, 1)[0], pack)
    lock = handles.lock_path(db)
    assert lock.name == "log.db-lock" and lock.exists()
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
