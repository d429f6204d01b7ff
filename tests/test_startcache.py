"""The start-up cache: an index opens from it without reading its summary shards, and what it
holds is never taken for a shard file that changed since (by this process or another), for a
shard read before its file settled, or when the cache itself is damaged."""

from __future__ import annotations

import marshal
import os
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests.test_store import response, structure, user_input
from tui.store import atomic, startcache
from tui.store import index as index_module
from tui.store.index import Index
from tui.store.records import Status

SERVER = "srv"
SHARDS = 20


@pytest.fixture(autouse=True)
def small_shards(monkeypatch):
    """Shards of 4 responses: an index of 20 shards with 80 responses."""
    monkeypatch.setattr(index_module, "SHARD_SIZE", 4)


def build(directory: Path, count: int = 4 * SHARDS) -> list[str]:
    """`count` responses in conversations of 5 turns, each with a fork off its second turn."""
    ids = []
    with Index.open(directory) as index:
        for n in range(count):
            rid = f"resp_{n:04d}"
            place = n % 5
            parent = None if place == 0 else ids[-1] if place != 4 else ids[-3]
            index.add_response(
                response(rid, parent, created=float(n), text=f"answer {n}"),
                server=SERVER,
                profile="p",
                input_items=user_input(f"question {n}"),
            )
            ids.append(rid)
    return ids


def age(directory: Path, numbers: list[int] | None = None) -> None:
    """Date summary shard files an hour back, as files written in an earlier session are."""
    past = time.time_ns() - 3600 * 10**9
    for path in (directory / "shards").glob("*.nodes.json"):
        if numbers is None or int(path.name.split(".")[0]) in numbers:
            os.utime(path, ns=(past, past))


def state(index: Index) -> dict:
    """Everything the index knows of its responses: summaries, their order, the forest."""
    return {
        "nodes": {key: (node, index._doc_ids[key]) for key, node in index._nodes.items()},
        "order": [n.id for n in index.nodes()],
        "forest": structure(index.forest(SERVER)),
        "counts": dict(index._shard_counts),
    }


