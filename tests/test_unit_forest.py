"""Forest: exact answers of every query on small hand-built forests, and in-place updates
(add, remove) that must leave the forest as a fresh build of the same nodes would be."""

from __future__ import annotations

import pytest

from tui.forest import Forest, NodeRef, Segment

# ------------------------------------------------------------------ helpers


def observe(forest: Forest) -> dict:
    """Everything a caller can ask a forest, with the caches (segments, roots map) in use."""
    keys = sorted(forest.keys(), key=str)
    return {
        "len": len(forest),
        "keys": keys,
        "roots": forest.roots(),
        "stats": forest.stats(),
        "refs": {k: forest.ref(k) for k in keys},
        "order": {k: forest.order(k) for k in keys},
        "parent": {k: forest.parent(k) for k in keys},
        "orphan": {k: forest.is_orphan(k) for k in keys},
        "children": {k: forest.children(k) for k in keys},
        "fork": {k: forest.has_fork(k) for k in keys},
        "path": {k: forest.path_to_root(k) for k in keys},
        "depth": {k: forest.depth(k) for k in keys},
        "siblings": {k: forest.siblings(k) for k in keys},
        "descendants": {k: forest.descendants(k) for k in keys},
        "root": {k: forest.conversation_root(k) for k in keys},
        "segments": dict(forest.segments()),
        "segment_of": {k: forest.segment_of(k) for k in keys},
        "segment_children": {h: forest.segment_children(h) for h in forest.segments()},
    }


def warm(forest: Forest) -> Forest:
    """Build the lazy caches, so an update has to keep them right instead of dropping them."""
    forest.segments()
    if len(forest):
        forest.conversation_root(next(iter(forest.keys())))
    return forest


def fresh(refs: dict) -> dict:
    return observe(Forest.build(refs.values()))


def chain_refs() -> dict:
    """a-b-c forks into d and e; e-f; g names a parent the forest lacks; h stands alone.

    Creation times put g first among the roots, then a, then h."""
    refs = [
        NodeRef("a", None, 1.0, 1),
        NodeRef("b", "a", 2.0, 2),
        NodeRef("c", "b", 3.0, 3),
        NodeRef("d", "c", 4.0, 4),
        NodeRef("e", "c", 5.0, 5),
        NodeRef("f", "e", 6.0, 6),
        NodeRef("g", "zz", 0.5, 7),
        NodeRef("h", None, 7.0, 8),
    ]
    return {r.key: r for r in refs}


# ------------------------------------------------------------------ queries


def test_every_query_on_a_small_forest():
    refs = chain_refs()
    forest = Forest.build(refs.values())
    seen = observe(forest)
    assert seen["len"] == 8
    assert seen["stats"] == {"nodes": 8, "roots": 3}
    assert seen["roots"] == ["g", "a", "h"]
    assert seen["refs"] == refs
    assert seen["order"]["d"] == (4.0, 4, "d")
    assert seen["parent"] == {
        "a": None,
        "b": "a",
        "c": "b",
        "d": "c",
        "e": "c",
        "f": "e",
        "g": None,
        "h": None,
    }
    assert seen["orphan"] == {k: k == "g" for k in refs}
    assert seen["children"] == {
        "a": ["b"],
        "b": ["c"],
        "c": ["d", "e"],
        "d": [],
        "e": ["f"],
        "f": [],
        "g": [],
        "h": [],
    }
    assert seen["fork"] == {k: k == "c" for k in refs}
    assert seen["path"]["f"] == ["a", "b", "c", "e", "f"]
    assert seen["path"]["a"] == ["a"]
    assert seen["path"]["g"] == ["g"]
    assert seen["depth"] == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 3, "f": 4, "g": 0, "h": 0}
    assert seen["siblings"]["d"] == ["d", "e"]
    assert seen["siblings"]["e"] == ["d", "e"]
    assert seen["siblings"]["a"] == ["g", "a", "h"]
    assert seen["siblings"]["b"] == ["b"]
    assert seen["descendants"]["a"] == ["b", "c", "d", "e", "f"]
    assert seen["descendants"]["c"] == ["d", "e", "f"]
    assert seen["descendants"]["f"] == []
    assert seen["root"] == {k: ("a" if k in "abcdef" else k) for k in refs}
    assert seen["segments"] == {
        "a": Segment("a", ("a", "b", "c"), None),
        "d": Segment("d", ("d",), "a"),
        "e": Segment("e", ("e", "f"), "a"),
        "g": Segment("g", ("g",), None),
        "h": Segment("h", ("h",), None),
    }
    assert {k: s.head for k, s in seen["segment_of"].items()} == {
        "a": "a",
        "b": "a",
        "c": "a",
        "d": "d",
        "e": "e",
        "f": "e",
        "g": "g",
        "h": "h",
    }
    assert seen["segment_children"] == {"a": ["d", "e"], "d": [], "e": [], "g": [], "h": []}
    assert forest.segment_of("f").tail == "f"


