"""Private files: everything the audit code creates is readable by its owner only (0600).

Stand-in written by helper "privacy" with the interface helper "durability" owns; the lead
merges theirs over it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def create_private(path: str | os.PathLike[str]) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist; make it 0600 if it does."""
    fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


@contextmanager
def private_umask() -> Iterator[None]:
    """Within the block, files created (SQLite's ``-wal`` and ``-shm`` too) are 0600 at most."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
