"""each_bounded runs one coroutine per id, a few at a time; in_order puts results back in order."""

from __future__ import annotations

import asyncio

import pytest

from tui.ops.bounded import each_bounded, in_order


class Gauge:
    """Work that records which ids ran and how many ran at once."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.running = 0
        self.most = 0

    async def __call__(self, rid: str) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        for _ in range(3):  # give every other waiting task the chance to start
            await asyncio.sleep(0)
        self.seen.append(rid)
        self.running -= 1


@pytest.mark.parametrize(
    ("concurrency", "most"),
    [(1, 1), (2, 2), (3, 3), (10, 5), (0, 1), (-4, 1)],
)
async def test_at_most_concurrency_run_at_once_and_never_fewer_than_one(concurrency, most):
    gauge = Gauge()
    ids = ["a", "b", "c", "d", "e"]
    await each_bounded(ids, gauge, concurrency=concurrency)
    assert sorted(gauge.seen) == ids  # every id, each once
    assert gauge.most == most


async def test_progress_counts_up_to_the_total_after_each_one():
    calls: list[tuple[int, int]] = []
    await each_bounded(
        ["x", "y", "z"], Gauge(), concurrency=2, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


async def test_work_gets_the_ids_themselves_in_order_when_sequential():
    gauge = Gauge()
    await each_bounded(["r1", "r2", "r3"], gauge, concurrency=1)
    assert gauge.seen == ["r1", "r2", "r3"]


async def test_no_progress_callback_and_no_ids_are_fine():
    gauge = Gauge()
    await each_bounded([], gauge, concurrency=3)
    await each_bounded(["only"], gauge, concurrency=3)
    assert gauge.seen == ["only"]


@pytest.mark.parametrize(
    ("found", "order", "expected"),
    [
        (["c", "a"], ["a", "b", "c"], ["a", "c"]),
        ({"b", "c", "a"}, ["c", "b", "a"], ["c", "b", "a"]),
        ([], ["a"], []),
    ],
)
def test_in_order_follows_the_given_order(found, order, expected):
    assert in_order(found, order) == expected


def test_in_order_refuses_an_id_not_in_the_order():
    with pytest.raises(KeyError):
        in_order(["z"], ["a"])
