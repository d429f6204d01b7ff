"""The forest pane's graph: every conversation of the index as a `GraphView`.

Conversations are listed newest first, closed until opened (one line each, however long);
the one the cursor goes to opens. With every server shown, each server's conversations sit
under a heading with its profile names. A filter shows only the matching turns and the turns
above them, in the conversations that hold a match; the newest matches are opened, the rest
stay one line each. Clearing the filter gives back the view from before it (`snapshot` and
`restore`), cursor included.

The keys that act on the highlighted turn ("tree" in `tui.ui.keys`) are bound here, so they
apply only while the graph has the focus: moving to the parent or a sibling version is the
graph's own; the rest (delete, export, rename, ...) run the App's dialog workflows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text

from tui import cost
from tui.forest import Forest
from tui.graph import GraphState, Row, hidden_below
from tui.ops.usage_book import book_of
from tui.store.index import Index
from tui.store.records import NodeSummary
from tui.text import one_line
from tui.ui.graph_view import GraphView, Section
from tui.ui.keys import bindings
from tui.ui.labels import node_label
from tui.ui.usage_view import pricer

Key = tuple[str, str]
REVEAL_MATCHES = 12  # filter matches whose conversations and branches are opened (newest first)
SUBTREE_LIMIT = 5_000  # turns summed for one fork point's totals ($); more are "+"
USAGE_ROOM = 16  # cells a line keeps for what was said beside a fork point's totals ($)


@dataclass(frozen=True)
class Snapshot:
    """A view to come back to: what was open, closed and unfolded, and the cursor's turn."""

    open: frozenset
    closed: frozenset
    unfolded: frozenset
    cursor: Key | None


@dataclass
class Line:
    """One shown turn, as tests and callers read it."""

    key: Key
    row: Row
    label: Text


def server_heading(name: str, server: str, conversations: int, responses: int) -> Text:
    """A server's heading in the all-servers view: its profile name and its counts first (a
    narrow pane cuts the end of the line), then the server's address without its scheme."""
    heading = Text(no_wrap=True, overflow="ellipsis")
    heading.append(one_line(name, 30), style="bold")
    heading.append(
        f" · {conversations:,} conversation{'s' if conversations != 1 else ''}"
        f" · {responses:,} response{'s' if responses != 1 else ''}"
    )
    address = one_line(server, 80).split("://", 1)[-1]
    heading.append(f" · {address}", style="dim")
    return heading


