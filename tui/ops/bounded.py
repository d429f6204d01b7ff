"""Run one coroutine per id, a few at a time, reporting progress (deletes, syncs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def each_bounded(
    ids: Sequence[str],
    work: Callable[[str], Awaitable[None]],
    *,
    concurrency: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Await `work(id)` for every id, at most `concurrency` at once; `progress(done, total)`
    after each one finishes. `work` handles its own errors."""
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(rid: str) -> None:
        nonlocal done
        async with gate:
            await work(rid)
        done += 1
        if progress is not None:
            progress(done, len(ids))

    await asyncio.gather(*(one(rid) for rid in ids))


def in_order(found: Iterable[str], order: Sequence[str]) -> list[str]:
    """`found` (finished in whatever order the concurrent work ended) in the order of
    `order`, which holds every one of them."""
    position = {rid: n for n, rid in enumerate(order)}
    return sorted(found, key=position.__getitem__)
