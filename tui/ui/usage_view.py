"""Usage and cost on screen: the path's totals above the transcript (`PathUsage`), and the
price table loaded off the UI thread for whoever shows a cost (`pricer`).

The price table (genai-prices, ~120 ms to import) is loaded in a thread the first time a cost
is to be shown on a server that can have prices; until it is in, totals show their tokens
only, and the widget that asked draws again once it is. The offline backend has no prices:
its costs read "unknown price" at once, and the table is never loaded for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from decimal import Decimal

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from tui import cost
from tui.cost import TurnUsage
from tui.ops.usage_book import UsageBook

Key = tuple[str, str]
Pricer = Callable[[TurnUsage], Decimal | None]


def pricer(widget: Widget, servers: Iterable[str], then: Callable[[], None]) -> Pricer | None:
    """`cost.price` when costs can be shown now; else None, and the price table starts
    loading in a thread, after which `then` runs (on the UI thread)."""
    if cost.prices_loaded() or not any(cost.priceable(server) for server in servers):
        return cost.price
    if getattr(widget, "_prices_asked", False):
        return None  # loading already (each line of the graph asks as it is drawn)
    widget._prices_asked = True  # type: ignore[attr-defined]

    def load() -> None:
        cost.load_prices()
        with contextlib.suppress(RuntimeError):  # the app closed meanwhile
            widget.app.call_from_thread(then)

    def start() -> None:
        widget.run_worker(load, thread=True, group="prices", exclusive=True, exit_on_error=False)

    widget.call_after_refresh(start)  # after this frame: the first screen does not wait
    return None


class PathUsage(Static):
    """One line above the transcript: the totals of the path shown (root → turn)."""

    DEFAULT_CSS = """
    PathUsage {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        background: $boost;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, book: UsageBook, **kw: object) -> None:
        super().__init__(Text(""), **kw)  # type: ignore[arg-type]
        self.book = book
        self.keys: list[Key] = []
        self.totals: cost.Totals | None = None
        self.display = False

    def show_path(self, keys: list[Key]) -> None:
        """Show the totals of `keys` (root first); nothing for no path."""
        self.keys = list(keys)
        self.draw()

    def draw(self) -> None:
        if not self.keys:
            self.totals = None
            self.display = False
            return
        price = pricer(self, {key[0] for key in self.keys[-1:]}, self.draw)
        self.totals = cost.path_total(self.keys, self.book, pricer=price)
        line = Text("path: ", style="bold")
        line.append(cost.totals_text(self.totals))
        self.update(line)
        self.display = True
