"""The local index: round trips, persistence, the lock, file modes, corruption, crash safety."""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tui.forest import Forest
from tui.paths import index_dir
from tui.store import atomic
from tui.store.atomic import write_private_file
from tui.store.index import SHARD_SIZE, Index
from tui.store.lock import IndexInUse
from tui.store.records import Status

PROJECT = Path(__file__).resolve().parents[1]
SECRET = "sk-SHOULD-NOT-BE-SAVED"


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


def user_input(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": text}]


def structure(forest: Forest) -> dict:
    keys = sorted(forest.keys())
    return {
        "keys": keys,
        "roots": forest.roots(),
        "children": {k: forest.children(k) for k in keys},
        "orphan": {k: forest.is_orphan(k) for k in keys},
        "segments": {h: s.keys for h, s in forest.segments().items()},
    }


def all_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def directory() -> Path:
    return index_dir()


@pytest.fixture
def index(directory):
    idx = Index.open(directory)
    yield idx
    idx.close()


# ------------------------------------------------------------------ round trips


def test_add_get_find_nodes_load_body_round_trip(index):
    resp = response("resp_1", text="hello there")
    original = copy.deepcopy(resp)
    summary = index.add_response(resp, server="s", profile="p", input_items=user_input("q?"))
    assert summary.key == ("s", "resp_1")
    assert summary.status == Status.STORED
    assert summary.input_recorded is True
    assert "q?" in summary.input_preview
    assert "hello there" in summary.output_preview

    assert index.get("s", "resp_1") == summary
    assert index.get("s", "nope") is None
    assert index.get("other", "resp_1") is None
    assert index.find("resp_1") == [summary]
    assert index.nodes() == [summary] == index.nodes("s")
    assert index.nodes("other") == []
    assert len(index) == 1
    assert index.servers() == ["s"]

    body = index.load_body("s", "resp_1")
    assert body["response"] == original
    assert body["input"] == user_input("q?")
    with pytest.raises(KeyError):
        index.load_body("s", "nope")


def test_summary_document_round_trip_keeps_every_field():
    from dataclasses import fields

    from tui.store.records import NodeSummary

    summary = NodeSummary(
        server="s",
        id="r",
        parent="p",
        created_at=2.5,
        model="m",
        profile="prof",
        status=Status.MISSING,
        input_preview="in",
        output_preview="out",
        input_recorded=True,
        has_tools=True,
        ancestor_missing=True,
        tool_labels=("a", "b"),
        shard=7,
    )
    doc = summary.to_doc()
    assert set(doc) == {f.name for f in fields(NodeSummary)}
    assert NodeSummary.from_doc(doc) == summary
    assert NodeSummary.from_doc({**doc, "unknown": 1, "status": "bogus"}).status == Status.STORED
    minimal = {k: doc[k] for k in ("server", "id", "parent", "created_at", "model", "profile")}
    assert NodeSummary.from_doc(minimal).tool_labels == ()
    with pytest.raises(TypeError, match="created_at"):
        NodeSummary.from_doc({k: v for k, v in doc.items() if k != "created_at"})


def test_forest_shares_the_index_keys_instead_of_copying_them(directory):
    with Index.open(directory) as idx:
        idx.add_response(response("r1"), server="s", profile="p")
        idx.add_response(response("r2", "r1"), server="s", profile="p")
        idx.add_response(response("r3", "gone"), server="s", profile="p")  # an orphan
    with Index.open(directory) as idx:
        forest = idx.forest("s")
        keys = {k: k for k in idx._nodes}
        assert forest.parent(("s", "r2")) is keys[("s", "r1")]
        assert idx.get("s", "r2").parent is keys[("s", "r1")][1]
        assert forest.is_orphan(("s", "r3")) and idx.get("s", "r3").parent == "gone"
        assert forest.roots() == [("s", "r1"), ("s", "r3")]


def test_same_id_on_two_servers(index):
    index.add_response(response("r"), server="a", profile="p")
    index.add_response(response("r", text="other"), server="b", profile="p")
    assert {n.server for n in index.find("r")} == {"a", "b"}
    assert index.servers() == ["a", "b"]
    assert index.load_body("b", "r")["response"]["output"][0]["content"][0]["text"] == "other"


def test_body_keeps_response_exactly_including_unusual_values(index):
    resp = response("resp_x")
    resp["extra"] = {"nested": [1, 2.5, None, True, "ünïcødé \u202e \x1b[31m"], "empty": {}}
    original = copy.deepcopy(resp)
    index.add_response(resp, server="s", profile="p")
    index.close()
    with Index.open(index.directory) as again:
        assert again.load_body("s", "resp_x")["response"] == original


def test_input_none_is_not_recorded(index):
    summary = index.add_response(response("r1"), server="s", profile="p", input_items=None)
    assert summary.input_recorded is False
    assert summary.input_preview == ""
    assert index.load_body("s", "r1")["input"] is None


def test_update_without_input_keeps_recorded_input(index):
    index.add_response(response("r1"), server="s", profile="p", input_items=user_input("first"))
    updated = index.add_response(response("r1", text="new text"), server="s", profile="p")
    assert updated.input_recorded is True
    assert "first" in updated.input_preview
    body = index.load_body("s", "r1")
    assert body["input"] == user_input("first")
    assert body["response"]["output"][0]["content"][0]["text"] == "new text"
    assert len(index) == 1
    index.close()
    with Index.open(index.directory) as again:
        assert again.load_body("s", "r1")["input"] == user_input("first")
        assert len(again) == 1


def test_update_keep_input_false_drops_input(index):
    index.add_response(response("r1"), server="s", profile="p", input_items=user_input("first"))
    updated = index.add_response(response("r1"), server="s", profile="p", keep_input=False)
    assert updated.input_recorded is False
    assert index.load_body("s", "r1")["input"] is None


def test_forest_is_incremental_and_matches_fresh_build_after_reopen(index):
    index.add_response(response("a", created=1), server="s", profile="p")
    forest = index.forest("s")
    assert forest.roots() == [("s", "a")]
    index.add_response(response("b", "a", created=2), server="s", profile="p")
    index.add_response(response("c", "b", created=3), server="s", profile="p")
    index.add_response(response("d", "b", created=4), server="s", profile="p")
    index.add_response(response("x", "gone", created=5), server="s", profile="p")
    index.add_response(response("other", created=1), server="t", profile="p")
    assert index.forest("s") is forest
    assert forest.children(("s", "b")) == [("s", "c"), ("s", "d")]
    assert forest.is_orphan(("s", "x"))
    assert ("t", "other") not in forest
    index.remove("s", "b")
    assert ("s", "b") not in forest
    assert forest.is_orphan(("s", "c"))
    # Reparent by updating a response.
    index.add_response(response("d", "a", created=4), server="s", profile="p")
    assert forest.children(("s", "a")) == [("s", "d")]
    snapshot = structure(forest)
    index.close()
    with Index.open(index.directory) as again:
        assert structure(again.forest("s")) == snapshot


# ------------------------------------------------------------------ persistence


def test_persistence_across_several_shards(directory):
    total = SHARD_SIZE * 3 + 5
    with Index.open(directory) as idx:
        for i in range(total):
            idx.add_response(
                response(f"r{i}", f"r{i - 1}" if i else None, created=float(i), text=f"t{i}"),
                server="s",
                profile="p",
                input_items=user_input(f"q{i}"),
            )
    node_files = sorted((directory / "shards").glob("*.nodes.json"))
    body_files = sorted((directory / "shards").glob("*.bodies.json"))
    assert len(node_files) == len(body_files) == 4
    for path in node_files:
        assert len(json.loads(path.read_text())["nodes"]) <= SHARD_SIZE

    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert len(idx) == total
        assert [n.id for n in idx.nodes()] == [f"r{i}" for i in range(total)]
        for i in (0, SHARD_SIZE - 1, SHARD_SIZE, total - 1):
            body = idx.load_body("s", f"r{i}")
            assert body["response"]["output"][0]["content"][0]["text"] == f"t{i}"
            assert body["input"] == user_input(f"q{i}")
        forest = idx.forest("s")
        assert len(forest.segments()) == 1
        assert forest.path_to_root(("s", f"r{total - 1}"))[0] == ("s", "r0")
        # Appending after reopen fills the last shard, never overfills one.
        for i in range(total, total + SHARD_SIZE):
            idx.add_response(response(f"r{i}"), server="s", profile="p")
    with Index.open(directory) as idx:
        assert len(idx) == total + SHARD_SIZE
    for path in (directory / "shards").glob("*.nodes.json"):
        assert len(json.loads(path.read_text())["nodes"]) <= SHARD_SIZE


def test_set_status_set_flag_and_remove_persist(directory):
    with Index.open(directory) as idx:
        for i in range(SHARD_SIZE + 10):
            idx.add_response(response(f"r{i}"), server="s", profile="p")
        idx.set_status("s", "r3", Status.DELETED)
        idx.set_status("s", f"r{SHARD_SIZE + 2}", Status.MISSING)
        idx.set_flag("s", "r4", ancestor_missing=True)
        idx.remove("s", "r5")
        idx.remove("s", f"r{SHARD_SIZE + 1}")
        idx.remove("s", "never-there")  # no-op
        with pytest.raises(KeyError):
            idx.set_status("s", "never-there", Status.DELETED)
    with Index.open(directory) as idx:
        assert idx.get("s", "r3").status == Status.DELETED
        assert idx.get("s", f"r{SHARD_SIZE + 2}").status == Status.MISSING
        assert idx.get("s", "r4").ancestor_missing is True
        assert idx.get("s", "r6").ancestor_missing is False
        assert idx.get("s", "r5") is None
        assert idx.get("s", f"r{SHARD_SIZE + 1}") is None
        assert len(idx) == SHARD_SIZE + 8
        # An update without a status keeps DELETED.
        idx.add_response(response("r3", text="again"), server="s", profile="p")
        assert idx.get("s", "r3").status == Status.DELETED
    with Index.open(directory) as idx:
        assert idx.get("s", "r3").status == Status.DELETED
        bodies = [
            b
            for path in (directory / "shards").glob("*.bodies.json")
            for b in json.loads(path.read_text())["bodies"].values()
        ]
        assert {b["id"] for b in bodies} == {n.id for n in idx.nodes()}


def test_remove_many(index):
    for i in range(5):
        index.add_response(response(f"r{i}"), server="s", profile="p")
    assert index.remove_many("s", ["r1", "r3", "never-there"]) == 2
    assert [n.id for n in index.nodes()] == ["r0", "r2", "r4"]


def test_remove_many_writes_each_shard_once_and_persists(directory, monkeypatch):
    total = SHARD_SIZE * 2 + 10
    with Index.open(directory) as idx:
        for i in range(total):  # one chain over three shards
            parent = f"r{i - 1}" if i else None
            idx.add_response(response(f"r{i}", parent, created=float(i)), server="s", profile="p")
        forest = idx.forest("s")
        writes: list[str] = []
        real_write = atomic.write_private_file
        monkeypatch.setattr(
            atomic,
            "write_private_file",
            lambda path, data: (writes.append(path.name), real_write(path, data)),
        )
        gone = [f"r{i}" for i in range(total - 1, SHARD_SIZE // 2, -1)]  # leaves first
        assert idx.remove_many("s", gone) == len(gone)
        assert sorted(writes) == sorted(set(writes))  # no file written twice
        assert len(writes) == 6  # three shards: summaries and bodies of each
        assert len(forest) == SHARD_SIZE // 2 + 1
        assert forest.children(("s", f"r{SHARD_SIZE // 2}")) == []
    with Index.open(directory) as idx:
        assert [n.id for n in idx.nodes()] == [f"r{i}" for i in range(SHARD_SIZE // 2 + 1)]
        bodies = [
            b
            for path in (directory / "shards").glob("*.bodies.json")
            for b in json.loads(path.read_text())["bodies"].values()
        ]
        assert {b["id"] for b in bodies} == {n.id for n in idx.nodes()}


def test_add_response_without_id_is_refused(index):
    with pytest.raises(ValueError):
        index.add_response({"object": "response"}, server="s", profile="p")
    with pytest.raises(ValueError):
        index.add_response(response(""), server="s", profile="p")
    assert len(index) == 0


# ------------------------------------------------------------------ the lock


def test_two_opens_in_one_process_both_write_and_see_each_other(directory):
    first = Index.open(directory)
    second = Index.open(directory)
    try:
        first.add_response(response("r1", created=1.0), server="s", profile="p")
        second.add_response(response("r2", "r1", created=2.0), server="s", profile="p")
        second.set_title("s", "r1", "shared")
        first.add_response(response("r3", "r2", created=3.0), server="s", profile="p")
        # Each write re-read what the other wrote first: nothing is lost, nothing doubled.
        assert [n.id for n in first.nodes()] == ["r1", "r2", "r3"]
        assert first.title("s", "r1") == "shared"
        assert second.refresh() is True
        assert [n.id for n in second.nodes()] == ["r1", "r2", "r3"]
        assert second.forest("s").path_to_root(("s", "r3")) == [
            ("s", "r1"),
            ("s", "r2"),
            ("s", "r3"),
        ]
        assert second.refresh() is False  # nothing new since
        first.remove("s", "r3")
        assert second.refresh() is True
        assert second.get("s", "r3") is None and len(second) == 2
        assert ("s", "r3") not in second.forest("s")
    finally:
        first.close()
        second.close()
    with Index.open(directory) as again:
        assert [n.id for n in again.nodes()] == ["r1", "r2"] and again.warnings == []
    second.close()  # closing twice is harmless


def test_refresh_sees_a_status_a_label_and_a_preset_written_elsewhere(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        first.add_response(response("r1"), server="s", profile="p")
        assert second.refresh() is True
        first.set_status("s", "r1", Status.DELETED)
        first.set_label("s", "r1", "keep")
        first.save_preset({"name": "web", "tool": {"type": "web_search"}})
        assert second.refresh() is True
        assert second.get("s", "r1").status is Status.DELETED
        assert second.label("s", "r1") == "keep"
        assert [p["name"] for p in second.presets()] == ["web"]


def test_a_body_cached_before_another_process_changed_it_is_read_again(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        first.add_response(response("r1", text="old"), server="s", profile="p")
        second.refresh()
        assert second.load_body("s", "r1")["response"]["output"][0]["content"][0]["text"] == "old"
        first.add_response(response("r1", text="new"), server="s", profile="p")
        second.refresh()
        body = second.load_body("s", "r1")["response"]
        assert body["output"][0]["content"][0]["text"] == "new"


def test_a_write_waits_for_a_writer_then_refuses_naming_it(directory, monkeypatch):
    from tui.store import index as index_module
    from tui.store.lock import IndexLock

    monkeypatch.setattr(index_module, "WRITE_WAIT", 0.2)
    with Index.open(directory) as idx:
        writer = IndexLock(directory)
        writer.acquire()  # another process in the middle of a write
        try:
            started = time.monotonic()
            with pytest.raises(IndexInUse, match="busy") as info:
                idx.add_response(response("r1"), server="s", profile="p")
            assert time.monotonic() - started >= 0.2
            assert f"pid {os.getpid()}" in str(info.value)
            assert idx.refresh() is False  # a reader does not wait: it looks again later
        finally:
            writer.release()
        idx.add_response(response("r1"), server="s", profile="p")
        assert len(idx) == 1


SHARE_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tui.store.index import Index
    idx = Index.open(Path(sys.argv[1]))
    print("opened", len(idx), flush=True)
    for i in range(int(sys.argv[2])):
        idx.add_response(
            {"id": f"child_{i}", "object": "response", "created_at": 100.0 + i, "model": "m",
             "status": "completed", "output": []},
            server="s", profile="p",
        )
    print("wrote", len(idx), flush=True)
    idx.close()
    """
)


def run_share_child(directory: Path, writes: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SHARE_CHILD, str(directory), str(writes)],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=PROJECT,
        timeout=60,
    )


def test_another_process_reads_and_writes_while_an_index_is_open(directory):
    with Index.open(directory) as idx:
        idx.add_response(response("r1"), server="s", profile="p")
        child = run_share_child(directory, writes=3)
        assert child.returncode == 0, child.stderr
        assert child.stdout.split() == ["opened", "1", "wrote", "4"]
        assert idx.refresh() is True
        assert {n.id for n in idx.nodes()} == {"r1", "child_0", "child_1", "child_2"}
        idx.add_response(response("r2", "r1", created=2.0), server="s", profile="p")
    with Index.open(directory) as again:
        assert len(again) == 5 and again.warnings == []


def test_two_processes_writing_at_once_lose_nothing(directory):
    with Index.open(directory):
        pass
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SHARE_CHILD.replace("child_", f"c{n}_"), str(directory), "80"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=PROJECT,
        )
        for n in range(2)
    ]
    with Index.open(directory) as idx:
        for i in range(40):
            idx.add_response(response(f"mine_{i}", created=float(i)), server="s", profile="p")
    for child in children:
        _, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors
    with Index.open(directory) as idx:
        ids = {n.id for n in idx.nodes()}
        assert idx.warnings == []
    assert ids == (
        {f"c0_{i}" for i in range(80)}
        | {f"c1_{i}" for i in range(80)}
        | {f"mine_{i}" for i in range(40)}
    )


# ------------------------------------------------------------------ files


def test_file_and_directory_modes(directory):
    with Index.open(directory) as idx:
        for i in range(SHARD_SIZE + 3):
            idx.add_response(response(f"r{i}"), server="s", profile="p")
        idx.save_profile({"name": "p", "base_url": "http://x"})
        files = all_files(directory)
        assert {p.name for p in files} >= {"index.lock", "catalog.json"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for sub in [p for p in directory.rglob("*") if p.is_dir()]:
            assert stat.S_IMODE(sub.stat().st_mode) == 0o700, sub
        assert not [p for p in files if p.name.endswith(".tmp")]


def test_existing_directory_with_loose_mode_is_tightened(directory):
    directory.mkdir(parents=True)
    os.chmod(directory, 0o755)
    with Index.open(directory):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_stale_temp_files_are_removed_on_open(directory):
    with Index.open(directory) as idx:
        idx.add_response(response("r1"), server="s", profile="p")
    stale = [directory / ".x.tmp", directory / "shards" / ".000000.nodes.json.4242.tmp"]
    for path in stale:
        path.write_bytes(b"half a write")
    keep = directory / "notes.tmp"  # not a hidden temp file: not ours to delete
    keep.write_bytes(b"x")
    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert len(idx) == 1
        for path in stale:
            assert not path.exists()
        assert keep.exists()


# ------------------------------------------------------------------ corruption


def populate(directory: Path, count: int = 3) -> None:
    with Index.open(directory) as idx:
        for i in range(count):
            idx.add_response(
                response(f"r{i}", text=f"t{i}"),
                server="s",
                profile="p",
                input_items=user_input(f"q{i}"),
            )
        idx.save_profile({"name": "p", "base_url": "http://x"})


def corrupt_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.corrupt-*"))


@pytest.mark.parametrize(
    "content",
    [b"{not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'{"nodes": [1, 2]}', b'"str"'],
    ids=["garbage", "binary", "list", "foreign-table", "string"],
)
def test_corrupt_catalog_is_moved_aside(directory, content):
    populate(directory)
    catalog = directory / "catalog.json"
    catalog.write_bytes(content)
    with Index.open(directory) as idx:
        assert len(idx.warnings) == 1
        assert "catalog.json" in idx.warnings[0]
        assert "moved aside" in idx.warnings[0]
        moved = corrupt_copies(catalog)
        assert len(moved) == 1
        assert moved[0].name in idx.warnings[0]
        assert moved[0].read_bytes() == content
        # The responses live in the shards: untouched.
        assert len(idx) == 3
        assert idx.profiles() == []
        idx.save_profile({"name": "fresh"})
    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert [p["name"] for p in idx.profiles()] == ["fresh"]


def test_corrupt_nodes_shard_is_rebuilt_from_bodies(directory):
    populate(directory)
    nodes = directory / "shards" / "000000.nodes.json"
    nodes.write_bytes(b'{"nodes": {"1": {"server": "s", "id": "r0"')  # truncated
    with Index.open(directory) as idx:
        assert any("000000.nodes.json" in w and "moved aside" in w for w in idx.warnings)
        assert any("rebuilt 3" in w for w in idx.warnings)
        assert corrupt_copies(nodes)[0].read_bytes().startswith(b'{"nodes": {"1"')
        assert len(idx) == 3
        for i in range(3):
            summary = idx.get("s", f"r{i}")
            assert summary is not None and summary.input_recorded
            assert idx.load_body("s", f"r{i}")["input"] == user_input(f"q{i}")
        idx.add_response(response("r3"), server="s", profile="p")
    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert len(idx) == 4


def test_foreign_json_in_nodes_shard(directory):
    populate(directory)
    nodes = directory / "shards" / "000000.nodes.json"
    nodes.write_bytes(b"[]")
    with Index.open(directory) as idx:
        assert any("000000.nodes.json" in w and "not an index file" in w for w in idx.warnings)
        assert corrupt_copies(nodes)[0].read_bytes() == b"[]"
        assert len(idx) == 3


def test_corrupt_bodies_shard_keeps_summaries(directory):
    populate(directory)
    bodies = directory / "shards" / "000000.bodies.json"
    bodies.write_bytes(b"\x00\x01garbage")
    with Index.open(directory) as idx:
        assert len(idx) == 3
        body = idx.load_body("s", "r0")  # opens the bodies shard: warns, does not crash
        assert body["input"] is None
        assert any("000000.bodies.json" in w for w in idx.warnings)
        assert corrupt_copies(bodies)[0].read_bytes() == b"\x00\x01garbage"


def test_corrupt_copies_are_never_overwritten(directory):
    populate(directory)
    catalog = directory / "catalog.json"
    contents = [b"first garbage", b"second garbage", b"third garbage"]
    for content in contents:
        catalog.write_bytes(content)
        with Index.open(directory) as idx:
            assert len(idx.warnings) == 1
    moved = corrupt_copies(catalog)
    assert len(moved) == 3
    assert sorted(p.read_bytes() for p in moved) == sorted(contents)


def test_empty_file_is_treated_as_empty(directory):
    populate(directory)
    (directory / "catalog.json").write_bytes(b"")
    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert len(idx) == 3


# ------------------------------------------------------------------ profiles and presets


def test_save_profile_writes_only_whitelisted_fields(directory):
    with Index.open(directory) as idx:
        idx.save_profile(
            {
                "name": "fw",
                "base_url": "https://api.fireworks.ai/inference/v1",
                "api_key_env": "FIREWORKS_API_KEY",
                "headers": {"X-Test": "1"},
                "default_model": "m",
                "api_key": SECRET,
                "token": SECRET,
            }
        )
        [profile] = idx.profiles()
        assert set(profile) == {"name", "base_url", "api_key_env", "headers", "default_model"}
        assert SECRET not in json.dumps(profile)
        # Replacing keeps one row.
        idx.save_profile({"name": "fw", "base_url": "http://other", "api_key": SECRET})
        assert [p["base_url"] for p in idx.profiles()] == ["http://other"]
        idx.save_preset({"name": "tools", "tools": [{"type": "web_search"}]})
        assert idx.presets() == [{"name": "tools", "tools": [{"type": "web_search"}]}]
    for path in all_files(directory):
        assert SECRET.encode() not in path.read_bytes(), path
    with Index.open(directory) as idx:
        assert [p["name"] for p in idx.profiles()] == ["fw"]
        assert idx.remove_profile("fw") is True
        assert idx.remove_profile("fw") is False
        assert idx.profiles() == []
        assert idx.remove_preset("tools") is True
        assert idx.remove_preset("tools") is False


# ------------------------------------------------------------------ atomic writes


def test_write_private_file(tmp_path):
    target = tmp_path / "f.json"
    write_private_file(target, b"one")
    assert target.read_bytes() == b"one"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    os.chmod(target, 0o644)
    write_private_file(target, b"two" * 100_000)
    assert target.read_bytes() == b"two" * 100_000
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_storage_release_forgets_the_data_and_reads_it_again(tmp_path):
    from tinydb import TinyDB

    path = tmp_path / "t.json"
    db = TinyDB(path, storage=atomic.AtomicJSONStorage)
    db.table("nodes").insert_multiple([{"n": 1}, {"n": 2}])
    db.storage.release()
    assert db.storage._cache is None  # nothing held in memory after a release
    db.table("nodes").insert({"n": 3})  # a write after a release keeps what was there
    assert [d["n"] for d in db.table("nodes").all()] == [1, 2, 3]
    db.storage.release()
    fresh = TinyDB(path, storage=atomic.AtomicJSONStorage)
    assert [d["n"] for d in fresh.table("nodes").all()] == [1, 2, 3]


def test_open_index_keeps_no_parsed_copy_of_summary_shards(directory):
    with Index.open(directory) as idx:
        for i in range(SHARD_SIZE + 3):
            idx.add_response(response(f"r{i}"), server="s", profile="p")
    with Index.open(directory) as idx:
        assert all(db.storage._cache is None for db in idx._node_shards.values())
        assert len(idx) == SHARD_SIZE + 3


def test_write_private_file_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    write_private_file(target, b"old")

    def boom(*args, **kwargs):
        raise OSError("simulated crash")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        write_private_file(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    # A temp file may be left, as after a real crash; the index removes those on open.
    assert atomic.remove_stale_temp_files(tmp_path) <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_write_private_file_failed_write_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    write_private_file(target, b"old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        write_private_file(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


# ------------------------------------------------------------------ crash safety

WRITER_CHILD = textwrap.dedent(
    """
    import itertools, sys
    from pathlib import Path
    from tui.store.index import Index
    idx = Index.open(Path(sys.argv[1]))
    start = len(idx)
    print(start, flush=True)
    for i in itertools.count(start):
        idx.add_response(
            {"id": f"resp_{i}", "object": "response", "created_at": float(i), "model": "m",
             "status": "completed", "previous_response_id": f"resp_{i - 1}" if i else None,
             "output": [{"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": f"answer {i}"}]}]},
            server="s", profile="p",
            input_items=[{"type": "message", "role": "user", "content": f"question {i}"}],
        )
        if i % 7 == 0:
            idx.set_status("s", f"resp_{i}", "incomplete")
    """
)


def test_sigkill_during_writes_never_loses_committed_responses(directory):
    rng = random.Random(1234)
    previous = 0
    counts = []
    for _round in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER_CHILD, str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=PROJECT,
        )
        try:
            ready = child.stdout.readline()
            assert ready.strip() == str(previous), child.stderr.read()
            time.sleep(rng.uniform(0.02, 0.3))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            child.stdout.close()
            child.stderr.close()
        assert child.returncode == -signal.SIGKILL

        with Index.open(directory) as idx:
            assert idx.warnings == []
            count = len(idx)
            assert count >= previous
            ids = {n.id for n in idx.nodes()}
            assert ids == {f"resp_{i}" for i in range(count)}
            for i in (0, count - 1) if count else ():
                body = idx.load_body("s", f"resp_{i}")
                assert body["response"]["id"] == f"resp_{i}"
                assert body["input"] == user_input(f"question {i}")
            forest = idx.forest("s")
            if count:
                assert forest.roots() == [("s", "resp_0")]
                assert len(forest.segments()) == 1
        assert not [p for p in all_files(directory) if p.name.endswith(".tmp")]
        counts.append(count)
        previous = count
    print(f"\nresponses after each SIGKILL: {counts}")
    assert counts[-1] > 0


CRASH_BETWEEN_BODY_AND_NODE = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from tui.store.index import Index
    idx = Index.open(Path(sys.argv[1]))
    idx._nodes_table = lambda number: os._exit(9)  # die after the body write, before the node
    idx.add_response(
        {"id": "resp_1", "object": "response", "created_at": 1.0, "status": "completed",
         "output": [{"type": "message", "role": "assistant",
                     "content": [{"type": "output_text", "text": "OLD"}]}]},
        server="s", profile="p", input_items=None,
    )
    """
)


def test_crash_between_body_and_summary_then_readd_loads_new_body(directory):
    """A crash after the body write but before the summary write loses the response (fine),
    but adding the same response again must not serve the stale body of the lost write."""
    child = subprocess.run(
        [sys.executable, "-c", CRASH_BETWEEN_BODY_AND_NODE, str(directory)],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=PROJECT,
        timeout=60,
    )
    assert child.returncode == 9, child.stderr
    with Index.open(directory) as idx:
        assert idx.warnings == []
        assert len(idx) == 0
        idx.add_response(
            response("resp_1", text="NEW"), server="s", profile="p", input_items=user_input("q")
        )
        body = idx.load_body("s", "resp_1")
        assert body["response"]["output"][0]["content"][0]["text"] == "NEW"
        assert body["input"] == user_input("q")


def test_responses_made_in_the_same_second_keep_the_order_they_were_recorded(tmp_path):
    # Servers stamp whole seconds (Llama Stack's bursts, forks made in one second): ties go by
    # the order the index recorded them, not by id, in the forest, in nodes() and latest(),
    # and after reopening.
    ids = ["resp_z", "resp_m", "resp_a"] + [f"resp_{n:03d}" for n in range(SHARD_SIZE)]
    with Index.open(tmp_path / "index") as index:
        index.add_response({"id": "resp_root", "created_at": 100}, server="s", profile="p")
        for rid in ids:
            response = {"id": rid, "created_at": 100, "previous_response_id": "resp_root"}
            index.add_response(response, server="s", profile="p")
        index.add_many(
            [
                ({"id": "resp_b2", "created_at": 100}, None),
                ({"id": "resp_b1", "created_at": 100}, None),
            ],
            server="s",
            profile="p",
        )
        children = [k[1] for k in index.forest("s").children(("s", "resp_root"))]
        assert children == ids
        assert index.latest("s").id == "resp_b1"
    with Index.open(tmp_path / "index") as index:
        assert [n.id for n in index.nodes("s")] == ["resp_root", *ids, "resp_b2", "resp_b1"]
        assert [k[1] for k in index.forest("s").children(("s", "resp_root"))] == ids
        assert index.forest("s").roots() == [("s", "resp_root"), ("s", "resp_b2"), ("s", "resp_b1")]


def test_the_forest_follows_what_another_process_removed(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        chain = [("a", None), ("b", "a"), ("c", "b"), ("d", "c"), ("x", "b"), ("y", "x")]
        for n, (rid, parent) in enumerate(chain):
            first.add_response(response(rid, parent, created=float(n)), server="s", profile="p")
        second.refresh()
        forest = second.forest("s")
        first.remove_many("s", ["y", "x"])  # a branch, leaf first: taken out in place
        assert second.refresh() is True
        assert second.forest("s") is forest
        with Index.open(directory) as fresh:
            assert structure(forest) == structure(fresh.forest("s"))
        first.remove_many("s", ["d", "c", "b"])  # in any order: still in place
        second.refresh()
        assert second.forest("s") is forest and list(forest.keys()) == [("s", "a")]
        first.add_response(response("m", "a", created=9.0), server="s", profile="p")
        first.add_response(response("n", "m", created=10.0), server="s", profile="p")
        second.refresh()
        first.remove("s", "m")  # a turn with one below it: that one is an orphan now
        assert second.refresh() is True
        with Index.open(directory) as fresh:
            assert structure(second.forest("s")) == structure(fresh.forest("s"))
            assert second.forest("s").is_orphan(("s", "n"))


def test_a_shard_damaged_while_open_is_moved_aside_and_rebuilt_at_the_next_look(directory):
    with Index.open(directory) as first, Index.open(directory) as second:
        first.add_response(response("r1"), server="s", profile="p")
        second.refresh()
        time.sleep(0.01)
        (directory / "shards" / "000000.nodes.json").write_bytes(b"{half a file")
        assert second.refresh() is True
        assert [n.id for n in second.nodes()] == ["r1"]  # rebuilt from its body
        assert any("moved aside" in w for w in second.warnings)
        assert any("rebuilt 1 response summaries" in w for w in second.warnings)
        first.add_response(response("r2", "r1", created=2.0), server="s", profile="p")
        assert [n.id for n in first.nodes()] == ["r1", "r2"]
    with Index.open(directory) as again:
        assert [n.id for n in again.nodes()] == ["r1", "r2"] and again.warnings == []
