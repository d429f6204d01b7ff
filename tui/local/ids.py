"""Ids in the shapes real servers use: `resp_` / `msg_` / `mcpl_` + 32 hex digits.

With a seed the sequence is deterministic (tests, demo data, screenshots).
"""

from __future__ import annotations

import hashlib
import itertools
import secrets


class IdFactory:
    def __init__(self, seed: int | str | None = None) -> None:
        self._seed = None if seed is None else str(seed)
        self._counter = itertools.count(1)

    def _hex(self) -> str:
        if self._seed is None:
            return secrets.token_hex(16)
        n = next(self._counter)
        return hashlib.sha256(f"{self._seed}:{n}".encode()).hexdigest()[:32]

    def response(self) -> str:
        return "resp_" + self._hex()

    def message(self) -> str:
        return "msg_" + self._hex()

    def mcp_list(self) -> str:
        return "mcpl_" + self._hex()

    def item(self, prefix: str) -> str:
        return f"{prefix}_" + self._hex()
