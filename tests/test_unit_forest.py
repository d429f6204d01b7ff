"""Forest: exact answers of every query on small hand-built forests, and in-place updates
(add, remove) that must leave the forest as a fresh build of the same nodes would be."""

from __future__ import annotations

from tui.forest import Forest, NodeRef

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


# ------------------------------------------------------------------ remove


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