def test_the_empty_forest():
    forest = Forest.build([])
    assert len(forest) == 0
    assert forest.roots() == []
    assert forest.segments() == {}
    assert forest.stats() == {"nodes": 0, "roots": 0}
    assert "a" not in forest
    assert list(forest.keys()) == []


def test_membership_and_keys():
    forest = Forest.build(chain_refs().values())
    assert "a" in forest
    assert "zz" not in forest  # a parent that is only named
    assert list(forest.keys()) == list("abcdefgh")


def test_a_key_outside_the_forest_has_no_children_and_no_fork():
    forest = Forest.build(chain_refs().values())
    assert forest.children("zz") == []
    assert forest.has_fork("zz") is False
    assert forest.descendants("zz") == []


def test_conversation_roots_skip_unknown_keys():
    forest = Forest.build(chain_refs().values())
    assert forest.conversation_roots(["f", "d", "g", "nope"]) == {"a", "g"}
    assert forest.conversation_roots([]) == set()
    assert forest.conversation_roots(["nope"]) == set()


@pytest.mark.parametrize(
    ("refs", "roots"),
    [
        # No creation time counts as 0.0: before any node created later.
        ([NodeRef("x", None, 0.5), NodeRef("y", None, None)], ["y", "x"]),
        ([NodeRef("x", None, 0.5), NodeRef("y", None, 0.0)], ["y", "x"]),
        # Same time: the order recorded decides, whatever the keys.
        ([NodeRef("a", None, 1.0, 2), NodeRef("b", None, 1.0, 1)], ["b", "a"]),
        # Same time and order recorded: the key (as text) decides.
        ([NodeRef("b", None, 1.0), NodeRef("a", None, 1.0)], ["a", "b"]),
        ([NodeRef(2, None), NodeRef(10, None)], [10, 2]),  # "10" < "2"
    ],
)
def test_roots_are_ordered_by_time_then_record_order_then_key(refs, roots):
    assert Forest.build(refs).roots() == roots
    assert Forest.build(reversed(refs)).roots() == roots


def test_order_of_a_node_without_a_time():
    forest = Forest.build([NodeRef("x", None, None, 3)])
    assert forest.order("x") == (0.0, 3, "x")


def test_children_are_ordered_like_roots():
    refs = [
        NodeRef("p", None, 1.0),
        NodeRef("late", "p", 9.0),
        NodeRef("tie-b", "p", 5.0, 1),
        NodeRef("tie-a", "p", 5.0, 1),
        NodeRef("early", "p", 2.0, 7),
    ]
    forest = Forest.build(refs)
    assert forest.children("p") == ["early", "tie-a", "tie-b", "late"]
    assert forest.segment_children("p") == ["early", "tie-a", "tie-b", "late"]


def test_a_single_chain_is_one_segment():
    refs = [NodeRef(n, n - 1 if n else None, float(n)) for n in range(50)]
    forest = Forest.build(refs)
    assert forest.segments() == {0: Segment(0, tuple(range(50)), None)}
    assert forest.segment_of(49).head == 0
    assert forest.segment_children(0) == []
    assert forest.depth(49) == 49
    assert forest.path_to_root(3) == [0, 1, 2, 3]


def test_segment_heads_follow_forks_at_every_level():
    refs = [
        NodeRef("r", None, 1.0),
        NodeRef("x", "r", 2.0),
        NodeRef("y", "r", 3.0),
        NodeRef("x1", "x", 4.0),
        NodeRef("x2", "x", 5.0),
        NodeRef("x2a", "x2", 6.0),
    ]
    forest = Forest.build(refs)
    assert forest.segments() == {
        "r": Segment("r", ("r",), None),
        "x": Segment("x", ("x",), "r"),
        "y": Segment("y", ("y",), "r"),
        "x1": Segment("x1", ("x1",), "x"),
        "x2": Segment("x2", ("x2", "x2a"), "x"),
    }
    assert forest.segment_children("r") == ["x", "y"]
    assert forest.segment_children("x") == ["x1", "x2"]
    assert forest.descendants("r") == ["x", "x1", "x2", "x2a", "y"]


