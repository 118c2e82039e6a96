"""The only code that opens the log's file outside SQLite, and the run lock beside it.

Why: on POSIX, closing *any* descriptor of a file drops every ``fcntl`` lock the process holds
on it, SQLite's included. Opening the database file to read its header and closing it again
while another thread of the process was inside a transaction let a second process write over
that transaction: the log was corrupted within seconds under concurrent writers. So:

- the header is read through one descriptor per file per process (:func:`hold`), opened before
  the first SQLite connection of the process to that file and closed only after the last
  :class:`~vasp_rules.audit.log.DecisionLog` of the process on that file closed;
- the lock that keeps a batch run contiguous (:func:`run_lock`) is an ``flock`` on a sibling
  file, ``DB-lock``, never on the database file itself.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from vasp_rules.audit.log.errors import LogBusyError, LogFormatError, NotALogError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own lock only
    fcntl = None  # type: ignore[assignment]

#: Bytes of the SQLite header the log checks before SQLite opens the file.
HEADER_SIZE = 100
#: Suffix of the sibling lock file (beside SQLite's own ``-wal`` and ``-shm``).
LOCK_SUFFIX = "-lock"


@dataclass
class _Held:
    fd: int
    users: int = 0
    key: tuple[int, int] = field(default=(0, 0))


_registry_lock = threading.Lock()
_registry: dict[tuple[int, int], _Held] = {}


@dataclass(frozen=True)
class Handle:
    """One use of the process-wide descriptor of a log file; give it back with :func:`release`."""

    key: tuple[int, int]

    def header(self) -> bytes:
        """The file's first :data:`HEADER_SIZE` bytes, read without opening the file again."""
        with _registry_lock:
            held = _registry[self.key]
            return os.pread(held.fd, HEADER_SIZE, 0)


def hold(path: Path) -> Handle:
    """Take a use of the descriptor of ``path`` (opened on first use in this process)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise LogFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise LogFormatError(f"{path}: cannot read: {exc.strerror}") from None
    if os.path.isdir(path):
        raise NotALogError(f"{path}: is a directory, not a decision log")
    key = (st.st_dev, st.st_ino)
    with _registry_lock:
        held = _registry.get(key)
        if held is None:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                raise LogFormatError(f"{path}: no such file") from None
            except OSError as exc:
                raise LogFormatError(f"{path}: cannot read: {exc.strerror}") from None
            opened = os.fstat(fd)
            key = (opened.st_dev, opened.st_ino)  # the file may have been replaced meanwhile
            held = _registry.get(key)
            if held is None:
                held = _registry[key] = _Held(fd, 0, key)
            else:  # pragma: no cover - replaced by a file this process already holds
                os.close(fd)
        held.users += 1
        return Handle(key)


def release(handle: Handle) -> None:
    """Give back a use; the descriptor closes with the last one (after every SQLite
    connection of the process to this file has closed, so no lock of SQLite is dropped)."""
    with _registry_lock:
        held = _registry.get(handle.key)
        if held is None:
            return
        held.users -= 1
        if held.users <= 0:
            del _registry[handle.key]
            os.close(held.fd)


def held_descriptors() -> int:
    """How many log files this process holds a descriptor of (for tests)."""
    with _registry_lock:
        return len(_registry)


def lock_path(path: Path) -> Path:
    """The sibling lock file of the log at ``path``."""
    return path.with_name(path.name + LOCK_SUFFIX)


@contextmanager
def run_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on the log's sibling lock file, waited for up to ``timeout``
    seconds. Each call opens the lock file anew, so threads of one process exclude each other
    as processes do. The lock file is created 0600 and never removed (removing it would let
    two writers lock two different files)."""
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    target = lock_path(path)
    try:
        fd = os.open(target, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise LogBusyError(
            f"{path}: cannot open the lock file {target.name}: {exc.strerror}"
        ) from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LogBusyError(f"{path}: log is busy: another run is recording") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # releases the flock
