"""The local index: every response we created or imported, plus profiles and tool presets.

Layout (one directory, files 0600, directory 0700):

- `index.lock`: the writers' lock, taken for each write (see "Sharing" below).
- `catalog.json`: TinyDB with the `profiles` and `presets` tables and index metadata.
- `shards/NNNNNN.nodes.json`: TinyDB, the small summaries of up to `SHARD_SIZE` responses.
- `shards/NNNNNN.bodies.json`: TinyDB, their full response JSON and recorded input items.
- `startup.cache`: the summaries of every shard as last held in memory, in one file that
  loads ~3 times faster than the shards (see `startcache.py`); only ever a cache: a shard
  whose file changed since is read from its file.

Why shards: TinyDB rewrites its whole file on every write, so one file of 10,000 responses
costs ~85 ms per append. Here an append rewrites one small summary shard and one body shard,
and opening reads only the summaries (from the start-up cache, for the shards it holds as
they are). Bodies are loaded on demand through a small LRU.

Every write is atomic (see `atomic.py`); an unreadable file (invalid JSON, nested too deeply,
not shaped like an index file) is moved aside with a warning, and a summary shard is rebuilt
from its body shard when that one is intact: a body records its response's status and flag,
so a tombstone stays deleted. The order of writes keeps a crash harmless: a new response's
body goes first and its summary second (a body left alone by a crash is removed at the next
open), a removal takes the bodies first and the summaries second (so no body is left that a
rebuild could bring back).

Sharing: several processes may open one index (the app, the CLI, a second app). Each write
takes the lock, first re-reads the files another process changed since they were read (each
loaded file is stamped: size, mtime_ns, inode; an atomic write makes a new inode), then
writes. `refresh()` does the same re-reading between writes, cheaply when nothing changed: a
reader calls it to see what others added or removed.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from tinydb import Query, TinyDB

from tui.forest import Forest, NodeRef
from tui.gcpause import gc_paused
from tui.store import startcache
from tui.store.atomic import (
    SETTLE_NS,
    AtomicJSONStorage,
    Stamp,
    file_stamp,
    remove_stale_temp_files,
    stamp_of,
)
from tui.store.lock import IndexInUse, IndexLock
from tui.store.records import NodeSummary, Status, summarize
from tui.text import one_line

SHARD_SIZE = 64
BODY_CACHE_SHARDS = 8
SCHEMA_VERSION = 1
_PROFILE_FIELDS = ("name", "base_url", "api_key_env", "headers", "default_model")
NAME_CHARS = 80  # a title or a label is one line of at most this many characters
_DOC_NUMBER_MAX = (1 << 32) - 1  # what `Index._seq` keeps of a document number
WRITE_WAIT = 10.0  # seconds a write waits for another process's write to end
# The start-up cache (see `startcache`): written at close for an index of this many shards or
# more, when this many of them are not in it as they are now.
CACHE_MIN_SHARDS = 16
CACHE_REWRITE = 8
# What a row of the start-up cache holds: a summary's fields in order (its shard is the
# entry's), after its document number. A change of the fields makes older caches unused.
_CACHE_FIELDS = ("doc", *(f.name for f in fields(NodeSummary) if f.name != "shard"))
_STATUS_OF = {s.value: s for s in Status}


_created_at = attrgetter("created_at")


def clean_name(text: str) -> str:
    """A title or label as stored and shown: one line of plain text, trimmed."""
    return one_line(text, NAME_CHARS).strip()


Key = tuple[str, str]
_SHOWN_CANDIDATES = 5  # ids an ambiguous prefix names


class AmbiguousId(ValueError):
    """A prefix that begins more than one response id; the message lists them."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = ", ".join(candidates[:_SHOWN_CANDIDATES])
        more = len(candidates) - _SHOWN_CANDIDATES
        if more > 0:
            shown += f" and {more} more"
        super().__init__(
            f"{prefix!r} begins {len(candidates)} response ids: {shown}; give more of it"
        )
        self.prefix = prefix
        self.candidates = candidates


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _writes(method: _Method) -> _Method:
    """A writing method: runs under the index lock, on what is on disk now."""

    @functools.wraps(method)
    def locked(self: Index, *args: Any, **kwargs: Any) -> Any:
        with self._writing():
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class Index:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.warnings: list[str] = []
        self._lock = IndexLock(self.directory)
        self._catalog: TinyDB | None = None  # set once open, None again once closed
        self._node_shards: dict[int, TinyDB] = {}
        # Summary shards taken from the start-up cache, not opened yet: the stamp of the file
        # their summaries are those of (opened by `_node_db` on first use).
        self._node_stamps: dict[int, Stamp] = {}
        self._body_shards: OrderedDict[int, TinyDB] = OrderedDict()
        self._body_ids: dict[int, dict[Key, int]] = {}  # per open body shard: key -> doc id
        self._nodes: dict[Key, NodeSummary] = {}
        self._doc_ids: dict[Key, int] = {}
        # Responses per shard. Only the last shard's count is ever read: new ones go there.
        self._shard_counts: dict[int, int] = {}
        self._unreadable: set[int] = set()  # shards holding summaries that could not be read
        self._forests: dict[str, Forest] = {}
        self._names: dict[Key, dict[str, str]] = {}  # titles and labels, from the catalogue
        self._mutex = threading.RLock()  # a write or a refresh at a time within the process
        self._write_depth = 0  # writes under way (a writing method may call another)
        self._seen: tuple[Stamp | None, int] | None = None  # catalogue, shard directory mtime
        self._synced = ""  # the lock's token as of what this index holds (IndexLock.found)
        self._repaired = False  # a look at the files rebuilt a damaged one (`_reload_shards`)
        # The start-up cache as read (shard -> size, mtime of the file it holds), and whether
        # what is in memory may be written to it at close (not after a failed write).
        self._cache_held: dict[int, tuple[int, int]] = {}
        self._cache_sound = True

    # ------------------------------------------------------------ open / close

    @classmethod
    def open(cls, directory: Path) -> Index:
        index = cls(directory)
        index._do_open()
        return index

    def _do_open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self._lock.acquire(wait=WRITE_WAIT)  # opening may repair: it writes
        try:
            remove_stale_temp_files(self.directory)
            self._shards_dir.mkdir(exist_ok=True, mode=0o700)
            catalog = self._open_db(self.directory / "catalog.json")
            meta = catalog.table("meta")
            if not meta.all():
                meta.insert({"schema": SCHEMA_VERSION})
            self._load_names(catalog)
            with gc_paused(lambda: len(self._nodes)):
                self._load_shards()
            self._catalog = catalog
            self._seen = self._disk_state()
            self._synced = self._lock.claim_write()  # opening may have repaired files
        finally:
            self._lock.release()

    @property
    def _shards_dir(self) -> Path:
        return self.directory / "shards"

    def _open_db(self, path: Path) -> TinyDB:
        """A TinyDB on `path`. An unreadable file (invalid JSON, nested too deeply, not shaped
        like a TinyDB file, a document number that is not an ASCII number) is moved aside with
        a warning and a fresh one started, by `AtomicJSONStorage`."""
        return TinyDB(path, storage=AtomicJSONStorage, warnings=self.warnings)

    def _load_shards(self) -> None:
        """Load every summary shard (from the start-up cache where it holds the shard's file
        as it is, else from the file), then rebuild the unreadable ones from their bodies
        (once all readable ones are in, so a response indexed elsewhere is not brought back a
        second time), then undo what a crash left half-written."""
        stamps = self._node_file_stamps()
        numbers = set(stamps)
        bodies_only = _numbers(self._shards_dir.glob("*.bodies.json")) - numbers
        cached = self._load_start_cache(stamps)
        rebuild = {n for n in sorted(numbers - cached) if not self._load_shard(n)}
        # A summary shard moved aside earlier whose rebuild was never written (a crash): now.
        rebuild |= {
            n for n in bodies_only if any(self._shards_dir.glob(f"{n:06d}.nodes.json.corrupt-*"))
        }
        for number in sorted(rebuild, reverse=True):  # the newest copy of a response wins
            self._rebuild_shard_from_bodies(number)
        self._drop_unfinished_writes(numbers - rebuild, bodies_only - rebuild)

    def _node_file_stamps(self) -> dict[int, Stamp]:
        """Every summary shard file by number, with its stamp."""
        stamps: dict[int, Stamp] = {}
        try:
            entries = list(os.scandir(self._shards_dir))
        except OSError:
            return stamps
        for entry in entries:
            name, _, kind = entry.name.partition(".")
            if kind != "nodes.json" or not (name.isascii() and name.isdigit()):
                continue
            try:
                stamps[int(name)] = stamp_of(entry.stat())  # the file read: a link followed
            except OSError:
                continue
        return stamps

    def _load_start_cache(self, stamps: dict[int, Stamp]) -> set[int]:
        """Take the summaries of every shard the start-up cache holds as its file is now
        (same size and time); returns their numbers. All or nothing: a cache that does not
        load whole, or holds a response twice, is not used at all. The shards' files are
        read only when a write needs them (`_node_db`)."""
        shards, columns = startcache.read(self.directory, _CACHE_FIELDS)
        try:
            hits = []
            for number, size, mtime, begin, count in shards:
                stamp = stamps.get(number)
                if stamp is not None and (stamp[0], stamp[1]) == (size, mtime):
                    hits.append((number, begin, count))
            if len(hits) < len(shards):  # some shards changed since: the others' rows only
                columns = [
                    list(itertools.chain.from_iterable(c[b : b + n] for _, b, n in hits))
                    for c in columns
                ]
            docs, servers, ids = columns[:3]
            summaries = list(
                map(
                    NodeSummary,
                    servers,
                    ids,
                    *columns[3:7],
                    map(_STATUS_OF.__getitem__, columns[7]),
                    *columns[8:],
                    itertools.chain.from_iterable(
                        itertools.repeat(number, n) for number, _, n in hits
                    ),
                )
            )
            keys = list(zip(servers, ids, strict=True))
            self._nodes.update(zip(keys, summaries, strict=True))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            self._nodes.clear()
            return set()
        if len(self._nodes) != len(keys):  # a response twice: not a cache this index wrote
            self._nodes.clear()
            return set()
        self._doc_ids.update(zip(keys, docs, strict=True))
        for number, _, count in hits:
            self._node_stamps[number] = stamps[number]
            self._shard_counts[number] = count
        self._cache_held = {n: (stamps[n][0], stamps[n][1]) for n, _, _ in hits}
        return set(self._cache_held)

    def _write_start_cache(self) -> None:
        """Write the start-up cache when it is worth it: the index has `CACHE_MIN_SHARDS`
        shards or more and at least `CACHE_REWRITE` of them are not in the cache as they are
        now. Only shards whose summaries in memory are those of their file as it is, read
        when it had settled (see `startcache`), go in."""
        if not self._cache_sound:
            return
        if len(self._node_shards.keys() | self._node_stamps.keys()) < CACHE_MIN_SHARDS:
            return
        now = time.time_ns()
        wanted = {n: (stamp[0], stamp[1]) for n, stamp in self._node_stamps.items()}
        for number, db in self._node_shards.items():
            storage = db.storage
            stamp = storage.stamp
            if stamp is None or number in self._unreadable:
                continue
            read_ns = storage.read_ns
            if read_ns is None or startcache.settled(stamp[1], min(read_ns, now)):
                wanted[number] = (stamp[0], stamp[1])
        held = self._cache_held
        changed = sum(1 for n, sm in wanted.items() if held.get(n) != sm)
        changed += sum(1 for n in held if n not in wanted)
        if changed < CACHE_REWRITE and not (changed and len(held) < CACHE_MIN_SHARDS):
            return
        by_shard: dict[int, list[NodeSummary]] = {n: [] for n in wanted}
        for summary in self._nodes.values():
            rows = by_shard.get(summary.shard)
            if rows is not None:
                rows.append(summary)
        shards = []
        begin = 0
        for number in sorted(wanted):
            size, mtime = wanted[number]
            count = len(by_shard[number])
            shards.append((number, size, mtime, begin, count))
            begin += count
        every = list(itertools.chain.from_iterable(by_shard[n] for n in sorted(wanted)))
        del by_shard
        doc_ids = self._doc_ids
        # A column per field (no tuple per summary: this runs at the end of a long session).
        columns = [[doc_ids[s.key] for s in every]]
        columns += [[getattr(s, name) for s in every] for name in _CACHE_FIELDS[1:]]
        columns[_CACHE_FIELDS.index("status")] = [s.status.value for s in every]
        try:
            startcache.write(self.directory, _CACHE_FIELDS, shards, columns)
        except (OSError, ValueError):  # a read-only index; a value marshal cannot write
            return
        self._cache_held = wanted

    def _node_db(self, number: int) -> TinyDB:
        """The TinyDB of summary shard `number`, opened (and read) on first use."""
        db = self._node_shards.get(number)
        if db is None:
            known = self._node_stamps.pop(number, None)
            path = self._node_path(number)
            if known is not None:  # from the start-up cache: read when first needed
                db = TinyDB(path, storage=AtomicJSONStorage, warnings=self.warnings, known=known)
            else:
                db = self._open_db(path)
            self._node_shards[number] = db
            self._shard_counts.setdefault(number, 0)
        return db

    def _node_stamp(self, number: int) -> Stamp | None:
        """The stamp of the summary shard file whose summaries are in memory."""
        db = self._node_shards.get(number)
        return db.storage.stamp if db is not None else self._node_stamps.get(number)

    def _load_shard(self, number: int) -> bool:
        """Read one summary shard into memory; False when its file was unreadable and moved
        aside (the caller rebuilds it from its bodies)."""
        warnings_before = len(self.warnings)
        path = self._node_path(number)
        db = self._open_db(path)
        self._node_shards[number] = db
        self._shard_counts[number] = 0
        if len(self.warnings) > warnings_before:
            return False
        # The raw documents, not table.all(): TinyDB would copy each into a Document first,
        # which at 100,000 responses costs as much as reading the files.
        raw = (db.storage.read() or {}).get("nodes") or {}
        self._shard_counts[number] = self._read_summaries(number, raw)
        db.storage.release()  # the summaries are all the index keeps in memory
        return True

    def _read_summaries(self, number: int, raw: dict[str, Any]) -> int:
        """Put the summaries of one shard's raw documents in memory; returns how many (every
        document number is an ASCII number: the storage moves any other file aside)."""
        local: dict[Key, tuple[NodeSummary, int]] = {}
        skipped = 0
        for doc_id, doc in raw.items():
            doc_number = int(doc_id)
            try:
                summary = NodeSummary.from_doc(doc)
            except (TypeError, ValueError, AttributeError):
                skipped += 1  # unreadable: left in the file, not shown
                continue
            summary.shard = number
            local[summary.key] = (summary, doc_number)
        if skipped:
            self._unreadable.add(number)
        # A response recorded twice (an index written by an older version, after a crash and
        # a rebuild): the later copy is kept and the stale one removed, so that removing the
        # response cannot uncover it.
        stale: dict[int, list[tuple[Key, int]]] = {}
        if len(local) + skipped != len(raw):  # twice in this shard
            kept = {doc_id for _, doc_id in local.values()}
            for doc_id, doc in raw.items():
                key = (doc.get("server"), doc.get("id"))
                hashable = type(key[0]) is str and type(key[1]) is str
                if hashable and int(doc_id) not in kept and key in local:
                    stale.setdefault(number, []).append((key, int(doc_id)))
        self._take_summaries(number, local, stale)
        return len(local)

    def _take_summaries(
        self,
        number: int,
        local: dict[Key, tuple[NodeSummary, int]],
        stale: dict[int, list[tuple[Key, int]]],
    ) -> None:
        """Keep one shard's summaries (with their document numbers) in memory, and remove
        the stale copies: `stale`, found twice in the shard, and of a response also in
        another shard, the copy in the earlier shard (the shards are not always taken in
        order: those from the start-up cache come first)."""
        if not self._nodes.keys().isdisjoint(local):  # also in another shard
            for key in list(local):
                other = self._nodes.get(key)
                if other is None:
                    continue
                if other.shard < number:
                    stale.setdefault(other.shard, []).append((key, self._doc_ids[key]))
                else:
                    stale.setdefault(number, []).append((key, local.pop(key)[1]))
        for key, (summary, doc_id) in local.items():
            self._nodes[key] = summary
            self._doc_ids[key] = doc_id
        for other, pairs in stale.items():
            try:  # the bodies first, as in `remove_many`
                if other != number:
                    self._remove_bodies(other, {key for key, _ in pairs})
                self._nodes_table(other).remove(doc_ids=[doc_id for _, doc_id in pairs])
            except OSError:
                pass  # a read-only index: tidied up when it can be written
            self._node_db(other).storage.release()

    def _rebuild_shard_from_bodies(self, number: int) -> None:
        """New summaries for shard `number` from its bodies: the latest body of each response
        that is not indexed elsewhere, with the status and flag the body records (a tombstone
        stays deleted, a response missing on the server stays missing)."""
        latest: dict[Key, dict[str, Any]] = {}
        for body in self._bodies(number).table("bodies").all():
            server, rid = body.get("server"), body.get("id")
            if isinstance(body.get("response"), dict) and type(server) is str and type(rid) is str:
                latest[(server, rid)] = body  # a later copy of the same response wins
        docs = []
        elsewhere = set()
        for key, body in latest.items():
            if key in self._nodes or not key[1]:
                elsewhere.add(key)  # indexed in another shard: that copy is the live one
                continue
            request = body.get("request")
            inputs = body.get("input")
            profile = body.get("profile")
            summary = summarize(
                {**body["response"], "id": key[1]},
                server=key[0],
                profile=profile if type(profile) is str else "",
                input_items=inputs if isinstance(inputs, list) else None,
                status=_recorded_status(body),
                request=request if isinstance(request, dict) else None,
            )
            summary.ancestor_missing = body.get("ancestor_missing") is True
            docs.append(summary.to_doc())
        if elsewhere:  # stale copies: removing the live one later must not uncover them
            with contextlib.suppress(OSError):  # a read-only index: tidied up another time
                self._remove_bodies(number, elsewhere)
        if not docs:
            return
        table = self._nodes_table(number)
        table.insert_multiple(docs)
        self.warnings.append(
            f"rebuilt {len(docs)} response summaries of shard {number} from their bodies"
        )
        db = self._node_db(number)
        self._shard_counts[number] = self._read_summaries(
            number, (db.storage.read() or {}).get("nodes") or {}
        )
        db.storage.release()

    def _drop_unfinished_writes(self, loaded: set[int], bodies_only: set[int]) -> None:
        """Remove the bodies a crash left without their summary, so that a re-import does not
        record them twice and a rebuild cannot bring them back. A new response's body is
        written just before its summary, into the last shard or a new one after it, so only
        those can hold such bodies. (A shard with summaries that could not be read is left
        alone: their bodies are the only way to get them back.)"""
        last = max(loaded, default=-1)
        candidates = [n for n in bodies_only if n > last]
        if last >= 0 and last not in self._unreadable:
            candidates.append(last)
        for number in candidates:
            table = self._bodies(number).table("bodies")
            ids = self._body_ids[number]
            stale = []
            for doc in table.all():
                key = (str(doc.get("server")), str(doc.get("id")))
                summary = self._nodes.get(key)
                if summary is None or summary.shard != number or ids.get(key) != doc.doc_id:
                    stale.append(doc.doc_id)
            if stale:
                try:
                    table.remove(doc_ids=stale)
                except OSError:
                    continue  # a read-only index: tidied up when it can be written
                gone = set(stale)
                self._body_ids[number] = {k: d for k, d in ids.items() if d not in gone}

    def close(self) -> None:
        if self._catalog is None:  # never opened, or closed already
            return
        with self._mutex:
            self._write_start_cache()
        for db in [*self._node_shards.values(), *self._body_shards.values()]:
            db.close()
        self._catalog.close()
        self._catalog = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sharing

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """The index lock for the length of a write (once, however deeply writes nest), with
        what other processes wrote since read first: the write then works on what is on disk."""
        with self._mutex:
            if self._write_depth == 0:
                self._lock.acquire(wait=WRITE_WAIT)
                try:
                    if self._lock.found != self._synced or not self._lock.found:
                        self._reread()  # another process wrote since (at 100,000: ~7 ms)
                    self._synced = self._lock.claim_write()
                except BaseException:
                    self._lock.release()
                    raise
            self._write_depth += 1
            try:
                yield
            except BaseException:
                # What is in memory may now differ from the files: no start-up cache from it.
                self._cache_sound = False
                raise
            finally:
                self._write_depth -= 1
                if self._write_depth == 0:
                    try:
                        self._seen = self._disk_state()  # ours: nothing to take in
                    finally:
                        self._lock.release()

    def refresh(self) -> bool:
        """Take in what other processes wrote to the index since it was read: responses
        added, changed or removed, titles, labels, profiles, presets. Cheap when nothing
        changed (two `stat` calls); skipped while another process is writing (the next call
        sees it whole). True when something changed."""
        if self._catalog is None:
            return False
        with self._mutex:
            if self._write_depth:
                return False
            state = self._disk_state()
            settled = time.time_ns() - state[1] > SETTLE_NS
            ours = bool(self._synced) and self._lock.peek() == self._synced
            if state == self._seen and (settled or ours):
                return False  # (the token tells apart writes within the clock's granularity)
            try:
                self._lock.acquire()
            except IndexInUse:
                return False  # a write under way: the next call sees it whole
            except OSError:  # a read-only index: read what is there
                return self._reread()
            try:
                self._repaired = False
                changed = self._reread()
                # Up to date with the last writer; a repair made on the way is a write.
                self._synced = self._lock.claim_write() if self._repaired else self._lock.found
                return changed
            finally:
                self._lock.release()

    def _disk_state(self) -> tuple[Stamp | None, int]:
        """The catalogue's stamp and the shard directory's mtime (a rename into it, which
        every shard write ends with, changes it)."""
        try:
            shards = os.stat(self._shards_dir).st_mtime_ns
        except OSError:
            shards = 0
        return (file_stamp(self.directory / "catalog.json"), shards)

    def _reread(self) -> bool:
        """Read again every file changed on disk since it was read; True when the summaries
        or the catalogue changed."""
        assert self._catalog is not None
        self._seen = self._disk_state()
        changed = False
        if self._catalog.storage.stamp != self._seen[0]:
            self._catalog.close()
            self._catalog = self._open_db(self.directory / "catalog.json")
            self._names = {}
            self._load_names(self._catalog)
            changed = True
        nodes: dict[int, Stamp] = {}
        bodies: dict[int, Stamp] = {}
        try:
            entries = list(os.scandir(self._shards_dir))
        except OSError:
            entries = []
        for entry in entries:
            name, _, kind = entry.name.partition(".")
            if not (name.isascii() and name.isdigit()):
                continue
            number = int(name)
            # Every summary shard; a body shard only when one is cached (the others are read
            # from their files when next needed).
            if kind != "nodes.json" and not (kind == "bodies.json" and number in self._body_shards):
                continue
            try:
                # The file a storage reads and stamps (fstat): a link is followed, or a
                # shard that is a link would look changed at every look.
                stamp = stamp_of(entry.stat())
            except OSError:
                continue
            (nodes if kind == "nodes.json" else bodies)[number] = stamp
        for number, db in list(self._body_shards.items()):
            if db.storage.stamp != bodies.get(number):  # read again when next needed
                self._drop_bodies_cache(number)
        known = self._node_shards.keys() | self._node_stamps.keys()
        stale = sorted(
            number
            for number in nodes.keys() | known
            if number not in known or self._node_stamp(number) != nodes.get(number)
        )
        if stale:
            self._reload_shards(stale)
            changed = True
        return changed

    def _drop_bodies_cache(self, number: int) -> None:
        db = self._body_shards.pop(number, None)
        if db is not None:
            del self._body_ids[number]
            db.close()

    def _reload_shards(self, numbers: list[int]) -> None:
        """Read these summary shards again, as another process left them; the forests
        follow (what went is taken out in place, leaves first: no rebuild of 100,000)."""
        wanted = set(numbers)
        before: dict[int, list[Key]] = {number: [] for number in numbers}
        for key, node in self._nodes.items():
            if node.shard in wanted:
                before[node.shard].append(key)
        removed: dict[str, list[Key]] = {}
        added: list[NodeSummary] = []
        moved: set[str] = set()
        damaged: list[int] = []
        for number in numbers:
            old = self._node_shards.pop(number, None)
            self._node_stamps.pop(number, None)
            if old is not None:
                old.close()
            warnings_before = len(self.warnings)
            db = self._open_db(self._node_path(number))
            if len(self.warnings) > warnings_before:
                damaged.append(number)  # moved aside: rebuilt from its bodies, as at open
            self._node_shards[number] = db
            raw = (db.storage.read() or {}).get("nodes") or {}
            db.storage.release()
            now: dict[Key, tuple[NodeSummary, int]] = {}
            for doc_id, doc in raw.items():
                try:
                    summary = NodeSummary.from_doc(doc)
                except (TypeError, ValueError, AttributeError):
                    continue
                summary.shard = number
                now[summary.key] = (summary, int(doc_id))
            for key in before[number]:
                if key not in now:
                    del self._nodes[key]
                    del self._doc_ids[key]
                    self._names.pop(key, None)
                    removed.setdefault(key[0], []).append(key)
            for key, (summary, doc_id) in now.items():
                earlier = self._nodes.get(key)
                self._nodes[key] = summary
                self._doc_ids[key] = doc_id
                if earlier is None:
                    added.append(summary)
                elif (earlier.parent, earlier.created_at) != (summary.parent, summary.created_at):
                    moved.add(key[0])
            self._shard_counts[number] = len(now)
        for server, keys in removed.items():
            forest = self._forests.get(server)
            if forest is not None and not _remove_leaves_first(forest, keys):
                moved.add(server)
        for server in moved:  # built again when next used
            self._forests.pop(server, None)
        for summary in added:
            self._forest_add(summary, fresh=True)
        for number in damaged:
            self._drop_bodies_cache(number)
            self._rebuild_shard_from_bodies(number)
            self._forests.clear()  # built again when next used
            self._repaired = True  # a write: news to the other processes

    # ------------------------------------------------------------ shards

    def _node_path(self, number: int) -> Path:
        return self._shards_dir / f"{number:06d}.nodes.json"

    def _body_path(self, number: int) -> Path:
        return self._shards_dir / f"{number:06d}.bodies.json"

    def _bodies(self, number: int) -> TinyDB:
        db = self._body_shards.get(number)
        if db is not None:
            self._body_shards.move_to_end(number)
            return db
        db = self._open_db(self._body_path(number))
        docs = db.table("bodies").all()
        self._body_shards[number] = db
        self._body_ids[number] = {
            (str(doc.get("server")), str(doc.get("id"))): doc.doc_id for doc in docs
        }
        while len(self._body_shards) > BODY_CACHE_SHARDS:
            old_number, old = self._body_shards.popitem(last=False)
            del self._body_ids[old_number]
            old.close()
        return db

    def _write_body(self, number: int, key: Key, body: dict[str, Any]) -> None:
        """Insert or replace the body of `key` in shard `number`."""
        table = self._bodies(number).table("bodies")
        ids = self._body_ids[number]
        doc_id = ids.get(key)
        if doc_id is not None and table.contains(doc_id=doc_id):
            table.update(body, doc_ids=[doc_id])
        else:
            ids[key] = table.insert(body)

    def _remove_bodies(self, number: int, keys: set[Key]) -> None:
        """Remove every body of these responses from shard `number` (one write; none when
        there is nothing to remove), a second copy left by a crash included."""
        db = self._bodies(number)
        table = db.table("bodies")
        ids = self._body_ids[number]
        # The raw documents, not table.all(): TinyDB would copy every body of the shard into
        # a Document first (a 100-response delete stalled the app for 0.4 s doing that).
        raw = (db.storage.read() or {}).get("bodies") or {}
        doomed = [
            int(doc_id)
            for doc_id, doc in raw.items()
            if isinstance(doc, dict) and (str(doc.get("server")), str(doc.get("id"))) in keys
        ]
        if doomed:
            table.remove(doc_ids=doomed)
        for key in keys:
            ids.pop(key, None)

    def _shard_for_new(self) -> int:
        if self._shard_counts:
            last = max(self._shard_counts)
            if self._shard_counts[last] < SHARD_SIZE:
                return last
            return last + 1
        return 0

    def _nodes_table(self, number: int):
        return self._node_db(number).table("nodes")

    # ------------------------------------------------------------ responses

    @_writes
    def add_response(
        self,
        response: dict[str, Any],
        *,
        server: str,
        profile: str,
        input_items: list[dict[str, Any]] | None = None,
        status: Status | None = None,
        keep_input: bool = True,
        request: dict[str, Any] | None = None,
    ) -> NodeSummary:
        """Insert or update one response. `input_items=None` means "not recorded"; an update
        without input keeps the input recorded earlier (when `keep_input`). `request` is what
        we sent besides the input (model, tools with their ${VAR} placeholders, instructions):
        the next turn inherits it, since the API does not carry tools across turns."""
        rid = response.get("id")
        if not isinstance(rid, str) or not rid:
            raise ValueError("a response without an id cannot be indexed")
        key = (server, rid)
        existing = self._nodes.get(key)
        if existing is not None:
            keep_earlier_input = input_items is None and keep_input and existing.input_recorded
            if keep_earlier_input or request is None:
                earlier = self.load_body(server, rid)
                if keep_earlier_input:
                    input_items = earlier.get("input")
                if request is None:
                    request = earlier.get("request")
        summary = summarize(
            response,
            server=server,
            profile=profile,
            input_items=input_items,
            status=status,
            request=request,
        )
        if existing is None:
            number = self._shard_for_new()
            summary.shard = number
            body = _body_doc(server, rid, profile, response, input_items, request, summary)
            # Replaces a body a crash may have left without its summary.
            self._write_body(number, key, body)
            doc_id = self._nodes_table(number).insert(summary.to_doc())
            self._doc_ids[key] = doc_id
            self._shard_counts[number] += 1
        else:
            summary.shard = existing.shard
            summary.ancestor_missing = existing.ancestor_missing and summary.parent is not None
            if status is None and existing.status in (Status.DELETED, Status.MISSING):
                summary.status = existing.status
            body = _body_doc(server, rid, profile, response, input_items, request, summary)
            self._write_body(existing.shard, key, body)
            self._nodes_table(existing.shard).update(summary.to_doc(), doc_ids=[self._doc_ids[key]])
        self._nodes[key] = summary
        # The forest takes it again when where it sits may have changed: its parent or its time.
        moved = existing is None or (existing.parent, existing.created_at) != (
            summary.parent,
            summary.created_at,
        )
        self._forest_add(summary, fresh=moved)
        return summary

    @_writes
    def add_many(
        self,
        records: Iterable[tuple[dict[str, Any], list[dict[str, Any]] | None]],
        *,
        server: str,
        profile: str,
    ) -> int:
        """Insert many new responses at once (imports, sync, benchmarks): one write per shard
        instead of one per response. Responses already indexed go through `add_response`.

        Idempotent after a crash: a body a crashed run left without its summary is replaced,
        not added a second time. If a write fails, the responses of the shards not written
        are not in memory either (the same call can be made again)."""
        added = 0
        batch: dict[int, dict[Key, tuple[NodeSummary, dict[str, Any]]]] = {}
        new: dict[Key, int] = {}  # responses new to the index -> their shard
        written: set[int] = set()
        try:
            for response, input_items in records:
                rid = response.get("id")
                if not isinstance(rid, str) or not rid:
                    raise ValueError("a response without an id cannot be indexed")
                key = (server, rid)
                number = new.get(key)  # twice in one call: the later copy wins
                if number is None:
                    if key in self._nodes:
                        self.add_response(
                            response, server=server, profile=profile, input_items=input_items
                        )
                        continue
                    number = self._shard_for_new()
                    self._nodes_table(number)  # make sure the shard exists for counting
                    self._shard_counts[number] += 1
                    new[key] = number
                summary = summarize(
                    response, server=server, profile=profile, input_items=input_items
                )
                summary.shard = number
                body = _body_doc(server, rid, profile, response, input_items, None, summary)
                batch.setdefault(number, {})[key] = (summary, body)
            for number, entries in batch.items():
                self._write_new(number, entries)
                written.add(number)
                added += len(entries)
        finally:
            for number, entries in batch.items():
                if number not in written:  # not on disk: not counted either
                    self._shard_counts[number] -= len(entries)
            if added:
                self._forests.pop(server, None)  # rebuilt on next use
        return added

    def _write_new(self, number: int, entries: dict[Key, tuple[NodeSummary, dict]]) -> None:
        """Bodies, then summaries, of responses new to the index, into shard `number`."""
        table = self._bodies(number).table("bodies")
        ids = self._body_ids[number]
        if not ids.keys().isdisjoint(entries):  # left by a crash without their summaries
            self._remove_bodies(number, set(ids.keys() & entries.keys()))
        body_ids = table.insert_multiple(body for _, body in entries.values())
        for key, body_id in zip(entries, body_ids, strict=True):
            ids[key] = body_id
        summaries = [summary for summary, _ in entries.values()]
        doc_ids = self._nodes_table(number).insert_multiple(s.to_doc() for s in summaries)
        for summary, doc_id in zip(summaries, doc_ids, strict=True):
            self._doc_ids[summary.key] = doc_id
            self._nodes[summary.key] = summary

    def get(self, server: str, response_id: str) -> NodeSummary | None:
        return self._nodes.get((server, response_id))

    def find(self, response_id: str) -> list[NodeSummary]:
        return [n for (s, rid), n in self._nodes.items() if rid == response_id]

    def resolve(self, text: str, server: str | None = None) -> str:
        """The response id `text` names, as people write it: a whole id, or a unique prefix
        of one (the app shows `resp_6c40d605…`; the `…` may be copied too). The ids of
        `server` are looked at first, then every server's. A text that begins no indexed id
        comes back as it is (the caller says it is unknown, or asks a server for it); one
        that begins several raises `AmbiguousId`, naming them."""
        text = text.strip().removesuffix("…").removesuffix("...").strip()
        if not text:
            return text
        keys = list(self._nodes)  # one copy: safe beside a worker thread
        matches = [key for key in keys if key[1].startswith(text)]
        if any(rid == text for _, rid in matches):
            return text
        for scope in ([server] if server is not None else []) + [None]:
            found = sorted({rid for srv, rid in matches if scope is None or srv == scope})
            if len(found) == 1:
                return found[0]
            if found:
                raise AmbiguousId(text, found)
        return text

    def nodes(self, server: str | None = None) -> list[NodeSummary]:
        """Oldest first. Safe to call from a worker thread while the app adds responses:
        the one copy of the values is a single step under the GIL."""
        out = list(self._nodes.values())
        if server is not None:
            out = [n for n in out if n.server == server]
        out.sort(key=self._order)
        return out

    def _order(self, node: NodeSummary) -> tuple[float, int, str]:
        """Creation time; ties (servers stamp whole seconds) in the order they were recorded."""
        return (node.created_at, self._seq(node), node.id)

    def _seq(self, node: NodeSummary) -> int:
        """The order recorded: shard, then document number within it. A number past 32 bits
        (a hand-edited file) counts as the largest, so it cannot reach into the shard's bits
        and sort a response after those of later shards."""
        return (node.shard << 32) | min(self._doc_ids[node.key], _DOC_NUMBER_MAX)

    def latest(self, server: str | None = None) -> NodeSummary | None:
        """The newest response (of one server), without sorting them all."""
        nodes = self._nodes.values()
        if server is not None:
            nodes = [n for n in nodes if n.server == server]
        # The newest time first (a C loop), then the full order among the few that share it:
        # the full order's key for every response cost ~60 ms of the start at 100,000.
        newest = max(nodes, key=_created_at, default=None)
        if newest is None:
            return None
        tied = [n for n in nodes if n.created_at == newest.created_at]
        return max(tied, key=self._order)

    def servers(self) -> list[str]:
        return sorted({server for server, _ in self._nodes})

    def counts(self) -> dict[str, int]:
        """How many responses the index holds per server."""
        return dict(Counter(server for server, _ in self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def load_body(self, server: str, response_id: str) -> dict[str, Any]:
        """{"response": dict, "input": list | None, "request": dict | None} for one response
        (values of another type in a damaged file count as absent)."""
        summary = self._nodes.get((server, response_id))
        if summary is None:
            raise KeyError(f"{response_id} is not in the index")
        doc = self._body_doc_of(summary)
        if doc is None:
            return {"response": {"id": response_id}, "input": None, "request": None}
        response, inputs, request = doc.get("response"), doc.get("input"), doc.get("request")
        return {
            "response": response if isinstance(response, dict) else {},
            "input": inputs if isinstance(inputs, list) else None,
            "request": request if isinstance(request, dict) else None,
        }

    def _body_doc_of(self, summary: NodeSummary) -> Any:
        table = self._bodies(summary.shard).table("bodies")
        doc_id = self._body_ids[summary.shard].get(summary.key)
        return table.get(doc_id=doc_id) if doc_id is not None else None

    def _update_summary(self, summary: NodeSummary) -> None:
        """Write a changed status or flag: into the body first (what a rebuild reads), then
        into the summary."""
        doc = self._body_doc_of(summary)
        recorded = {"status": str(summary.status), "ancestor_missing": summary.ancestor_missing}
        if doc is not None and any(doc.get(k) != v for k, v in recorded.items()):
            self._bodies(summary.shard).table("bodies").update(recorded, doc_ids=[doc.doc_id])
        self._nodes_table(summary.shard).update(
            summary.to_doc(), doc_ids=[self._doc_ids[summary.key]]
        )

    @_writes
    def set_status(self, server: str, response_id: str, status: Status) -> None:
        summary = self._require(server, response_id)
        summary.status = Status(status)
        self._update_summary(summary)

    @_writes
    def set_flag(self, server: str, response_id: str, *, ancestor_missing: bool) -> None:
        summary = self._require(server, response_id)
        summary.ancestor_missing = ancestor_missing
        self._update_summary(summary)

    def _require(self, server: str, response_id: str) -> NodeSummary:
        summary = self._nodes.get((server, response_id))
        if summary is None:
            raise KeyError(f"{response_id} is not in the index")
        return summary

    def remove(self, server: str, response_id: str) -> None:
        self.remove_many(server, [response_id])

    @_writes
    def remove_many(self, server: str, response_ids: Iterable[str]) -> int:
        """Remove several responses with one write per shard file touched (`remove` writes
        two files per response). Pass leaves before their parents: the forest then drops
        each in place. Returns how many were removed."""
        removed: list[Key] = []
        by_shard: dict[int, list[Key]] = {}
        for rid in dict.fromkeys(response_ids):  # an id named twice is removed once
            key = (server, rid)
            summary = self._nodes.get(key)
            if summary is None:
                continue
            by_shard.setdefault(summary.shard, []).append(key)
            removed.append(key)
        for number, keys in by_shard.items():
            # The bodies first: a crash before the summaries go leaves a response listed
            # without its body (remove it again), never a body a rebuild would bring back.
            self._remove_bodies(number, set(keys))
            self._nodes_table(number).remove(doc_ids=[self._doc_ids[key] for key in keys])
            for key in keys:  # the summaries go once their shard no longer has them
                del self._nodes[key]
                del self._doc_ids[key]
            self._shard_counts[number] -= len(keys)
        forest = self._forests.get(server)
        if forest is not None:
            for key in removed:
                forest.remove(key)
        self._drop_names(removed)
        return len(removed)

    # ------------------------------------------------------------ forest

    def forest(self, server: str) -> Forest:
        """The forest of one server, built once and then kept up to date."""
        forest = self._forests.get(server)
        if forest is None:
            with gc_paused(lambda: len(self._nodes)):
                forest = Forest.build(self._refs(server))
            self._forests[server] = forest
        return forest

    def _refs(self, server: str) -> dict[Key, NodeRef]:
        """The forest's view of one server's responses, by key. Parent links point at the
        very key objects of the index (and each summary's parent id at its parent's id
        string), so at 100,000 responses no second copy of every key and id is kept."""
        # By id: a lookup without making a (server, id) tuple per response. The loop is
        # `_seq` and NodeRef written out: at 100,000 responses the calls cost ~60 ms.
        by_id = {key[1]: key for key in self._nodes if key[0] == server}
        doc_ids = self._doc_ids
        new_ref = tuple.__new__
        refs = {}
        for key, node in self._nodes.items():
            if key[0] != server:
                continue
            parent = None
            if node.parent:
                parent = by_id.get(node.parent)
                if parent is None:
                    parent = (server, node.parent)  # not indexed: an orphan's parent
                else:
                    node.parent = parent[1]
            doc = doc_ids[key]
            seq = (node.shard << 32) | (doc if doc < _DOC_NUMBER_MAX else _DOC_NUMBER_MAX)
            refs[key] = new_ref(NodeRef, (key, parent, node.created_at, seq))
        return refs

    def _forest_add(self, summary: NodeSummary, *, fresh: bool) -> None:
        forest = self._forests.get(summary.server)
        if forest is None:
            return
        ref = NodeRef(
            summary.key,
            (summary.server, summary.parent) if summary.parent else None,
            summary.created_at,
            self._seq(summary),
        )
        if fresh or summary.key not in forest:
            forest.add(ref)

    # ------------------------------------------------------------ profiles and presets

    def profiles(self) -> list[dict[str, Any]]:
        assert self._catalog is not None
        return [dict(p) for p in self._catalog.table("profiles").all()]

    @_writes
    def save_profile(self, profile: dict[str, Any]) -> None:
        """Save (or replace) a profile. Only the whitelisted fields are written: never a key."""
        assert self._catalog is not None
        clean = {k: profile.get(k) for k in _PROFILE_FIELDS}
        self._catalog.table("profiles").upsert(clean, Query().name == clean["name"])

    @_writes
    def remove_profile(self, name: str) -> bool:
        assert self._catalog is not None
        return bool(self._catalog.table("profiles").remove(Query().name == name))

    # ------------------------------------------------------------ sync watermarks

    def sync_watermark(self, server: str) -> str | None:
        """The newest response id the last complete sync of `server` saw, if any."""
        assert self._catalog is not None
        doc = self._catalog.table("sync").get(Query().sync == server)
        newest = doc.get("newest") if isinstance(doc, dict) else None
        return newest if isinstance(newest, str) and newest else None

    @_writes
    def set_sync_watermark(self, server: str, newest: str | None) -> None:
        """Remember `newest` for the next sync of `server` (None forgets it)."""
        assert self._catalog is not None
        table = self._catalog.table("sync")
        if newest is None:
            table.remove(Query().sync == server)
        else:
            table.upsert({"sync": server, "newest": newest}, Query().sync == server)

    def presets(self) -> list[dict[str, Any]]:
        assert self._catalog is not None
        return [dict(p) for p in self._catalog.table("presets").all()]

    @_writes
    def save_preset(self, preset: dict[str, Any]) -> None:
        assert self._catalog is not None
        self._catalog.table("presets").upsert(dict(preset), Query().name == preset["name"])

    @_writes
    def remove_preset(self, name: str) -> bool:
        assert self._catalog is not None
        return bool(self._catalog.table("presets").remove(Query().name == name))

    # ------------------------------------------------------------ titles and labels

    def _load_names(self, catalog: TinyDB) -> None:
        """The catalogue's names, cleaned: a hand-edited entry of the wrong shape is skipped."""
        for doc in catalog.table("names").all():
            server, rid = doc.get("server"), doc.get("id")
            if not isinstance(server, str) or not isinstance(rid, str):
                continue
            names = {
                field: clean_name(doc[field])
                for field in ("title", "label")
                if isinstance(doc.get(field), str)
            }
            if names:
                self._names[(server, rid)] = names

    def title(self, server: str, response_id: str) -> str | None:
        """The title given to the conversation that starts at this response (None: none)."""
        return self._names.get((server, response_id), {}).get("title")

    def label(self, server: str, response_id: str) -> str | None:
        """The turn's label: None when it has none, "" for a bookmark without a word."""
        return self._names.get((server, response_id), {}).get("label")

    def labels(self, server: str | None = None) -> list[tuple[Key, str]]:
        """Every labelled turn (of one server, or all), oldest first."""
        found = [
            (key, names["label"])
            for key, names in self._names.items()
            if "label" in names and (server is None or key[0] == server) and key in self._nodes
        ]
        found.sort(key=lambda item: self._seq(self._nodes[item[0]]))
        return found

    @_writes
    def set_title(self, server: str, response_id: str, title: str | None) -> None:
        """Name a conversation (None or blank: back to its first input)."""
        self._set_name(server, response_id, "title", clean_name(title or "") or None)

    @_writes
    def set_label(self, server: str, response_id: str, label: str | None) -> None:
        """Label a turn: a word, "" for a plain bookmark, None to take the label off."""
        self._set_name(server, response_id, "label", None if label is None else clean_name(label))

    def _set_name(self, server: str, response_id: str, field: str, value: str | None) -> None:
        assert self._catalog is not None
        self._require(server, response_id)
        key = (server, response_id)
        names = dict(self._names.get(key, {}))
        if value is None:
            names.pop(field, None)
        else:
            names[field] = value
        table = self._catalog.table("names")
        where = (Query().server == server) & (Query().id == response_id)
        if names:
            table.upsert({"server": server, "id": response_id, **names}, where)
            self._names[key] = names
        else:
            table.remove(where)
            self._names.pop(key, None)

    def _drop_names(self, keys: Iterable[Key]) -> None:
        gone = [key for key in keys if key in self._names]
        if not gone:
            return
        assert self._catalog is not None
        table = self._catalog.table("names")
        for server, rid in gone:
            del self._names[(server, rid)]
        ids = {(server, rid) for server, rid in gone}
        table.remove(lambda doc: (doc.get("server"), doc.get("id")) in ids)


def _remove_leaves_first(forest: Forest, keys: list[Key]) -> bool:
    """Take `keys` out of `forest`, each once nothing is left below it, so that each goes
    in place. False, with nothing done, when some would leave turns below them (orphans:
    the forest is better built again once than rebuilt at each)."""
    pending = {key for key in keys if key in forest}
    below = {key: len(forest.children(key)) for key in pending}
    ready = [key for key, count in below.items() if count == 0]
    order: list[Key] = []
    while ready:
        key = ready.pop()
        order.append(key)
        parent = forest.parent(key)
        if parent in below:
            below[parent] -= 1
            if below[parent] == 0:
                ready.append(parent)
    if len(order) != len(pending):
        return False  # some keep turns that stay: orphans
    for key in order:
        forest.remove(key)
    return True


def _body_doc(
    server: str,
    rid: str,
    profile: str,
    response: dict[str, Any],
    input_items: list[dict[str, Any]] | None,
    request: dict[str, Any] | None,
    summary: NodeSummary,
) -> dict[str, Any]:
    """One body document: what a summary shard can be rebuilt from after a crash, with the
    status and flag that the response itself cannot tell (deleted, missing, ...)."""
    return {
        "server": server,
        "id": rid,
        "profile": profile,
        "response": response,
        "input": input_items,
        "request": request,
        "status": str(summary.status),
        "ancestor_missing": summary.ancestor_missing,
    }


_STATUSES = {str(s): s for s in Status}


def _recorded_status(body: dict[str, Any]) -> Status | None:
    """The status a body records; for a body written before bodies recorded it, what its
    request tells (sent with `store: false`: not stored); None: derive it from the response."""
    status = body.get("status")
    if type(status) is str and status in _STATUSES:
        return _STATUSES[status]
    request = body.get("request")
    if isinstance(request, dict) and request.get("store") is False:
        return Status.NOT_STORED
    return None


def _numbers(paths: Iterable[Path]) -> set[int]:
    """The shard numbers of shard files (`000012.nodes.json` -> 12)."""
    numbers = set()
    for path in paths:
        number = path.name.split(".", 1)[0]
        if number.isascii() and number.isdigit():
            numbers.add(int(number))
    return numbers