# ------------------------------------------------------------------ cycles


def test_a_self_loop_beside_a_root_becomes_a_root():
    forest = Forest.build([NodeRef("a", None, 1.0), NodeRef("b", "b", 2.0)])
    assert forest.roots() == ["a", "b"]
    assert forest.ref("b") == NodeRef("b", None, 2.0)
    assert forest.parent("b") is None
    assert forest.is_orphan("b") is False
    assert forest.segments() == {
        "a": Segment("a", ("a",), None),
        "b": Segment("b", ("b",), None),
    }


def test_a_two_cycle_beside_a_root_is_cut_at_its_older_node():
    refs = [NodeRef("a", None, 1.0), NodeRef("x", "y", 5.0), NodeRef("y", "x", 3.0)]
    forest = Forest.build(refs)
    assert forest.roots() == ["a", "y"]
    assert forest.children("y") == ["x"]
    assert forest.ref("y").parent is None
    assert forest.ref("x").parent == "y"
    assert forest.is_orphan("y") is False
    assert forest.path_to_root("x") == ["y", "x"]


def test_cycles_after_a_finished_walk_are_still_cut():
    # The walk from "b" ends at the root "a"; "a" is then already done. The cycle after it
    # must still be found.
    refs = [
        NodeRef("b", "a", 2.0),
        NodeRef("a", None, 1.0),
        NodeRef("x", "y", 4.0),
        NodeRef("y", "x", 3.0),
    ]
    forest = Forest.build(refs)
    assert forest.roots() == ["a", "y"]
    assert forest.children("a") == ["b"]
    assert forest.children("y") == ["x"]


def test_a_walk_into_a_cycle_cuts_the_cycle_not_the_tail():
    # t hangs off the cycle p -> q -> r -> p; the walk from t runs into the cycle.
    refs = [
        NodeRef("t", "q", 1.0),
        NodeRef("p", "r", 5.0),
        NodeRef("q", "p", 3.0),
        NodeRef("r", "q", 4.0),
    ]
    forest = Forest.build(refs)
    assert forest.roots() == ["q"]
    assert forest.children("q") == ["t", "r"]
    assert forest.children("r") == ["p"]
    assert forest.ref("t").parent == "q"
    assert forest.segments()["q"] == Segment("q", ("q",), None)
    assert forest.segments()["r"] == Segment("r", ("r", "p"), "q")


def test_a_chain_leading_into_a_cycle_keeps_its_links():
    refs = [
        NodeRef("s", "m", 1.0),
        NodeRef("m", "x", 2.0),
        NodeRef("x", "y", 6.0),
        NodeRef("y", "x", 5.0),
    ]
    forest = Forest.build(refs)
    assert forest.roots() == ["y"]
    assert forest.path_to_root("s") == ["y", "x", "m", "s"]


@pytest.mark.parametrize(
    ("refs", "cut"),
    [
        ([NodeRef("x", "y", 5.0), NodeRef("y", "x", 5.0)], "x"),  # one time, one order: by key
        ([NodeRef("x", "y", 5.0, 2), NodeRef("y", "x", 5.0, 1)], "y"),  # one time: by order
        ([NodeRef("y", "x", 5.0, 1), NodeRef("x", "y", 5.0, 2)], "y"),
        ([NodeRef("x", "y", 4.0, 2), NodeRef("y", "x", 5.0, 1)], "x"),  # by time first
    ],
)
def test_a_cycle_of_turns_with_one_time_is_cut_too(refs, cut):
    """Cycles are looked for from the turns whose parent is not older than them: a cycle
    whose turns tie on time (and on the order recorded) must count as one."""
    forest = Forest.build(refs)
    assert forest.roots() == [cut]
    assert len(forest.descendants(cut)) == 1


