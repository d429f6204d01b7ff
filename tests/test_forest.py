"""Forest: unit tests and hypothesis properties of the pure tree model."""

from __future__ import annotations

import itertools
import random
import time

import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.forest import Forest, NodeRef

MISSING_BASE = 10_000  # keys at or above this are never nodes: parents that are "not in the forest"


# ------------------------------------------------------------------ helpers


def order(forest: Forest, key) -> tuple[float, str]:
    return (forest.ref(key).created_at or 0.0, str(key))


def structure(forest: Forest) -> dict:
    """Everything observable about the shape of a forest, for comparing two forests."""
    keys = sorted(forest.keys(), key=repr)
    return {
        "keys": keys,
        "roots": forest.roots(),
        "children": {k: forest.children(k) for k in keys},
        "parent": {k: forest.parent(k) for k in keys},
        "orphan": {k: forest.is_orphan(k) for k in keys},
        "segments": {
            head: (seg.keys, seg.parent_segment_head) for head, seg in forest.segments().items()
        },
    }


def expected_preorder(forest: Forest, key) -> list:
    out: list = []
    stack = list(reversed(forest.children(key)))
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(forest.children(current)))
    return out


def check_invariants(forest: Forest) -> None:
    keys = list(forest.keys())
    key_set = set(keys)
    assert len(forest) == len(keys)

    # Parent links: as declared, except where a cycle was cut (then None); orphan status.
    for k in keys:
        declared = forest.ref(k).parent
        orphan = declared is not None and declared not in key_set
        assert forest.is_orphan(k) is orphan
        assert forest.parent(k) in ((declared if declared in key_set else None), None)

    roots = forest.roots()
    assert len(roots) == len(set(roots))
    assert set(roots) == {k for k in keys if forest.parent(k) is None}
    # Orphans are roots.
    assert {k for k in keys if forest.is_orphan(k)} <= set(roots)
    assert roots == sorted(roots, key=lambda k: order(forest, k))

    # Children: sorted, consistent with parent links.
    for k in keys:
        kids = forest.children(k)
        assert kids == sorted(kids, key=lambda c: order(forest, c))
        assert all(forest.parent(c) == k for c in kids)
        assert set(kids) == {c for c in keys if forest.parent(c) == k}
        assert forest.has_fork(k) is (len(kids) > 1)

    # Every node reachable from exactly one root, exactly once.
    seen: dict = {}
    for root in roots:
        stack = [root]
        while stack:
            current = stack.pop()
            assert current not in seen, f"{current!r} reached twice"
            seen[current] = root
            stack.extend(forest.children(current))
    assert set(seen) == key_set

    # path_to_root, depth, conversation_root, siblings.
    paths = {}
    for k in keys:
        path = forest.path_to_root(k)
        paths[k] = path
        assert path[0] in roots
        assert path[0] == seen[k]
        assert path[-1] == k
        assert len(path) == len(set(path))
        for a, b in itertools.pairwise(path):
            assert b in forest.children(a)
            assert forest.parent(b) == a
        assert forest.depth(k) == len(path) - 1
        assert forest.conversation_root(k) == path[0]
        sibs = forest.siblings(k)
        assert k in sibs
        parent = forest.parent(k)
        assert sibs == (roots if parent is None else forest.children(parent))

    # descendants: the subtree in pre-order.
    for k in keys:
        desc = forest.descendants(k)
        assert len(desc) == len(set(desc))
        assert set(desc) == {x for x in keys if x != k and k in paths[x]}
        position = {d: i for i, d in enumerate(desc)}
        for d in desc:
            parent = forest.parent(d)
            assert parent == k or position[parent] < position[d]
        assert desc == expected_preorder(forest, k)

    # Segments.
    segments = forest.segments()
    covered: dict = {}
    for head, seg in segments.items():
        assert seg.head == head == seg.keys[0]
        assert seg.tail == seg.keys[-1]
        for k in seg.keys:
            assert k not in covered, f"{k!r} in two segments"
            covered[k] = head
        for a, b in itertools.pairwise(seg.keys):
            assert forest.children(a) == [b]
        assert len(forest.children(seg.tail)) != 1
        parent = forest.parent(head)
        if parent is None:
            assert head in roots
            assert seg.parent_segment_head is None
        else:
            assert len(forest.children(parent)) >= 2
            assert seg.parent_segment_head == forest.segment_of(parent).head
        assert forest.segment_children(head) == forest.children(seg.tail)
        for k in seg.keys:
            assert forest.segment_of(k) is seg or forest.segment_of(k) == seg
    assert set(covered) == key_set


