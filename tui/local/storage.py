"""The offline backend's own storage: one JSON file per stored response.

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

_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def safe_id(response_id: str) -> bool:
    return bool(_SAFE_ID.fullmatch(response_id or ""))  # fullmatch: "$" allows a final \n


class BackendStore:
    """Records: {"response": {...}, "input": [...], "seq": int} (+ "pending": the finished
    response, while a background one runs)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
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
