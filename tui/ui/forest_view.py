"""The forest as a Textual Tree: one tree node per branch segment head, its other turns as
flat leaves, its forks as nested segment nodes.

Nesting follows forks, not turns: a 1,000-turn chain without forks is one expandable node
with 999 leaves (added only when expanded), so depth never approaches Textual's recursion
limit. Conversations start collapsed and are filled in lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.forest import Forest
from tui.store.index import Index
from tui.store.records import NodeSummary
from tui.ui.keys import bindings
from tui.ui.labels import node_label

Key = tuple[str, str]
ROOTS_PER_PAGE = 300  # conversations added to the tree at a time (newest first)
REVEAL_MATCHES = 12  # filter matches whose branches are opened (newest first)


class ForestView(Tree[Key]):
    """Tree of responses. `data` of every node is the response key (server, id)."""

    BINDINGS = bindings("graph")  # tui/ui/keys.py

    def __init__(self, index: Index, server: str, clock: Callable[[], float], **kw: Any) -> None:
        super().__init__("forest", **kw)
        self.index = index
        self.server = server
        self.clock = clock
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 3
        self._by_key: dict[Key, TreeNode[Key]] = {}
        self._fv_filled: set[Key] = set()
        self._fv_pending: set[Key] = set()
        self.filter_keys: set[Key] | None = None  # nodes to show when filtering (with ancestors)
        self._filter_newest: list[Key] = []  # the newest matches, whose branches are opened
        # The conversations holding filter_keys, for the filter_keys object they were for.
        self._roots_cache: tuple[set[Key] | None, set[Key]] = (None, set())
        self.all_servers = False  # show every server in the index, each under its own heading
        self._more: dict[Any, tuple[TreeNode[Key], list[Key], int]] = {}  # paging lines
        self.highlight: list[str] = []  # filter words, highlighted in the labels
        self.server_names: dict[str, str] = {}  # server -> profile names, for the headings

    # ------------------------------------------------------------ building

    @property
    def forest(self) -> Forest:
        return self.index.forest(self.server)

    def _is_top(self, node: TreeNode[Key]) -> bool:
        """A conversation's first node (directly under the root or a server heading)."""
        return node.parent is self.root or (node.parent is not None and node.parent.data is None)

    def _forest(self, key: Key) -> Forest:
        """The forest a key lives in (in the all-servers view, keys come from several)."""
        return self.index.forest(key[0])

    def servers_shown(self) -> list[str]:
        if not self.all_servers:
            return [self.server]
        servers = self.index.servers()
        return sorted(set(servers) | {self.server}, key=lambda s: (s != self.server, s))

    def set_filter(
        self,
        keys: list[Key] | None,
        *,
        key_set: set[Key] | None = None,
        roots: set[Key] | None = None,
    ) -> None:
        """Show only `keys` (newest first) and their ancestors; None shows everything.
        `key_set` (the keys as a set) and `roots` (`filter_roots(keys)`) may come ready-made
        from a worker thread: at 100,000 matches each costs tens of milliseconds.
        Call `rebuild` afterwards."""
        self.filter_keys = None if keys is None else (key_set if key_set is not None else set(keys))
        self._filter_newest = [] if keys is None else keys[:REVEAL_MATCHES]
        if keys is not None and roots is not None:
            self._roots_cache = (self.filter_keys, roots)

    def filter_roots(self, keys: list[Key], servers: list[str]) -> set[Key]:
        """The conversations holding any of `keys` in the forests of `servers`. Only reads
        (safe in a worker thread; pass `servers_shown()` taken on the app's thread)."""
        roots: set[Key] = set()
        for server in servers:
            roots |= self.index.forest(server).conversation_roots(keys)
        return roots

    def open_keys(self) -> list[Key]:
        return [key for key, node in self._by_key.items() if node.is_expanded]

    def rebuild(
        self,
        expand: Iterable[Key] = (),
        *,
        keep_open: bool = True,
        reopen: Iterable[Key] = (),
    ) -> None:
        """Rebuild from the index: roots, the paths to `expand`, and every branch that was
        open before (`keep_open`, so a delete does not fold the user's view) or in `reopen`."""
        was_open = [*(self.open_keys() if keep_open else []), *reopen]
        self.clear()
        self._by_key.clear()
        self._fv_filled.clear()
        self._more.clear()
        for server in self.servers_shown():
            forest = self.index.forest(server)
            parent = self.root
            if self.all_servers:
                name = self.server_names.get(server, "")
                heading = Text(no_wrap=True, overflow="ellipsis")
                heading.append(f"{name or 'no profile'} ", style="bold")
                heading.append(f"{server}  ·  {len(forest)}", style="dim")
                parent = self.root.add(heading, data=None, expand=True)
            roots = forest.roots()
            roots.sort(key=forest.order, reverse=True)  # newest first
            if self.filter_keys is not None:
                visible = self._visible_roots()
                roots = [root for root in roots if root in visible]
            self._add_roots(parent, roots, 0)
        for key in was_open:
            if key in self._forest(key):
                self.open(key)
        for key in expand:
            self.reveal(key, move=False)
        if self.filter_keys:
            # Open the branches of the newest matches; the rest stay folded inside their
            # (shown) conversations, so a filter that matches thousands stays instant.
            for key in self._filter_newest:
                self.reveal(key, move=False)

    def _add_roots(self, parent: TreeNode[Key], roots: list[Key], start: int) -> None:
        """Add conversations from `start`, at most ROOTS_PER_PAGE of them; the rest wait
        behind a "… older conversations" line (labelling 5,000 at start costs a second)."""
        chunk = roots[start : start + ROOTS_PER_PAGE]
        for root in chunk:
            if root in self._forest(root):  # a page may name one deleted since
                self._add_segment(parent, root)
        left = len(roots) - start - len(chunk)
        if left > 0:
            label = Text(f"… {left:,} older conversations (enter shows more)", style="dim italic")
            more = parent.add(label, data=None, allow_expand=True)
            self._more[more.id] = (parent, roots, start + len(chunk))

    def show_more(self, node: TreeNode[Key]) -> bool:
        """Replace a "… older conversations" line by the next page. False if not one."""
        page = self._more.pop(node.id, None)
        if page is None:
            return False
        parent, roots, start = page
        node.remove()
        self._add_roots(parent, roots, start)
        return True

    def _show_root(self, root: Key) -> None:
        """Page older conversations in until `root` is in the tree."""
        while root not in self._by_key:
            pending = [
                (nid, page) for nid, page in self._more.items() if root in page[1][page[2] :]
            ]
            if not pending:
                return
            node_id, _page = pending[0]
            node = self.get_node_by_id(node_id)
            if not self.show_more(node):
                return

    def _visible_roots(self) -> set[Key]:
        if self._roots_cache[0] is not self.filter_keys:
            keys = list(self.filter_keys or ())
            self._roots_cache = (self.filter_keys, self.filter_roots(keys, self.servers_shown()))
        return self._roots_cache[1]

    def _summary(self, key: Key) -> NodeSummary | None:
        return self.index.get(*key)

    def _label_width(self, key: Key) -> int:
        """Room for the preview: the pane width minus indentation and the details."""
        width = self.size.width or 40
        depth = 0
        forest = self._forest(key)
        if key in forest:
            current = forest.segment_of(key).head
            while (parent := forest.parent(current)) is not None:
                depth += 1
                current = forest.segment_of(parent).head
            if forest.segment_of(key).head != key:
                depth += 1
        return max(16, width - 3 - depth * self.guide_depth)

    def relabel_all(self) -> None:
        for key, node in list(self._by_key.items()):
            forest = self._forest(key)
            is_head = self._is_top(node) or (key in forest and forest.segment_of(key).head == key)
            node.set_label(self.label_for(key, head=is_head))

    def on_resize(self) -> None:
        self.relabel_all()

    def label_for(self, key: Key, *, head: bool) -> Text:
        summary = self._summary(key)
        forest = self._forest(key)
        if summary is None:
            return Text(key[1])
        turns = len(forest.segment_of(key).keys) if head and key in forest else 1
        node = self._by_key.get(key)
        if node is not None and node.is_expanded:
            turns = 1
        parent = forest.parent(key) if key in forest else None
        parent_summary = self._summary(parent) if parent is not None else None
        show_model = parent_summary is None or parent_summary.model != summary.model
        label = node_label(
            summary,
            now=self.clock(),
            forks=len(forest.children(key)),
            turns=turns,
            orphan=forest.is_orphan(key),
            width=self._label_width(key),
            pending=key in self._fv_pending,
            show_model=show_model,
            title=self.index.title(*key) if parent is None else None,
            label=self.index.label(*key),
        )
        if self.highlight:
            label.highlight_words(self.highlight, style="bold reverse", case_sensitive=False)
        return label

    def _add_segment(self, parent: TreeNode[Key], head: Key) -> TreeNode[Key]:
        forest = self._forest(head)
        segment = forest.segment_of(head)
        has_more = len(segment.keys) > 1 or bool(forest.children(segment.tail))
        node = parent.add(self.label_for(head, head=True), data=head, allow_expand=has_more)
        self._by_key[head] = node
        return node

    def _fill(self, head: Key) -> None:
        """Add a segment's other turns (leaves) and its forks (segment nodes)."""
        if head in self._fv_filled:
            return
        node = self._by_key[head]
        forest = self._forest(head)
        segment = forest.segment_of(head)
        node.remove_children()
        for key in segment.keys[1:]:
            self._by_key[key] = node.add_leaf(self.label_for(key, head=False), data=key)
        for child in forest.children(segment.tail):
            if self.filter_keys is not None and not self._shows(child):
                continue
            self._add_segment(node, child)
        self._fv_filled.add(head)

    def _shows(self, head: Key) -> bool:
        assert self.filter_keys is not None
        forest = self._forest(head)
        if head in self.filter_keys:
            return True
        return any(k in self.filter_keys for k in forest.descendants(head)) or any(
            k in self.filter_keys for k in forest.segment_of(head).keys
        )

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Key]) -> None:
        key = event.node.data
        if key is None and self.show_more(event.node):
            return
        if key is not None:
            self._fill(key)
            event.node.set_label(self.label_for(key, head=True))

    def on_tree_node_collapsed(self, event: Tree.NodeCollapsed[Key]) -> None:
        key = event.node.data
        if key is not None:
            event.node.set_label(self.label_for(key, head=True))

    def reveal(self, key: Key, *, move: bool = True) -> TreeNode[Key] | None:
        """Make `key` visible (expanding its segments) and optionally move the cursor to it."""
        forest = self._forest(key)
        if key not in forest:
            return None
        heads = []
        current: Key | None = key
        while current is not None:
            head = forest.segment_of(current).head
            heads.append(head)
            current = forest.parent(head)
        heads.reverse()
        if heads:
            self._show_root(heads[0])
        for n, head in enumerate(heads):
            node = self._by_key.get(head)
            if node is None:
                return None
            if (n < len(heads) - 1 or head != key) and not node.is_expanded:
                self._fill(head)
                node.expand()
                node.set_label(self.label_for(head, head=True))
        target = self._by_key.get(key)
        if target is not None and move:
            self.call_after_refresh(self._move_to, target)
        return target

    def open(self, key: Key) -> None:
        """Reveal `key` and expand it (when it has anything below)."""
        self.reveal(key, move=False)
        node = self._by_key.get(key)
        if node is not None and node.allow_expand and not node.is_expanded:
            self._fill(key)
            node.expand()
            node.set_label(self.label_for(key, head=True))

    def _move_to(self, node: TreeNode[Key]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    # ------------------------------------------------------------ updates

    def refresh_label(self, key: Key) -> None:
        node = self._by_key.get(key)
        if node is not None:
            forest = self._forest(key)
            is_head = forest.segment_of(key).head == key if key in forest else True
            node.set_label(self.label_for(key, head=is_head or self._is_top(node)))

    def add_response(self, key: Key, *, pending: bool = False) -> None:
        """A new response arrived: put it in the tree and make it visible."""
        if pending:
            self._fv_pending.add(key)
        else:
            self._fv_pending.discard(key)
        forest = self._forest(key)
        if key not in forest:
            return
        parent = forest.parent(key)
        if parent is None:
            if key in self._by_key:  # already shown (it was added when it started streaming)
                self.refresh_label(key)
                return
            if self.all_servers:
                self.rebuild(expand=[key])
                return
            self._by_key[key] = self.root.add(
                self.label_for(key, head=True), data=key, allow_expand=False, before=0
            )
            return
        # The parent's segment changed shape (a leaf turned into a fork, or a chain grew):
        # rebuild that part of the tree from the parent's segment head.
        head = forest.segment_of(parent).head
        self._rebuild_from(head)

    def drop_subtree(self, anchor: Key, parent: Key | None) -> None:
        """Show that `anchor` and the responses below it were deleted (or tombstoned),
        redrawing only the branch they hung from: rebuilding the whole tree would page in
        every older conversation to reopen the branches that were open."""
        forest = self._forest(anchor)
        if self.filter_keys is not None or self.all_servers:
            self.rebuild()
            return
        for key in [k for k in self._by_key if k not in forest]:
            self._by_key.pop(key)
            self._fv_filled.discard(key)
        if parent is not None and parent in forest:
            self._rebuild_from(forest.segment_of(parent).head)
        elif anchor in forest:  # a tombstoned conversation root: its branch changed
            self._rebuild_from(anchor)
        else:
            node = next((n for n in self.root.children if n.data == anchor), None)
            if node is not None:
                node.remove()

    def _rebuild_from(self, head: Key) -> None:
        forest = self._forest(head)
        node = self._by_key.get(head)
        if node is None:
            parent = forest.parent(head)
            if parent is None:
                self.rebuild()
                return
            self._rebuild_from(forest.segment_of(parent).head)
            return
        # Remove stale mappings under this node.
        for key in [forest.segment_of(head).head, *forest.descendants(head)]:
            if key != head:
                self._by_key.pop(key, None)
                self._fv_filled.discard(key)
        self._fv_filled.discard(head)
        segment = forest.segment_of(head)
        node.allow_expand = len(segment.keys) > 1 or bool(forest.children(segment.tail))
        if node.is_expanded:
            self._fill(head)
        else:
            node.remove_children()
        node.set_label(self.label_for(head, head=True))

    # ------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden while a dialog is in front (its footer should show its own keys).
        return not (action == "reply_or_more" and self.app.screen is not self.screen)

    def action_reply_or_more(self) -> None:
        node = self.cursor_node
        if node is not None and node.data is None and self.show_more(node):
            return
        reply = getattr(self.app, "action_reply", None)
        if reply is not None:
            reply()

    def action_fold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_unfold(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_first(self) -> None:
        self.move_cursor_to_line(0) if self.last_line >= 0 else None

    def action_last(self) -> None:
        if self.last_line >= 0:
            self.move_cursor_to_line(self.last_line)

    def node_for(self, key: Key) -> TreeNode[Key] | None:
        return self._by_key.get(key)

    def get_label_width(self, node: TreeNode[Key]) -> int:
        return node._label.cell_len + 2  # avoids rendering every label to measure it
