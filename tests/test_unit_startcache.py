"""tui/store/startcache.py to the letter: the header, what `read` refuses, the settle rule."""

from __future__ import annotations

import marshal
import struct
import sys
import zlib

import pytest

from tui.store import startcache
from tui.store.atomic import SETTLE_NS

FIELDS = ("doc", "id", "text")


def columns(rows: int = 3) -> list[list]:
    return [list(range(rows)), [f"id{n}" for n in range(rows)], ["t"] * rows]


def write_raw(directory, shards, cols, header: bytes | None = None) -> None:
    """A cache file with a sound length and checksum around whatever payload is given."""
    payload = marshal.dumps((shards, cols))
    head = startcache._header(FIELDS) if header is None else header
    data = head + struct.pack("<QI", len(payload), zlib.crc32(payload)) + payload
    (directory / startcache.NAME).write_bytes(data)


def test_the_header_names_the_format_python_marshal_and_fields():
    python = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
    assert startcache._header(("a", "b")) == (
        f"responses-tui start-up cache\n3 {python} {marshal.version} a,b\n".encode()
    )


def test_what_write_writes_read_reads(tmp_path):
    shards = [(0, 10, 20, 0, 2), (1, 11, 21, 2, 1)]
    startcache.write(tmp_path, FIELDS, shards, columns())
    assert startcache.read(tmp_path, FIELDS) == (shards, columns())
    assert startcache.read(tmp_path, ("doc", "id", "other")) == ([], [])


def test_no_file_reads_as_empty(tmp_path):
    assert startcache.read(tmp_path, FIELDS) == ([], [])


@pytest.mark.parametrize(
    ("shards", "cols"),
    [
        ((), columns()),  # shards not a list
        ([(0, 1, 2, 0, 3)], tuple(columns())),  # columns not a list
        ([(0, 1, 2, 0, 3)], columns()[:2]),  # a column short
        ([(0, 1, 2, 0, 3)], [*columns()[:2], ("t", "t", "t")]),  # a column not a list
        ([(0, 1, 2, 0, 3)], [*columns()[:2], ["t", "t"]]),  # a column of another length
        ([(0, 1, 2, 0, 2)], columns()),  # the runs leave a row out
        ([(0, 1, 2, 0, 2), (1, 1, 2, 1, 2)], columns(4)),  # runs overlap
        ([(0, 1, 2, 1, 3)], columns(4)),  # a run not from the start
        ([(0, 1, 2, 0, "3")], columns()),  # a count not a number
        ([(0, 1, 2, 0, -1), (1, 1, 2, -1, 4)], columns()),  # a negative count
        ([[0, 1, 2, 0, 3]], columns()),  # a shard not a tuple
        ([(0, 1, 2, 0)], columns()),  # a shard of four values
    ],
)
def test_a_cache_not_shaped_as_written_reads_as_empty(tmp_path, shards, cols):
    write_raw(tmp_path, shards, cols)
    assert startcache.read(tmp_path, FIELDS) == ([], [])


def test_shards_of_no_rows_are_read(tmp_path):
    shards = [(0, 1, 2, 0, 0), (1, 1, 2, 0, 3), (2, 1, 2, 3, 0)]
    write_raw(tmp_path, shards, columns())
    assert startcache.read(tmp_path, FIELDS) == (shards, columns())


def test_another_format_of_the_same_length_is_not_read(tmp_path):
    header = startcache._header(FIELDS).replace(b"\n3 ", b"\n9 ", 1)
    write_raw(tmp_path, [(0, 1, 2, 0, 3)], columns(), header=header)
    assert startcache.read(tmp_path, FIELDS) == ([], [])


def test_a_payload_changed_in_place_is_not_read(tmp_path):
    startcache.write(tmp_path, FIELDS, [(0, 1, 2, 0, 3)], columns())
    path = tmp_path / startcache.NAME
    path.write_bytes(path.read_bytes().replace(b"id2", b"id9"))  # same length, loads fine
    assert startcache.read(tmp_path, FIELDS) == ([], [])


def test_a_file_of_only_a_header_is_not_read(tmp_path):
    (tmp_path / startcache.NAME).write_bytes(startcache._header(FIELDS) + b"\0" * 11)
    assert startcache.read(tmp_path, FIELDS) == ([], [])


def test_a_file_settles_strictly_after_two_seconds():
    assert SETTLE_NS == 2_000_000_000
    assert not startcache.settled(1_000, 1_000 + SETTLE_NS)
    assert startcache.settled(1_000, 1_001 + SETTLE_NS)
