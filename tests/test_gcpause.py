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


def test_the_app_process_gets_a_big_young_generation():
    from tui.gcpause import YOUNG_GENERATION, tune_for_interaction

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_for_interaction()
        assert gc.get_threshold() == (YOUNG_GENERATION, 20, 10)
        gc.set_threshold(100_000, 30, 5)
        tune_for_interaction()  # never lowers what someone set higher
        assert gc.get_threshold() == (100_000, 30, 5)
    finally:
        gc.set_threshold(*saved)