def test_the_oldest_node_of_a_cycle_is_the_cut_wherever_the_walk_enters():
    for start in ("k1", "k2", "k3"):
        refs = [NodeRef("k1", "k3", 2.0), NodeRef("k2", "k1", 1.0), NodeRef("k3", "k2", 3.0)]
        refs.sort(key=lambda r: r.key != start)
        forest = Forest.build(refs)
        assert forest.roots() == ["k2"], start
        assert forest.path_to_root("k1") == ["k2", "k3", "k1"], start


# ------------------------------------------------------------------ add


@pytest.mark.parametrize("warmed", [False, True, "one"])
@pytest.mark.parametrize(
    "ref",
    [
        NodeRef("i", "f", 9.0),  # a new leaf at the end of a segment
        NodeRef("i", "c", 9.0),  # a third branch of a fork, newest
        NodeRef("i", "c", 4.5),  # a branch between two older ones
        NodeRef("i", "c", 0.1),  # a branch older than every other
        NodeRef("i", "d", 9.0),  # d stops being a leaf
        NodeRef("i", "b", 9.0),  # b's segment splits into a fork
        NodeRef("i", "g", 9.0),  # a child of an orphan
        NodeRef("i", None, 9.0),  # a new conversation, newest
        NodeRef("i", None, 0.1),  # a new conversation, oldest
        NodeRef("i", None, 3.0),  # a new conversation between two others
        NodeRef("i", "zz", 9.0),  # a second orphan of the same missing parent
        NodeRef("i", "yy", 0.2),  # an orphan of another missing parent
        NodeRef("i", "i", 9.0),  # names itself
    ],
)
def test_adding_a_new_node_matches_a_fresh_build(ref, warmed):
    refs = chain_refs()
    forest = Forest.build(refs.values())
    if warmed == "one":
        forest.segment_of("f")  # one conversation segmented, the others not yet
    elif warmed:
        warm(forest)
    forest.add(ref)
    refs[ref.key] = ref
    assert observe(forest) == fresh(refs)


def test_adding_a_leaf_keeps_segments_and_roots_map_up_to_date():
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    forest.add(NodeRef("i", "d", 9.0))
    assert forest.segment_of("i") == Segment("d", ("d", "i"), "a")
    assert forest.conversation_root("i") == "a"
    assert forest.conversation_roots(["i"]) == {"a"}
    forest.add(NodeRef("j", "a", 9.5))
    assert forest.segment_of("a") == Segment("a", ("a",), None)
    assert forest.segment_of("c") == Segment("b", ("b", "c"), "a")
    assert forest.segment_children("a") == ["b", "j"]
    assert forest.conversation_root("j") == "a"


def test_adding_a_new_conversation_keeps_segments_and_roots_map_up_to_date():
    forest = warm(Forest.build(chain_refs().values()))
    forest.add(NodeRef("n", None, 0.2))
    assert forest.roots() == ["n", "g", "a", "h"]
    assert forest.conversation_root("n") == "n"
    assert forest.segment_of("n") == Segment("n", ("n",), None)
    forest.add(NodeRef("o", "n", 0.3))
    assert forest.conversation_root("o") == "n"
    assert forest.segment_of("o") == Segment("n", ("n", "o"), None)


def test_a_new_root_with_the_same_time_as_the_last_goes_after_it():
    forest = Forest.build([NodeRef("a", None, 1.0, 1), NodeRef("b", None, 1.0, 2)])
    forest.add(NodeRef("c", None, 1.0, 3))
    assert forest.roots() == ["a", "b", "c"]
    forest.add(NodeRef("0", None, 1.0, 3))  # same time and record order: by key
    assert forest.roots() == ["a", "b", "0", "c"]


def test_a_new_child_with_an_equal_order_is_placed_by_key():
    forest = Forest.build([NodeRef("p", None, 1.0), NodeRef("m", "p", 2.0)])
    forest.add(NodeRef("z", "p", 2.0))
    forest.add(NodeRef("a", "p", 2.0))
    assert forest.children("p") == ["a", "m", "z"]


def test_the_second_root_added_to_an_empty_forest_is_sorted():
    forest = Forest.build([])
    forest.add(NodeRef("late", None, 5.0))
    assert forest.roots() == ["late"]
    forest.add(NodeRef("early", None, 1.0))
    assert forest.roots() == ["early", "late"]
    forest.add(NodeRef("mid", None, 3.0))
    assert forest.roots() == ["early", "mid", "late"]


