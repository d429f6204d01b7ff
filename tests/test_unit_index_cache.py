"""The index's side of the start-up cache, to the letter: which shards go in and when the file
is written again (`_write_start_cache`), how shards taken from it are opened later (`_node_db`,
`_node_stamp`), how shard files are stamped (`_node_file_stamps`), and that an index just
opened reads nothing again on its first look or write."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests import test_startcache
from tests.test_startcache import SERVER, SHARDS, age, build, cached, summary_files
from tests.test_store import response
from tui.store import index as index_module
from tui.store import startcache
from tui.store.atomic import file_stamp, stamp_of
from tui.store.index import CACHE_MIN_SHARDS, CACHE_REWRITE, Index
from tui.store.records import Status

# The start-up cache tests' fixtures: shards of 4 responses (for every test here), the names
# of the files parsed, an index of 20 shards with its cache written.
small_shards = test_startcache.small_shards
parsed = test_startcache.parsed
warm = test_startcache.warm


def shard_file(directory: Path, number: int) -> Path:
    return directory / "shards" / f"{number:06d}.nodes.json"


def change_elsewhere(directory: Path, numbers: list[int]) -> None:
    """Another process changes the first response of each of these shards (and writes no
    cache); the files are then dated back, as if changed in an earlier session."""
    with Index.open(directory) as other:
        for number in numbers:
            other.set_status(SERVER, f"resp_{4 * number:04d}", Status.DELETED)
        other._cache_sound = False
    age(directory, numbers)


def count_rereads(index: Index, monkeypatch) -> list[int]:
    """Every look at all the files again (`_reread`) the index makes from now on."""
    calls: list[int] = []
    reread = index._reread

    def spy() -> bool:
        calls.append(1)
        return reread()

    monkeypatch.setattr(index, "_reread", spy)
    return calls


# ------------------------------------------------------------ what is written, and when


def test_an_index_of_exactly_the_minimum_shards_is_cached(tmp_path):
    directory = tmp_path / "index"
    build(directory, 4 * CACHE_MIN_SHARDS)
    age(directory)
    with Index.open(directory):
        pass
    assert sorted(cached(directory)) == list(range(CACHE_MIN_SHARDS))


def test_a_few_shards_out_of_date_in_a_full_sized_cache_are_not_worth_a_rewrite(tmp_path):
    """The cache still holds `CACHE_MIN_SHARDS` current shards: one changed elsewhere since
    does not make the close write it again."""
    directory = tmp_path / "index"
    build(directory, 4 * (CACHE_MIN_SHARDS + 1))
    age(directory)
    with Index.open(directory):
        pass
    before = cached(directory)
    inode = (directory / startcache.NAME).stat().st_ino
    change_elsewhere(directory, [5])
    with Index.open(directory) as index:  # shard 5 read from its file
        assert len(index._cache_held) == CACHE_MIN_SHARDS
    assert (directory / startcache.NAME).stat().st_ino == inode
    assert cached(directory) == before


def test_shards_changed_elsewhere_count_one_each_towards_a_rewrite(warm):
    path = warm / startcache.NAME
    inode = path.stat().st_ino
    changed = CACHE_REWRITE // 2
    assert SHARDS - changed == CACHE_MIN_SHARDS
    change_elsewhere(warm, list(range(changed)))
    with Index.open(warm):  # half the shards a rewrite takes
        pass
    assert path.stat().st_ino == inode


def test_a_shard_with_unreadable_summaries_is_left_out_of_the_cache(tmp_path):
    directory = tmp_path / "index"
    build(directory)
    path = shard_file(directory, 3)
    data = json.loads(path.read_text())
    data["nodes"]["99"] = {"id": "broken"}  # no server, no time: cannot be read
    path.write_text(json.dumps(data))
    age(directory)
    with Index.open(directory) as index:
        assert index._unreadable == {3}
    assert sorted(cached(directory)) == [n for n in range(SHARDS) if n != 3]


# ------------------------------------------------------------ shards taken from the cache


def test_a_shard_taken_from_the_cache_is_opened_without_reading_its_file(warm, parsed):
    with Index.open(warm) as index:
        stamp = index._node_stamps[3]
        db = index._node_db(3)
        assert summary_files(parsed) == []
        assert db.storage.stamp == stamp and db.storage.read_ns is None
        assert 3 not in index._node_stamps and index._node_db(3) is db
        assert index._node_stamp(3) == stamp == file_stamp(shard_file(warm, 3))
        assert (db.storage.read() or {})["nodes"]
        assert summary_files(parsed) == ["000003.nodes.json"]


def test_two_writes_to_one_shard_read_its_file_once(warm, parsed):
    with Index.open(warm) as index:
        index.set_status(SERVER, "resp_0013", Status.DELETED)
        index.set_status(SERVER, "resp_0014", Status.MISSING)
        assert summary_files(parsed) == ["000003.nodes.json"]
    with Index.open(warm) as index:
        assert index.get(SERVER, "resp_0013").status is Status.DELETED
        assert index.get(SERVER, "resp_0014").status is Status.MISSING


def test_a_cached_shard_found_unreadable_when_first_read_warns_the_index(tmp_path):
    """Its file changed by hand, keeping its size and time: the cache still holds it, and the
    damage shows when a write first reads it (moved aside, with a warning, like any shard)."""
    directory = tmp_path / "index"
    build(directory, 4 * SHARDS - 2)  # the last shard has room for two more
    age(directory)
    with Index.open(directory):
        pass
    last = SHARDS - 1
    path = shard_file(directory, last)
    status = path.stat()
    path.write_bytes(b"x" * status.st_size)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    with Index.open(directory) as index:
        assert index.warnings == []
        added = index.add_response(response("resp_new", None, 900.0), server=SERVER, profile="p")
        assert added.shard == last
        assert len(index.warnings) == 1
        assert index.warnings[0].startswith(f"{path.name} was unreadable (not valid JSON)")


def test_an_opened_shard_is_stamped_as_its_file(tmp_path):
    directory = tmp_path / "index"
    build(directory, 12)
    with Index.open(directory) as index:
        assert index._node_stamps == {}
        assert [index._node_stamp(n) for n in range(4)] == [
            file_stamp(shard_file(directory, n)) for n in range(3)
        ] + [None]


def test_a_look_at_the_files_reads_again_only_the_shard_written_elsewhere(tmp_path, parsed):
    directory = tmp_path / "index"
    build(directory, 12)
    with Index.open(directory) as index, Index.open(directory) as other:
        other.set_status(SERVER, "resp_0005", Status.DELETED)  # shard 1
        parsed.clear()
        assert index.refresh()
        assert summary_files(parsed) == ["000001.nodes.json"]
        assert index.get(SERVER, "resp_0005").status is Status.DELETED


def test_a_cache_of_current_shards_is_taken_as_it_stands(warm, parsed):
    """When every shard in the cache is current its columns are taken whole (not cut into
    the shards' runs): a hand-made cache whose first run starts at 0.0 loads as written."""
    shards, columns = startcache.read(warm, index_module._CACHE_FIELDS)
    number, size, mtime, _, count = shards[0]
    shards[0] = (number, size, mtime, 0.0, count)
    startcache.write(warm, index_module._CACHE_FIELDS, shards, columns)
    parsed.clear()
    with Index.open(warm) as index:
        assert summary_files(parsed) == []
        assert len(index) == 4 * SHARDS


# ------------------------------------------------------------ stamping the shard files


def test_a_shard_file_that_is_a_symlink_is_stamped_as_the_file_it_names(warm, tmp_path):
    """As the storage stamps what it reads (fstat): the file, not the link."""
    path = shard_file(warm, 3)
    target = tmp_path / "elsewhere.json"
    os.replace(path, target)
    path.symlink_to(target)
    with Index.open(warm) as index:
        stamps = index._node_file_stamps()
    assert stamps[3] == stamp_of(os.stat(path)) != stamp_of(os.lstat(path))
    assert sorted(stamps) == list(range(SHARDS))


def test_a_shard_file_gone_while_stamping_leaves_the_others(warm, monkeypatch):
    gone: list[str] = []
    scandir = os.scandir

    def vanishing(path):
        entries = list(scandir(path))
        first = next(e for e in entries if e.name.endswith(".nodes.json"))
        os.unlink(first.path)  # removed after the listing, before its stat
        gone.append(first.name)
        return iter(entries)

    with Index.open(warm) as index, monkeypatch.context() as patch:
        patch.setattr(index_module.os, "scandir", vanishing)
        stamps = index._node_file_stamps()
    [name] = gone
    expected = sorted(n for n in range(SHARDS) if f"{n:06d}.nodes.json" != name)
    assert sorted(stamps) == expected
    assert all(stamps[n] == stamp_of(os.stat(shard_file(warm, n))) for n in expected)


# ------------------------------------------------------------ just opened


def test_a_look_right_after_opening_reads_nothing_again(tmp_path, monkeypatch):
    directory = tmp_path / "index"
    build(directory, 8)
    with Index.open(directory) as index:
        rereads = count_rereads(index, monkeypatch)
        assert not index.refresh()
        assert rereads == []


def test_the_first_write_after_opening_reads_nothing_again(tmp_path, monkeypatch):
    directory = tmp_path / "index"
    build(directory, 8)
    with Index.open(directory) as index:
        rereads = count_rereads(index, monkeypatch)
        index.set_status(SERVER, "resp_0001", Status.DELETED)
        assert rereads == []
        assert not index.refresh()
        assert rereads == []
