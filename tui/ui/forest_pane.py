"""The left pane: the forest's graph, its filter box, and moving about in them.

It owns what is shown (which servers, the filter and the view from before it) and says
upward, with `tui.ui.messages`, where the cursor is (`TurnHighlighted`), what the user chose
(`ReplyAsked`), and when the filter would like the full-text index (`FullTextWanted`). The
App calls down: `goto`, `open_filter`, `clear_filter`, `refilter`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input
from textual.worker import get_current_worker

from tui.fulltext import FullText
from tui.store.index import Index
from tui.ui.focus import focus_now
from tui.ui.forest_graph import ForestGraph, Snapshot
from tui.ui.graph_view import GraphView
from tui.ui.messages import FullTextWanted, ReplyAsked, TurnHighlighted

Key = tuple[str, str]


class ForestPane(Vertical):
    def __init__(
        self,
        index: Index,
        server: str,
        clock: Callable[[], float],
        fulltext: FullText,
        *,
        debounce: float,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.index = index
        self.fulltext = fulltext
        self.debounce = debounce
        self.filter_input = Input(placeholder="filter: text, id, model", id="filter")
        self.graph = ForestGraph(index, server, clock, id="forest")
        self._filter_timer: Any = None
        self._before_filter: Snapshot | None = None  # the view to restore when it clears
        self._filter_query = ""  # the filter being shown or computed

    def compose(self) -> ComposeResult:
        yield self.filter_input
        yield self.graph

    def on_mount(self) -> None:
        self.filter_input.display = False

    # ------------------------------------------------------------ upward

    @on(GraphView.Highlighted, "#forest")
    def _highlighted(self, event: GraphView.Highlighted) -> None:
        event.stop()
        self.post_message(TurnHighlighted(event.key))

    @on(GraphView.Selected, "#forest")
    def _selected(self, event: GraphView.Selected) -> None:
        event.stop()
        self.post_message(ReplyAsked(event.key))

    # ------------------------------------------------------------ moving

    def goto(self, key: Key, *, focus: bool = False) -> bool:
        """Put the cursor on `key`, showing every server if it is another server's turn."""
        if key not in self.index.forest(key[0]):
            return False
        graph = self.graph
        if key[0] != graph.server and not graph.all_servers:
            graph.all_servers = True
            graph.rebuild()
        graph.reveal(key)
        if focus:
            graph.focus()
        return True

    # ------------------------------------------------------------ filter

    def open_filter(self) -> None:
        self.filter_input.display = True
        focus_now(self.filter_input)  # the letters typed right after / are the filter's

    @property
    def filtering(self) -> bool:
        return self.graph.filter_keys is not None or bool(self.filter_input.value.strip())

    def clear_filter(self) -> None:
        """Back to the view from before the filter, cursor included."""
        self.filter_input.display = False
        self.filter_input.value = ""
        self.apply_filter("")
        self.graph.focus()

    def refilter(self) -> None:
        """Filter again (the full-text index is ready now)."""
        if self.filter_input.display and self.filter_input.value.strip():
            self.apply_filter(self.filter_input.value)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._filter_timer is not None:
            self._filter_timer.stop()
        if self.debounce <= 0:
            self.apply_filter(event.value)
        else:  # typing fast redraws once, when the keys pause
            self._filter_timer = self.set_timer(
                self.debounce, lambda: self.apply_filter(self.filter_input.value)
            )

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.graph.focus()
        self.graph.action_first()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.filter_input.has_focus:
            self.clear_filter()
            event.stop()

    def apply_filter(self, value: str) -> None:
        """Filter the forest: full text once the full-text index is built (it builds in the
        background on first use), previews, ids, models and tools until then. The matching
        runs in a thread (a scan of 100,000 responses takes 0.1-0.2 s), the graph is redrawn
        here when it is done; a result overtaken by newer typing is dropped."""
        query = value.strip().lower()
        words = query.split()
        graph = self.graph
        self._filter_query = query
        if words and graph.filter_keys is None and self._before_filter is None:
            self._before_filter = graph.snapshot()  # restored, cursor included, when it clears
        if not words:
            self.workers.cancel_group(self, "filter")
            graph.set_filter(None)
            graph.highlight = []
            before, self._before_filter = self._before_filter, None
            if before is not None:
                graph.restore(before)
            else:
                graph.rebuild()
            return
        full_text = self.fulltext.usable
        if not full_text:
            self.post_message(FullTextWanted())
        self._filter_worker(query, full_text, graph.servers_shown())

    @work(group="filter", exclusive=True, thread=True)
    def _filter_worker(self, query: str, full_text: bool, servers: list[str]) -> None:
        words = query.split()
        if full_text:
            keys = self.fulltext.searcher.matching_keys(query)
        else:
            keys = self._preview_matches(words)
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        key_set = set(keys)
        roots = self.graph.filter_roots(keys, servers)
        shown = self.graph.with_ancestors(key_set)
        if not worker.is_cancelled:
            self.app.call_from_thread(self.show_filter, query, keys, key_set, roots, shown)

    def _preview_matches(self, words: list[str]) -> list[Key]:
        """Newest first, the turns whose previews, id, model or tools hold every word."""
        return [
            n.key
            for n in reversed(self.index.nodes())
            if all(
                w in n.input_preview.lower()
                or w in n.output_preview.lower()
                or w in n.id.lower()
                or w in n.model.lower()
                or any(w in t.lower() for t in n.tool_labels)
                for w in words
            )
        ]

    def show_filter(
        self,
        query: str,
        keys: list[Key],
        key_set: set[Key] | None = None,
        roots: set[Key] | None = None,
        shown: set[Key] | None = None,
    ) -> None:
        if query != self._filter_query:
            return  # the user typed on (or cleared the filter) meanwhile
        graph = self.graph
        graph.set_filter(keys, key_set=key_set, roots=roots, shown=shown)
        graph.highlight = query.split()
        graph.rebuild(keep_open=False)