def test_adding_the_missing_parent_adopts_its_orphans():
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    forest.add(NodeRef("zz", "h", 8.0))
    refs["zz"] = NodeRef("zz", "h", 8.0)
    assert forest.parent("g") == "zz"
    assert forest.is_orphan("g") is False
    assert forest.roots() == ["a", "h"]
    assert forest.path_to_root("g") == ["h", "zz", "g"]
    assert observe(forest) == fresh(refs)


def test_adding_the_parent_of_an_orphan_added_one_by_one_adopts_it():
    forest = Forest.build([])
    forest.add(NodeRef("child", "parent", 2.0))
    assert forest.is_orphan("child") is True
    forest.add(NodeRef("parent", None, 1.0))
    assert forest.roots() == ["parent"]
    assert forest.children("parent") == ["child"]
    assert forest.is_orphan("child") is False


@pytest.mark.parametrize(
    "ref",
    [
        NodeRef("f", "d", 6.0, 6),  # moves to another parent
        NodeRef("f", None, 6.0, 6),  # becomes a root
        NodeRef("c", "h", 3.0, 3),  # moves a whole subtree
        NodeRef("a", "f", 1.0, 1),  # closes a cycle
        NodeRef("e", "e", 5.0, 5),  # points at itself
        NodeRef("d", "c", 0.0, 4),  # same parent, new time: re-sorted
    ],
)
def test_replacing_a_node_matches_a_fresh_build(ref):
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    forest.add(ref)
    refs[ref.key] = ref
    assert observe(forest) == fresh(refs)


def test_a_new_node_naming_a_parent_that_closes_a_cycle_is_cut():
    forest = Forest.build([NodeRef("a", None, 1.0)])
    forest.add(NodeRef("s", "s", 2.0))
    assert forest.roots() == ["a", "s"]
    assert forest.ref("s").parent is None
    assert forest.is_orphan("s") is False


# ------------------------------------------------------------------ remove


@pytest.mark.parametrize("warmed", [False, True, "one"])
@pytest.mark.parametrize("key", list("abcdefgh"))
def test_removing_any_node_matches_a_fresh_build(key, warmed):
    refs = chain_refs()
    forest = Forest.build(refs.values())
    if warmed == "one":
        forest.segment_of("f")  # one conversation segmented, the others not yet
    elif warmed:
        warm(forest)
    forest.remove(key)
    del refs[key]
    assert observe(forest) == fresh(refs)


def test_removing_a_leaf_of_a_fork_merges_the_segments():
    forest = warm(Forest.build(chain_refs().values()))
    forest.remove("d")
    assert forest.children("c") == ["e"]
    assert forest.has_fork("c") is False
    assert forest.segment_of("f") == Segment("a", ("a", "b", "c", "e", "f"), None)
    assert "d" not in forest.segments()
    assert forest.conversation_roots(["d", "f"]) == {"a"}


def test_removing_an_only_child_leaves_its_parent_a_leaf():
    forest = warm(Forest.build(chain_refs().values()))
    forest.remove("f")
    assert forest.children("e") == []
    assert forest.descendants("e") == []
    assert forest.segment_of("e") == Segment("e", ("e",), "a")
    forest.add(NodeRef("f2", "e", 9.0))  # and it can take a child again
    assert forest.children("e") == ["f2"]


def test_removing_a_root_leaf_drops_it_from_the_roots():
    forest = warm(Forest.build(chain_refs().values()))
    forest.remove("h")
    assert forest.roots() == ["g", "a"]
    assert forest.stats() == {"nodes": 7, "roots": 2}
    assert forest.conversation_roots(["h"]) == set()
    assert "h" not in forest.segments()


def test_removing_a_node_with_children_makes_them_orphans():
    forest = warm(Forest.build(chain_refs().values()))
    forest.remove("c")
    assert forest.roots() == ["g", "a", "d", "e", "h"]
    assert forest.is_orphan("d") is True
    assert forest.is_orphan("e") is True
    assert forest.conversation_root("f") == "e"
    assert forest.segment_of("f") == Segment("e", ("e", "f"), None)


def test_removing_an_unknown_key_changes_nothing():
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    forest.remove("nope")
    assert observe(forest) == fresh(refs)


