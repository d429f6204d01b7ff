"""The branch graph's layout (tui/graph.py): forks nested where they happen, runs as rails."""

from __future__ import annotations

from budget import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.forest import Forest, NodeRef
from tui.graph import GraphState, Row, conversation_rows, graph_rows


def chain(forest_refs: list[NodeRef], keys: str, parent: str | None) -> None:
    for key in keys:
        forest_refs.append(NodeRef(key, parent, created_at=len(forest_refs)))
        parent = key


def build(spec: dict[str, str | None]) -> Forest:
    """`{"abc": None, "de": "c"}`: a chain a-b-c from a root, a chain d-e under c."""
    refs: list[NodeRef] = []
    for keys, parent in spec.items():
        chain(refs, keys, parent)
    return Forest.build(refs)


def draw(rows: list[Row]) -> list[str]:
    out = []
    for row in rows:
        if row.kind == "fold":
            out.append(f"{row.prefix}┊ {row.hidden} more")
            continue
        line = f"{row.prefix}● {row.key}"
        if row.place:
            line += f" {row.place[0]}/{row.place[1]}"
        if row.forks:
            line += f" ⑂{row.forks}"
        if row.closed:
            line += f" +{row.hidden}"
        out.append(line)
    return out


def opened(forest: Forest, **kw) -> GraphState:
    return GraphState(open=set(forest.roots()), **kw)


def test_a_run_is_a_straight_rail():
    forest = build({"abcd": None})
    assert draw(conversation_rows(forest, "a", opened(forest))) == ["● a", "● b", "● c", "● d"]


def test_a_fork_in_the_middle_of_a_run_nests_its_branches_under_the_fork_turn():
    # "weather ⑂2" in the middle of a run: its two replies are branches, not more turns.
    forest = build({"abc": None, "de": "c", "f": "c"})
    assert draw(conversation_rows(forest, "a", opened(forest))) == [
        "● a",
        "● b",
        "● c ⑂2",
        "├─● d 1/2",
        "│ ● e",
        "└─● f 2/2",
    ]


def test_a_fork_at_the_root_and_a_fork_of_a_fork():
    forest = build({"a": None, "bc": "a", "d": "c", "e": "c", "f": "a"})
    assert draw(conversation_rows(forest, "a", opened(forest))) == [
        "● a ⑂2",
        "├─● b 1/2",
        "│ ● c ⑂2",
        "│ ├─● d 1/2",
        "│ └─● e 2/2",
        "└─● f 2/2",
    ]


def test_the_last_branch_keeps_no_rail_and_three_siblings_count_to_three():
    forest = build({"a": None, "b": "a", "c": "a", "de": "a"})
    assert draw(conversation_rows(forest, "a", opened(forest))) == [
        "● a ⑂3",
        "├─● b 1/3",
        "├─● c 2/3",
        "└─● d 3/3",
        "  ● e",
    ]


def test_a_long_run_folds_to_its_first_and_last_turn_until_unfolded():
    forest = build({"abcdefghij": None, "k": "j", "l": "j"})
    state = opened(forest, fold_over=4)
    assert draw(conversation_rows(forest, "a", state)) == [
        "● a",
        "┊ 8 more",
        "● j ⑂2",
        "├─● k 1/2",
        "└─● l 2/2",
    ]
    fold = conversation_rows(forest, "a", state)[1]
    assert (fold.kind, fold.key, fold.hidden) == ("fold", "a", 8)
    state.unfolded.add("a")
    assert len(conversation_rows(forest, "a", state)) == 12
    # A run of exactly fold_over turns stays whole.
    assert len(conversation_rows(build({"abcd": None}), "a", opened(forest, fold_over=4))) == 4


def test_a_folded_branch_keeps_its_rail():
    forest = build({"a": None, "bcdefg": "a", "h": "a"})
    assert draw(conversation_rows(forest, "a", opened(forest, fold_over=3))) == [
        "● a ⑂2",
        "├─● b 1/2",
        "│ ┊ 4 more",
        "│ ● g",
        "└─● h 2/2",
    ]


def test_closed_conversations_and_closed_forks_say_how_much_they_hide():
    forest = build({"abc": None, "de": "c", "f": "c", "x": None})
    state = GraphState()
    assert draw(graph_rows(forest, ["a", "x"], state)) == ["● a +5", "● x +0"]
    state.open.add("a")
    state.closed.add("c")
    assert draw(conversation_rows(forest, "a", state)) == ["● a", "● b", "● c ⑂2 +3"]


