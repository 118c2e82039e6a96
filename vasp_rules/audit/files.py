"""Private files: everything the audit code creates is readable by its owner only (0600).

Stand-in written by helper "privacy" with the interface helper "durability" owns; the lead
merges theirs over it.
"""

from __future__ import annotations

import os
from typing import BinaryIO


def create_private(path: str | os.PathLike[str]) -> BinaryIO:
    """Create ``path`` as a new, empty file of mode 0600 and open it for binary writing;
    :class:`FileExistsError` if anything is there already."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only have removed bits
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