def original_cycles(refs: list[NodeRef]) -> list[set]:
    parents = {r.key: r.parent for r in refs}
    cycles: list[set] = []
    done: set = set()
    for start in parents:
        walk: list = []
        on_walk: set = set()
        k = start
        while k is not None and k in parents and k not in done and k not in on_walk:
            walk.append(k)
            on_walk.add(k)
            k = parents[k]
        if k is not None and k in on_walk:
            cycles.append(set(walk[walk.index(k) :]))
        done |= on_walk
    return cycles


# ------------------------------------------------------------------ strategies

created = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0]),  # many ties: ordering falls back to str(key)
    st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
)


@st.composite
def forests(draw, max_nodes: int = 60, cycles: bool = False) -> list[NodeRef]:
    n = draw(st.integers(min_value=0, max_value=max_nodes))
    refs = []
    for i in range(n):
        choices = ["none", "missing"] + (["earlier"] * 3 if i else [])
        if cycles:
            choices += ["later", "self"] if i < n - 1 else ["self"]
        kind = draw(st.sampled_from(choices))
        if kind == "none":
            parent = None
        elif kind == "missing":
            parent = MISSING_BASE + draw(st.integers(min_value=0, max_value=5))
        elif kind == "earlier":
            parent = draw(st.integers(min_value=0, max_value=i - 1))
        elif kind == "later":
            parent = draw(st.integers(min_value=i + 1, max_value=n - 1))
        else:
            parent = i
        refs.append(NodeRef(i, parent, draw(created)))
    return draw(st.permutations(refs)) if refs else refs