def test_reveal_opens_the_conversation_the_forks_and_the_run():
    forest = build({"abcdefgh": None, "ij": "h", "k": "h"})
    state = GraphState(fold_over=2)
    state.closed.add("h")
    state.reveal(forest, "j")
    turns = [row.key for row in conversation_rows(forest, "a", state) if row.kind == "turn"]
    assert "j" in turns and "i" in turns
    assert state.open == {"a"} and "h" not in state.closed and "i" not in state.unfolded
    state.reveal(forest, "c")  # in the middle of the long run: it unfolds
    assert "a" in state.unfolded
    state.unfolded.clear()
    state.reveal(forest, "h")  # the last turn of its run is shown folded too
    assert state.unfolded == set()


def test_a_filter_lays_out_only_the_turns_shown_with_their_real_places():
    forest = build({"abc": None, "de": "c", "f": "c"})
    shown = {"a", "b", "c", "f"}
    assert draw(conversation_rows(forest, "a", opened(forest), shown)) == [
        "● a",
        "● b",
        "● c ⑂2",
        "└─● f 2/2",
    ]


# ------------------------------------------------------------------ properties


@st.composite
def trees(draw_, max_nodes: int = 40) -> list[NodeRef]:
    n = draw_(st.integers(min_value=1, max_value=max_nodes))
    refs = [NodeRef(0, None, created_at=0.0)]
    for i in range(1, n):
        parent = draw_(st.one_of(st.none(), st.integers(min_value=0, max_value=i - 1)))
        refs.append(NodeRef(i, parent, created_at=float(i)))
    return refs


@settings(max_examples=examples(300), deadline=None)
@given(trees(), st.integers(min_value=2, max_value=6), st.data())
def test_property_the_graph_and_the_forest_agree(refs, fold_over, data):
    forest = Forest.build(refs)
    roots = forest.roots()
    state = GraphState(open=set(roots), fold_over=fold_over)
    state.unfolded = {head for head in forest.segments() if data.draw(st.booleans())}
    rows = graph_rows(forest, roots, state)
    turns = [row.key for row in rows if row.kind == "turn"]
    folded = sum(row.hidden for row in rows if row.kind == "fold")
    # Every turn once: shown, or counted by exactly one fold row.
    assert len(turns) == len(set(turns))
    assert len(turns) + folded == len(forest)
    position = {key: i for i, key in enumerate(turns)}
    by_key = {row.key: row for row in rows if row.kind == "turn"}
    for key in turns:
        parent = forest.parent(key)
        row = by_key[key]
        assert len(row.prefix) == 2 * row.depth
        assert row.first == (key in roots)  # a conversation's first turn says so, no other
        if parent is None:
            assert row.depth == 0 and row.prefix == ""
            continue
        if parent in position:
            assert position[parent] < position[key]  # every parent above its children
        if forest.has_fork(parent):
            # A branch is nested one level under its fork turn, with a connector.
            assert row.depth == by_key[parent].depth + 1
            assert row.prefix[-2:] in ("├─", "└─")
            assert row.place == (
                forest.children(parent).index(key) + 1,
                len(forest.children(parent)),
            )
            assert by_key[parent].forks == len(forest.children(parent))
        else:
            assert row.place is None
    # Unfolded everywhere: one row per turn, in a pre-order of the forest.
    state.unfolded = set(forest.segments())
    rows = graph_rows(forest, roots, state)
    assert [row.key for row in rows] == [
        key for root in roots for key in [root, *forest.descendants(root)]
    ]


def test_closed_conversations_can_be_left_uncounted_and_counted_when_drawn():
    from tui.graph import hidden_below

    forest = build({"abc": None, "de": "c", "f": "c", "x": None})
    rows = graph_rows(forest, ["a", "x"], GraphState(), count_closed=False)
    assert [row.hidden for row in rows] == [-1, -1]
    assert [hidden_below(forest, row) for row in rows] == [5, 0]
    counted = graph_rows(forest, ["a", "x"], GraphState())
    assert [hidden_below(forest, row) for row in counted] == [5, 0]
