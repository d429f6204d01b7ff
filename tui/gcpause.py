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

# The app's collector (`tune_for_interaction`, `IdleCollector`). Measured with bench/run at
# 1,000 and 10,000 responses, against CPython's automatic policy with a 50,000 young
# generation: the longest frame while paging through the graph 46-50 ms -> 14-18 ms (with
# middle collections every 10 young ones; every 5: 9-14 ms), a stream's longest stall
# 64-69 ms -> 29-37 ms, a delete's up to 503 ms -> 24-31 ms.
YOUNG_GENERATION = 3_000  # allocations between young collections (CPython's default: 700)
MIDDLE_GENERATION = 5  # young collections between middle ones
NEVER = 1 << 30  # the full collection's own threshold: the app runs it (IdleCollector)
IDLE_AFTER = 1.0  # seconds without a key, a click or a stream before a full collection
FULL_AT_THE_LATEST = 100  # middle collections after which a full one runs, idle or not


def tune_for_interaction() -> None:
    """The app's policy: small, cheap young and middle collections (a few ms each: the
    cost of a collection is the objects it walks), and full collections when the user is
    not looking (`IdleCollector`) instead of whenever CPython's counters say so. A full
    collection walks everything created since the first screen (`freeze_once`): 30-250 ms
    with a session's widgets, caches and garbage, a visible stall mid-scroll or mid-stream
    when it came on its own. With CPython's 700 and automatic full collections, the objects
    of a frame survived two young collections and piled up into full collections every
    ~0.4 s while a reply streamed; a 50,000 young generation avoided those, but then each
    young collection walked 50,000 objects, 15-37 ms, in the middle of a frame."""
    gc.set_threshold(YOUNG_GENERATION, MIDDLE_GENERATION, NEVER)


class IdleCollector:
    """Runs the full collections that `tune_for_interaction` took away from CPython: once the
    user has done nothing for `IDLE_AFTER` seconds (no key, no click, no reply streaming),
    or, whatever the user does, once `FULL_AT_THE_LATEST` middle collections have passed
    since the last full one (so a long stream or a long session of keys cannot let garbage
    grow without bound). The app calls `activity` on input and `tick` a few times a
    second."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.last_activity = clock()

    def activity(self) -> None:
        self.last_activity = self.clock()

    def tick(self, busy: bool) -> bool:
        """A full collection now if one is due; `busy`: a reply is streaming. True when it
        ran."""
        pending = gc.get_count()[2]  # middle collections since the last full one
        if pending == 0:
            return False
        idle = not busy and self.clock() - self.last_activity >= IDLE_AFTER
        if idle or pending >= FULL_AT_THE_LATEST:
            gc.collect()
            return True
        return False


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
