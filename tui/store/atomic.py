"""Crash-safe files: write a temp file, fsync it, rename it over the target, fsync the directory.

A reader therefore sees the old file or the new one, never half of one. `AtomicJSONStorage`
is a TinyDB storage built on that, with the parsed data cached in memory (TinyDB re-reads its
storage on every operation; re-parsing a file each time is what makes stock TinyDB slow).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from tinydb.storages import Storage


def write_private_file(path: Path, *chunks: bytes, durable: bool = True) -> None:
    """Atomically replace `path` with `chunks` written one after the other, mode 0600.
    `durable=False` skips the fsyncs: for a cache, which a reader checks and ignores when
    damaged, a crash may cost the new copy.

    The temp file is created next to the target (so the rename stays on one file system) under
    a random name with O_EXCL and O_NOFOLLOW: whatever someone planted at a temp name (a symlink
    to a file of theirs or ours) is never followed nor written. It never outlives a failure.
    """
    path = Path(path)
    fd, temp = _create_temp(path)
    try:
        try:
            os.fchmod(fd, 0o600)
            for data in chunks:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW  # close-on-exec: PEP 446
    for _ in range(100):
        # `.<name>.<random>.tmp`: the shape `remove_stale_temp_files` cleans up after a crash.
        temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(temp, flags, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name next to {path}")


def _fsync_dir(directory: Path) -> None:
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


def remove_stale_temp_files(directory: Path) -> int:
    """Delete temp files left by a crash mid-write (only call while holding the index lock)."""
    removed = 0
    for temp in directory.rglob(".*.tmp"):
        try:
            temp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def move_aside(path: Path) -> Path:
    """Rename an unreadable file to `<name>.corrupt-<timestamp>` so it is never overwritten."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    return target


class AtomicJSONStorage(Storage):
    """TinyDB storage: atomic writes, 0600, in-memory cache, corrupt files moved aside.

    A file that is not a JSON object of tables (truncated, garbage, someone else's JSON) is
    renamed aside and a message is appended to `warnings`; the storage then starts empty.
    """

    def __init__(
        self, path: str | Path, warnings: list[str] | None = None, known: Stamp | None = None
    ) -> None:
        """`known`: the stamp of the file as it is now, whose content the caller already holds
        (from the start-up cache): the file is then read only when first needed."""
        self.path = Path(path)
        self.warnings = warnings if warnings is not None else []
        self.moved_aside: Path | None = None
        # The file this storage last read or wrote (size, mtime_ns, inode; None: no file):
        # another process's write replaces the file, so the stamp tells it apart.
        self.stamp: Stamp | None = None
        # When that file was read or written (time.time_ns()); None: known without reading.
        self.read_ns: int | None = None
        self._cache: dict[str, Any] | None = None
        if known is None:
            self._load()
        else:
            self.stamp = known
            self._loaded = False

    def _load(self) -> None:
        self._cache = None
        self._loaded = True
        self.stamp = None
        self.read_ns = time.time_ns()
        if not self.path.exists():
            return
        try:
            with open(self.path, "rb") as file:  # the stamp and the bytes of one same file
                self.stamp = stamp_of(os.fstat(file.fileno()))
                raw = file.read()
            data = json.loads(raw or b"{}")
            if not _is_tinydb_shape(data):
                raise ValueError("not a TinyDB document")
            self._cache = data
        except (ValueError, UnicodeDecodeError, OSError, RecursionError) as error:
            reason = "not valid JSON" if isinstance(error, ValueError) else str(error)
            if isinstance(error, RecursionError):
                reason = "nested too deeply"
            elif isinstance(error, ValueError) and str(error) == "not a TinyDB document":
                reason = "not an index file"
            self.stamp = None
            self.moved_aside = move_aside(self.path)
            self.warnings.append(
                f"{self.path.name} was unreadable ({reason}); it was moved aside to "
                f"{self.moved_aside.name} and a fresh one started"
            )

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._load()
        return self._cache

    def release(self) -> None:
        """Forget the parsed data (it is read again from the file when next needed). The
        index keeps its own summaries of every shard, so holding each shard's parsed JSON as
        well would double the memory of a large index for nothing."""
        self._cache = None
        self._loaded = False

    def write(self, data: dict[str, Any]) -> None:
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        write_private_file(self.path, encoded)
        self.stamp = file_stamp(self.path)  # written under the index lock: still ours
        self.read_ns = time.time_ns()
        self._cache = data
        self._loaded = True

    def close(self) -> None:
        pass


Stamp = tuple[int, int, int]

# A file (or directory) changed this recently may change again within its file system's
# clock tick, unseen by its mtime: until it is older than this, its mtime proves nothing.
SETTLE_NS = 2_000_000_000


def stamp_of(status: os.stat_result) -> Stamp:
    """What tells one version of a file from another: an atomic write makes a new inode."""
    return (status.st_size, status.st_mtime_ns, status.st_ino)


def file_stamp(path: Path) -> Stamp | None:
    try:
        return stamp_of(os.stat(path))
    except OSError:
        return None


def _is_tinydb_shape(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    for table in data.values():
        if not isinstance(table, dict):
            return False
        for doc_id, doc in table.items():
            if not (
                isinstance(doc_id, str)
                and doc_id.isascii()
                and doc_id.isdigit()
                and isinstance(doc, dict)
            ):
                return False
    return True
