"""The index shared within one process: two `Index` objects on one directory, one writing,
the other taking it in with `refresh()` (what the CLI beside the app does, without starting a
process). Also `resolve` and its `AmbiguousId`, `counts`, and the order the forest keeps."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_unit_index import response, shard_path, table

from tui.forest import Forest
from tui.store import index as index_module
from tui.store import startcache
from tui.store.atomic import SETTLE_NS
from tui.store.index import AmbiguousId, Index
from tui.store.lock import IndexLock


@pytest.fixture
def directory(tmp_path) -> Path:
    return tmp_path / "data" / "index"


def add(index: Index, rid: str, parent: str | None = None, created: float = 1.0, **kw) -> None:
    index.add_response(response(rid, parent, created, **kw), server="s", profile="p")


def ids(index: Index) -> list[str]:
    return [n.id for n in index.nodes()]


def bump(directory: Path) -> None:
    """Move the shard directory's mtime on: a rename into it made within the clock's tick of
    the one before leaves it as it was, which the tests must not depend on."""
    shards = directory / "shards"
    stat = os.stat(shards)
    os.utime(shards, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))


def replace_nodes(directory: Path, number: int, docs: dict[str, object]) -> None:
    """Another writer's new summary shard file (written aside, then renamed in place)."""
    path = shard_path(directory, number, "nodes")
    temp = path.with_name(path.name + ".new")
    temp.write_text(json.dumps({"nodes": docs}))
    os.replace(temp, path)
    bump(directory)


def looks_of(monkeypatch, index: Index) -> list[int]:
    """Every look at the files (`_reread`) the index makes from now on."""
    looks: list[int] = []
    original = index._reread
    monkeypatch.setattr(index, "_reread", lambda: looks.append(1) or original())
    return looks


def opens_of(monkeypatch, index: Index) -> list[str]:
    """The name of every file the index opens a TinyDB on from now on."""
    opened: list[str] = []
    original = index._open_db
    monkeypatch.setattr(index, "_open_db", lambda path: opened.append(path.name) or original(path))
    return opened


def listed_in_order(monkeypatch, reverse: bool) -> None:
    """`os.scandir` lists the files by name, forwards or backwards (a directory lists them in
    an order of its own: what the index makes of them must not depend on it)."""
    real = os.scandir
    monkeypatch.setattr(
        os, "scandir", lambda path: sorted(real(path), key=lambda e: e.name, reverse=reverse)
    )


# ------------------------------------------------------------------ refresh: what it returns


def test_refresh_of_a_closed_index_is_false(directory):
    first, second = Index.open(directory), Index.open(directory)
    add(first, "r1")
    second.close()
    assert second.refresh() is False
    first.close()