class ForestGraph(GraphView):
    """Every conversation of the index (of one server, or all), as a graph."""

    BINDINGS = bindings("tree")  # tui/ui/keys.py (the graph's own moves are GraphView's)

    def __init__(self, index: Index, server: str, clock: Callable[[], float], **kw: Any) -> None:
        self.index = index
        self.server = server
        self.clock = clock
        self.filter_keys: set[Key] | None = None  # matches of the filter (None: no filter)
        self._filter_newest: list[Key] = []
        self._roots_cache: tuple[set[Key] | None, set[Key]] = (None, set())
        self.all_servers = False  # every server in the index, each under its own heading
        self.highlight: list[str] = []  # filter words, highlighted in the labels
        self.server_names: dict[str, str] = {}  # server -> profile names, for the headings
        self._pending: set[Key] = set()  # replies still streaming
        self.show_usage = False  # $: each fork point's subtree totals at the end of its line
        self.compare_mark: Key | None = None  # marked ⇔: the first of two branches to compare
        # What the graph says when the forest is empty (the App, which knows the keys and the
        # session, says what to do and what other servers hold): asked for only then.
        self.welcome: Callable[[], Text] = lambda: Text("No conversations yet.")
        super().__init__(self._sections, self._forest_of, labeler=self._label, **kw)

    def relayout(self, keep: Key | None = None) -> None:
        super().relayout(keep)
        if self.rows:
            return
        if self.filter_keys is not None:
            self.set_empty_text(Text("Nothing matches the filter (esc clears it).", style="dim"))
        else:
            self.set_empty_text(self.welcome())

    # ------------------------------------------------------------ what is shown

    @property
    def forest(self) -> Forest:
        return self.index.forest(self.server)

    def _forest_of(self, key: Any) -> Forest:
        return self.index.forest(key[0])

    def servers_shown(self) -> list[str]:
        if not self.all_servers:
            return [self.server]
        servers = self.index.servers()
        return sorted(set(servers) | {self.server}, key=lambda s: (s != self.server, s))

    def _sections(self) -> list[Section]:
        sections: list[Section] = []
        visible = self._visible_roots() if self.filter_keys is not None else None
        for server in self.servers_shown():
            forest = self.index.forest(server)
            roots = forest.roots()[::-1]  # newest first (the forest keeps them in order)
            if visible is not None:
                roots = [root for root in roots if root in visible]
            heading = None
            if self.all_servers:
                name = self.server_names.get(server, "") or "no profile"
                heading = server_heading(name, server, len(forest.roots()), len(forest))
            sections.append((heading, forest, roots))
        return sections

    # ------------------------------------------------------------ filter

    def set_filter(
        self,
        keys: list[Key] | None,
        *,
        key_set: set[Key] | None = None,
        roots: set[Key] | None = None,
        shown: set[Key] | None = None,
    ) -> None:
        """Show only `keys` (newest first) and the turns above them; None shows everything.
        `key_set`, `roots` and `shown` (`with_ancestors(key_set)`) may come ready-made from a
        worker thread: at 100,000 responses a word in most of them makes `shown` take ~0.1 s.
        Call `rebuild`."""
        self.filter_keys = None if keys is None else (key_set if key_set is not None else set(keys))
        self._filter_newest = [] if keys is None else keys[:REVEAL_MATCHES]
        if keys is not None and roots is not None:
            self._roots_cache = (self.filter_keys, roots)
        if keys is None:
            self.shown = None
        else:
            self.shown = shown if shown is not None else self.with_ancestors(self.filter_keys)

    def with_ancestors(self, keys: set[Key]) -> set[Key]:
        """`keys` and every turn above them (safe in a worker thread)."""
        shown: set[Key] = set()
        for key in keys:
            forest = self.index.forest(key[0])
            current: Key | None = key
            while current is not None and current not in shown and current in forest:
                shown.add(current)
                current = forest.parent(current)
        return shown

    def filter_roots(self, keys: list[Key], servers: list[str]) -> set[Key]:
        """The conversations holding any of `keys` (safe in a worker thread)."""
        roots: set[Key] = set()
        for server in servers:
            roots |= self.index.forest(server).conversation_roots(keys)
        return roots

    def _visible_roots(self) -> set[Key]:
        if self._roots_cache[0] is not self.filter_keys:
            keys = list(self.filter_keys or ())
            self._roots_cache = (self.filter_keys, self.filter_roots(keys, self.servers_shown()))
        return self._roots_cache[1]

    def snapshot(self) -> Snapshot:
        state = self.state
        return Snapshot(
            frozenset(state.open),
            frozenset(state.closed),
            frozenset(state.unfolded),
            self.current_key,
        )

    def restore(self, snapshot: Snapshot) -> None:
        self.state = replace(
            self.state,
            open=set(snapshot.open),
            closed=set(snapshot.closed),
            unfolded=set(snapshot.unfolded),
        )
        self.relayout(keep=snapshot.cursor)

    # ------------------------------------------------------------ changes

    def rebuild(self, expand: Iterable[Key] = (), *, keep_open: bool = True) -> None:
        """Lay the forest out again (after an import, a sync, a switch of server, a filter):
        what was open stays open unless `keep_open` is False; `expand` is opened too; with a
        filter, the newest matches are opened."""
        if not keep_open:
            self.state = GraphState(fold_over=self.state.fold_over)
        for key in [*expand, *(self._filter_newest if self.filter_keys else [])]:
            forest = self.index.forest(key[0])
            if key in forest:
                self.state.reveal(forest, key)
        self.relayout()

    def add_response(self, key: Key, *, pending: bool = False) -> None:
        """A new turn (or one that changed): lay out again, keeping the cursor."""
        if pending:
            self._pending.add(key)
        else:
            self._pending.discard(key)
        self.relayout()

    def mark_for_compare(self, key: Key | None) -> None:
        """Mark `key` (None: no turn) as the first of two branches to compare (+, =)."""
        self.compare_mark = key
        self.forget_lines()

    def refresh_label(self, key: Key) -> None:
        if key not in self._pending or self.index.get(*key) is None:
            self._pending.discard(key)
        self.forget_lines()

    def drop_subtree(self, anchor: Key, parent: Key | None) -> None:
        """`anchor` and what was below it went (or `anchor` is a tombstone now): lay out
        again; every other conversation and branch stays as it was opened."""
        self._pending.discard(anchor)
        self.relayout(keep=anchor if anchor in self.index.forest(anchor[0]) else parent)

    def action_reply_or_more(self) -> None:
        """enter: reply to the turn (the App's workflow, run at once rather than by message,
        so that the words typed right after enter reach the composer it focuses)."""
        key = self.current_key
        reply_to = getattr(self.app, "reply_to", None)
        if key is None or reply_to is None:
            super().action_reply_or_more()
        else:
            reply_to(key)

    # ------------------------------------------------------------ moving between versions

    def action_parent(self) -> None:
        key = self.current_key
        parent = self._forest_of(key).parent(key) if key is not None else None
        if parent is not None:
            self.reveal(parent)

    def action_prev_sibling(self) -> None:
        self._sibling(-1)

    def action_next_sibling(self) -> None:
        self._sibling(+1)

    def _sibling(self, step: int) -> None:
        """Flip the nearest turn on the path that has versions (siblings) to the previous or
        next one, in place: from that turn itself the cursor goes to the other version; from
        a turn below it, to the newest end of the other version's branch, so the transcript
        below follows the version shown (as a chat app's edit versions do)."""
        current = self.current_key
        if current is None:
            return
        forest = self._forest_of(current)
        probe: Key | None = current
        while probe is not None:
            siblings = forest.siblings(probe)
            if len(siblings) > 1:
                if forest.parent(probe) is None:
                    siblings = list(reversed(siblings))  # conversations are shown newest first
                position = siblings.index(probe) + step
                if not 0 <= position < len(siblings):
                    self.app.bell()
                    return
                target = siblings[position]
                if probe != current and forest.parent(probe) is not None:
                    while children := forest.children(target):
                        target = children[-1]  # the newest reply, down to the end
                self.reveal(target)
                return
            probe = forest.parent(probe)
        self.app.bell()

    # ------------------------------------------------------------ usage and cost ($)

    def action_toggle_usage(self) -> None:
        self.show_usage = not self.show_usage
        self.forget_lines()

    def usage_suffix(self, key: Key, width: int) -> Text | None:
        """A fork point's subtree totals (the turn and every branch below it), while `$`
        shows them; None for other turns. In a narrow line, the cost alone."""
        forest = self._forest_of(key)
        if not self.show_usage or not forest.has_fork(key):
            return None
        price = pricer(self, [key[0]], self.forget_lines)
        totals = cost.subtree_total(
            forest.children, key, book_of(self.index), pricer=price, limit=SUBTREE_LIMIT
        )
        text = cost.compact_text(totals)
        if width - len(text) - 4 < USAGE_ROOM:
            text = text.split(" · ")[0]  # the cost ("≥ $0.0153"), or "no usage"
        return Text(f"  [{text}]", style="green")

    # ------------------------------------------------------------ labels

    def _summary(self, key: Key) -> NodeSummary | None:
        return self.index.get(*key)

    def _label(self, row: Row, width: int) -> Text:
        return self.label_for(row.key, row=row, width=width)

    def label_for(self, key: Key, *, row: Row | None = None, width: int = 60, **_: Any) -> Text:
        summary = self._summary(key)
        forest = self.index.forest(key[0])
        if summary is None or key not in forest:
            return Text(str(key[1]))
        parent = forest.parent(key)
        parent_summary = self._summary(parent) if parent is not None else None
        show_model = parent_summary is None or parent_summary.model != summary.model
        closed_conversation = row is not None and row.closed and parent is None
        suffix = self.usage_suffix(key, width)
        if suffix is not None:
            width = max(12, width - suffix.cell_len)
        label = node_label(
            summary,
            now=self.clock(),
            forks=len(forest.children(key)),
            turns=hidden_below(forest, row) + 1 if closed_conversation and row is not None else 1,
            orphan=forest.is_orphan(key),
            width=width,
            pending=key in self._pending,
            show_model=show_model,
            title=self.index.title(*key) if parent is None else None,
            label=self.index.label(*key),
            place=row.place if row is not None else None,
            compared=key == self.compare_mark,
        )
        if self.highlight:
            label.highlight_words(self.highlight, style="bold reverse", case_sensitive=False)
        if suffix is not None:
            label.append_text(suffix)
        return label

    def _line(self, row: Row) -> Line:
        return Line(row.key, row, self.label_for(row.key, row=row, width=max(20, self.size.width)))

    def node_for(self, key: Key) -> Line | None:
        """The shown line of `key` (None when it is not shown)."""
        line = self.row_of(key)
        return self._line(self.rows[line]) if line is not None else None

    def lines(self) -> list[Line]:
        """Every shown turn, top to bottom."""
        return [self._line(row) for row in self.rows if row.kind == "turn"]

    def conversations(self) -> list[Key]:
        """The conversations shown, top to bottom (their first turns)."""
        return [
            row.key
            for row in self.rows
            if row.kind == "turn"
            and not row.prefix
            and self._forest_of(row.key).parent(row.key) is None
        ]
