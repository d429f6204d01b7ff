"""Each turn's usage figures, read from the index's recorded responses and remembered.

The figures of a finished turn never change, so each body is read once however often a path
total or a subtree total is asked for (moving the cursor along a 1,000-turn path reads each
turn's body the first time only). A turn is remembered with its status: a reply that was
streaming when first read (no usage yet) is read again once it has finished.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from tui.cost import TurnUsage, turn_usage
from tui.store.index import Index
from tui.store.records import Status

Key = tuple[str, str]
REMEMBERED = 200_000  # turns kept; past that the memory starts afresh


class UsageBook:
    def __init__(self, index: Index) -> None:
        self.index = index
        self._known: dict[Key, tuple[Status, TurnUsage]] = {}

    def __call__(self, key: Key) -> TurnUsage | None:
        """The figures of `key` (None when it is not in the index)."""
        summary = self.index.get(*key)
        if summary is None:
            return None
        known = self._known.get(key)
        if known is not None and known[0] == summary.status:
            return known[1]
        try:
            response = self.index.load_body(*key)["response"]
        except KeyError:
            return None
        figures = turn_usage(
            response, model=summary.model, server=summary.server, created_at=summary.created_at
        )
        if len(self._known) >= REMEMBERED:
            self._known.clear()
        self._known[key] = (summary.status, figures)
        return figures

    def forget(self, key: Key) -> None:
        self._known.pop(key, None)


_BOOKS: WeakKeyDictionary[Index, UsageBook] = WeakKeyDictionary()


def book_of(index: Index) -> UsageBook:
    """The one book of `index`: the path's line, the graph and the composer share it, so a
    turn read again (`forget`) is read again for all of them."""
    book = _BOOKS.get(index)
    if book is None:
        book = _BOOKS[index] = UsageBook(index)
    return book