def test_removing_a_node_of_a_cut_cycle_restores_the_link_as_given():
    refs = {
        "a": NodeRef("a", None, 1.0),
        "x": NodeRef("x", "y", 5.0),
        "y": NodeRef("y", "x", 3.0),
    }
    forest = warm(Forest.build(refs.values()))
    forest.remove("x")  # a leaf now, but its own link was never cut; y is the cut one
    del refs["x"]
    assert observe(forest) == fresh(refs)
    assert forest.ref("y").parent == "x"  # the link as given
    assert forest.is_orphan("y") is True

    refs = {"x": NodeRef("x", "y", 5.0), "y": NodeRef("y", "x", 3.0)}
    forest = warm(Forest.build(refs.values()))
    forest.remove("y")  # the root of the cut cycle, with x below it
    del refs["y"]
    assert observe(forest) == fresh(refs)
    assert forest.roots() == ["x"]
    assert forest.is_orphan("x") is True


def test_a_cut_leaf_is_removed_like_any_node():
    # s points at itself: a leaf whose link was cut.
    refs = {"a": NodeRef("a", None, 1.0), "s": NodeRef("s", "s", 2.0)}
    forest = warm(Forest.build(refs.values()))
    forest.remove("s")
    assert forest.roots() == ["a"]
    assert list(forest.keys()) == ["a"]
    assert forest.segments() == {"a": Segment("a", ("a",), None)}


def test_removing_leaves_deepest_first_empties_the_forest():
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    for key in ["f", "e", "d", "c", "b", "a", "g", "h"]:
        forest.remove(key)
        del refs[key]
        assert observe(forest) == fresh(refs), key
    assert len(forest) == 0
    assert forest.roots() == []


def test_updates_in_a_row_keep_every_cache_right():
    refs = chain_refs()
    forest = warm(Forest.build(refs.values()))
    steps = [
        NodeRef("i", "d", 9.0),
        NodeRef("j", "i", 10.0),
        "d",
        NodeRef("k", "b", 11.0),
        "k",
        "f",
        NodeRef("l", None, 0.1),
        NodeRef("m", "l", 0.2),
        "m",
        "g",
    ]
    for step in steps:
        if isinstance(step, NodeRef):
            forest.add(step)
            refs[step.key] = step
        else:
            forest.remove(step)
            del refs[step]
        assert observe(forest) == fresh(refs), step


def test_new_turns_and_deletes_deepest_first_are_done_without_a_rebuild(monkeypatch):
    # A rebuild walks every node (100,000 at start): a new turn, a new conversation, an
    # orphan and the removal of a leaf must each be done in place.
    forest = warm(Forest.build(chain_refs().values()))

    def rebuild(self):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(Forest, "_rebuild", rebuild)
    forest.add(NodeRef("i", "f", 9.0))
    forest.add(NodeRef("j", None, 9.5))
    forest.add(NodeRef("k", "missing", 9.7))
    for key in ("i", "j", "k", "f", "d", "g"):
        forest.remove(key)
    assert forest.roots() == ["a", "h"]
    assert forest.segments()["a"] == Segment("a", ("a", "b", "c", "e"), None)


def test_replacing_or_adopting_rebuilds(monkeypatch):
    calls = []
    forest = Forest.build(chain_refs().values())
    monkeypatch.setattr(Forest, "_rebuild", lambda self: calls.append(1))
    forest.add(NodeRef("f", "d", 6.0))  # a known key: its links may change
    forest.add(NodeRef("zz", None, 0.1))  # the parent an orphan waits for
    forest.remove("c")  # children become orphans
    assert len(calls) == 3


def test_a_segment_asked_for_segments_its_own_conversation_only():
    # At 100,000 responses segmenting every conversation cost ~90 ms of the first screen,
    # which needs one; the rest are segmented when asked for, or all at once by segments().
    forest = Forest.build(chain_refs().values())
    assert forest.segment_of("f") == Segment("e", ("e", "f"), "a")
    assert set(forest._segments) == {"a", "d", "e"}  # conversation a's, not g's or h's
    assert forest.segment_of("h") == Segment("h", ("h",), None)
    assert set(forest._segments) == {"a", "d", "e", "h"}
    assert set(forest.segments()) == {"a", "d", "e", "g", "h"}
    with pytest.raises(KeyError):
        forest.segment_of("nowhere")
    assert "nowhere" not in forest._segments
