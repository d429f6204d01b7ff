"""The collector pause used while the index loads: always restored, frozen only when large."""

from __future__ import annotations

import gc

import pytest

from tui.gcpause import FREEZE_ABOVE, gc_paused


@pytest.fixture(autouse=True)
def _unfreeze():
    gc.unfreeze()  # earlier tests' apps froze what they had built
    yield
    gc.unfreeze()
    gc.enable()


def test_collector_is_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with gc_paused(lambda: 0):
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_collector_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), gc_paused(lambda: 0):
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with gc_paused(lambda: 0):
        pass
    assert not gc.isenabled()


def test_large_loads_are_frozen() -> None:
    with gc_paused(lambda: FREEZE_ABOVE + 1):
        kept = [[i] for i in range(1000)]
    assert gc.get_freeze_count() >= len(kept)


def test_freeze_once_freezes_only_the_first_time(monkeypatch):
    import tui.gcpause as gcpause

    monkeypatch.setattr(gcpause, "_frozen_once", False)
    kept = [[i] for i in range(1000)]
    assert gcpause.freeze_once() is True
    assert gc.get_freeze_count() >= len(kept)
    gc.unfreeze()
    assert gcpause.freeze_once() is False
    assert gc.get_freeze_count() == 0


def test_freeze_long_lived_collects_garbage_first():
    import weakref

    from tui.gcpause import freeze_long_lived

    class Cycle:
        pass

    gc.disable()  # so nothing collects the cycle before freeze_long_lived does
    a, b = Cycle(), Cycle()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b  # only the cycle holds them now
    assert gone() is not None
    freeze_long_lived()
    assert gone() is None  # collected, not frozen


def test_the_app_process_runs_small_young_collections_and_no_full_ones_of_its_own():
    from tui.gcpause import MIDDLE_GENERATION, NEVER, YOUNG_GENERATION, tune_for_interaction

    gc.set_threshold(700, 10, 10)
    tune_for_interaction()
    assert gc.get_threshold() == (YOUNG_GENERATION, MIDDLE_GENERATION, NEVER)
    assert 700 < YOUNG_GENERATION <= 5_000  # a few ms per young collection, not 15-37
    assert NEVER > 10**8


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _middle_collections(count: int) -> None:
    for _ in range(count):
        gc.collect(1)  # each one counts towards the next full collection


def test_the_idle_collector_runs_a_full_collection_once_the_user_has_stopped():
    import weakref

    from tui.gcpause import IDLE_AFTER, IdleCollector

    clock = Clock()
    collector = IdleCollector(clock)
    gc.collect()
    assert collector.tick(busy=False) is False  # nothing pending since the last one
    gc.disable()  # only the collector's own collections from here
    try:

        class Cycle:
            pass

        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        _middle_collections(1)  # the cycle is now older than the middle generation
        gone = weakref.ref(a)
        del a, b
        collector.activity()
        clock.now += IDLE_AFTER / 2
        assert collector.tick(busy=False) is False  # the user is at it
        clock.now += IDLE_AFTER / 2
        assert collector.tick(busy=True) is False  # a reply is streaming
        assert gone() is not None
        assert collector.tick(busy=False) is True
        assert gone() is None
        assert gc.get_count()[2] == 0
    finally:
        gc.enable()


def test_the_idle_collector_runs_one_anyway_after_many_middle_collections():
    from tui.gcpause import FULL_AT_THE_LATEST, IdleCollector

    clock = Clock()
    collector = IdleCollector(clock)
    gc.collect()
    gc.disable()
    try:
        _middle_collections(FULL_AT_THE_LATEST - 1)
        collector.activity()
        assert collector.tick(busy=True) is False
        _middle_collections(1)
        assert collector.tick(busy=True) is True  # busy all along: garbage stays bounded
        assert gc.get_count()[2] == 0
    finally:
        gc.enable()
