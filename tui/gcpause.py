"""Pause the cyclic garbage collector while many long-lived objects are built at once.

Loading 100,000 response summaries (and the forest over them) allocates a few hundred
thousand objects. With the collector on, it walks all of them many times along the way and
again in the first full collections afterwards: at 100,000 responses that was 1.4 s of a
3.1 s start. None of these objects form cycles, so nothing is lost by pausing it. After a
large load they are frozen into the permanent generation (`gc.freeze`), so the running app's
collections never walk them again; reference counting still frees them when they go away.
Small loads are not frozen: there the collector costs nothing noticeable, and freezing would
also pin whatever cyclic garbage happens to exist at that moment.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

FREEZE_ABOVE = 20_000  # objects: below this, the collector's cost is not worth avoiding


@contextmanager
def gc_paused(size: Callable[[], int]) -> Iterator[None]:
    """Run the block with the collector paused; freeze afterwards if `size()` (how many
    objects the block built) is above `FREEZE_ABOVE`."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if size() > FREEZE_ABOVE:
            gc.freeze()
        if was_enabled:
            gc.enable()


_frozen_once = False

YOUNG_GENERATION = 50_000  # allocations between young collections (CPython's default: 700)


def tune_for_interaction() -> None:
    """A bigger young generation for the app's process. With CPython's 700, the objects of a
    frame being rendered (strips, segments, a Markdown re-parse) survive two young
    collections, get promoted, and pile up until a full collection walks everything: while a
    reply streamed at 500 deltas/s that was every ~0.4 s, and 50-220 ms each as the session
    grew. With 50,000 they die young: over the same benchmark session, one full collection
    instead of 25, and the stream's longest loop stall fell from 220 ms to ~40 ms. Costs a
    few MB more of not-yet-collected garbage."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_GENERATION), max(middle, 20), old)


def freeze_long_lived() -> None:
    """Collect what is garbage now, then move every object still alive into the permanent
    generation. For a process that has just built what it keeps for its lifetime (the app
    after its first screen; the full-text search index): full collections then walk only
    what is created afterwards. Measured in the app at 10,000 responses while a reply
    streams: full collections went from 65-87 ms every ~0.35 s (the visible stalls of a fast
    stream) to 10-14 ms."""
    gc.collect()
    gc.freeze()


def freeze_once() -> bool:
    """`freeze_long_lived` the first time it is called in this process (the app's first
    screen); False afterwards. Once is enough: later apps in the same process (tests) would
    only pay for a full collection each. The cost: widgets of that first screen that are
    replaced later (the first transcript) stay in memory, since frozen objects that form
    cycles are never collected; that happens once, for one screen's worth of widgets."""
    global _frozen_once
    if _frozen_once:
        return False
    _frozen_once = True
    freeze_long_lived()
    return True
