"""The start-up cache: every summary shard's summaries in one file that loads fast.

Opening an index of 100,000 responses meant parsing ~60 MB of summary JSON in 1,568 files
and checking every field of every summary: ~0.45 s of a 1.4 s start. This file holds the
same summaries as they were last held in memory, already checked, a column per field, in
`marshal`'s format (the standard library's serialiser of plain values): the open takes
~0.17 s, and no shard file is read until a write needs it.

It is only ever a cache. The shard files stay the truth:

- Each shard's entry carries the size and modification time (ns) of the shard file it was
  read from. An entry is used only while the file still has both; any write to a shard
  replaces the file with a later time, so an entry of a shard written since (by this process
  or another) is simply not used, and that shard is read from its JSON as before.
- An entry is written only for a file whose time was more than `SETTLE_NS` old when it was
  read: a write within the same tick of a coarse file-system clock cannot hide behind it.
  (The inode is left out on purpose: a copied index keeps its times and its cache, not its
  inodes.)
- The file starts with a header naming the format, the Python version (marshal's format may
  change between versions) and the summary fields, then the payload's length and CRC-32; a
  file that fails any of these checks, or does not load, is ignored (and replaced when the
  index next closes). It is written atomically (temp file, rename), 0600, in the index's
  0700 directory. The checksum guards against damage, not against a file made by hand to
  look right: like the shards beside it, the file is the user's own (and marshal, like
  pickle, is not meant for data from anyone else).

This module knows only the file; `Index` decides what goes in and when.
"""

from __future__ import annotations

import marshal
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from tui.store.atomic import SETTLE_NS, write_private_file

NAME = "startup.cache"
FORMAT = 3
_MAGIC = b"responses-tui start-up cache\n"
_LENGTH = struct.Struct("<QI")  # payload length, CRC-32

# Per shard: (number, file size, file mtime_ns, first row, rows); its rows are a run of the
# columns, one column per field.
Shards = list[tuple[int, int, int, int, int]]
Columns = list[list[Any]]


def _header(fields: tuple[str, ...]) -> bytes:
    python = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"
    return _MAGIC + f"{FORMAT} {python} {marshal.version} {','.join(fields)}\n".encode()


def read(directory: Path, fields: tuple[str, ...]) -> tuple[Shards, Columns]:
    """The shards and columns of the cache in `directory`; ([], []) when there is none or it
    cannot be used (another format, Python or set of fields, a wrong length or checksum,
    unloadable, not shaped as `write` writes: a column per field, all of one length, and the
    shards' runs of rows one after the other, covering them all)."""
    try:
        with open(Path(directory) / NAME, "rb") as file:
            data = file.read()
    except OSError:
        return [], []
    header = _header(fields)
    start = len(header) + _LENGTH.size
    if not data.startswith(header) or len(data) < start:
        return [], []
    length, crc = _LENGTH.unpack_from(data, len(header))
    payload = memoryview(data)[start:]
    if len(payload) != length or zlib.crc32(payload) != crc:
        return [], []
    try:
        shards, columns = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return [], []
    if not (type(shards) is list and type(columns) is list):
        return [], []
    if len(columns) != len(fields) or not all(type(c) is list for c in columns):
        return [], []
    rows = len(columns[0])  # (there are fields)
    if any(len(column) != rows for column in columns):
        return [], []
    begin = 0
    for shard in shards:  # contiguous runs covering every row, in order
        if not (type(shard) is tuple and len(shard) == 5 and shard[3] == begin):
            return [], []
        if type(shard[4]) is not int or shard[4] < 0:
            return [], []
        begin += shard[4]
    return (shards, columns) if begin == rows else ([], [])


def write(directory: Path, fields: tuple[str, ...], shards: Shards, columns: Columns) -> None:
    """Replace the cache in `directory` (atomically; OSError when it cannot)."""
    payload = marshal.dumps((shards, columns))
    head = _header(fields) + _LENGTH.pack(len(payload), zlib.crc32(payload))
    write_private_file(Path(directory) / NAME, head, payload, durable=False)


def settled(mtime_ns: int, read_ns: int) -> bool:
    """True when a file of this mtime, read at `read_ns`, may go in the cache."""
    return read_ns - mtime_ns > SETTLE_NS
