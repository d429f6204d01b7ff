"""One writer at a time: an exclusive `flock` on `index.lock`, taken for each write.

TinyDB is not safe with two writers (two processes corrupted the file in measurements), so
every write of the index happens under this lock; readers need none (every file is replaced
atomically). The index takes it per write (waiting a little for another writer), so the CLI
and several apps can use one index at once. The lock dies with the process.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path


class IndexInUse(Exception):
    """Another responses-tui process (or another open Index) holds this index."""


class IndexLock:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "index.lock"
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock; while another holds it, try again for up to `wait` seconds, then
        refuse with `IndexInUse` naming the holder."""
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
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() < deadline:
                    time.sleep(0.005)
                    continue
                holder = ""
                try:
                    pid = os.pread(fd, 32, 0).decode().strip()
                    holder = f" (pid {pid})" if pid.isdigit() else ""
                except (OSError, UnicodeDecodeError):  # not a pid of ours: not named
                    pass
                os.close(fd)
                where = f"the index at {self.path.parent}"
                if wait > 0:  # a writer that does not let go: a hung process, most likely
                    raise IndexInUse(
                        f"{where} is busy: another responses-tui{holder} has been writing to "
                        f"it for {wait:g} s; try again, or end that process"
                    ) from None
                raise IndexInUse(
                    f"{where} is in use by another responses-tui{holder}; close it first"
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
