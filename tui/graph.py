"""The branch graph as lines: one row per turn, laid out like `git log --graph`.

A run of turns without forks is a straight rail (every turn at the same depth, one under the
other); a fork is a split at the turn it forks from, its branches nested one level deeper under
that turn, `├─` for each branch but the last and `└─` for the last, with the rail `│` kept
beside a branch while its later siblings are still to come. That holds wherever in a run the
fork happens. A long run can be folded to its first and last turn, with one row between that
says how many turns it hides. A closed conversation is its first turn alone; a closed fork is
the fork turn without its branches.

Pure: rows are plain data for a widget to draw (the widget adds text, markers and colour).
Only what is visible is laid out, so a forest of 100,000 turns in closed conversations costs
one row per conversation.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from tui.forest import Forest

Key = Hashable

RAIL = "│ "  # a branch beside which a later sibling is still to come
SPACE = "  "
TEE = "├─"  # a branch with later siblings
ELBOW = "└─"  # the last branch of a fork
FOLD_OVER = 6  # runs longer than this fold to their first and last turn unless unfolded


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the graph.

    kind "turn": the turn `key`; "fold": the hidden middle of the run that starts at `key`;
    "heading": a line naming a server (`key` is the server), where several are shown.
    `prefix` is the rails and connector drawn before the turn (two columns per level).
    `place` is (n, of) among its siblings where it has any; `forks` the number of branches
    when the turn is a fork; `hidden` how many turns this row stands for but does not show
    (a closed conversation or fork: the turns below it; a fold row: the turns it folds).
    `first`: the first turn of a conversation (where one ends and the next begins).
    """

    key: Key
    kind: Literal["turn", "fold", "heading"]
    prefix: str
    depth: int
    place: tuple[int, int] | None = None
    forks: int = 0
    hidden: int = 0
    closed: bool = False
    first: bool = False


@dataclass
class GraphState:
    """What the user has opened: conversations (`open`), forks they closed (`closed`), runs
    they unfolded (`unfolded`, by the run's first turn)."""

    open: set[Key] = field(default_factory=set)
    closed: set[Key] = field(default_factory=set)
    unfolded: set[Key] = field(default_factory=set)
    fold_over: int = FOLD_OVER

    def reveal(self, forest: Forest, key: Key) -> None:
        """Open and unfold whatever hides `key`: its conversation, the forks above it, and the
        run it is in unless it is that run's first or last turn (shown even when folded)."""
        path = forest.path_to_root(key)
        self.open.add(path[0])
        self.closed.difference_update(path[:-1])
        run = forest.segment_of(key).keys
        if key not in (run[0], run[-1]):  # a folded run shows its first and last turn
            self.unfolded.add(run[0])


def _place(forest: Forest, key: Key) -> tuple[int, int] | None:
    parent = forest.parent(key)
    if parent is None:
        return None
    siblings = forest.children(parent)
    if len(siblings) < 2:
        return None
    return (siblings.index(key) + 1, len(siblings))


def conversation_rows(
    forest: Forest,
    root: Key,
    state: GraphState,
    shown: set[Key] | None = None,
    *,
    count_closed: bool = True,
) -> list[Row]:
    """The rows of the conversation that starts at `root`. With `shown`, only those turns
    (a filter's matches and their ancestors) are laid out; the rest are left out silently.
    Without `count_closed`, a closed conversation's `hidden` is -1 (not counted): counting
    every closed conversation costs a walk of the whole forest, which a widget that draws
    only the lines on screen can do for those lines alone (`hidden_below`)."""
    if root not in state.open:
        hidden = len(forest.descendants(root)) if count_closed else -1
        return [Row(root, "turn", "", 0, hidden=hidden, closed=True, first=True)]
    rows: list[Row] = []
    # Each entry: a branch's first turn, the rails before it, its connector.
    stack: list[tuple[Key, str, str]] = [(root, "", "")]
    while stack:
        head, rails, connector = stack.pop()
        keys = forest.segment_of(head).keys
        if shown is not None:
            keys = tuple(key for key in keys if key in shown)
            if not keys:
                continue
        after = rails + (RAIL if connector == TEE else SPACE if connector else "")
        depth = len(after) // 2
        visible: list[Key | None] = list(keys)
        if len(keys) > state.fold_over and keys[0] not in state.unfolded:
            visible = [keys[0], None, keys[-1]]
        for i, key in enumerate(visible):
            prefix = rails + connector if i == 0 else after
            if key is None:
                rows.append(Row(keys[0], "fold", after, depth, hidden=len(keys) - 2))
                continue
            place = _place(forest, key) if i == 0 else None
            rows.append(Row(key, "turn", prefix, depth, place=place, first=key == root))
        tail = keys[-1]
        branches = forest.children(tail)
        if len(branches) < 2:
            continue
        if tail in state.closed:
            hidden = sum(1 + len(forest.descendants(b)) for b in branches)
            rows[-1] = replace(rows[-1], forks=len(branches), hidden=hidden, closed=True)
            continue
        rows[-1] = replace(rows[-1], forks=len(branches))
        if shown is not None:
            branches = [b for b in branches if b in shown]
        for n, branch in reversed(list(enumerate(branches))):
            last = n == len(branches) - 1
            stack.append((branch, after, ELBOW if last else TEE))
    return rows


def graph_rows(
    forest: Forest,
    roots: Iterable[Key],
    state: GraphState,
    shown: set[Key] | None = None,
    *,
    count_closed: bool = True,
) -> list[Row]:
    """The rows of every conversation in `roots`, in that order."""
    rows: list[Row] = []
    for root in roots:
        rows.extend(conversation_rows(forest, root, state, shown, count_closed=count_closed))
    return rows


def hidden_below(forest: Forest, row: Row) -> int:
    """How many turns a row stands for but does not show (counted now if it was not)."""
    return len(forest.descendants(row.key)) if row.hidden < 0 else row.hidden
