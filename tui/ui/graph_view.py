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

from collections.abc import Callable, Hashable

from rich.segment import Segment
from rich.style import Style
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
Section = tuple[Text | None, Forest, list[Key]]

TURN = "● "
CLOSED = "▸ "  # a closed conversation or fork: l opens it
OPEN = "▾ "  # the first turn of an open conversation: where one ends and the next begins
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

        def __init__(self, graph: GraphView, key: Key) -> None:
            super().__init__()
            self.graph = graph
            self.key = key

        @property
        def control(self) -> GraphView:
            return self.graph

    class Selected(Message):
        """Enter on the turn `key`."""

        def __init__(self, graph: GraphView, key: Key) -> None:
            super().__init__()
            self.graph = graph
            self.key = key

        @property
        def control(self) -> GraphView:
            return self.graph

    def __init__(
        self,
        sections: Callable[[], list[Section]],
        forest_of: Callable[[Key], Forest],
        *,
        labeler: Labeler = plain_label,
        state: GraphState | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`sections`: what to show, as (heading or None, forest, roots in the order shown);
        `forest_of`: the forest a key lives in."""
        super().__init__(name=name, id=id, classes=classes)
        self._sections = sections
        self.forest_of = forest_of
        self.labeler = labeler
        self.state = state or GraphState()
        self.shown: set[Key] | None = None
        self.rows: list[Row] = []
        self._line_of: dict[Key, int] = {}  # turn -> its line
        self._headings: dict[int, Text] = {}  # line -> heading text
        self._line_cache: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}  # the widget's and its parts' (see _style)
        self.empty_text = Text()  # shown when there are no rows (what to do, wrapped)
        self._empty_lines: tuple[int, list[Strip]] | None = None  # (width, lines)
        self._highlighted: Key | None = None

    # ------------------------------------------------------------ rows

    def relayout(self, keep: Key | None = None) -> None:
        """Lay the rows out again from the forests and the state; the cursor stays on `keep`
        (default: the turn it is on) when that is still shown, else on the nearest row."""
        if keep is None and self.rows:
            keep = self.current_row.key if self.current_row else None
        old = self.cursor
        rows: list[Row] = []
        self._headings = {}
        for heading, forest, roots in self._sections():
            if heading is not None:
                self._headings[len(rows)] = heading
                rows.append(Row(heading.plain, "heading", "", 0))
            rows.extend(graph_rows(forest, roots, self.state, self.shown, count_closed=False))
        self.rows = rows
        self._line_of = {row.key: y for y, row in enumerate(rows) if row.kind == "turn"}
        self._line_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.rows))
        where = self.row_of(keep) if keep is not None else None
        self.cursor = where if where is not None else min(old, max(0, len(self.rows) - 1))
        self.refresh()

    def row_of(self, key: Key) -> int | None:
        """The line of the turn `key` (not of a fold row), None when not shown."""
        return self._line_of.get(key)

    def forget_lines(self) -> None:
        """Draw every line again (a label changed)."""
        self._line_cache.clear()
        self.refresh()

    @property
    def current_row(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_key(self) -> Key | None:
        row = self.current_row
        return row.key if row is not None and row.kind == "turn" else None

    def reveal(self, key: Key, *, move: bool = True) -> None:
        """Open whatever hides `key` and (unless `move` is False) move the cursor to it."""
        forest = self.forest_of(key)
        if key not in forest:
            return
        self.state.reveal(forest, key)
        self.relayout(keep=key if move else None)

    # ------------------------------------------------------------ drawing

    def _style(self, part: str = "") -> Style:
        """The widget's style, or one of its parts' (component classes), worked out once until
        the styles change: Textual computes `rich_style` from every ancestor on each call, and
        a page of the graph asked for it ~80 times (a fifth of the frame)."""
        style = self._styles.get(part)
        if style is None:
            own = self.rich_style
            style = self.get_component_rich_style(part, partial=True) if part else own
            self._styles[part] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()  # a theme, focus or class change: new colours
        self._styles.clear()
        self._line_cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        line = scroll_y + y
        width = self.size.width
        base = self._style()
        if not self.rows:
            return self._empty_line(y, width, base)
        if line >= len(self.rows):
            return Strip.blank(width, base)
        cached_key = (line, width, int(line == self.cursor) + 2 * int(self.has_focus))
        strip = self._line_cache.get(cached_key)
        if strip is None:
            strip = self._draw(line, width, line == self.cursor)
            self._line_cache[cached_key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def set_empty_text(self, text: Text) -> None:
        """What the widget says while it has no rows (an empty forest, no match)."""
        self.empty_text = text
        self._empty_lines = None
        self.refresh()

    def _empty_line(self, y: int, width: int, base: Style) -> Strip:
        if self._empty_lines is None or self._empty_lines[0] != width:
            room = max(1, width - 2)
            lines = self.empty_text.wrap(self.app.console, room) if self.empty_text else []
            strips = []
            for text in lines:
                segments = [
                    Segment(seg.text, base + seg.style if seg.style else base)
                    for seg in Text(" ").append_text(text).render(self.app.console)
                ]
                strips.append(Strip(segments).extend_cell_length(width, base))
            self._empty_lines = (width, strips)
        strips = self._empty_lines[1]
        return strips[y] if y < len(strips) else Strip.blank(width, base)

    def _draw(self, line: int, width: int, at_cursor: bool) -> Strip:
        row = self.rows[line]
        base = self._style()
        rail = self._style("graph--rail")
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(row.prefix, style=rail)
        if row.kind == "heading":
            text.append_text(self._headings.get(line, Text(str(row.key))))
        elif row.kind == "fold":
            fold = self._style("graph--fold")
            text.append(FOLD, style=rail)
            turns = "turn" if row.hidden == 1 else "turns"
            text.append(f"{row.hidden} more {turns} (l shows them)", style=fold)
        else:
            if row.closed:
                mark = CLOSED
            elif row.first:
                mark = OPEN
            else:
                mark = TURN
            text.append(mark, style="bold" if row.forks else "")
            room = max(1, width - text.cell_len)
            text.append_text(self.labeler(row, room))
        text.truncate(width, overflow="ellipsis")
        if at_cursor:
            text.stylize(self._style("graph--cursor"))
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
        # Only the line left and the line reached change (the cache knows the cursor line
        # apart); a scroll, if the cursor left the view, redraws the whole view itself.
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, force=True)
        self.refresh_line(old)
        self.refresh_line(new)
        key = self.current_key
        if key is not None and key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(self, key))

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Off while another screen is in front (the footer under a dialog offers none), and
        # what needs a line is not offered without one.
        if action in ("reply_or_more", "toggle_node") and not self.rows:
            return False
        return self.screen is self.app.screen

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
            self.post_message(self.Selected(self, key))
        else:
            self.action_unfold()

    def action_toggle_node(self) -> None:
        row = self.current_row
        if row is not None and (row.closed or row.kind == "fold"):
            self.action_unfold()
        else:
            self.action_fold()

    def action_unfold(self) -> None:
        """Open what the cursor is on (a closed conversation or fork, a folded run); on an
        open turn, go down to its first reply."""
        row = self.current_row
        if row is None or row.kind == "heading":
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
            return
        children = self.forest_of(row.key).children(row.key)
        line = self.row_of(children[0]) if children else None
        if line is not None:
            self.cursor = line

    def action_fold(self) -> None:
        """Close what the cursor is on (a fork, a conversation, an unfolded long run);
        anywhere else, go up to the turn that closes."""
        row = self.current_row
        if row is None or row.kind == "heading":
            return
        key = row.key
        forest, state = self.forest_of(key), self.state
        if row.kind == "turn":
            if row.forks and not row.closed:
                state.closed.add(key)
                self.relayout(keep=key)
                return
            if forest.parent(key) is None and key in state.open:
                state.open.discard(key)
                self.relayout(keep=key)
                return
        segment = forest.segment_of(key)
        if segment.head in state.unfolded and len(segment.keys) > state.fold_over:
            state.unfolded.discard(segment.head)
            self.relayout(keep=segment.head)
            return
        # Up to the turn that closes: the head of this run, or the fork above it.
        above = segment.head if key != segment.head or row.kind == "fold" else None
        if above is None:
            above = forest.parent(segment.head)
        if above is not None:
            where = self.row_of(above)
            if where is not None:
                self.cursor = where
