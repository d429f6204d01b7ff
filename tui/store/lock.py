"""One writer per index: an exclusive `flock` on `index.lock`, refused with a clear message.

TinyDB is not safe with two writers (two processes corrupted the file in measurements), so a
second instance is refused instead of risking the user's data. The lock dies with the process.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


class IndexInUse(Exception):
    """Another responses-tui process (or another open Index) holds this index."""


class IndexLock:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "index.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        # Python opens every descriptor close-on-exec already (PEP 446).
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            # Never follow a symlink planted here: it would truncate the file it points at.
            raise OSError(
                f"{self.path} is a symbolic link, not the index's lock file: remove it"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            try:
                pid = os.pread(fd, 32, 0).decode().strip()
                holder = f" (pid {pid})" if pid.isdigit() else ""
            except (OSError, UnicodeDecodeError):  # not a pid of ours: the holder is not named
                pass
            os.close(fd)
            raise IndexInUse(
                f"the index at {self.path.parent} is in use by another responses-tui{holder}; "
                "close it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
