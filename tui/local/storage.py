"""The offline backend's own storage: one JSON file per stored response, plus `clock` (the
last `created_at` handed out, so stamps keep their order across processes).

Separate from the client index on purpose (a real server's storage is not ours). With no
directory it keeps everything in memory. Writes are atomic (temp file, fsync, rename), 0600.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from tui.store.atomic import write_private_file

CLOCK_FILE = "clock"  # the last created_at handed out (not a record: records are *.json)
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def safe_id(response_id: str) -> bool:
    return bool(_SAFE_ID.match(response_id or ""))


class BackendStore:
    """Records: {"response": {...}, "input": [...], "seq": int} (+ "pending": the finished
    response, while a background one runs)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._last_stamp: int | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, response_id: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{response_id}.json"

    def put(self, record: dict[str, Any]) -> None:
        rid = record["response"]["id"]
        if not safe_id(rid):
            raise ValueError(f"unsafe id {rid!r}")
        with self._lock:
            if self.directory is None:
                self._memory[rid] = json.loads(json.dumps(record))
            else:
                write_private_file(self._path(rid), json.dumps(record).encode("utf-8"))

    def get(self, response_id: str) -> dict[str, Any] | None:
        if not safe_id(response_id):
            return None
        with self._lock:
            if self.directory is None:
                record = self._memory.get(response_id)
                return json.loads(json.dumps(record)) if record is not None else None
            try:
                return json.loads(self._path(response_id).read_text("utf-8"))
            except (OSError, ValueError):
                return None

    def delete(self, response_id: str) -> bool:
        if not safe_id(response_id):
            return False
        with self._lock:
            if self.directory is None:
                return self._memory.pop(response_id, None) is not None
            try:
                self._path(response_id).unlink()
                return True
            except FileNotFoundError:
                return False

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            if self.directory is None:
                records = [json.loads(json.dumps(r)) for r in self._memory.values()]
            else:
                records = []
                for path in self.directory.glob("*.json"):
                    try:
                        records.append(json.loads(path.read_text("utf-8")))
                    except (OSError, ValueError):
                        continue
        return records

    def next_stamp(self, now: int) -> int:
        """A `created_at` for a new response: `now`, or one second after the last one handed
        out over this storage if that is later. Kept in the `clock` file beside the records,
        so separate processes on the same storage (each CLI run) never tie either, stored
        responses or not."""
        with self._lock:
            last = self._last_stamp
            if self.directory is not None:
                try:
                    last = max(last or 0, int(self._clock_path().read_text("ascii")))
                except FileNotFoundError:
                    last = max(last or 0, self._newest_created_at())  # storage from before
                except (OSError, ValueError):
                    pass
            stamp = max(now, (last or 0) + 1)
            self._last_stamp = stamp
            if self.directory is not None:
                write_private_file(self._clock_path(), str(stamp).encode("ascii"))
            return stamp

    def _clock_path(self) -> Path:
        assert self.directory is not None
        return self.directory / CLOCK_FILE

    def _newest_created_at(self) -> int:
        newest = 0
        if self.directory is None:
            return newest
        for path in self.directory.glob("*.json"):
            try:
                created = json.loads(path.read_text("utf-8"))["response"]["created_at"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if isinstance(created, int | float) and not isinstance(created, bool):
                newest = max(newest, int(created))
        return newest
