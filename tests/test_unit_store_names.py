"""The index, more closely: titles and labels (kept, cleared, dropped with their response,
read back from a hand-edited catalogue), the forest kept up to date against a fresh build,
shard counting in `add_many`, the order recorded, and tidying at open when a shard cannot be
written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_unit_index import (
    break_nodes,
    ids_in,
    response,
    said,
    shard_path,
    table,
    write_table,
)

from tui.store import atomic
from tui.store.index import SHARD_SIZE, Index


@pytest.fixture
def directory(tmp_path) -> Path:
    return tmp_path / "data" / "index"


def add(index: Index, rid: str, parent: str | None = None, created: float = 1.0, server="s"):
    return index.add_response(response(rid, parent, created), server=server, profile="p")


def catalog(directory: Path) -> dict:
    return json.loads((directory / "catalog.json").read_text())


# ------------------------------------------------------------------ titles and labels


def test_a_blank_or_no_title_takes_the_title_off(directory):
    with Index.open(directory) as index:
        add(index, "r0")
        for blank in (None, "", "   "):
            index.set_title("s", "r0", "Named")
            assert index.title("s", "r0") == "Named"
            index.set_title("s", "r0", blank)
            assert index.title("s", "r0") is None
        assert catalog(directory)["names"] == {}


def test_taking_off_a_name_the_turn_never_had_changes_nothing(directory):
    with Index.open(directory) as index:
        add(index, "r0")
        add(index, "r1")
        index.set_label("s", "r0", None)
        index.set_title("s", "r0", None)
        assert index.title("s", "r0") is None and index.label("s", "r0") is None
        assert catalog(directory)["names"] == {}
        index.set_label("s", "r1", "kept")
        index.set_title("s", "r1", None)  # a label but no title
        assert index.label("s", "r1") == "kept" and index.title("s", "r1") is None
    with Index.open(directory) as index:
        assert index.labels() == [(("s", "r1"), "kept")]


def test_labels_come_in_the_order_recorded_not_by_id(directory):
    with Index.open(directory) as index:
        for rid in ("r2", "r10", "r1"):
            add(index, rid)
        add(index, "r10", server="t")
        index.set_label("s", "r1", "c")
        index.set_label("t", "r10", "")
        index.set_label("s", "r10", "b")
        index.set_label("s", "r2", "a")
        expected = [(("s", "r2"), "a"), (("s", "r10"), "b"), (("s", "r1"), "c")]
        assert index.labels("s") == expected
        assert index.labels() == [*expected, (("t", "r10"), "")]
    with Index.open(directory) as index:
        assert index.labels("s") == expected


def test_removing_responses_drops_their_names_for_good(directory):
    with Index.open(directory) as index:
        for rid in ("r0", "r1", "r2"):
            add(index, rid)
        add(index, "r0", server="t")
        index.set_title("s", "r0", "first")
        index.set_label("s", "r1", "mark")
        index.set_title("s", "r2", "kept")
        index.set_title("t", "r0", "other server")
        assert index.remove_many("s", ["r0", "r1"]) == 2
        assert index.title("s", "r0") is None and index.label("s", "r1") is None
        assert index.title("s", "r2") == "kept" and index.title("t", "r0") == "other server"
        assert sorted((d["server"], d["id"]) for d in catalog(directory)["names"].values()) == [
            ("s", "r2"),
            ("t", "r0"),
        ]
    with Index.open(directory) as index:
        # imported again under the same ids: they start without the names they had
        add(index, "r0")
        add(index, "r1")
        assert index.title("s", "r0") is None and index.label("s", "r1") is None
        assert index.labels() == []
        assert index.title("s", "r2") == "kept" and index.title("t", "r0") == "other server"


def test_hand_edited_names_of_the_wrong_shape_are_skipped_and_the_rest_loaded(directory):
    with Index.open(directory) as index:
        add(index, "r0")
        add(index, "r1")
    data = catalog(directory)
    data["names"] = {
        "1": {"server": "s", "id": ["r0"], "title": "list id"},
        "2": {"server": 5, "id": "r0", "title": "number server"},
        "3": {"server": "s", "id": None, "title": "no id"},
        "4": {"server": "s", "id": "r0", "title": "  Good\ntitle  "},
        "5": {"server": "s", "id": "r1", "label": "mark", "title": 7},
    }
    (directory / "catalog.json").write_text(json.dumps(data))
    with Index.open(directory) as index:
        assert index.warnings == []
        assert index.title("s", "r0") == "Good title"
        assert index.label("s", "r1") == "mark" and index.title("s", "r1") is None
        assert index.labels() == [(("s", "r1"), "mark")]


# ------------------------------------------------------------------ the forest


def test_the_forest_kept_up_to_date_is_the_one_a_fresh_build_gives(directory):
    a, b, r2, r10 = ("s", "a"), ("s", "b"), ("s", "r2"), ("s", "r10")
    with Index.open(directory) as index:
        add(index, "b", created=2000)  # recorded first, created later
        add(index, "a", created=1000)
        forest = index.forest("s")
        assert forest.roots() == [a, b]
        assert forest.ref(a).created_at == 1000
        # two new conversations in the same second: in the order recorded, not by id
        add(index, "r2", created=3000)
        add(index, "r10", created=3000)
        assert forest.roots() == [a, b, r2, r10]
        assert forest.ref(r2).parent is None and not forest.is_orphan(r2)
        # an update that changes only the creation time moves the response
        add(index, "a", created=4000)
        assert forest.roots() == [b, r2, r10, a]
        assert forest.ref(a).created_at == 4000
        kept = {key: forest.ref(key) for key in sorted(forest.keys())}
    with Index.open(directory) as index:
        fresh = index.forest("s")
        assert fresh.roots() == [b, r2, r10, a]
        assert {key: fresh.ref(key) for key in sorted(fresh.keys())} == kept


# ------------------------------------------------------------------ add_many


def test_a_response_twice_in_one_add_many_is_counted_once_in_its_shard(directory):
    records = [(response(f"m{i}"), None) for i in range(SHARD_SIZE - 1)]
    records += [(response("m0", text="later"), said("later")), (response("last"), None)]
    with Index.open(directory) as index:
        assert index.add_many(records, server="s", profile="p") == SHARD_SIZE
        assert {node.shard for node in index.nodes()} == {0}
        assert index.load_body("s", "m0")["input"] == said("later")
        assert add(index, "next").shard == 1  # shard 0 holds SHARD_SIZE, counted exactly
    assert len(ids_in(directory, 0, "bodies")) == SHARD_SIZE
    assert ids_in(directory, 1, "bodies") == ["next"]


def test_after_add_many_the_shards_it_wrote_stay_counted(directory):
    records = [(response(f"m{i}"), None) for i in range(SHARD_SIZE + 2)]
    with Index.open(directory) as index:
        assert index.add_many(records, server="s", profile="p") == SHARD_SIZE + 2
        shards = [add(index, f"n{i}").shard for i in range(SHARD_SIZE - 1)]
        assert shards == [1] * (SHARD_SIZE - 2) + [2]


def test_add_many_records_the_profile_in_the_body_for_a_rebuild(directory):
    with Index.open(directory) as index:
        records = [(response("m0"), said("q")), (response("m1", "m0"), None)]
        assert index.add_many(records, server="s", profile="work") == 2
    assert [doc["profile"] for doc in table(directory, 0, "bodies").values()] == ["work"] * 2
    break_nodes(directory, 0)
    with Index.open(directory) as index:
        assert index.warnings[-1] == "rebuilt 2 response summaries of shard 0 from their bodies"
        assert [node.profile for node in index.nodes()] == ["work", "work"]


# ------------------------------------------------------------------ the order recorded


def test_a_document_number_past_32_bits_does_not_reorder_the_shards(directory):
    with Index.open(directory) as index:
        for i in range(SHARD_SIZE + 1):
            add(index, f"x{i:03d}", created=5)
    nodes = table(directory, 0, "nodes")
    nodes[str(5 << 30)] = nodes.pop("1")  # x000 renumbered by hand: 5,368,709,120
    write_table(directory, 0, "nodes", nodes)
    with Index.open(directory) as index:
        assert index.warnings == []
        order = [node.id for node in index.nodes()]
        assert order[-1] == f"x{SHARD_SIZE:03d}"  # shard 1 still after all of shard 0
        assert order[SHARD_SIZE - 1] == "x000"  # the largest number of its shard
        assert index.latest().id == f"x{SHARD_SIZE:03d}"
        assert index.forest("s").roots()[-2:] == [("s", "x000"), ("s", f"x{SHARD_SIZE:03d}")]


# ------------------------------------------------------------------ tidying at open


def test_a_shard_that_cannot_be_written_at_open_does_not_stop_the_others_being_tidied(
    directory, monkeypatch
):
    with Index.open(directory) as index:
        for rid in ("r0", "r1", "r2"):
            add(index, rid)
    nodes = table(directory, 0, "nodes")
    del nodes["3"]  # r2's summary never written: a crash
    write_table(directory, 0, "nodes", nodes)
    write_table(directory, 1, "bodies", {"1": {"server": "s", "id": "n", "response": {}}})
    real = atomic.write_private_file

    def read_only(path, data):
        if path.name == "000001.bodies.json":
            raise PermissionError(13, "Read-only file system")
        real(path, data)

    monkeypatch.setattr(atomic, "write_private_file", read_only)
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 2
    assert ids_in(directory, 0, "bodies") == ["r0", "r1"]
    assert ids_in(directory, 1, "bodies") == ["n"]  # left for a later open
    assert not shard_path(directory, 1, "nodes").exists()
