"""The pure tree model: responses linked by `previous_response_id`, as a forest.

Keys are opaque hashables (the index uses `(server, response_id)`). A node whose parent is not
in the forest is an orphan and counts as a root. Children are ordered by creation time (ties by
the order recorded, then by key). Branch segments are maximal runs without forks: each starts at
a root or at a child of a fork and continues while a node has exactly one child. They let a UI
show a 1,000-turn chain as one tree node. Every walk is iterative, so depth never hits the
recursion limit.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Key = Hashable


class NodeRef(NamedTuple):
    """One node as the forest needs it (a tuple: 100,000 of them are built at start)."""

    key: Key
    parent: Key | None
    created_at: float = 0.0
    seq: int = 0  # ties of created_at go by this (the index: the order it recorded them)


@dataclass(frozen=True, slots=True)
class Segment:
    head: Key
    keys: tuple[Key, ...]
    parent_segment_head: Key | None

    @property
    def tail(self) -> Key:
        return self.keys[-1]


def _order(ref: NodeRef) -> tuple[float, int, str]:
    return (ref.created_at or 0.0, ref.seq, str(ref.key))


@dataclass
class Forest:
    _refs: dict[Key, NodeRef] = field(default_factory=dict)
    _children: dict[Key, list[Key]] = field(default_factory=dict)
    _roots: list[Key] = field(default_factory=list)
    _awaited: set[Key] = field(default_factory=set)  # parents that orphans name
    _cut: set[Key] = field(default_factory=set)  # nodes whose parent link closed a cycle
    _root_of: dict[Key, Key] | None = None  # conversation root per node, built on demand
    # The segments by head, and the head of the segment of every node, for the conversations
    # segmented so far: one conversation at a time, on first use (`_all_segmented` once every
    # one is). The first screen needs one conversation's; all of them at 100,000 responses
    # cost ~90 ms of the start.
    _segments: dict[Key, Segment] = field(default_factory=dict)
    _segment_head: dict[Key, Key] = field(default_factory=dict)
    _all_segmented: bool = False

    # ------------------------------------------------------------ building

    @classmethod
    def build(cls, refs: Iterable[NodeRef] | dict[Key, NodeRef]) -> Forest:
        """A forest of `refs` (or of a dict of them by key, which the forest then keeps)."""
        forest = cls()
        forest._refs = refs if isinstance(refs, dict) else {ref.key: ref for ref in refs}
        forest._rebuild()
        return forest

    def _link(self, key: Key) -> Key | None:
        """The parent link as the forest uses it (None where a cycle was cut)."""
        return None if key in self._cut else self._refs[key].parent

    def _rebuild(self) -> None:
        # One pass links every node and notes each whose parent is not older than it: every
        # cycle holds one of those (along a cycle the order cannot fall at every step), so
        # cycles are looked for from those nodes only, and the links redone if one is cut.
        self._cut = set()
        suspects = self._link_up()
        if suspects:
            self._break_cycles(suspects)
            if self._cut:
                self._link_up()

    def _link_up(self) -> list[Key]:
        """Link every node to its parent (a cut link counts as none); returns the nodes whose
        parent does not come before them in the forest's order (see `_rebuild`)."""
        refs = self._refs
        get = refs.get
        cut = self._cut
        children: dict[Key, list[Key]] = {}
        roots: list[NodeRef] = []
        suspects: list[Key] = []
        for ref in refs.values():
            key, parent, created, seq = ref
            above = get(parent)  # (None is never a key)
            if above is None or (cut and key in cut):
                roots.append(ref)
                continue
            if children_of := children.get(parent):
                children_of.append(key)
            else:
                children[parent] = [key]
            if above[2] >= created and (above[2] > created or above[3] >= seq):
                suspects.append(key)
        # Most nodes have one child (a run): no order to work out for those.
        order = self.order
        for kids in children.values():
            if len(kids) > 1:
                kids.sort(key=order)
        self._children = children
        self._roots = [r.key for r in sorted(roots, key=_order)]
        self._awaited = {r.parent for r in roots if r.parent is not None}
        self._segments, self._segment_head, self._all_segmented = {}, {}, False
        self._root_of = None
        return suspects

    def _break_cycles(self, starts: Iterable[Key]) -> None:
        """A cycle (a corrupt or hostile parent link) would hide nodes from every root.
        Cut each cycle through `starts` at its oldest node, which then becomes a root. The
        refs are kept as given, so removing a node later rebuilds exactly like a fresh build
        would."""
        walked: dict[Key, int] = {}  # the number of the walk that reached each node
        for number, start in enumerate(starts):
            walk: list[Key] = []
            key: Key | None = start
            while key in self._refs and key not in walked:
                walked[key] = number
                walk.append(key)
                key = self._refs[key].parent
            if walked.get(key) == number:  # this walk ran into itself: a cycle
                cycle = walk[walk.index(key) :]
                self._cut.add(min(cycle, key=lambda k: _order(self._refs[k])))

    def add(self, ref: NodeRef) -> None:
        """Add or replace a node. A new leaf whose parent is known is added in place;
        anything else rebuilds (still fast: linear)."""
        fresh = ref.key not in self._refs and ref.key not in self._awaited
        self._refs[ref.key] = ref
        if fresh and ref.parent not in self._refs:
            # A new conversation (or an orphan): one more root, in creation order.
            insort(self._roots, ref.key, key=self.order)
            if ref.parent is not None:
                self._awaited.add(ref.parent)
            self._resegment(ref.key)
            if self._root_of is not None:
                self._root_of[ref.key] = ref.key
        elif fresh and ref.parent != ref.key:  # a new leaf under a known node
            insort(self._children.setdefault(ref.parent, []), ref.key, key=self.order)
            self._resegment(self._top(ref.parent))
            if self._root_of is not None:
                self._root_of[ref.key] = self._root_of[ref.parent]
        else:
            self._rebuild()

    def remove(self, key: Key) -> None:
        """Remove one node; its children become orphans (roots). A leaf (the common case:
        subtree deletes go deepest first) is removed in place; anything else rebuilds, and so
        does a leaf that a cut link names (without it that cycle is gone: the link is whole
        again, to a parent no longer in the forest)."""
        if key not in self._refs:
            return
        if (
            not self._children.get(key)
            and key not in self._cut
            and all(self._refs[cut].parent != key for cut in self._cut)
        ):
            parent = self.parent(key)
            if parent is None:
                self._roots.remove(key)
                top = None
            else:
                siblings = self._children[parent]
                siblings.remove(key)
                if not siblings:
                    del self._children[parent]
                top = self._top(parent)
            del self._refs[key]
            self._resegment(top, gone=[key])
            if self._root_of is not None:
                del self._root_of[key]
        else:
            del self._refs[key]
            self._rebuild()

    # ------------------------------------------------------------ queries

    def __contains__(self, key: object) -> bool:
        return key in self._refs

    def __len__(self) -> int:
        return len(self._refs)

    def keys(self) -> Iterator[Key]:
        return iter(self._refs)

    def ref(self, key: Key) -> NodeRef:
        """The node as the forest sees it (a parent link that closed a cycle reads None)."""
        ref = self._refs[key]
        return ref._replace(parent=None) if key in self._cut else ref

    def order(self, key: Key) -> tuple[float, int, str]:
        """The sort key of a node: creation time, then the order it was recorded, then key."""
        return _order(self._refs[key])

    def roots(self) -> list[Key]:
        return list(self._roots)

    def is_orphan(self, key: Key) -> bool:
        """True when the node names a parent the forest does not hold."""
        parent = self._link(key)
        return parent is not None and parent not in self._refs

    def parent(self, key: Key) -> Key | None:
        parent = self._link(key)
        return parent if parent is not None and parent in self._refs else None

    def children(self, key: Key) -> list[Key]:
        return list(self._children.get(key, ()))

    def path_to_root(self, key: Key) -> list[Key]:
        """Root first, `key` last."""
        path = [key]
        current = self.parent(key)
        while current is not None:
            path.append(current)
            current = self.parent(current)
        path.reverse()
        return path

    def _roots_map(self) -> dict[Key, Key]:
        if self._root_of is None:
            root_of: dict[Key, Key] = {}
            for root in self._roots:
                root_of[root] = root
                for key_below in self.descendants(root):
                    root_of[key_below] = root
            self._root_of = root_of
        return self._root_of

    def conversation_root(self, key: Key) -> Key:
        """The root of the tree `key` is in (cached: filters ask this for every match)."""
        return self._roots_map()[key]

    def conversation_roots(self, keys: Iterable[Key]) -> set[Key]:
        """The roots of the trees holding any of `keys` (keys not in the forest are skipped).
        One lookup per key: a filter matching all of 100,000 nodes asks this at a keystroke."""
        root_of = self._roots_map()
        return {root_of[key] for key in keys if key in root_of}

    def siblings(self, key: Key) -> list[Key]:
        """All children of the same parent (or all roots), `key` included, in order."""
        parent = self.parent(key)
        return self.roots() if parent is None else self.children(parent)

    def descendants(self, key: Key) -> list[Key]:
        """Every node below `key`, pre-order (a parent before its children), `key` excluded."""
        out: list[Key] = []
        stack = list(reversed(self._children.get(key, ())))
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(reversed(self._children.get(current, ())))
        return out

    def depth(self, key: Key) -> int:
        return len(self.path_to_root(key)) - 1

    # ------------------------------------------------------------ segments

    def _segment_maps(self) -> tuple[dict[Key, Segment], dict[Key, Key]]:
        """Every conversation's segments."""
        if not self._all_segmented:
            for root in self._roots:
                if root not in self._segments:
                    self._segment_tree(root, self._segments, self._segment_head)
            self._all_segmented = True
        return self._segments, self._segment_head

    def _segment_tree(
        self, root: Key, segments: dict[Key, Segment], segment_of: dict[Key, Key]
    ) -> None:
        """Add the segments of the conversation under `root` to the two maps."""
        stack: list[tuple[Key, Key | None]] = [(root, None)]
        while stack:
            head, parent_head = stack.pop()
            keys = [head]
            current = head
            kids = self._children.get(current, ())
            while len(kids) == 1:
                current = kids[0]
                keys.append(current)
                kids = self._children.get(current, ())
            segments[head] = Segment(head, tuple(keys), parent_head)
            for k in keys:
                segment_of[k] = head
            stack.extend((child, head) for child in reversed(kids))

    def _top(self, key: Key) -> Key:
        """The conversation root above `key`, by walking up (no cache needed)."""
        while (parent := self.parent(key)) is not None:
            key = parent
        return key

    def _resegment(self, root: Key | None, gone: Iterable[Key] = ()) -> None:
        """Redo the segments of one conversation after a change inside it (`gone`: keys no
        longer in the forest). The rest stay as they are: at 100,000 responses rebuilding
        every segment after each new turn or delete cost ~80 ms."""
        segments, segment_of = self._segments, self._segment_head
        stale = list(gone)
        if root is not None:
            stale += [root, *self.descendants(root)]
        for key in stale:
            head = segment_of.pop(key, None)  # None: a new node
            if head is not None:
                segments.pop(head, None)  # None: a head already dropped
        if root is not None and self._all_segmented:
            self._segment_tree(root, segments, segment_of)
        # Else the conversation is segmented again when next asked for (`segment_of`).

    def segments(self) -> dict[Key, Segment]:
        return self._segment_maps()[0]

    def segment_of(self, key: Key) -> Segment:
        """The segment that contains `key` (KeyError when it is not in the forest)."""
        head = self._segment_head.get(key)
        if head is None:  # (_top raises KeyError for a key not in the forest)
            self._segment_tree(self._top(key), self._segments, self._segment_head)
            head = self._segment_head[key]
        return self._segments[head]

    def segment_children(self, head: Key) -> list[Key]:
        """Heads of the segments that fork off the end of the segment starting at `head`."""
        segment = self.segment_of(head)
        return self.children(segment.tail)

    def has_fork(self, key: Key) -> bool:
        return len(self._children.get(key, ())) > 1

    def stats(self) -> dict[str, Any]:
        return {"nodes": len(self._refs), "roots": len(self._roots)}