PROPS = settings(
    max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# ------------------------------------------------------------------ unit tests


def test_empty_forest():
    forest = Forest.build([])
    assert len(forest) == 0
    assert forest.roots() == []
    assert forest.segments() == {}
    assert forest.stats() == {"nodes": 0, "roots": 0}


def test_small_tree_shape_and_queries():
    refs = [
        NodeRef("a", None, 1.0),
        NodeRef("b", "a", 2.0),
        NodeRef("c", "b", 3.0),
        NodeRef("d", "b", 2.5),  # older than c: first child
        NodeRef("e", "c", 4.0),
        NodeRef("o", "gone", 0.5),  # orphan
    ]
    forest = Forest.build(refs)
    check_invariants(forest)
    assert forest.roots() == ["o", "a"]
    assert forest.is_orphan("o") and not forest.is_orphan("a") and not forest.is_orphan("b")
    assert forest.parent("o") is None
    assert forest.children("b") == ["d", "c"]
    assert forest.path_to_root("e") == ["a", "b", "c", "e"]
    assert forest.descendants("a") == ["b", "d", "c", "e"]
    assert forest.siblings("c") == ["d", "c"]
    assert forest.siblings("a") == ["o", "a"]
    segs = forest.segments()
    assert set(segs) == {"o", "a", "d", "c"}
    assert segs["a"].keys == ("a", "b")
    assert segs["c"].keys == ("c", "e")
    assert segs["c"].parent_segment_head == "a"
    assert forest.segment_children("a") == ["d", "c"]
    assert forest.segment_of("e").head == "c"
    assert forest.depth("e") == 3
    assert forest.stats() == {"nodes": 6, "roots": 2}


def test_children_ties_ordered_by_str_key():
    refs = [NodeRef(0, None, 0.0)] + [NodeRef(k, 0, 5.0) for k in (2, 10, 1)]
    forest = Forest.build(refs)
    assert forest.children(0) == [1, 10, 2]  # str order: "1" < "10" < "2"


def test_tuple_keys_as_used_by_index():
    refs = [NodeRef(("s", "r1"), None, 1.0), NodeRef(("s", "r2"), ("s", "r1"), 2.0)]
    forest = Forest.build(refs)
    assert forest.path_to_root(("s", "r2")) == [("s", "r1"), ("s", "r2")]


def test_self_loop_and_two_cycle_are_broken_at_oldest():
    refs = [
        NodeRef("s", "s", 1.0),
        NodeRef("x", "y", 5.0),
        NodeRef("y", "x", 3.0),  # older: the cut
        NodeRef("z", "x", 6.0),
    ]
    forest = Forest.build(refs)
    check_invariants(forest)
    assert set(forest.roots()) == {"s", "y"}
    assert forest.path_to_root("z") == ["y", "x", "z"]
    assert not forest.is_orphan("y")


def test_add_new_leaf_in_place_keeps_order():
    forest = Forest.build([NodeRef("a", None, 1.0), NodeRef("b", "a", 3.0)])
    forest.segments()  # cache, must be invalidated
    forest.add(NodeRef("c", "a", 2.0))
    check_invariants(forest)
    assert forest.children("a") == ["c", "b"]
    assert forest.segment_children("a") == ["c", "b"]


def test_add_missing_parent_adopts_its_orphans():
    """A response imported after its child: the child must stop being an orphan root."""
    refs = [NodeRef("root", None, 1.0), NodeRef("child", "mid", 3.0)]
    forest = Forest.build(refs)
    assert forest.is_orphan("child")
    new = NodeRef("mid", "root", 2.0)  # new key, known parent: takes the in-place path
    forest.add(new)
    fresh = Forest.build([*refs, new])
    assert fresh.path_to_root("child") == ["root", "mid", "child"]
    assert forest.path_to_root("child") == ["root", "mid", "child"]
    assert structure(forest) == structure(fresh)
    check_invariants(forest)


def test_add_replacing_node_reparents():
    forest = Forest.build([NodeRef("a", None, 1.0), NodeRef("b", None, 2.0), NodeRef("c", "a", 3)])
    forest.add(NodeRef("c", "b", 3.0))
    check_invariants(forest)
    assert forest.children("a") == [] and forest.children("b") == ["c"]


def test_remove_makes_children_orphans():
    forest = Forest.build([NodeRef("a", None, 1), NodeRef("b", "a", 2), NodeRef("c", "b", 3)])
    forest.remove("b")
    forest.remove("not-there")  # no-op
    check_invariants(forest)
    assert forest.roots() == ["a", "c"]
    assert forest.is_orphan("c")
    assert "b" not in forest


def test_remove_from_broken_cycle_matches_fresh_build():
    """After removing a node of a (broken) cycle, the forest must look like a fresh build of
    the remaining refs: that is what the user sees after restarting the app."""
    refs = [NodeRef("a", "c", 1.0), NodeRef("b", "a", 2.0), NodeRef("c", "b", 3.0)]
    forest = Forest.build(refs)
    check_invariants(forest)
    forest.remove("b")
    check_invariants(forest)
    fresh = Forest.build([r for r in refs if r.key != "b"])
    assert structure(forest) == structure(fresh)


# ------------------------------------------------------------------ properties


@PROPS
@given(forests())
def test_property_invariants(refs):
    forest = Forest.build(refs)
    check_invariants(forest)
    # No cycles in the input: nothing was rewritten.
    for r in refs:
        assert forest.ref(r.key) == r
        assert forest.parent(r.key) == (r.parent if r.parent in forest else None)
    # The order of the input does not matter.
    assert structure(Forest.build(reversed(refs))) == structure(forest)


@PROPS
@given(forests(cycles=True))
def test_property_cycles_are_broken_at_their_oldest_node(refs):
    forest = Forest.build(refs)
    check_invariants(forest)
    cycles = original_cycles(refs)
    in_cycle = set().union(*cycles) if cycles else set()
    cut = {r.key for r in refs if r.parent in forest and forest.parent(r.key) is None}
    for cycle in cycles:
        oldest = min(cycle, key=lambda k: order(forest, k))
        assert cut & cycle == {oldest}
        assert oldest in forest.roots()
        assert not forest.is_orphan(oldest)
    assert cut <= in_cycle
    assert structure(Forest.build(reversed(refs))) == structure(forest)


@PROPS
@given(forests(), st.data())
def test_property_add_new_leaf_matches_fresh_build(refs, data):
    forest = Forest.build(refs)
    forest.segments()  # populate caches so add must invalidate them
    existing = [r.key for r in refs]
    parent = data.draw(
        st.one_of(
            st.none(),
            st.sampled_from(existing) if existing else st.none(),
            st.integers(MISSING_BASE + 100, MISSING_BASE + 105),  # referenced by nobody
        )
    )
    leaf = NodeRef(5_000, parent, data.draw(created))
    forest.add(leaf)
    check_invariants(forest)
    assert structure(forest) == structure(Forest.build([*refs, leaf]))


@PROPS
@given(forests(), st.data())
def test_property_add_any_new_node_matches_fresh_build(refs, data):
    """A new node may be the missing parent of orphans already in the forest."""
    forest = Forest.build(refs)
    forest.segments()
    existing = [r.key for r in refs]
    key = data.draw(st.integers(MISSING_BASE, MISSING_BASE + 5))
    parent = data.draw(st.one_of(st.none(), st.sampled_from(existing) if existing else st.none()))
    ref = NodeRef(key, parent, data.draw(created))
    forest.add(ref)
    check_invariants(forest)
    assert structure(forest) == structure(Forest.build([*refs, ref]))


@PROPS
@given(forests(), st.data())
def test_property_remove_matches_fresh_build(refs, data):
    forest = Forest.build(refs)
    forest.segments()
    remaining = list(refs)
    for _ in range(data.draw(st.integers(0, min(5, len(refs))))):
        victim = data.draw(st.sampled_from(remaining))
        remaining.remove(victim)
        forest.remove(victim.key)
        check_invariants(forest)
        assert structure(forest) == structure(Forest.build(remaining))


@PROPS
@given(forests(), st.data())
def test_property_mixed_adds_and_removes_keep_segments_right(refs, data):
    """Segments are redone per conversation after each change: after any sequence of new
    leaves, new roots and removals they must equal a fresh build's."""
    forest = Forest.build(refs)
    forest.segments()
    current = list(refs)
    for step in range(data.draw(st.integers(1, 8))):
        keys = [r.key for r in current]
        if keys and data.draw(st.booleans()):
            victim = data.draw(st.sampled_from(current))
            current.remove(victim)
            forest.remove(victim.key)
        else:
            parent = data.draw(st.one_of(st.none(), st.sampled_from(keys) if keys else st.none()))
            ref = NodeRef(6_000 + step, parent, data.draw(created))
            current.append(ref)
            forest.add(ref)
        check_invariants(forest)
        assert structure(forest) == structure(Forest.build(current))


@PROPS
@given(forests(cycles=True), st.data())
def test_property_remove_keeps_invariants_with_cycles(refs, data):
    forest = Forest.build(refs)
    if refs:
        forest.remove(data.draw(st.sampled_from(refs)).key)
    check_invariants(forest)


# ------------------------------------------------------------------ scale


def test_deep_chain_10000():
    n = 10_000
    refs = [NodeRef(i, i - 1 if i else None, float(i)) for i in range(n)]
    forest = Forest.build(refs)
    path = forest.path_to_root(n - 1)
    assert path == list(range(n))
    assert forest.descendants(0) == list(range(1, n))
    segments = forest.segments()
    assert len(segments) == 1
    assert segments[0].keys == tuple(range(n))
    assert forest.segment_of(n // 2).head == 0
    assert forest.depth(n - 1) == n - 1
    forest.add(NodeRef(n, n - 1, float(n)))
    assert len(forest.segments()) == 1
    forest.remove(n // 2)
    assert set(forest.segments()) == {0, n // 2 + 1}


def test_deep_cycle_10000_is_broken_without_recursion():
    n = 10_000
    refs = [NodeRef(i, (i - 1) % n, float(i)) for i in range(n)]  # 0's parent is n - 1
    forest = Forest.build(refs)
    assert forest.roots() == [0]
    assert forest.path_to_root(n - 1) == list(range(n))
    assert len(forest.segments()) == 1


def random_refs(n: int, seed: int) -> list[NodeRef]:
    rng = random.Random(seed)
    refs = []
    for i in range(n):
        roll = rng.random()
        if i == 0 or roll < 0.05:
            parent = None
        elif roll < 0.08:
            parent = ("missing", i)
        elif roll < 0.6:
            parent = i - 1  # long chains, as in real conversations
        else:
            parent = rng.randrange(i)
        refs.append(NodeRef(i, parent, rng.uniform(0, 1e9)))
    rng.shuffle(refs)
    return refs


def test_build_10000_random_nodes_is_fast():
    refs = random_refs(10_000, seed=1)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        forest = Forest.build(refs)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    start = time.perf_counter()
    forest.segments()
    seg_time = time.perf_counter() - start
    print(
        f"\nForest.build of 10,000 random nodes: best of 3 = {best * 1000:.1f} ms; "
        f"segments() = {seg_time * 1000:.1f} ms"
    )
    assert len(forest) == 10_000
    assert best < 0.5


@pytest.mark.parametrize("seed", [2, 3])
def test_random_1000_node_forest_invariants(seed):
    forest = Forest.build(random_refs(1_000, seed))
    # A cheaper subset of the invariants at this size.
    seen = set()
    stack = list(forest.roots())
    while stack:
        k = stack.pop()
        assert k not in seen
        seen.add(k)
        stack.extend(forest.children(k))
    assert seen == set(forest.keys())
    covered = [k for seg in forest.segments().values() for k in seg.keys]
    assert sorted(covered) == sorted(forest.keys())