def test_refresh_in_the_middle_of_a_write_changes_nothing(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        with second._writing():  # what a write of its own would see
            assert second.refresh() is False
        assert len(second) == 1  # the write took it in


def test_refresh_while_another_writer_holds_the_lock_waits_for_the_next_call(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        writer = IndexLock(directory)
        writer.acquire()
        try:
            assert second.refresh() is False
            assert len(second) == 0
        finally:
            writer.release()
        assert second.refresh() is True
        assert ids(second) == ["r1"]


def test_a_change_of_the_catalogue_alone_is_a_change(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        first.save_preset({"name": "web", "tool": {"type": "web_search"}})
        assert second.refresh() is True
        assert [p["name"] for p in second.presets()] == ["web"]
        assert second.refresh() is False


@pytest.mark.parametrize(
    ("age", "looked"),
    [(SETTLE_NS + 1, False), (SETTLE_NS, True), (SETTLE_NS // 2, True)],
)
def test_files_unchanged_are_looked_at_again_only_until_they_settle(
    directory, monkeypatch, age, looked
):
    # Another index opened after this one: the lock's token is not this one's any more, so
    # only the age of the shard directory tells whether a write could hide in its mtime.
    with Index.open(directory) as first, Index.open(directory) as _second:
        looks = looks_of(monkeypatch, first)
        mtime = os.stat(directory / "shards").st_mtime_ns
        clock = SimpleNamespace(time_ns=lambda: mtime + age)
        monkeypatch.setattr(index_module, "time", clock)
        assert first.refresh() is False  # nothing changed, looked at or not
        assert looks == ([1] if looked else [])


def test_files_just_written_by_this_index_are_not_looked_at_again(directory, monkeypatch):
    with Index.open(directory) as index:
        add(index, "r1")
        looks = looks_of(monkeypatch, index)
        assert index.refresh() is False and looks == []


def test_a_shard_file_that_is_a_link_is_not_news_at_every_look(directory, monkeypatch, tmp_path):
    """A summary shard that is a symbolic link (put there by hand) is stamped as the file it
    names, as its storage stamps what it reads: looking again finds nothing new (stamping
    the link itself said "changed" at every look, and read the shard again each time)."""
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        path = shard_path(directory, 0, "nodes")
        target = tmp_path / "elsewhere.json"
        os.replace(path, target)
        path.symlink_to(target)
        bump(directory)
        assert second.refresh() is True  # the directory changed: the shard is read
        assert ids(second) == ["r1"]
        looks = looks_of(monkeypatch, second)
        opened = opens_of(monkeypatch, second)
        bump(directory)  # a look, and nothing changed since
        assert second.refresh() is False
        assert looks == [1] and opened == []


def test_a_write_hidden_in_the_directorys_mtime_is_seen_until_it_settles(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        shards = directory / "shards"
        seen = os.stat(shards)
        add(first, "r2", "r1", 2.0)
        # Written within the tick of the file system's clock: the directory looks the same.
        os.utime(shards, ns=(seen.st_atime_ns, seen.st_mtime_ns))
        assert second.refresh() is True
        assert ids(second) == ["r1", "r2"]


# ------------------------------------------------------------------ refresh: the lock's token


def test_taking_in_another_writers_work_is_no_write(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        token = IndexLock(directory).peek()
        assert second.refresh() is True
        assert IndexLock(directory).peek() == token  # nothing new for the others
        first_looks = looks_of(monkeypatch, first)
        second_looks = looks_of(monkeypatch, second)
        add(first, "r2", "r1", 2.0)
        assert first_looks == []  # nobody wrote since it did
        add(second, "r3", "r2", 3.0)
        assert second_looks == [1]  # first wrote since it looked
        second_looks.clear()
        add(second, "r4", "r3", 4.0)
        assert second_looks == []
        assert ids(second) == ["r1", "r2", "r3", "r4"]


def test_after_a_refresh_its_own_next_write_does_not_look_again(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        looks = looks_of(monkeypatch, second)
        assert second.refresh() is False
        add(second, "r2", "r1", 2.0)
        assert looks == []
        assert ids(second) == ["r1", "r2"]


def test_a_repair_made_by_a_refresh_is_news_to_the_other_indexes(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        damaged = shard_path(directory, 0, "nodes").with_name("damage")
        damaged.write_bytes(b"{half a file")
        os.replace(damaged, shard_path(directory, 0, "nodes"))
        bump(directory)
        token = IndexLock(directory).peek()
        assert second.refresh() is True
        assert ids(second) == ["r1"]  # rebuilt from its body
        assert IndexLock(directory).peek() != token
        looks = looks_of(monkeypatch, first)
        add(first, "r2", "r1", 2.0)
        assert looks == [1]  # it reads the rebuilt shard before writing into it
        assert ids(first) == ["r1", "r2"]


# ------------------------------------------------------------------ refresh: the files


def test_a_shard_directory_removed_takes_every_response_away(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        first.save_preset({"name": "web"})
        assert second.refresh() is True
        shutil.rmtree(directory / "shards")
        assert second.refresh() is True
        assert len(second) == 0
        assert second.refresh() is False


def test_a_shard_directory_removed_is_seen_whatever_its_last_mtime(directory):
    # A missing directory reads as a time no directory of this index has: 0.
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        os.utime(directory / "shards", ns=(1, 1))
        assert second.refresh() is False  # the same files
        shutil.rmtree(directory / "shards")
        assert second.refresh() is True
        assert len(second) == 0


@pytest.mark.parametrize("reverse", [False, True])
def test_other_files_in_the_shard_directory_are_passed_over(directory, monkeypatch, reverse):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        (directory / "shards" / "notes.txt").write_text("mine")
        (directory / "shards" / "zz.nodes.json").write_text("{}")
        bump(directory)
        listed_in_order(monkeypatch, reverse)
        assert second.refresh() is False  # no shard changed
        add(first, "r2", "r1", 2.0)
        bump(directory)
        assert second.refresh() is True
        assert ids(second) == ["r1", "r2"]


@pytest.mark.parametrize("reverse", [False, True])
def test_a_shard_file_gone_while_listed_is_passed_over(directory, monkeypatch, reverse):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        doomed = shard_path(directory, 99, "nodes")
        doomed.write_text("{}")
        bump(directory)
        real = os.scandir

        def listed_then_removed(path):
            entries = sorted(real(path), key=lambda e: e.name, reverse=reverse)
            doomed.unlink(missing_ok=True)  # gone before it is looked at
            return entries

        monkeypatch.setattr(os, "scandir", listed_then_removed)
        assert second.refresh() is False
        assert ids(second) == ["r1"]


def test_a_cached_body_shard_left_as_it_was_is_not_read_again(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1", text="kept")
        assert second.refresh() is True
        assert second.load_body("s", "r1")["response"]["id"] == "r1"  # its shard is cached
        opened = opens_of(monkeypatch, second)
        first.set_title("s", "r1", "named")
        assert second.refresh() is True
        assert second.title("s", "r1") == "named"
        assert second.load_body("s", "r1")["response"]["output"][0]["content"][0]["text"] == "kept"
        assert opened == ["catalog.json"]


@pytest.mark.parametrize("reverse", [False, True])
def test_a_cached_body_shard_is_told_from_the_other_files_of_its_number(
    directory, monkeypatch, reverse
):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        second.load_body("s", "r1")
        # What a body shard moved aside earlier leaves beside the new one.
        aside = directory / "shards" / "000000.bodies.json.corrupt-1-0"
        aside.write_text("{half")
        bump(directory)
        opened = opens_of(monkeypatch, second)
        listed_in_order(monkeypatch, reverse)
        assert second.refresh() is False
        second.load_body("s", "r1")
        assert opened == []


def test_a_body_shard_changed_elsewhere_is_read_again(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1", text="old")
        assert second.refresh() is True
        second.load_body("s", "r1")
        opened = opens_of(monkeypatch, second)
        add(first, "r1", text="new")
        bump(directory)
        assert second.refresh() is True
        assert second.load_body("s", "r1")["response"]["output"][0]["content"][0]["text"] == "new"
        assert opened == ["000000.nodes.json", "000000.bodies.json"]


# ------------------------------------------------------------------ refresh: summaries


def test_an_unreadable_summary_written_elsewhere_hides_only_itself(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        for n, rid in enumerate(["r1", "r2", "r3"]):
            add(first, rid, created=float(n))
        assert second.refresh() is True
        docs = table(directory, 0, "nodes")
        docs["1"] = {"id": "r1"}  # the first document, without its other fields
        replace_nodes(directory, 0, docs)
        assert second.refresh() is True
        assert ids(second) == ["r2", "r3"]


def test_a_response_gone_from_its_shard_takes_its_names_with_it(directory):
    # Its summary went, its names stayed in the catalogue (a writer that stopped between the
    # two): what the index shows follows the summaries.
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        add(first, "r2", created=2.0)
        first.set_title("s", "r1", "first")
        first.set_label("s", "r1", "mark")
        assert second.refresh() is True
        assert second.title("s", "r1") == "first"
        docs = {k: v for k, v in table(directory, 0, "nodes").items() if v["id"] != "r1"}
        replace_nodes(directory, 0, docs)
        assert second.refresh() is True
        assert second.get("s", "r1") is None
        assert second.title("s", "r1") is None and second.label("s", "r1") is None
        assert ids(second) == ["r2"]


def test_a_new_turn_from_elsewhere_joins_the_forest_in_place(directory, monkeypatch):
    with Index.open(directory) as first, Index.open(directory) as second:
        for n, (rid, parent) in enumerate([("a", None), ("b", "a"), ("c", "b")]):
            add(first, rid, parent, float(n))
        assert second.refresh() is True
        forest = second.forest("s")
        rebuilds: list[int] = []
        original = Forest._rebuild
        monkeypatch.setattr(Forest, "_rebuild", lambda self: rebuilds.append(1) or original(self))
        add(first, "d", "c", 3.0)
        assert second.refresh() is True
        assert second.forest("s") is forest
        assert forest.path_to_root(("s", "d")) == [("s", "a"), ("s", "b"), ("s", "c"), ("s", "d")]
        assert rebuilds == []


@pytest.mark.parametrize("built", [True, False])
def test_a_turn_moved_elsewhere_moves_in_the_forest(directory, built):
    with Index.open(directory) as first, Index.open(directory) as second:
        for n, (rid, parent) in enumerate([("a", None), ("b", "a"), ("c", "a")]):
            add(first, rid, parent, float(n))
        first.add_response(response("o1"), server="t", profile="p")
        assert second.refresh() is True
        if built:
            assert second.forest("s").parent(("s", "c")) == ("s", "a")
        add(first, "c", "b", 2.0)  # the same response, under another parent now
        assert second.refresh() is True
        assert second.forest("s").path_to_root(("s", "c")) == [("s", "a"), ("s", "b"), ("s", "c")]
        assert second.forest("s").children(("s", "a")) == [("s", "b")]


def test_a_shard_rebuilt_at_a_look_reads_its_bodies_as_they_are_then(directory, monkeypatch):
    # An index whose lock cannot be taken (here a symbolic link in its place) is looked at
    # without it: its owner may replace a body shard while the look is under way.
    with Index.open(directory) as first, Index.open(directory) as second:
        add(first, "r1")
        assert second.refresh() is True
        second.load_body("s", "r1")  # its body shard is cached
        bodies = shard_path(directory, 0, "bodies")
        docs = table(directory, 0, "bodies")
        later = {**docs, "2": {**docs["1"], "id": "r2", "response": response("r2", "r1", 2.0)}}
        damaged = shard_path(directory, 0, "nodes").with_name("damage")
        damaged.write_bytes(b"{half a file")
        os.replace(damaged, shard_path(directory, 0, "nodes"))
        bump(directory)
        lock = directory / "index.lock"
        lock.unlink()
        lock.symlink_to(directory / "elsewhere")
        real = os.scandir

        def listed_then_replaced(path):
            entries = list(real(path))
            for entry in entries:
                entry.stat()  # as listed: before the owner's write
            temp = bodies.with_name("owner")
            temp.write_text(json.dumps({"bodies": later}))
            os.replace(temp, bodies)
            return entries

        monkeypatch.setattr(os, "scandir", listed_then_replaced)
        assert second.refresh() is True
        monkeypatch.undo()
        assert ids(second) == ["r1", "r2"]  # rebuilt from the bodies the file holds now


# ------------------------------------------------------------------ the start-up cache


def test_a_shard_taken_from_the_start_up_cache_and_read_again_is_not_cached_unsettled(
    directory, monkeypatch
):
    monkeypatch.setattr(index_module, "CACHE_MIN_SHARDS", 1)
    monkeypatch.setattr(index_module, "CACHE_REWRITE", 1)
    with Index.open(directory) as index:
        add(index, "r1")
    past = os.stat(shard_path(directory, 0, "nodes")).st_mtime_ns - 3600 * 10**9
    os.utime(shard_path(directory, 0, "nodes"), ns=(past, past))
    with Index.open(directory):  # read settled: written to the cache at close
        pass
    fields = index_module._CACHE_FIELDS
    assert [s[0] for s in startcache.read(directory, fields)[0]] == [0]
    first, second = Index.open(directory), Index.open(directory)  # both from the cache
    try:
        add(first, "r2", "r1", 2.0)
        bump(directory)
        assert second.refresh() is True
        assert ids(second) == ["r1", "r2"]
        second.close()  # read just now: its file may change again unseen, so not cached
        assert startcache.read(directory, fields)[0] == []
    finally:
        first.close()
        second.close()


# ------------------------------------------------------------------ resolve, counts, order


@pytest.mark.parametrize(
    ("count", "tail"),
    [(5, ""), (6, " and 1 more"), (7, " and 2 more")],
)
def test_an_ambiguous_id_names_five_candidates_and_counts_the_rest(count, tail):
    candidates = [f"resp_{n}" for n in range(count)]
    error = AmbiguousId("resp_", candidates)
    shown = ", ".join(candidates[:5])
    assert str(error) == f"'resp_' begins {count} response ids: {shown}{tail}; give more of it"
    assert error.prefix == "resp_"
    assert error.candidates == candidates


def test_an_id_copied_with_three_dots_is_resolved(directory):
    with Index.open(directory) as index:
        add(index, "resp_6c40d605aa")
        add(index, "resp_7f00")
        assert index.resolve("resp_6c40...") == "resp_6c40d605aa"
        assert index.resolve(" resp_7f00... ") == "resp_7f00"
        assert index.resolve("...resp_7f") == "...resp_7f"  # dots only at the end


def test_counts_per_server(directory):
    with Index.open(directory) as index:
        assert index.counts() == {}
        add(index, "r1")
        add(index, "r2")
        index.add_response(response("r1"), server="t", profile="p")
        assert index.counts() == {"s": 2, "t": 1}


def test_turns_of_one_second_keep_the_order_recorded_across_shards(directory, monkeypatch):
    # Servers stamp whole seconds: siblings of one second go in the order the index recorded
    # them, shard first, whether the forest was built from them or took them one by one.
    monkeypatch.setattr(index_module, "SHARD_SIZE", 2)
    with Index.open(directory) as index:
        add(index, "r0", None, 1.0)
        for rid in ("c1", "c2", "c3"):
            add(index, rid, "r0", 2.0)
        forest = index.forest("s")
        add(index, "c4", "r0", 2.0)  # into shard 2, taken in place
        assert forest.children(("s", "r0")) == [("s", c) for c in ("c1", "c2", "c3", "c4")]


def test_a_body_shard_of_another_name_beside_the_shards_is_passed_over(directory):
    with Index.open(directory) as index:
        add(index, "r1")
    (directory / "shards" / "backup.bodies.json").write_text('{"bodies": {}}')
    with Index.open(directory) as index:
        assert ids(index) == ["r1"] and index.warnings == []