def fresh_state(directory: Path) -> dict:
    """What an index reads from its shard files alone (a copy without the cache)."""
    copy = directory.parent / f"{directory.name}-nocache-{time.monotonic_ns()}"
    shutil.copytree(directory, copy)
    (copy / startcache.NAME).unlink(missing_ok=True)
    with Index.open(copy) as index:
        found = state(index)
        index._cache_sound = False  # leave no cache in the copy either
    return found


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The names of the files the index parses from now on."""
    names: list[str] = []
    load = atomic.AtomicJSONStorage._load

    def spy(self):
        names.append(self.path.name)
        return load(self)

    monkeypatch.setattr(atomic.AtomicJSONStorage, "_load", spy)
    return names


def summary_files(names: list[str]) -> list[str]:
    return sorted(n for n in names if n.endswith(".nodes.json"))


def cached(directory: Path) -> dict[int, tuple[int, int]]:
    """The shards the cache on disk holds: number -> (size, mtime_ns)."""
    shards, _ = startcache.read(directory, index_module._CACHE_FIELDS)
    return {number: (size, mtime) for number, size, mtime, _, _ in shards}


@pytest.fixture
def warm(tmp_path) -> Path:
    """An index of 20 shards, written in an earlier session, with its cache written."""
    directory = tmp_path / "index"
    build(directory)
    age(directory)
    with Index.open(directory):
        pass
    assert len(cached(directory)) == SHARDS
    return directory


def test_an_index_opens_from_the_cache_without_reading_a_summary_shard(warm, parsed):
    with Index.open(warm) as index:
        assert summary_files(parsed) == []
        assert len(index) == 4 * SHARDS
        found = state(index)
    assert found == fresh_state(warm)
    forks = [kids for kids in found["forest"]["children"].values() if len(kids) > 1]
    assert len(found["forest"]["roots"]) == 16 and len(forks) == 16


def test_the_cache_is_private_and_written_whole(warm):
    path = warm / startcache.NAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert not [p for p in warm.rglob("*") if p.name.endswith(".tmp")]


def test_a_shard_another_process_wrote_since_is_read_from_its_file(warm, parsed):
    with Index.open(warm) as other:  # another process, after the cache was written
        other.set_status(SERVER, "resp_0009", Status.DELETED)  # shard 2
        other.remove(SERVER, "resp_0023")  # shard 5 (a leaf)
        size = (warm / "shards" / "000003.nodes.json").stat().st_size
        edited = response("resp_0014", "resp_0011", created=14.0, text="answer XY")
        other.add_response(edited, server=SERVER, profile="p")  # shard 3: of the same size
        assert (warm / "shards" / "000003.nodes.json").stat().st_size == size
        other._cache_sound = False  # it writes no cache of its own
    parsed.clear()
    with Index.open(warm) as index:
        assert summary_files(parsed) == [f"00000{n}.nodes.json" for n in (2, 3, 5)]
        assert index.get(SERVER, "resp_0009").status is Status.DELETED
        assert index.get(SERVER, "resp_0014").output_preview == "answer XY"
        assert index.get(SERVER, "resp_0023") is None
        found = state(index)
    assert found == fresh_state(warm)


def test_a_write_to_a_shard_taken_from_the_cache_keeps_its_other_summaries(warm):
    with Index.open(warm) as index:
        index.set_status(SERVER, "resp_0013", Status.MISSING)  # shard 3: its file read first
        index.remove_many(SERVER, ["resp_0044"])  # shard 11
        index.add_response(  # the last shard (19) is full: a new shard
            response("resp_new", "resp_0079", created=500.0),
            server=SERVER,
            profile="p",
            input_items=user_input("more"),
        )
        expected = state(index)
    found = fresh_state(warm)
    assert found == expected
    assert found["nodes"][(SERVER, "resp_0012")][0].input_preview == "question 12"
    assert found["nodes"][(SERVER, "resp_0013")][0].status is Status.MISSING
    assert found["counts"][3] == 4 and found["counts"][11] == 3


def test_a_shard_read_before_its_file_settled_is_left_out(tmp_path):
    directory = tmp_path / "index"
    build(directory)  # files written just now
    with Index.open(directory):
        pass
    assert not (directory / startcache.NAME).exists()  # nothing settled: nothing to write
    age(directory, list(range(10)))
    with Index.open(directory):
        pass
    assert sorted(cached(directory)) == list(range(10))


def test_a_shard_this_process_writes_is_left_out_until_read_again(warm):
    with Index.open(warm) as index:
        for number in range(index_module.CACHE_REWRITE):
            index.set_status(SERVER, f"resp_{4 * number:04d}", Status.DELETED)
    assert sorted(cached(warm)) == list(range(index_module.CACHE_REWRITE, SHARDS))
    assert fresh_state(warm)["nodes"][(SERVER, "resp_0004")][0].status is Status.DELETED


def test_the_cache_is_rewritten_only_when_enough_of_it_is_out_of_date(warm):
    path = warm / startcache.NAME
    before = path.stat().st_ino
    with Index.open(warm) as index:  # a reply, in a new shard: not cached until it settles
        index.add_response(response("r1", "resp_0079", 900.0), server=SERVER, profile="p")
    assert path.stat().st_ino == before
    with Index.open(warm) as index:  # one shard short of a rewrite
        for number in range(index_module.CACHE_REWRITE - 1):
            index.set_status(SERVER, f"resp_{4 * number:04d}", Status.DELETED)
    assert path.stat().st_ino == before
    with Index.open(warm) as index:
        index.set_status(SERVER, "resp_0076", Status.DELETED)
    assert path.stat().st_ino != before


def test_a_shard_left_without_responses_is_cached_too(warm, parsed):
    with Index.open(warm) as index:
        index.remove_many(SERVER, ["resp_0019", "resp_0018", "resp_0017", "resp_0016"])
    age(warm)  # every file's time changed: every shard read, the cache written again
    with Index.open(warm):
        pass
    assert cached(warm)[4][0] == (warm / "shards" / "000004.nodes.json").stat().st_size
    parsed.clear()
    with Index.open(warm) as index:
        assert summary_files(parsed) == []
        assert len(index) == 4 * SHARDS - 4 and index._shard_counts[4] == 0


def test_a_copied_index_keeps_using_its_cache(warm, tmp_path, parsed):
    copy = tmp_path / "copy"
    shutil.copytree(warm, copy)  # times kept (copy2), inodes not
    parsed.clear()
    with Index.open(copy) as index:
        assert summary_files(parsed) == []
        assert len(index) == 4 * SHARDS


def test_a_look_at_the_files_sees_a_write_to_a_shard_taken_from_the_cache(warm):
    with Index.open(warm) as index, Index.open(warm) as other:
        assert not index.refresh()
        other.set_status(SERVER, "resp_0030", Status.DELETED)  # shard 7
        assert index.refresh()
        assert index.get(SERVER, "resp_0030").status is Status.DELETED


def test_no_cache_is_written_after_a_failed_write(warm, monkeypatch):
    (warm / startcache.NAME).unlink()
    with Index.open(warm) as index:

        def full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(atomic, "write_private_file", full)
            with pytest.raises(OSError):
                index.set_status(SERVER, "resp_0001", Status.DELETED)
        # The summary in memory says deleted, its file does not: no cache from this memory.
        assert index.get(SERVER, "resp_0001").status is Status.DELETED
    assert not (warm / startcache.NAME).exists()


def test_a_duplicate_in_an_earlier_shard_file_loses_to_the_cached_later_one(warm):
    """A response in two shards (an older version's leftovers): the later shard's copy wins,
    though the earlier shard is read from its file after the cached one is taken."""
    path = warm / "shards" / "000001.nodes.json"
    data = atomic.json.loads(path.read_text())
    data["nodes"]["99"] = {**data["nodes"]["1"], "id": "resp_0070", "input_preview": "stale"}
    path.write_text(atomic.json.dumps(data))
    with Index.open(warm) as index:
        assert index.get(SERVER, "resp_0070").input_preview == "question 70"
        assert index.get(SERVER, "resp_0070").shard == 17
    assert "99" not in atomic.json.loads(path.read_text())["nodes"]


def damage_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-1000])


def other_python(path: Path) -> None:
    version = f"-{sys.version_info[0]}.{sys.version_info[1]} ".encode()
    path.write_bytes(path.read_bytes().replace(version, b"-2.7 ", 1))


def rewrite(change):
    """Write the cache again, whole and checksummed, with its content changed."""

    def damage(path: Path) -> None:
        shards, columns = startcache.read(path.parent, index_module._CACHE_FIELDS)
        shards, columns = change(shards, columns)
        startcache.write(path.parent, index_module._CACHE_FIELDS, shards, columns)

    return damage


def unknown_status(shards, columns):
    columns[7][5] = "exploded"
    return shards, columns


def twice(shards, columns):
    columns[2][5] = columns[2][6]  # one id in two rows
    return shards, columns


def short_column(shards, columns):
    columns[4].pop()
    return shards, columns


def overlapping_runs(shards, columns):
    number, size, mtime, begin, count = shards[3]
    shards[3] = (number, size, mtime, begin - 1, count)
    return shards, columns


def unhashable_id(shards, columns):
    columns[2][0] = ["a", "list"]
    return shards, columns


def not_marshal(path: Path) -> None:
    head = startcache._header(index_module._CACHE_FIELDS)
    payload = b"\xff" * 64
    path.write_bytes(head + struct.pack("<QI", len(payload), zlib.crc32(payload)) + payload)


@pytest.mark.parametrize(
    "damage",
    [
        damage_bytes,
        truncate,
        other_python,
        not_marshal,
        rewrite(unknown_status),
        rewrite(twice),
        rewrite(short_column),
        rewrite(overlapping_runs),
        rewrite(unhashable_id),
    ],
    ids=[
        "a byte changed",
        "truncated",
        "another python",
        "not marshal",
        "unknown status",
        "an id twice",
        "a short column",
        "overlapping runs",
        "an unhashable id",
    ],
)
def test_a_damaged_cache_is_not_used_and_is_replaced(warm, parsed, damage):
    expected = fresh_state(warm)
    damage(warm / startcache.NAME)
    parsed.clear()
    with Index.open(warm) as index:
        assert len(summary_files(parsed)) == SHARDS
        assert state(index) == expected
    parsed.clear()
    with Index.open(warm) as index:  # the close wrote a sound one
        assert summary_files(parsed) == []
        assert state(index) == expected


def test_a_cache_written_by_hand_with_the_right_checksum_loads_as_written(warm):
    """The checksum guards against damage, not against a hand-made file (the directory is
    the user's own, 0700): a cache in the right shape is taken as it stands."""
    shards, columns = startcache.read(warm, index_module._CACHE_FIELDS)
    columns[8][0] = "edited"
    startcache.write(warm, index_module._CACHE_FIELDS, shards, columns)
    with Index.open(warm) as index:
        assert index.get(SERVER, columns[2][0]).input_preview == "edited"


def test_marshal_is_what_the_cache_is_written_in(warm):
    data = (warm / startcache.NAME).read_bytes()
    head = startcache._header(index_module._CACHE_FIELDS)
    assert data.startswith(head)
    shards, columns = marshal.loads(data[len(head) + 12 :])
    assert len(shards) == SHARDS and len(columns[0]) == 4 * SHARDS


def test_the_cache_is_written_without_waiting_for_the_disk(tmp_path, monkeypatch):
    """A cache lost in a crash costs one slower start; the shards themselves are fsynced."""
    synced: list[int] = []
    monkeypatch.setattr(atomic.os, "fsync", synced.append)
    fields = index_module._CACHE_FIELDS
    columns = [[n] for n in range(len(fields))]
    startcache.write(tmp_path, fields, [(0, 10, 20, 0, 1)], columns)
    assert synced == []
    assert startcache.read(tmp_path, fields) == ([(0, 10, 20, 0, 1)], columns)
    atomic.write_private_file(tmp_path / "x", b"a", b"b")
    assert len(synced) == 2  # the file and its directory
    assert (tmp_path / "x").read_bytes() == b"ab"
