"""Files the audit code creates are private to their owner (mode 0600).

A decision log, its lock file, a key store, a backup or a key file may hold what other local
users must not read (decisions, keys), whatever the process's umask. Use
:func:`create_private` for a file this code writes itself, :func:`open_private` for a file
opened or created again and again (a lock file), and :func:`private_umask` around code that
lets SQLite create a database: SQLite creates the ``-wal`` and ``-shm`` files itself, with the
database file's mode, so a database created 0600 keeps its companions 0600 too. (Simplest for
a new database: ``create_private(path).close()``, then connect: SQLite takes an empty file as
a new database.)

A file that must never be seen half-written (a new log, a backup) is built under
:func:`aside`, put in place by :func:`publish` (a hard link: refuses to replace anything) and
the leftover removed with :func:`discard`.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

__all__ = [
    "PRIVATE_MODE",
    "aside",
    "create_private",
    "discard",
    "fsync_dir",
    "open_private",
    "private_umask",
    "publish",
]

#: read and write for the owner, nothing for anyone else
PRIVATE_MODE: Final = 0o600

_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)


def create_private(path: str | os.PathLike[str]) -> BinaryIO:
    """Create ``path`` as a new, empty file of mode 0600 and open it for binary writing.

    Exclusive: raises :class:`FileExistsError` if anything (even a dangling symbolic link)
    is there, so it never truncates or follows what another user put in the way.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, PRIVATE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_MODE)  # the umask may only have removed bits; make it exact
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def open_private(path: str | os.PathLike[str]) -> int:
    """Open ``path`` for reading and writing, creating it 0600 if absent; returns the file
    descriptor. For files opened repeatedly, such as a lock file; a file that exists keeps
    its mode, and a symbolic link at the last component is refused (where the platform can)."""
    return os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, PRIVATE_MODE)


def aside(path: Path, what: str) -> Path:
    """A fresh name beside ``path`` to build a file under before :func:`publish` puts it in
    place (hidden, unique to this process and call)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.{what}")


def publish(built: Path, path: Path) -> bool:
    """Put the finished file ``built`` at ``path`` in one step, never replacing anything:
    a hard link, so no one ever sees a half-written file (where the file system has no hard
    links, an exclusive private create and a copy). Returns False, leaving ``path`` as it
    was, when something is already there. ``built`` stays for the caller to remove."""
    with open(built, "rb") as fh:
        os.fsync(fh.fileno())
    try:
        os.link(built, path)
    except FileExistsError:
        return False
    except OSError:
        try:
            with create_private(path) as out:
                out.write(Path(built).read_bytes())
                out.flush()
                os.fsync(out.fileno())
        except FileExistsError:
            return False
    fsync_dir(path.parent)
    return True


def discard(built: Path) -> None:
    """Remove a file built aside that was not published, with SQLite's companions of it."""
    for leftover in (
        built,
        built.with_name(built.name + "-wal"),
        built.with_name(built.name + "-shm"),
    ):
        leftover.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a new name in ``directory`` durable (best effort: not every platform can)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_umask_lock = threading.Lock()
_umask_depth = 0
_umask_saved = 0


@contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files and folders this process creates get no group or other
    permission (umask 0o077): for files SQLite creates itself.

    The umask is process-wide: nested and concurrent uses in several threads share one
    setting, and the first umask comes back when the last block ends.
    """
    global _umask_depth, _umask_saved
    with _umask_lock:
        if _umask_depth == 0:
            _umask_saved = os.umask(0o077)
        _umask_depth += 1
    try:
        yield
    finally:
        with _umask_lock:
            _umask_depth -= 1
            if _umask_depth == 0:
                os.umask(_umask_saved)
