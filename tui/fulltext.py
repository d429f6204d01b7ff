"""The full-text index of every stored turn, as the app keeps it: built in the background on
first use (the event loop stays responsive), searched while it builds, kept current after
each change, and built again after an import or a sync. No Textual here: the app runs `build`
in a worker and says when the index changed.
"""

from __future__ import annotations

import asyncio

from tui.gcpause import FREEZE_ABOVE, freeze_long_lived
from tui.search import SearchIndex
from tui.store.index import Index

Key = tuple[str, str]
STEP = 100  # turns indexed between two yields to the event loop


class FullText:
    def __init__(self, index: Index) -> None:
        self.index = index
        self.searcher = SearchIndex(index)  # the one searched once ready
        self.ready = False  # built at least once
        self.stale = True  # the index changed in bulk (import, sync) since it was built
        self.building: SearchIndex | None = None  # the one being built, searched meanwhile
        self.progress: tuple[int, int] | None = None  # (done, total) while building
        self._generation = 0  # bumped by bulk changes

    @property
    def usable(self) -> bool:
        """Whether a search now sees every stored turn."""
        return self.ready and not self.stale

    def wants_build(self) -> bool:
        """Whether a build should start: not usable, and none running (starting again would
        throw away what a build running since the first keystroke has done). Says so at
        once: a dialog opened now shows the progress."""
        if self.progress is not None or self.usable:
            return False
        self.progress = (0, len(self.index))
        return True

    async def build(self) -> None:
        """Index every turn, one shard at a time, yielding to the event loop as it goes."""
        if self.usable:
            self.progress = None
            return
        fresh = SearchIndex(self.index)
        generation = self._generation
        nodes = sorted(self.index.nodes(), key=lambda n: n.shard)
        self.building = fresh
        self.progress = (0, len(nodes))
        try:
            for n, summary in enumerate(nodes):
                fresh.update(summary.key)
                if n % STEP == STEP - 1:
                    self.progress = (n + 1, len(nodes))
                    await asyncio.sleep(0)
        finally:
            self.building = None
            self.progress = None
        self.searcher = fresh
        self.ready = True
        # An import or a sync that landed meanwhile is not in it: built again on next use.
        self.stale = generation != self._generation
        if len(fresh) > FREEZE_ABOVE:  # kept from now on: out of the collector's full passes
            freeze_long_lived()

    def current(self) -> SearchIndex:
        """The index being built, while it is (a search dialog searches what is ready)."""
        return self.building if self.building is not None else self.searcher

    def changed(self, key: Key) -> None:
        """A turn was added, changed or removed."""
        if self.ready:
            self.searcher.update(key)
        if self.building is not None:  # it may have read this one before it changed
            self.building.update(key)

    def bulk_changed(self) -> None:
        """Many turns changed (an import, a sync): built again on next use."""
        self._generation += 1
        self.stale = True
