"""The index through its public API: layout on disk, shards, bodies, updates, removal, the
forest, profiles and presets, and the repairs made when it is opened (files moved aside,
summaries rebuilt from bodies with their tombstones, what a crash left half-written)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tui.store import atomic
from tui.store.index import SHARD_SIZE, Index
from tui.store.lock import IndexLock
from tui.store.records import NodeSummary, Status

FRESH = "and a fresh one started"


def response(rid: str, parent: str | None = None, created: float = 1.0, text: str = "hi") -> dict:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "model": "m",
        "status": "completed",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text}],
            }
        ],
    }


def said(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": text}]


def shard_path(directory: Path, number: int, kind: str) -> Path:
    return directory / "shards" / f"{number:06d}.{kind}.json"


def table(directory: Path, number: int, kind: str) -> dict[str, dict]:
    """The documents of one shard file, by document number."""
    return json.loads(shard_path(directory, number, kind).read_text())[kind]


def write_table(directory: Path, number: int, kind: str, docs: dict[str, object]) -> None:
    shard_path(directory, number, kind).write_text(json.dumps({kind: docs}))


def ids_in(directory: Path, number: int, kind: str) -> list[str]:
    return [doc["id"] for doc in table(directory, number, kind).values()]


def aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


def moved_warning(path: Path, reason: str) -> str:
    [moved] = aside(path)
    return f"{path.name} was unreadable ({reason}); it was moved aside to {moved.name} {FRESH}"


def fill(directory: Path, count: int, server: str = "s", first: int = 0) -> None:
    with Index.open(directory) as index:
        for i in range(first, first + count):
            index.add_response(
                response(f"r{i}", f"r{i - 1}" if i else None, 1000.0 + i, f"t{i}"),
                server=server,
                profile="p",
                input_items=said(f"q{i}"),
            )


def break_nodes(directory: Path, number: int = 0) -> None:
    shard_path(directory, number, "nodes").write_bytes(b"{truncated")


@pytest.fixture
def directory(tmp_path) -> Path:
    return tmp_path / "data" / "index"


# ------------------------------------------------------------------ opening


def test_opening_creates_the_layout_privately(directory):
    with Index.open(directory) as index:
        assert index.directory == directory
        assert index.warnings == []
        assert len(index) == 0
        assert sorted(p.name for p in directory.iterdir()) == [
            "catalog.json",
            "index.lock",
            "shards",
        ]
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE((directory / "shards").stat().st_mode) == 0o700
        assert list((directory / "shards").iterdir()) == []
    catalog = json.loads((directory / "catalog.json").read_text())
    assert catalog == {"meta": {"1": {"schema": 1}}}


def test_reopening_keeps_one_schema_record_and_a_loose_mode_is_tightened(directory):
    Index.open(directory).close()
    os.chmod(directory, 0o755)
    os.chmod(directory / "shards", 0o755)
    with Index.open(directory) as index:
        index.save_profile({"name": "p"})
    catalog = json.loads((directory / "catalog.json").read_text())
    assert catalog["meta"] == {"1": {"schema": 1}}
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_the_directory_is_created_private_not_only_tightened_afterwards(directory, monkeypatch):
    import tui.store.index as index_module

    monkeypatch.setattr(index_module.os, "chmod", lambda *_args: None)
    with Index.open(directory):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE((directory / "shards").stat().st_mode) == 0o700


def test_a_directory_given_as_a_string_works(directory):
    with Index.open(str(directory)) as index:
        assert index.directory == directory
        index.add_response(response("r"), server="s", profile="p")
    assert shard_path(directory, 0, "nodes").exists()


def test_stale_temp_files_are_removed_when_opening(directory):
    fill(directory, 1)
    stale = [directory / ".catalog.json.0011223344556677.tmp"]
    stale.append(directory / "shards" / ".000000.nodes.json.8899aabbccddeeff.tmp")
    for path in stale:
        path.write_bytes(b"half a write")
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 1
    assert not any(path.exists() for path in stale)


def test_a_failed_open_releases_the_lock(directory):
    directory.mkdir(parents=True)
    (directory / "shards").write_bytes(b"a file where the shards directory goes")
    with pytest.raises(FileExistsError):
        Index.open(directory)
    lock = IndexLock(directory)
    lock.acquire()  # free again
    lock.release()


def test_close_releases_the_lock_once_and_is_harmless_twice(directory):
    Index(directory).close()  # never opened: nothing to close
    index = Index.open(directory)
    index.close()
    index.close()
    with Index.open(directory) as other:
        index.close()  # a closed index does not release someone else's lock
        lock = IndexLock(directory)
        lock.acquire()  # nobody holds it between writes
        lock.release()
        other.add_response({"id": "r1", "created_at": 1.0}, server="s", profile="p")


# ------------------------------------------------------------------ shards on disk


def test_a_response_is_a_summary_and_a_body_in_shard_zero(directory):
    resp = response("r1", text="hello")
    with Index.open(directory) as index:
        summary = index.add_response(
            resp, server="s", profile="p", input_items=said("q"), request={"model": "m"}
        )
        assert summary.shard == 0
    assert sorted(p.name for p in (directory / "shards").iterdir()) == [
        "000000.bodies.json",
        "000000.nodes.json",
    ]
    [(number, doc)] = table(directory, 0, "nodes").items()
    assert number == "1" and NodeSummary.from_doc(doc) == summary
    assert table(directory, 0, "bodies") == {
        "1": {
            "server": "s",
            "id": "r1",
            "profile": "p",
            "response": resp,
            "input": said("q"),
            "request": {"model": "m"},
            "status": "stored",
            "ancestor_missing": False,
        }
    }
    for path in (directory / "shards").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_shard_holds_exactly_shard_size_responses(directory):
    with Index.open(directory) as index:
        shards = [
            index.add_response(response(f"r{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE + 1)
        ]
    assert SHARD_SIZE == 64
    assert shards == [0] * SHARD_SIZE + [1]
    assert len(table(directory, 0, "nodes")) == SHARD_SIZE
    assert ids_in(directory, 1, "nodes") == ids_in(directory, 1, "bodies") == [f"r{SHARD_SIZE}"]


def test_after_reopening_new_responses_fill_the_last_shard(directory):
    fill(directory, SHARD_SIZE + 2)
    with Index.open(directory) as index:
        index.remove("s", "r0")  # room in shard 0: still only the last shard is filled
        added = [
            index.add_response(response(f"n{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE - 1)
        ]
    assert added == [1] * (SHARD_SIZE - 2) + [2]


def test_a_last_shard_emptied_by_removals_is_filled_again(directory):
    fill(directory, SHARD_SIZE + 2)
    with Index.open(directory) as index:
        assert index.remove_many("s", [f"r{SHARD_SIZE + 1}", f"r{SHARD_SIZE}"]) == 2
        shards = [
            index.add_response(response(f"n{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE + 1)
        ]
    assert shards == [1] * SHARD_SIZE + [2]


def test_add_many_fills_the_last_shard_then_opens_new_ones(directory):
    fill(directory, SHARD_SIZE - 4)
    records = [(response(f"m{i}", created=2000.0 + i), said(f"m{i}")) for i in range(100)]
    with Index.open(directory) as index:
        assert index.add_many(records, server="s", profile="p") == 100
        shards = {}
        for node in index.nodes():
            shards[node.shard] = shards.get(node.shard, 0) + 1
        assert shards == {0: SHARD_SIZE, 1: SHARD_SIZE, 2: 100 - 4 - SHARD_SIZE}
        assert index.add_response(response("last"), server="s", profile="p").shard == 2
    with Index.open(directory) as index:
        assert index.warnings == []
        assert len(index) == SHARD_SIZE - 4 + 101
        assert index.get("s", "m99").shard == 2
        assert index.load_body("s", "m99")["input"] == said("m99")
        assert index.get("s", "m3").shard == 0 and index.get("s", "m4").shard == 1


def test_a_shard_number_has_six_digits_and_other_files_are_ignored(directory):
    fill(directory, 1)
    shards = directory / "shards"
    (shards / "notes.nodes.json").write_text("{}")  # not a number: not a shard
    (shards / "²².nodes.json").write_text("{}")
    (shards / "README").write_text("mine")
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 1
        assert index.add_response(response("r1"), server="s", profile="p").shard == 0
    assert (shards / "README").read_text() == "mine"


# ------------------------------------------------------------------ reading


def test_get_find_nodes_latest_servers_and_len(directory):
    with Index.open(directory) as index:
        assert index.latest() is None and index.nodes() == [] and index.servers() == []
        a = index.add_response(response("r1", created=3), server="b", profile="p")
        b = index.add_response(response("r1", created=1), server="a", profile="p")
        c = index.add_response(response("r2", created=2), server="b", profile="p")
        assert index.get("b", "r1") is a and index.get("a", "r2") is None
        assert index.find("r1") == [a, b] and index.find("r3") == []
        assert index.nodes() == [b, c, a]
        assert index.nodes("b") == [c, a] and index.nodes("zzz") == []
        assert index.latest() is a and index.latest("a") is b and index.latest("zzz") is None
        assert index.servers() == ["a", "b"]
        assert len(index) == 3


def test_ties_in_time_go_by_the_order_recorded_across_shards_then_by_id(directory):
    with Index.open(directory) as index:
        for i in range(SHARD_SIZE + 2):
            index.add_response(
                response(f"x{SHARD_SIZE + 2 - i:03d}", created=5), server="s", profile="p"
            )
        order = [n.id for n in index.nodes()]
        assert order == [f"x{SHARD_SIZE + 2 - i:03d}" for i in range(SHARD_SIZE + 2)]
        assert index.latest().id == "x001"
        index.add_response(response("early", created=4), server="s", profile="p")
        assert index.nodes()[0].id == "early" and index.latest().id == "x001"


def test_load_body_returns_what_was_recorded(directory):
    with Index.open(directory) as index:
        index.add_response(response("r"), server="s", profile="p", request={"model": "m"})
        assert index.load_body("s", "r") == {
            "response": response("r"),
            "input": None,
            "request": {"model": "m"},
        }
        with pytest.raises(KeyError) as info:
            index.load_body("s", "nope")
        assert info.value.args == ("nope is not in the index",)
        with pytest.raises(KeyError):
            index.load_body("other", "r")


def test_values_of_the_wrong_type_in_a_body_count_as_absent(directory):
    fill(directory, 2)
    bodies = table(directory, 0, "bodies")
    bodies["1"].update(response="text", input={"a": 1}, request=["x"])
    bodies["2"].update(response=[1], input="text", request="text")
    write_table(directory, 0, "bodies", bodies)
    with Index.open(directory) as index:
        expected = {"response": {}, "input": None, "request": None}
        assert index.load_body("s", "r0") == expected
        assert index.load_body("s", "r1") == expected


def test_a_summary_whose_body_is_gone_loads_a_bare_response(directory):
    fill(directory, 2)
    bodies = table(directory, 0, "bodies")
    del bodies["1"]
    write_table(directory, 0, "bodies", bodies)
    with Index.open(directory) as index:
        assert index.load_body("s", "r0") == {
            "response": {"id": "r0"},
            "input": None,
            "request": None,
        }
        assert index.load_body("s", "r1")["input"] == said("q1")
        index.set_status("s", "r0", Status.DELETED)  # recorded in the summary alone
        assert index.get("s", "r0").status == Status.DELETED
        index.remove("s", "r0")  # a response without its body can still be removed
        assert [n.id for n in index.nodes()] == ["r1"]


def test_bodies_of_many_shards_stay_readable_past_the_cache(directory):
    count = SHARD_SIZE * 10 + 1
    records = [(response(f"r{i}", text=f"t{i}"), said(f"q{i}")) for i in range(count)]
    with Index.open(directory) as index:
        index.add_many(records, server="s", profile="p")
        for round_ in range(2):
            for i in range(0, count, SHARD_SIZE // 2):
                body = index.load_body("s", f"r{i}")
                assert body["input"] == said(f"q{i}"), (round_, i)
        index.set_status("s", "r0", Status.DELETED)  # shard 0 was dropped from the cache
        index.remove("s", f"r{SHARD_SIZE}")
    with Index.open(directory) as index:
        assert index.get("s", "r0").status == Status.DELETED
        assert index.get("s", f"r{SHARD_SIZE}") is None
        assert f"r{SHARD_SIZE}" not in ids_in(directory, 1, "bodies")
        assert len(index) == count - 1


# ------------------------------------------------------------------ updates


def test_an_update_keeps_the_input_and_request_recorded_earlier(directory):
    with Index.open(directory) as index:
        index.add_response(
            response("r"), server="s", profile="p", input_items=said("q"), request={"m": 1}
        )
        updated = index.add_response(response("r", text="new"), server="s", profile="p")
        assert updated.input_recorded and updated.shard == 0
        assert index.load_body("s", "r") == {
            "response": response("r", text="new"),
            "input": said("q"),
            "request": {"m": 1},
        }
        index.add_response(response("r"), server="s", profile="p", keep_input=False)
        assert index.load_body("s", "r")["input"] is None
        assert index.load_body("s", "r")["request"] == {"m": 1}
        index.add_response(
            response("r"), server="s", profile="p", input_items=said("z"), request={"m": 2}
        )
        assert index.load_body("s", "r")["input"] == said("z")
        assert index.load_body("s", "r")["request"] == {"m": 2}
        index.add_response(response("r"), server="s", profile="p", input_items=said("y"))
        assert index.load_body("s", "r")["request"] == {"m": 2}
        assert len(index) == 1
    assert len(table(directory, 0, "bodies")) == 1
    assert len(table(directory, 0, "nodes")) == 1


def test_an_update_writes_the_new_profile_and_status_into_the_body(directory):
    with Index.open(directory) as index:
        index.add_response(response("r"), server="s", profile="p")
        index.add_response(response("r"), server="s", profile="q", status=Status.INCOMPLETE)
        assert index.get("s", "r").profile == "q"
        assert index.get("s", "r").status == Status.INCOMPLETE
    [body] = table(directory, 0, "bodies").values()
    assert body["profile"] == "q" and body["status"] == "incomplete"
    [doc] = table(directory, 0, "nodes").values()
    assert doc["profile"] == "q" and doc["status"] == "incomplete"


@pytest.mark.parametrize("kept", [Status.DELETED, Status.MISSING])
def test_an_update_without_a_status_keeps_deleted_and_missing(directory, kept):
    with Index.open(directory) as index:
        index.add_response(response("r"), server="s", profile="p")
        index.set_status("s", "r", kept)
        assert index.add_response(response("r"), server="s", profile="p").status == kept
        given = index.add_response(response("r"), server="s", profile="p", status=Status.STORED)
        assert given.status == Status.STORED


@pytest.mark.parametrize("other", [Status.NOT_STORED, Status.INCOMPLETE, Status.FAILED])
def test_an_update_without_a_status_takes_the_responses_own(directory, other):
    with Index.open(directory) as index:
        index.add_response(response("r"), server="s", profile="p", status=other)
        assert index.add_response(response("r"), server="s", profile="p").status == Status.STORED


def test_ancestor_missing_survives_an_update_only_while_there_is_a_parent(directory):
    with Index.open(directory) as index:
        index.add_response(response("r", "gone"), server="s", profile="p")
        index.set_flag("s", "r", ancestor_missing=True)
        assert index.add_response(response("r", "gone"), server="s", profile="p").ancestor_missing
        assert not index.add_response(response("r"), server="s", profile="p").ancestor_missing
        index.add_response(response("q", "gone"), server="s", profile="p")
        assert not index.add_response(
            response("q", "gone"), server="s", profile="p"
        ).ancestor_missing


def test_a_response_without_an_id_is_refused(directory):
    with Index.open(directory) as index:
        for bad in ({}, {"id": ""}, {"id": 5}, {"id": None}):
            with pytest.raises(ValueError, match=r"^a response without an id cannot be indexed$"):
                index.add_response(bad, server="s", profile="p")
            with pytest.raises(ValueError, match=r"^a response without an id cannot be indexed$"):
                index.add_many([(bad, None)], server="s", profile="p")
        assert len(index) == 0


def test_set_status_and_set_flag_write_the_summary_and_the_body(directory):
    fill(directory, 3)
    with Index.open(directory) as index:
        index.set_status("s", "r1", "missing")
        assert index.get("s", "r1").status is Status.MISSING
        index.set_flag("s", "r2", ancestor_missing=True)
        index.set_flag("s", "r0", ancestor_missing=False)
        for call in (
            lambda: index.set_status("s", "zz", Status.DELETED),
            lambda: index.set_flag("s", "zz", ancestor_missing=True),
        ):
            with pytest.raises(KeyError) as info:
                call()
            assert info.value.args == ("zz is not in the index",)
    nodes = {d["id"]: d for d in table(directory, 0, "nodes").values()}
    bodies = {d["id"]: d for d in table(directory, 0, "bodies").values()}
    assert [nodes[r]["status"] for r in ("r0", "r1", "r2")] == ["stored", "missing", "stored"]
    assert [bodies[r]["status"] for r in ("r0", "r1", "r2")] == ["stored", "missing", "stored"]
    assert [bodies[r]["ancestor_missing"] for r in ("r0", "r1", "r2")] == [False, False, True]
    assert [nodes[r]["ancestor_missing"] for r in ("r0", "r1", "r2")] == [False, False, True]


def test_a_status_change_rewrites_the_body_only_when_it_changes(directory, monkeypatch):
    fill(directory, 1)
    with Index.open(directory) as index:
        written: list[str] = []
        real = atomic.write_private_file
        monkeypatch.setattr(
            atomic, "write_private_file", lambda p, d: (written.append(p.name), real(p, d))
        )
        index.set_status("s", "r0", Status.STORED)
        assert written == ["000000.nodes.json"]
        index.set_flag("s", "r0", ancestor_missing=True)
        assert written == ["000000.nodes.json", "000000.bodies.json", "000000.nodes.json"]


# ------------------------------------------------------------------ removal


def test_remove_many_removes_summaries_bodies_and_forest_nodes(directory):
    fill(directory, SHARD_SIZE + 3)
    with Index.open(directory) as index:
        forest = index.forest("s")
        gone = [f"r{SHARD_SIZE + 2}", f"r{SHARD_SIZE + 1}", "never", "r0"]
        assert index.remove_many("s", gone) == 3
        assert index.remove_many("other", ["r1"]) == 0
        assert index.remove_many("s", []) == 0
        assert len(index) == SHARD_SIZE
        assert ("s", "r0") not in forest and forest.roots() == [("s", "r1")]
        assert index.get("s", "r0") is None
        index.add_response(response("new"), server="s", profile="p")
    assert "r0" not in ids_in(directory, 0, "bodies") and "r0" not in ids_in(directory, 0, "nodes")
    assert ids_in(directory, 1, "nodes") == [f"r{SHARD_SIZE}", "new"]
    assert ids_in(directory, 1, "bodies") == [f"r{SHARD_SIZE}", "new"]
    with Index.open(directory) as index:
        assert len(index) == SHARD_SIZE + 1 and index.warnings == []


def test_a_response_named_twice_in_one_removal_is_removed_once(directory):
    fill(directory, 3)
    with Index.open(directory) as index:
        assert index.remove_many("s", ["r2", "r2", "r1", "r2"]) == 2
        assert [n.id for n in index.nodes()] == ["r0"]
    with Index.open(directory) as index:
        assert [n.id for n in index.nodes()] == ["r0"] and index.warnings == []
    assert ids_in(directory, 0, "bodies") == ["r0"]


def test_remove_takes_one_response(directory):
    fill(directory, 2)
    with Index.open(directory) as index:
        index.remove("s", "r1")
        index.remove("s", "r1")
        assert [n.id for n in index.nodes()] == ["r0"]


# ------------------------------------------------------------------ the forest


def test_the_forest_is_built_once_per_server_and_kept_up_to_date(directory):
    fill(directory, 3)
    fill(directory, 1, server="t")
    with Index.open(directory) as index:
        forest = index.forest("s")
        assert index.forest("s") is forest
        assert sorted(forest.keys()) == [("s", "r0"), ("s", "r1"), ("s", "r2")]
        assert index.forest("t").roots() == [("t", "r0")]
        assert index.get("s", "r1").parent == "r0" and index.get("s", "r0").parent is None
        index.add_response(response("r3", "r2", 2000), server="s", profile="p")
        assert forest.children(("s", "r2")) == [("s", "r3")]
        index.add_response(response("r3", "r0", 2000), server="s", profile="p")  # moved
        assert forest.children(("s", "r2")) == [] and ("s", "r3") in forest.children(("s", "r0"))
        index.add_response(response("r3", "r0", 2000, "again"), server="s", profile="p")
        assert forest.children(("s", "r0")) == [("s", "r1"), ("s", "r3")]
        index.add_response(response("o", "unknown", 3000), server="s", profile="p")
        assert forest.is_orphan(("s", "o"))
        assert index.add_many([(response("m", "r3", 4000), None)], server="s", profile="p") == 1
        rebuilt = index.forest("s")
        assert rebuilt.children(("s", "r3")) == [("s", "m")]
        assert index.forest("t").roots() == [("t", "r0")]


def test_a_response_added_before_its_forest_is_built_is_in_it(directory):
    with Index.open(directory) as index:
        index.add_response(response("a", created=1), server="s", profile="p")
        index.add_response(response("b", "a", created=2), server="s", profile="p")
        index.add_response(response("c", "zz", created=3), server="s", profile="p")
        forest = index.forest("s")
        assert forest.roots() == [("s", "a"), ("s", "c")]
        assert forest.children(("s", "a")) == [("s", "b")]
        assert forest.is_orphan(("s", "c")) and not forest.is_orphan(("s", "b"))


def test_add_many_of_known_responses_keeps_the_forest(directory):
    fill(directory, 2)
    with Index.open(directory) as index:
        forest = index.forest("s")
        added = index.add_many(
            [(response("r1", "r0", 1001.0, "new"), None)], server="s", profile="p"
        )
        assert added == 0
        assert index.forest("s") is forest
        assert index.load_body("s", "r1")["input"] == said("q1")  # kept from before


def test_add_many_counts_only_responses_new_to_the_index(directory):
    fill(directory, 1)
    with Index.open(directory) as index:
        records = [
            (response("r0", text="updated"), said("new question")),
            (response("n1"), said("1")),
            (response("n2"), None),
            (response("n1", text="second copy"), said("2")),
        ]
        assert index.add_many(records, server="s", profile="p2") == 2
        assert index.add_many([], server="s", profile="p") == 0
        assert index.load_body("s", "n1")["input"] == said("2")
        assert index.load_body("s", "r0") == {
            "response": response("r0", text="updated"),
            "input": said("new question"),
            "request": None,
        }
        assert [n.profile for n in index.nodes()] == ["p2", "p2", "p2"]
        assert [n.server for n in index.nodes()] == ["s", "s", "s"]
    assert ids_in(directory, 0, "bodies") == ["r0", "n1", "n2"]
    assert ids_in(directory, 0, "nodes") == ["r0", "n1", "n2"]


# ------------------------------------------------------------------ profiles and presets


def test_profiles_keep_only_their_fields_and_are_replaced_by_name(directory):
    with Index.open(directory) as index:
        index.save_profile({"name": "a", "base_url": "u", "api_key": "sk-x", "other": 1})
        index.save_profile({"name": "b", "headers": {"h": "v"}})
        assert index.profiles() == [
            {
                "name": "a",
                "base_url": "u",
                "api_key_env": None,
                "headers": None,
                "default_model": None,
            },
            {
                "name": "b",
                "base_url": None,
                "api_key_env": None,
                "headers": {"h": "v"},
                "default_model": None,
            },
        ]
        index.save_profile({"name": "a", "default_model": "m"})
        assert [p["default_model"] for p in index.profiles()] == ["m", None]
        got = index.profiles()
        got[0]["name"] = "changed"
        assert index.profiles()[0]["name"] == "a"
        assert index.remove_profile("a") is True
        assert index.remove_profile("a") is False
        assert [p["name"] for p in index.profiles()] == ["b"]
    assert "sk-x" not in (directory / "catalog.json").read_text()


def test_presets_are_stored_whole_and_replaced_by_name(directory):
    preset = {"name": "t", "tools": [{"type": "web_search"}], "note": "kept"}
    with Index.open(directory) as index:
        index.save_preset(preset)
        index.save_preset({"name": "u"})
        index.save_preset({**preset, "note": "replaced"})
        assert index.presets() == [{**preset, "note": "replaced"}, {"name": "u"}]
        index.presets()[0]["name"] = "changed"
        assert index.presets()[0]["name"] == "t"
    with Index.open(directory) as index:
        assert [p["name"] for p in index.presets()] == ["t", "u"]
        assert index.remove_preset("t") is True
        assert index.remove_preset("t") is False
        assert index.presets() == [{"name": "u"}]


# ------------------------------------------------------------------ repairs: moved aside


def test_a_corrupt_catalog_is_moved_aside_and_the_responses_stay(directory):
    fill(directory, 2)
    catalog = directory / "catalog.json"
    catalog.write_bytes(b'{"profiles": ')
    with Index.open(directory) as index:
        assert index.warnings == [moved_warning(catalog, "not valid JSON")]
        assert len(index) == 2
    assert json.loads(catalog.read_text()) == {"meta": {"1": {"schema": 1}}}


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"[]", "not an index file"),
        ('{"nodes": {"²": {"id": "r9"}}}'.encode(), "not an index file"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\x00\x01", "not valid JSON"),
    ],
    ids=["list", "number", "deep", "garbage"],
)
def test_a_corrupt_summary_shard_is_moved_aside_and_rebuilt(directory, content, reason):
    fill(directory, 3)
    path = shard_path(directory, 0, "nodes")
    path.write_bytes(content)
    with Index.open(directory) as index:
        assert index.warnings == [
            moved_warning(path, reason),
            "rebuilt 3 response summaries of shard 0 from their bodies",
        ]
        assert [n.id for n in index.nodes()] == ["r0", "r1", "r2"]
        assert all(n.input_recorded and n.shard == 0 for n in index.nodes())
        assert index.forest("s").path_to_root(("s", "r2")) == [
            ("s", "r0"),
            ("s", "r1"),
            ("s", "r2"),
        ]
    assert aside(path)[0].read_bytes() == content
    assert ids_in(directory, 0, "nodes") == ["r0", "r1", "r2"]
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 3


def test_a_corrupt_body_shard_is_moved_aside_when_first_needed(directory):
    fill(directory, 2)
    path = shard_path(directory, 0, "bodies")
    path.write_bytes(b"{oops")
    with Index.open(directory) as index:
        # the last shard's bodies are read at open to find what a crash left behind
        assert index.warnings == [moved_warning(path, "not valid JSON")]
        assert len(index) == 2
        assert index.load_body("s", "r1") == {
            "response": {"id": "r1"},
            "input": None,
            "request": None,
        }
        index.add_response(response("r2"), server="s", profile="p", input_items=said("x"))
        assert index.load_body("s", "r2")["input"] == said("x")


def test_a_summary_shard_with_no_bodies_to_rebuild_from_stays_empty(directory):
    fill(directory, 2)
    break_nodes(directory)
    shard_path(directory, 0, "bodies").unlink()
    with Index.open(directory) as index:
        assert index.warnings == [
            moved_warning(shard_path(directory, 0, "nodes"), "not valid JSON")
        ]
        assert len(index) == 0
        shards = [
            index.add_response(response(f"n{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE + 1)
        ]
        assert shards == [0] * SHARD_SIZE + [1]


# ------------------------------------------------------------------ repairs: rebuilds


def test_a_rebuild_keeps_what_each_body_records(directory):
    with Index.open(directory) as index:
        index.add_response(
            response("a", created=1),
            server="s",
            profile="pa",
            input_items=said("qa"),
            request={"model": "x", "tools": [{"type": "web_search"}]},
        )
        index.add_response(response("b", "a", 2), server="s", profile="pb")
        index.set_status("s", "a", Status.DELETED)
        index.set_flag("s", "b", ancestor_missing=True)
        index.add_response(
            response("c", "a", 3), server="t", profile="pc", status=Status.NOT_STORED
        )
        before = [n.to_doc() for n in index.nodes()]
    break_nodes(directory)
    with Index.open(directory) as index:
        assert [n.to_doc() for n in index.nodes()] == before
        assert index.load_body("s", "a")["request"]["model"] == "x"


def test_a_rebuild_reads_older_bodies_and_odd_values(directory):
    fill(directory, 1)
    resp = response("x", created=7)
    bodies = {
        "1": {
            "server": "s",
            "id": "x",
            "response": {**resp, "id": "ignored"},
            "profile": 5,
            "input": "not a list",
            "request": "not a dict",
        },
        "2": {
            "server": "s",
            "id": "y",
            "response": response("y"),
            "profile": "p",
            "input": said("q"),
            "request": {"store": False},
            "ancestor_missing": "yes",
        },
        "3": {
            "server": "s",
            "id": "z",
            "response": response("z"),
            "status": "bogus",
            "request": {"store": True},
            "ancestor_missing": True,
        },
        "4": {"server": "s", "id": "w", "response": response("w"), "status": 5},
        "5": {"server": "s", "id": "not-a-dict", "response": "text"},
        "6": {"server": 5, "id": "bad-server", "response": {}},
        "7": {"server": "s", "id": 7, "response": {}},
        "8": {"server": "s", "id": "", "response": {}},
        "9": {"id": "no-server", "response": {}},
        "10": {"server": "s", "id": "f", "response": response("f"), "status": "failed"},
    }
    write_table(directory, 0, "bodies", bodies)
    break_nodes(directory)
    with Index.open(directory) as index:
        assert index.warnings[-1] == "rebuilt 5 response summaries of shard 0 from their bodies"
        x, y, z, w, f = (index.get("s", r) for r in ("x", "y", "z", "w", "f"))
        assert x.id == "x" and x.profile == "" and x.created_at == 7
        assert x.input_recorded is False and x.status == Status.STORED
        assert index.load_body("s", "x")["request"] is None
        assert y.status == Status.NOT_STORED and y.input_recorded and y.profile == "p"
        assert y.ancestor_missing is False
        assert z.status == Status.STORED and z.ancestor_missing is True
        assert w.status == Status.STORED and f.status == Status.FAILED
        assert len(index) == 5
    rebuilt = {doc["id"]: doc for doc in table(directory, 0, "nodes").values()}
    assert rebuilt["x"]["profile"] == ""  # written clean, not cleaned at every open


def test_the_later_of_two_bodies_of_a_response_is_the_one_rebuilt(directory):
    fill(directory, 1)
    bodies = table(directory, 0, "bodies")
    bodies["2"] = {**bodies["1"], "response": response("r0", text="later"), "profile": "later"}
    write_table(directory, 0, "bodies", bodies)
    break_nodes(directory)
    with Index.open(directory) as index:
        assert len(index) == 1
        assert index.get("s", "r0").profile == "later"


def test_a_summary_shard_moved_aside_by_a_run_that_crashed_is_rebuilt(directory):
    fill(directory, SHARD_SIZE + 2)
    path = shard_path(directory, 1, "nodes")
    path.rename(path.with_name(path.name + ".corrupt-20260101-000000"))
    with Index.open(directory) as index:
        assert index.warnings == ["rebuilt 2 response summaries of shard 1 from their bodies"]
        assert len(index) == SHARD_SIZE + 2
        assert index.get("s", f"r{SHARD_SIZE + 1}").shard == 1


def test_bodies_without_summaries_and_nothing_moved_aside_are_a_crashed_write(directory):
    fill(directory, SHARD_SIZE + 2)
    shard_path(directory, 1, "nodes").unlink()  # as if the crash came before the first summary
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == SHARD_SIZE
    assert table(directory, 1, "bodies") == {}


def test_two_broken_shards_keep_the_newest_copy_of_a_response(directory):
    fill(directory, SHARD_SIZE + 2)
    first, second = table(directory, 0, "bodies"), table(directory, 1, "bodies")
    second["99"] = {**first["6"], "profile": "newer"}  # r5, also recorded in shard 1
    write_table(directory, 1, "bodies", second)
    break_nodes(directory, 0)
    break_nodes(directory, 1)
    with Index.open(directory) as index:
        assert index.warnings[-2:] == [
            "rebuilt 3 response summaries of shard 1 from their bodies",
            f"rebuilt {SHARD_SIZE - 1} response summaries of shard 0 from their bodies",
        ]
        assert index.get("s", "r5").shard == 1 and index.get("s", "r5").profile == "newer"
        assert len(index) == SHARD_SIZE + 2
    assert "r5" not in ids_in(directory, 0, "bodies")


def test_a_rebuild_in_a_read_only_index_still_opens(directory, monkeypatch):
    fill(directory, SHARD_SIZE + 2)
    first, second = table(directory, 0, "bodies"), table(directory, 1, "bodies")
    first["999"] = next(d for d in second.values() if d["id"] == f"r{SHARD_SIZE}")
    write_table(directory, 0, "bodies", first)
    break_nodes(directory, 0)
    real = atomic.write_private_file

    def read_only(path, data):
        if path.name == "000000.bodies.json":
            raise PermissionError(13, "Read-only file system")
        real(path, data)

    monkeypatch.setattr(atomic, "write_private_file", read_only)
    with Index.open(directory) as index:
        assert len(index) == SHARD_SIZE + 2
        assert index.get("s", f"r{SHARD_SIZE}").shard == 1


# ------------------------------------------------------------------ repairs: what a crash left


def test_bodies_a_crash_left_without_summaries_are_removed_from_the_last_shard(directory):
    fill(directory, 3)
    nodes = table(directory, 0, "nodes")
    del nodes["3"]  # r2's summary never written
    write_table(directory, 0, "nodes", nodes)
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 2
        assert (
            index.add_many([(response("r2", text="again"), said("again"))], server="s", profile="p")
            == 1
        )
        assert index.load_body("s", "r2")["input"] == said("again")
        assert index.load_body("s", "r1")["input"] == said("q1")
    assert ids_in(directory, 0, "bodies") == ["r0", "r1", "r2"]


def test_a_body_in_the_last_shard_of_a_response_indexed_in_another_is_removed(directory):
    fill(directory, SHARD_SIZE + 1)
    first, second = table(directory, 0, "bodies"), table(directory, 1, "bodies")
    second["9"] = {**first["4"], "profile": "stray"}  # r3's body, its summary is in shard 0
    write_table(directory, 1, "bodies", second)
    with Index.open(directory) as index:
        assert index.warnings == [] and index.get("s", "r3").shard == 0
        assert index.load_body("s", "r3")["input"] == said("q3")
        assert index.load_body("s", f"r{SHARD_SIZE}")["input"] == said(f"q{SHARD_SIZE}")
    assert ids_in(directory, 1, "bodies") == [f"r{SHARD_SIZE}"]


def test_a_crashed_write_into_a_new_shard_is_removed(directory):
    fill(directory, SHARD_SIZE)
    shards = directory / "shards"
    write_table(directory, 1, "bodies", {"1": {"server": "s", "id": "n", "response": {}}})
    write_table(directory, 3, "bodies", {"1": {"server": "s", "id": "m", "response": {}}})
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == SHARD_SIZE
        assert index.add_response(response("n"), server="s", profile="p").shard == 1
    assert ids_in(directory, 1, "bodies") == ["n"]
    assert table(directory, 3, "bodies") == {}
    assert not (shards / "000003.nodes.json").exists()


def test_bodies_of_an_earlier_shard_are_not_taken_for_a_crashed_write(directory):
    fill(directory, SHARD_SIZE + 1)
    first = table(directory, 0, "bodies")
    first["500"] = {"server": "s", "id": "extra", "response": response("extra")}
    write_table(directory, 0, "bodies", first)
    with Index.open(directory) as index:
        assert len(index) == SHARD_SIZE + 1
    assert "extra" in ids_in(directory, 0, "bodies")


def test_an_empty_index_with_a_body_shard_left_by_a_crash(directory):
    directory.mkdir(parents=True)
    (directory / "shards").mkdir()
    write_table(directory, 0, "bodies", {"1": {"server": "s", "id": "n", "response": {}}})
    with Index.open(directory) as index:
        assert index.warnings == [] and len(index) == 0
    assert table(directory, 0, "bodies") == {}


def test_a_stale_second_body_of_a_response_is_removed_at_open(directory):
    fill(directory, 2)
    bodies = table(directory, 0, "bodies")
    bodies["7"] = {**bodies["2"], "profile": "stale"}
    write_table(directory, 0, "bodies", dict(sorted(bodies.items(), reverse=True)))
    with Index.open(directory) as index:
        assert index.get("s", "r1").profile == "p"
        assert index.load_body("s", "r1")["input"] == said("q1")
    assert sorted(table(directory, 0, "bodies")) == ["1", "2"]


def test_unreadable_summaries_are_skipped_and_their_bodies_kept(directory):
    fill(directory, 3)
    nodes = table(directory, 0, "nodes")
    nodes = {
        "2": {"id": "r1"},  # no server, no time: cannot be read
        "3": {"server": "s", "id": "r2", "created_at": 1.0},  # no parent, model, ...
        "1": nodes["1"],
        "4": {"server": "s", "id": "r0", "model": 5},  # a broken second copy
    }
    write_table(directory, 0, "nodes", nodes)
    with Index.open(directory) as index:
        assert [n.id for n in index.nodes()] == ["r0"]
        assert index.warnings == []
    assert ids_in(directory, 0, "bodies") == ["r0", "r1", "r2"]  # the way to get them back
    assert table(directory, 0, "nodes") == nodes  # left in the file as they are, not shown


def test_a_response_listed_twice_in_a_shard_keeps_the_later_copy(directory):
    fill(directory, 2)
    nodes = table(directory, 0, "nodes")
    nodes["9"] = {**nodes["2"], "profile": "later"}
    nodes["10"] = {"server": ["odd"], "id": "r1"}  # unreadable: skipped, left alone
    write_table(directory, 0, "nodes", nodes)
    with Index.open(directory) as index:
        assert index.get("s", "r1").profile == "later"
        assert len(index) == 2
        index.remove("s", "r1")
    assert sorted(table(directory, 0, "nodes")) == ["1", "10"]
    with Index.open(directory) as index:
        assert [n.id for n in index.nodes()] == ["r0"]


def test_a_response_listed_in_two_shards_keeps_the_later_shards_copy(directory):
    fill(directory, SHARD_SIZE + 1)
    for kind in ("nodes", "bodies"):
        first, second = table(directory, 0, kind), table(directory, 1, kind)
        second["50"] = {**first["4"], "profile": "later"}  # r3
        if kind == "nodes":
            second["50"]["shard"] = 1
        write_table(directory, 1, kind, second)
    with Index.open(directory) as index:
        assert index.get("s", "r3").shard == 1 and index.get("s", "r3").profile == "later"
        assert len(index) == SHARD_SIZE + 1
        assert index.add_response(response("n"), server="s", profile="p").shard == 1
    assert "r3" not in ids_in(directory, 0, "nodes") and "r3" not in ids_in(directory, 0, "bodies")
    with Index.open(directory) as index:
        added = [
            index.add_response(response(f"x{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE - 2)
        ]
        assert added == [1] * (SHARD_SIZE - 3) + [2]


def test_a_read_only_index_with_a_duplicate_still_opens(directory, monkeypatch):
    fill(directory, 2)
    nodes = table(directory, 0, "nodes")
    nodes["9"] = dict(nodes["2"])
    write_table(directory, 0, "nodes", nodes)

    def read_only(path, data):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(atomic, "write_private_file", read_only)
    with Index.open(directory) as index:
        assert len(index) == 2


def test_a_full_disk_during_add_many_leaves_nothing_counted(directory, monkeypatch):
    fill(directory, SHARD_SIZE - 2)
    real = atomic.write_private_file

    def full(path, data):
        if path.name == "000001.nodes.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    records = [(response(f"m{i}"), None) for i in range(5)]
    with Index.open(directory) as index:
        monkeypatch.setattr(atomic, "write_private_file", full)
        with pytest.raises(OSError, match="No space"):
            index.add_many(records, server="s", profile="p")
        monkeypatch.undo()
        assert len(index) == SHARD_SIZE  # shard 0's two went in, shard 1's three did not
        assert index.add_many(records, server="s", profile="p") == 3
        assert index.add_response(response("z"), server="s", profile="p").shard == 1
        assert ids_in(directory, 1, "bodies") == ["m2", "m3", "m4", "z"]
        shards = [
            index.add_response(response(f"y{i}"), server="s", profile="p").shard
            for i in range(SHARD_SIZE - 3)
        ]
        assert shards == [1] * (SHARD_SIZE - 4) + [2]  # shard 1 counted exactly


def test_a_failed_add_many_made_again_keeps_the_other_bodies_of_its_shard(directory, monkeypatch):
    fill(directory, 3)
    real = atomic.write_private_file

    def full(path, data):
        if path.name == "000000.nodes.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    records = [(response("m0"), said("m0")), (response("m1"), None)]
    with Index.open(directory) as index:
        monkeypatch.setattr(atomic, "write_private_file", full)
        with pytest.raises(OSError, match="No space"):
            index.add_many(records, server="s", profile="p")
        monkeypatch.undo()
        assert len(index) == 3 and index.get("s", "m0") is None
        assert index.add_many(records, server="s", profile="p") == 2
        for i in range(3):
            assert index.load_body("s", f"r{i}")["input"] == said(f"q{i}")
        assert index.load_body("s", "m0")["input"] == said("m0")
    assert ids_in(directory, 0, "bodies") == ["r0", "r1", "r2", "m0", "m1"]


def test_a_removed_response_imported_again_never_takes_another_ones_body(directory):
    fill(directory, 3)
    with Index.open(directory) as index:
        index.remove("s", "r2")  # the shard's last body: its number is free again
        index.add_response(response("n", text="new one"), server="s", profile="p")
        index.add_response(response("r2", text="back"), server="s", profile="p")
        assert index.load_body("s", "n")["response"] == response("n", text="new one")
        assert index.load_body("s", "r2")["response"] == response("r2", text="back")
    with Index.open(directory) as index:
        assert index.load_body("s", "n")["response"] == response("n", text="new one")
        assert index.load_body("s", "r2")["response"] == response("r2", text="back")


def test_an_update_rewrites_only_its_own_summary(directory):
    fill(directory, 3)
    with Index.open(directory) as index:
        index.add_response(response("r1", "r0", 1001.0, "new"), server="s", profile="p")
    with Index.open(directory) as index:
        assert index.warnings == []
        assert [(n.id, n.output_preview) for n in index.nodes()] == [
            ("r0", "t0"),
            ("r1", "new"),
            ("r2", "t2"),
        ]
