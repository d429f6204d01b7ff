"""Crash-safe files: atomic private writes, stale temp files, moving aside, the TinyDB storage."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from tinydb import TinyDB

from tui.store import atomic
from tui.store.atomic import (
    AtomicJSONStorage,
    move_aside,
    remove_stale_temp_files,
    stamp_of,
    write_private_file,
)

DEEP = b"[" * 100_000 + b"]" * 100_000
FRESH = "and a fresh one started"


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def opened(monkeypatch):
    """Every os.open the atomic module makes: (path, flags, mode)."""
    calls: list[tuple[Path, int, int | None]] = []
    real_open = os.open

    def spy(path, flags, mode=None, **kw):
        calls.append((Path(path), flags, mode))
        if mode is None:
            return real_open(path, flags, **kw)
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(atomic.os, "open", spy)
    return calls


# ------------------------------------------------------------------ write_private_file


def test_a_write_replaces_the_file_with_exactly_the_bytes_mode_0600(tmp_path):
    target = tmp_path / "f.json"
    target.write_bytes(b"old and longer than the new content")
    os.chmod(target, 0o644)
    write_private_file(str(target), b"new")  # a str path works as well as a Path
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert names(tmp_path) == ["f.json"]


def test_a_short_write_is_continued_until_every_byte_is_written(tmp_path, monkeypatch):
    real_write = os.write
    sizes: list[int] = []

    def three_at_a_time(fd, data):
        sizes.append(len(data))
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(atomic.os, "write", three_at_a_time)
    write_private_file(tmp_path / "f", b"0123456789")
    assert (tmp_path / "f").read_bytes() == b"0123456789"
    assert sizes == [10, 7, 4, 1]


def test_the_temp_file_is_a_private_exclusive_hidden_name_next_to_the_target(tmp_path, opened):
    write_private_file(tmp_path / "f.json", b"x")
    [(temp, flags, mode)] = [call for call in opened if call[0].name.endswith(".tmp")]
    assert temp.parent == tmp_path
    assert re.fullmatch(r"\.f\.json\.[0-9a-f]{16}\.tmp", temp.name)
    assert mode == 0o600
    for flag in (os.O_WRONLY, os.O_CREAT, os.O_EXCL, os.O_NOFOLLOW):
        assert flags & flag == flag
    assert not flags & (os.O_TRUNC | os.O_RDWR)


def test_the_temp_file_is_private_before_any_byte_is_written(tmp_path, monkeypatch):
    modes: list[int] = []
    real_write = os.write

    def watch(fd, data):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(atomic.os, "write", watch)
    old = os.umask(0)
    try:
        write_private_file(tmp_path / "f", b"secret")
    finally:
        os.umask(old)
    assert modes == [0o600]


def test_the_directory_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced: list[tuple[bool, bytes | None]] = []
    real_fsync = os.fsync
    target = tmp_path / "f"

    def watch(fd):
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        synced.append((is_dir, target.read_bytes() if target.exists() else None))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", watch)
    write_private_file(target, b"data")
    assert synced == [(False, None), (True, b"data")]


def test_a_directory_that_cannot_be_synced_does_not_fail_the_write(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def no_directory_sync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", no_directory_sync)
    write_private_file(tmp_path / "f", b"data")
    assert (tmp_path / "f").read_bytes() == b"data"


def test_a_directory_that_cannot_be_opened_does_not_fail_the_write(tmp_path, monkeypatch):
    real_open = os.open

    def no_directory(path, flags, *args):
        if Path(path) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(atomic.os, "open", no_directory)
    write_private_file(tmp_path / "f", b"data")
    assert (tmp_path / "f").read_bytes() == b"data"


def test_a_failed_write_raises_its_own_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def vanish_then_fail(fd):
        for temp in tmp_path.glob(".*.tmp"):  # someone removed the temp file meanwhile
            temp.unlink()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", vanish_then_fail)
    with pytest.raises(OSError, match="No space left") as info:
        write_private_file(target, b"new")
    assert info.value.__context__ is None
    assert target.read_bytes() == b"old"
    assert names(tmp_path) == ["f"]


def test_a_failed_rename_removes_the_temp_file(tmp_path):
    target = tmp_path / "a-directory"
    target.mkdir()
    (target / "inside").write_bytes(b"")
    with pytest.raises(OSError):
        write_private_file(target, b"data")
    assert names(tmp_path) == ["a-directory"]


def test_no_free_temp_name_after_100_tries_is_an_error(tmp_path, monkeypatch):
    (tmp_path / ".f.taken.tmp").write_bytes(b"someone's")
    tries: list[int] = []

    def always_taken(n):
        tries.append(n)
        return "taken"

    monkeypatch.setattr(atomic.secrets, "token_hex", always_taken)
    with pytest.raises(FileExistsError) as info:
        write_private_file(tmp_path / "f", b"data")
    assert str(info.value) == f"no free temp file name next to {tmp_path / 'f'}"
    assert tries == [8] * 100
    assert names(tmp_path) == [".f.taken.tmp"]


def test_a_taken_temp_name_is_skipped(tmp_path, monkeypatch):
    (tmp_path / ".f.taken.tmp").write_bytes(b"someone's")
    picks = iter(["taken", "taken", "free"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda _n: next(picks))
    write_private_file(tmp_path / "f", b"data")
    assert (tmp_path / "f").read_bytes() == b"data"
    assert (tmp_path / ".f.taken.tmp").read_bytes() == b"someone's"
    assert names(tmp_path) == [".f.taken.tmp", "f"]


# ------------------------------------------------------------------ remove_stale_temp_files


def test_stale_temp_files_are_removed_everywhere_below_and_counted(tmp_path):
    (tmp_path / "shards").mkdir()
    stale = [
        tmp_path / ".catalog.json.0123456789abcdef.tmp",
        tmp_path / "shards" / ".000000.nodes.json.fedcba9876543210.tmp",
        tmp_path / "shards" / ".x.tmp",
    ]
    kept = [
        tmp_path / "notes.tmp",  # not hidden: not a temp file of ours
        tmp_path / ".hidden.TMP",
        tmp_path / ".x.tmp.old",
        tmp_path / "shards" / "000000.nodes.json",
    ]
    for path in stale + kept:
        path.write_bytes(b"x")
    assert remove_stale_temp_files(tmp_path) == 3
    assert all(not path.exists() for path in stale)
    assert all(path.exists() for path in kept)
    assert remove_stale_temp_files(tmp_path) == 0


def test_a_temp_file_that_cannot_be_removed_is_not_counted(tmp_path):
    (tmp_path / ".gone.tmp").write_bytes(b"x")
    (tmp_path / ".a-directory.tmp").mkdir()  # unlink fails on a directory
    assert remove_stale_temp_files(tmp_path) == 1
    assert names(tmp_path) == [".a-directory.tmp"]


# ------------------------------------------------------------------ move_aside


def test_move_aside_renames_with_a_timestamp(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_bytes(b"garbage")
    moved = move_aside(path)
    assert moved.parent == tmp_path
    assert re.fullmatch(r"catalog\.json\.corrupt-\d{8}-\d{6}", moved.name)
    assert moved.read_bytes() == b"garbage"
    assert names(tmp_path) == [moved.name]


def test_move_aside_never_overwrites_an_earlier_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.time, "strftime", lambda _format: "20260102-030405")
    path = tmp_path / "n.json"
    expected = {
        b"first": "n.json.corrupt-20260102-030405",
        b"second": "n.json.corrupt-20260102-030405-2",
        b"third": "n.json.corrupt-20260102-030405-3",
    }
    for content, name in expected.items():
        path.write_bytes(content)
        moved = move_aside(path)
        assert moved.name == name
        assert moved.read_bytes() == content
    assert names(tmp_path) == sorted(expected.values())


def test_the_timestamp_is_year_month_day_hour_minute_second(tmp_path, monkeypatch):
    formats: list[str] = []
    monkeypatch.setattr(atomic.time, "strftime", lambda f: (formats.append(f), "STAMP")[1])
    path = tmp_path / "n.json"
    path.write_bytes(b"")
    assert move_aside(path).name == "n.json.corrupt-STAMP"
    assert formats == ["%Y%m%d-%H%M%S"]


# ------------------------------------------------------------------ AtomicJSONStorage


def test_a_missing_file_reads_as_nothing_and_is_not_created(tmp_path):
    storage = AtomicJSONStorage(tmp_path / "t.json")
    assert storage.read() is None
    assert storage.stamp is None  # no file
    assert storage.warnings == [] and storage.moved_aside is None
    assert names(tmp_path) == []


def test_an_empty_file_reads_as_an_empty_database(tmp_path):
    (tmp_path / "t.json").write_bytes(b"")
    storage = AtomicJSONStorage(tmp_path / "t.json")
    assert storage.read() == {}
    assert storage.warnings == [] and storage.moved_aside is None
    assert names(tmp_path) == ["t.json"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"nodes": {}},
        {"nodes": {"1": {"id": "r"}, "20": {}}, "meta": {"1": {"schema": 1}}},
    ],
)
def test_a_tinydb_file_is_read_as_it_is(tmp_path, data):
    import json

    (tmp_path / "t.json").write_text(json.dumps(data))
    storage = AtomicJSONStorage(tmp_path / "t.json")
    assert storage.read() == data
    assert storage.stamp == stamp_of(os.stat(tmp_path / "t.json"))
    assert storage.warnings == [] and storage.moved_aside is None


def test_a_file_an_editor_saved_with_a_byte_order_mark_is_read(tmp_path):
    (tmp_path / "t.json").write_bytes(b'\xef\xbb\xbf{"nodes": {"1": {"id": "r"}}}')
    storage = AtomicJSONStorage(tmp_path / "t.json")
    assert storage.read() == {"nodes": {"1": {"id": "r"}}}
    assert storage.warnings == [] and storage.moved_aside is None


def unreadable(tmp_path: Path, content: bytes, warnings: list[str] | None = None):
    path = tmp_path / "t.json"
    path.write_bytes(content)
    storage = AtomicJSONStorage(path, warnings)
    moved = storage.moved_aside
    assert moved is not None and moved.parent == tmp_path
    assert moved.read_bytes() == content
    assert storage.read() is None  # starts empty
    assert storage.stamp is None  # no file now
    assert not path.exists()
    return storage


@pytest.mark.parametrize(
    "content",
    [b"{not json", b'{"nodes": {"1": {}}', b"\xff\xfe garbage", b"nan", b"{} {}"],
    ids=["garbage", "truncated", "binary", "nan", "two-documents"],
)
def test_invalid_json_is_moved_aside_with_a_warning(tmp_path, content):
    storage = unreadable(tmp_path, content)
    assert storage.warnings == [
        f"t.json was unreadable (not valid JSON); it was moved aside to "
        f"{storage.moved_aside.name} {FRESH}"
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"[]",
        b'"a string"',
        b"5",
        b"null",
        b'{"nodes": []}',
        b'{"nodes": {"1": "a string"}}',
        b'{"nodes": {"1": [1]}}',
        b'{"nodes": {"x": {}}}',
        b'{"nodes": {"-1": {}}}',
        b'{"nodes": {"1": {}, "2": 5}}',
        b'{"nodes": {}, "bodies": 3}',
        '{"nodes": {"²": {}}}'.encode(),
        '{"nodes": {"١": {}}}'.encode(),
    ],
)
def test_json_not_shaped_like_tinydb_is_moved_aside_as_not_an_index_file(tmp_path, content):
    storage = unreadable(tmp_path, content)
    assert storage.warnings == [
        f"t.json was unreadable (not an index file); it was moved aside to "
        f"{storage.moved_aside.name} {FRESH}"
    ]


def test_json_nested_too_deeply_is_moved_aside(tmp_path):
    storage = unreadable(tmp_path, DEEP)
    assert storage.warnings == [
        f"t.json was unreadable (nested too deeply); it was moved aside to "
        f"{storage.moved_aside.name} {FRESH}"
    ]


def test_a_file_that_cannot_be_read_is_moved_aside_with_the_system_error(tmp_path):
    path = tmp_path / "t.json"
    path.mkdir()  # reading it fails with IsADirectoryError
    (path / "inside").write_bytes(b"kept")
    storage = AtomicJSONStorage(path)
    moved = storage.moved_aside
    assert moved is not None and (moved / "inside").read_bytes() == b"kept"
    assert storage.warnings == [
        f"t.json was unreadable ([Errno 21] Is a directory: '{path}'); it was moved aside to "
        f"{moved.name} {FRESH}"
    ]
    assert storage.read() is None


def test_warnings_go_to_the_list_given(tmp_path):
    given: list[str] = ["earlier"]
    storage = unreadable(tmp_path, b"{not json", given)
    assert storage.warnings is given
    assert len(given) == 2 and given[0] == "earlier"
    assert given[1].startswith("t.json was unreadable (not valid JSON)")


def test_each_storage_has_its_own_warnings_when_none_are_given(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = unreadable(tmp_path / "a", b"{bad")
    second = AtomicJSONStorage(tmp_path / "b" / "t.json")
    assert len(first.warnings) == 1 and second.warnings == []


def test_a_write_is_compact_utf8_json_in_a_private_file(tmp_path):
    path = tmp_path / "t.json"
    storage = AtomicJSONStorage(path)
    storage.write({"nodes": {"1": {"text": "ünï ✓", "n": [1, 2]}}})
    assert path.read_bytes() == '{"nodes":{"1":{"text":"ünï ✓","n":[1,2]}}}'.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert names(tmp_path) == ["t.json"]


def test_the_parsed_data_is_kept_in_memory_until_released(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{"nodes": {"1": {"v": "on disk"}}}')
    storage = AtomicJSONStorage(path)
    path.write_bytes(b'{"nodes": {"1": {"v": "changed by someone else"}}}')
    assert storage.read() == {"nodes": {"1": {"v": "on disk"}}}  # not parsed again
    storage.release()
    assert storage.read() == {"nodes": {"1": {"v": "changed by someone else"}}}
    path.write_bytes(b"{}")
    assert storage.read() == {"nodes": {"1": {"v": "changed by someone else"}}}


def test_what_was_written_is_read_back_from_memory(tmp_path):
    path = tmp_path / "t.json"
    storage = AtomicJSONStorage(path)
    written = {"nodes": {"1": {"v": 1}}}
    storage.write(written)
    path.write_bytes(b"{}")
    assert storage.read() is written
    storage.release()
    assert storage.read() == {}
    storage.write(written)
    assert storage.read() is written


def test_a_released_storage_reads_the_file_again_and_reports_a_new_corruption(tmp_path):
    path = tmp_path / "t.json"
    storage = AtomicJSONStorage(path)
    storage.write({"nodes": {}})
    storage.release()
    path.write_bytes(b"garbage")
    assert storage.read() is None
    assert storage.moved_aside is not None
    assert storage.moved_aside.read_bytes() == b"garbage"
    assert len(storage.warnings) == 1 and "(not valid JSON)" in storage.warnings[0]


def test_tinydb_on_the_storage_round_trips_and_close_keeps_the_file(tmp_path):
    path = tmp_path / "t.json"
    db = TinyDB(path, storage=AtomicJSONStorage)
    db.table("nodes").insert_multiple([{"n": 1}, {"n": 2}])
    db.close()
    again = TinyDB(path, storage=AtomicJSONStorage)
    assert [d["n"] for d in again.table("nodes").all()] == [1, 2]
    assert again.storage.warnings == []
