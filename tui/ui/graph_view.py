"""The branch graph widget: the rows of `tui.graph` drawn on Textual's line API.

A `ScrollView` with `render_line`, as Textual's own `Log` and `DataTable` are: only the lines
on screen are drawn, so 100,000 turns cost what one screen costs. The widget owns what the
user opened and folded (`GraphState`), the cursor and the keys that move and fold; what a row
says comes from `labeler` (the owner knows the index), drawn after the row's rails.

Keys (declared in `tui.ui.keys`): j/k (or arrows) move, g/G first and last, page up/down, l
opens (a conversation, a closed fork, a folded run), h closes what the cursor is on or goes to
the turn above it that can close, space toggles. The cursor moving to a turn posts
`GraphView.Highlighted`; enter posts `Selected`. Mouse: a click moves the cursor, the wheel
scrolls.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.forest import Forest
from tui.graph import GraphState, Row, graph_rows
from tui.ui.keys import bindings

Key = Hashable
Labeler = Callable[[Row, int], Text]

TURN = "● "
FOLD = "┊ "


def plain_label(row: Row, width: int) -> Text:
    """A labeler for tests and for keys with no summary: the key itself."""
    return Text(str(row.key), no_wrap=True, overflow="ellipsis")


class GraphView(ScrollView, can_focus=True):
    """The conversations of one forest as a graph, one line per turn."""

    DEFAULT_CSS = """
    GraphView {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
    }
    GraphView > .graph--cursor {
        background: $accent 40%;
    }
    GraphView:focus > .graph--cursor {
        background: $accent;
        color: $text;
    }
    GraphView > .graph--rail {
        color: $text-muted;
    }
    GraphView > .graph--fold {
        color: $text-muted;
        text-style: italic;
    }
    """
    COMPONENT_CLASSES = {"graph--cursor", "graph--rail", "graph--fold"}

    BINDINGS = bindings("graph")  # tui/ui/keys.py

    cursor: reactive[int] = reactive(0, always_update=True)

    class Highlighted(Message):
        """The cursor is on the turn `key`."""

        def __init__(self, key: Key) -> None:
            super().__init__()
            self.key = key

    class Selected(Message):
        """Enter on the turn `key`."""

        def __init__(self, key: Key) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        forest: Callable[[], Forest],
        roots: Callable[[], Iterable[Key]],
        *,
        labeler: Labeler = plain_label,
        state: GraphState | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._forest = forest
        self._roots = roots
        self.labeler = labeler
        self.state = state or GraphState()
        self.shown: set[Key] | None = None
        self.rows: list[Row] = []
        self._line_cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
        self._highlighted: Key | None = None

    # ------------------------------------------------------------ rows

    @property
    def forest(self) -> Forest:
        return self._forest()

    def relayout(self, keep: Key | None = None) -> None:
        """Lay the rows out again from the forest and the state; the cursor stays on `keep`
        (default: the turn it is on) when that is still shown, else on the nearest row."""
        if keep is None and self.rows:
            keep = self.current_row.key if self.current_row else None
        old = self.cursor
        self.rows = graph_rows(self.forest, list(self._roots()), self.state, self.shown)
        self._line_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.rows))
        where = self.row_of(keep) if keep is not None else None
        self.cursor = where if where is not None else min(old, max(0, len(self.rows) - 1))
        self.refresh()

    def row_of(self, key: Key) -> int | None:
        """The line of the turn `key` (not of a fold row), None when not shown."""
        for y, row in enumerate(self.rows):
            if row.key == key and row.kind == "turn":
                return y
        return None

    @property
    def current_row(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_key(self) -> Key | None:
        row = self.current_row
        return row.key if row is not None and row.kind == "turn" else None

    def reveal(self, key: Key) -> None:
        """Open whatever hides `key` and move the cursor to it."""
        if key not in self.forest:
            return
        self.state.reveal(self.forest, key)
        self.relayout(keep=key)

    # ------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.size.width
        if line >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        cached_key = (line, width, int(line == self.cursor) + 2 * int(self.has_focus))
        strip = self._line_cache.get(cached_key)
        if strip is None:
            strip = self._draw(self.rows[line], width, line == self.cursor)
            self._line_cache[cached_key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _draw(self, row: Row, width: int, at_cursor: bool) -> Strip:
        base = self.rich_style
        rail = self.get_component_rich_style("graph--rail", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(row.prefix, style=rail)
        if row.kind == "fold":
            fold = self.get_component_rich_style("graph--fold", partial=True)
            text.append(FOLD, style=rail)
            turns = "turn" if row.hidden == 1 else "turns"
            text.append(f"{row.hidden} more {turns} (l shows them)", style=fold)
        else:
            text.append(TURN, style="bold" if row.forks else "")
            room = max(1, width - text.cell_len)
            text.append_text(self.labeler(row, room))
        text.truncate(width, overflow="ellipsis")
        if at_cursor:
            text.stylize(self.get_component_rich_style("graph--cursor", partial=True))
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments).extend_cell_length(width, base)

    def watch_cursor(self, old: int, new: int) -> None:
        if not self.rows:
            return
        new = max(0, min(new, len(self.rows) - 1))
        if new != self.cursor:
            self.cursor = new
            return
        self._line_cache.clear()
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True)
        self.refresh()
        key = self.current_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(key))

    def on_resize(self) -> None:
        self._line_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.rows))

    def on_focus(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        line = self.scroll_offset.y + event.y
        if 0 <= line < len(self.rows):
            self.cursor = line

    # ------------------------------------------------------------ keys

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor = max(0, self.cursor - 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, len(self.rows) - 1)

    def action_page_down(self) -> None:
        self.cursor += max(1, self.size.height - 1)

    def action_page_up(self) -> None:
        self.cursor = max(0, self.cursor - max(1, self.size.height - 1))

    def action_reply_or_more(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.Selected(key))
        else:
            self.action_unfold()

    def action_toggle_node(self) -> None:
        row = self.current_row
        if row is not None and (row.closed or row.kind == "fold"):
            self.action_unfold()
        else:
            self.action_fold()

    def action_unfold(self) -> None:
        """Open what the cursor is on: a closed conversation or fork, a folded run."""
        row = self.current_row
        if row is None:
            return
        state = self.state
        if row.kind == "fold":
            state.unfolded.add(row.key)
            self.relayout(keep=row.key)
            self.cursor = min(self.cursor + 1, len(self.rows) - 1)  # the first turn it hid
            return
        if row.closed:
            if row.key in state.closed:
                state.closed.discard(row.key)
            else:
                state.open.add(row.key)
            self.relayout(keep=row.key)

    def action_fold(self) -> None:
        """Close what the cursor is on (a fork, a conversation, an unfolded long run);
        anywhere else, go up to the turn that closes."""
        row = self.current_row
        if row is None:
            return
        forest, state = self.forest, self.state
        key = row.key
        if row.kind == "turn" and not row.closed:
            if row.forks:
                state.closed.add(key)
                self.relayout(keep=key)
                return
            if forest.parent(key) is None:
                state.open.discard(key)
                self.relayout(keep=key)
                return
        segment = forest.segment_of(key)
        if segment.head in state.unfolded and len(segment.keys) > state.fold_over:
            state.unfolded.discard(segment.head)
            self.relayout(keep=segment.head)
            return
        # Up to the turn that closes: the fork above this branch, or the conversation.
        above = forest.parent(segment.head) if key == segment.head else segment.head
        if row.kind == "fold":
            above = segment.head
        if above is not None:
            where = self.row_of(above)
            if where is not None:
                self.cursor = where
