"""The local index: every response we created or imported, plus profiles and tool presets.

Layout (one directory, files 0600, directory 0700):

- `index.lock`: the single-writer lock.
- `catalog.json`: TinyDB with the `profiles` and `presets` tables and index metadata.
- `shards/NNNNNN.nodes.json`: TinyDB, the small summaries of up to `SHARD_SIZE` responses.
- `shards/NNNNNN.bodies.json`: TinyDB, their full response JSON and recorded input items.

Why shards: TinyDB rewrites its whole file on every write, so one file of 10,000 responses
costs ~85 ms per append. Here an append rewrites one small summary shard and one body shard,
and opening reads only the summaries. Bodies are loaded on demand through a small LRU.
Every write is atomic (see `atomic.py`); an unreadable file is moved aside with a warning,
and a summary shard is rebuilt from its body shard when that one is intact.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB

from tui.forest import Forest, NodeRef
from tui.gcpause import gc_paused
from tui.store.atomic import AtomicJSONStorage, remove_stale_temp_files
from tui.store.lock import IndexLock
from tui.store.records import NodeSummary, Status, summarize

SHARD_SIZE = 64
BODY_CACHE_SHARDS = 8
SCHEMA_VERSION = 1
_PROFILE_FIELDS = ("name", "base_url", "api_key_env", "headers", "default_model")

Key = tuple[str, str]


class Index:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.warnings: list[str] = []
        self._lock = IndexLock(self.directory)
        self._catalog: TinyDB | None = None
        self._node_shards: dict[int, TinyDB] = {}
        self._body_shards: OrderedDict[int, TinyDB] = OrderedDict()
        self._body_ids: dict[int, dict[Key, int]] = {}  # per open body shard: key -> doc id
        self._nodes: dict[Key, NodeSummary] = {}
        self._doc_ids: dict[Key, int] = {}
        self._shard_counts: dict[int, int] = {}
        self._forests: dict[str, Forest] = {}
        self._open = False

    # ------------------------------------------------------------ open / close

    @classmethod
    def open(cls, directory: Path) -> Index:
        index = cls(directory)
        index._do_open()
        return index

    def _do_open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self._lock.acquire()
        try:
            remove_stale_temp_files(self.directory)
            self._shards_dir.mkdir(exist_ok=True, mode=0o700)
            self._catalog = TinyDB(
                self.directory / "catalog.json", storage=AtomicJSONStorage, warnings=self.warnings
            )
            meta = self._catalog.table("meta")
            if not meta.all():
                meta.insert({"schema": SCHEMA_VERSION})
            with gc_paused(lambda: len(self._nodes)):
                for path in sorted(self._shards_dir.glob("*.nodes.json")):
                    number = path.name.split(".", 1)[0]
                    if number.isdigit():
                        self._load_shard(int(number))
            self._open = True
        except BaseException:
            self._lock.release()
            raise

    @property
    def _shards_dir(self) -> Path:
        return self.directory / "shards"

    def _load_shard(self, number: int) -> None:
        warnings_before = len(self.warnings)
        db = TinyDB(self._node_path(number), storage=AtomicJSONStorage, warnings=self.warnings)
        self._node_shards[number] = db
        table = db.table("nodes")
        if len(self.warnings) > warnings_before:
            self._rebuild_shard_from_bodies(number, table)
        count = 0
        # The raw documents, not table.all(): TinyDB would copy each into a Document first,
        # which at 100,000 responses costs as much as reading the files.
        raw = (db.storage.read() or {}).get("nodes") or {}
        for doc_id, doc in raw.items():
            try:
                summary = NodeSummary.from_doc(doc)
            except (TypeError, ValueError, AttributeError):
                continue
            summary.shard = number
            key = summary.key
            self._nodes[key] = summary
            self._doc_ids[key] = int(doc_id)
            count += 1
        self._shard_counts[number] = count
        db.storage.release()  # the summaries above are all the index keeps in memory

    def _rebuild_shard_from_bodies(self, number: int, table: Any) -> None:
        bodies = self._bodies(number).table("bodies").all()
        docs = []
        for body in bodies:
            response = body.get("response")
            if not isinstance(response, dict):
                continue
            summary = summarize(
                response,
                server=str(body.get("server")),
                profile=str(body.get("profile") or ""),
                input_items=body.get("input"),
                request=body.get("request") if isinstance(body.get("request"), dict) else None,
            )
            summary.shard = number
            docs.append(summary.to_doc())
        if docs:
            table.insert_multiple(docs)
            self.warnings.append(
                f"rebuilt {len(docs)} response summaries of shard {number} from their bodies"
            )

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        for db in [*self._node_shards.values(), *self._body_shards.values()]:
            db.close()
        if self._catalog is not None:
            self._catalog.close()
        self._lock.release()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        db = TinyDB(self._body_path(number), storage=AtomicJSONStorage, warnings=self.warnings)
        self._body_shards[number] = db
        self._body_ids[number] = {
            (str(doc.get("server")), str(doc.get("id"))): doc.doc_id
            for doc in db.table("bodies").all()
        }
        while len(self._body_shards) > BODY_CACHE_SHARDS:
            old_number, old = self._body_shards.popitem(last=False)
            self._body_ids.pop(old_number, None)
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

    def _shard_for_new(self) -> int:
        if self._shard_counts:
            last = max(self._shard_counts)
            if self._shard_counts[last] < SHARD_SIZE:
                return last
            return last + 1
        return 0

    def _nodes_table(self, number: int):
        db = self._node_shards.get(number)
        if db is None:
            db = TinyDB(self._node_path(number), storage=AtomicJSONStorage, warnings=self.warnings)
            self._node_shards[number] = db
            self._shard_counts.setdefault(number, 0)
        return db.table("nodes")

    # ------------------------------------------------------------ responses

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
        if existing is not None and (
            (input_items is None and keep_input and existing.input_recorded) or request is None
        ):
            earlier = self.load_body(server, rid)
            if input_items is None and keep_input and existing.input_recorded:
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
        body = _body_doc(server, rid, profile, response, input_items, request)
        if existing is None:
            number = self._shard_for_new()
            summary.shard = number
            # Replaces a body a crash may have left without its summary.
            self._write_body(number, key, body)
            doc_id = self._nodes_table(number).insert(summary.to_doc())
            self._doc_ids[key] = doc_id
            self._shard_counts[number] = self._shard_counts.get(number, 0) + 1
        else:
            summary.shard = existing.shard
            summary.ancestor_missing = existing.ancestor_missing and summary.parent is not None
            if status is None and existing.status in (Status.DELETED, Status.MISSING):
                summary.status = existing.status
            self._write_body(existing.shard, key, body)
            self._nodes_table(existing.shard).update(summary.to_doc(), doc_ids=[self._doc_ids[key]])
        self._nodes[key] = summary
        self._forest_add(summary, fresh=existing is None or existing.parent != summary.parent)
        return summary

    def add_many(
        self,
        records: Iterable[tuple[dict[str, Any], list[dict[str, Any]] | None]],
        *,
        server: str,
        profile: str,
    ) -> int:
        """Insert many new responses at once (imports, sync, benchmarks): one write per shard
        instead of one per response. Responses already indexed go through `add_response`."""
        added = 0
        batch: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for response, input_items in records:
            rid = response.get("id")
            if not isinstance(rid, str) or not rid:
                raise ValueError("a response without an id cannot be indexed")
            if (server, rid) in self._nodes:
                self.add_response(response, server=server, profile=profile, input_items=input_items)
                continue
            number = self._shard_for_new()
            summary = summarize(response, server=server, profile=profile, input_items=input_items)
            summary.shard = number
            self._shard_counts[number] = self._shard_counts.get(number, 0) + 1
            self._nodes_table(number)  # make sure the shard exists for counting
            self._nodes[summary.key] = summary
            nodes, bodies = batch.setdefault(number, ([], []))
            nodes.append(summary)
            bodies.append(_body_doc(server, rid, profile, response, input_items, None))
            added += 1
        for number, (nodes, bodies) in batch.items():
            body_ids = self._bodies(number).table("bodies").insert_multiple(bodies)
            for body, body_id in zip(bodies, body_ids, strict=True):
                self._body_ids[number][(server, body["id"])] = body_id
            doc_ids = self._nodes_table(number).insert_multiple(n.to_doc() for n in nodes)
            for summary, doc_id in zip(nodes, doc_ids, strict=True):
                self._doc_ids[summary.key] = doc_id
        if added:
            self._forests.pop(server, None)  # rebuilt on next use
        return added

    def get(self, server: str, response_id: str) -> NodeSummary | None:
        return self._nodes.get((server, response_id))

    def find(self, response_id: str) -> list[NodeSummary]:
        return [n for (s, rid), n in self._nodes.items() if rid == response_id]

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
        return (node.shard << 32) | self._doc_ids.get(node.key, 0)

    def latest(self, server: str | None = None) -> NodeSummary | None:
        """The newest response (of one server), without sorting them all."""
        nodes = self._nodes.values()
        if server is not None:
            nodes = [n for n in nodes if n.server == server]
        return max(nodes, key=self._order, default=None)

    def servers(self) -> list[str]:
        return sorted({server for server, _ in self._nodes})

    def __len__(self) -> int:
        return len(self._nodes)

    def load_body(self, server: str, response_id: str) -> dict[str, Any]:
        """{"response": ..., "input": list | None, "request": dict | None} for one response."""
        summary = self._nodes.get((server, response_id))
        if summary is None:
            raise KeyError(f"{response_id} is not in the index")
        table = self._bodies(summary.shard).table("bodies")
        doc_id = self._body_ids[summary.shard].get((server, response_id))
        doc = table.get(doc_id=doc_id) if doc_id is not None else None
        if doc is None:
            return {"response": {"id": response_id}, "input": None, "request": None}
        return {
            "response": doc.get("response") or {},
            "input": doc.get("input"),
            "request": doc.get("request"),
        }

    def _update_summary(self, summary: NodeSummary) -> None:
        self._nodes_table(summary.shard).update(
            summary.to_doc(), doc_ids=[self._doc_ids[summary.key]]
        )

    def set_status(self, server: str, response_id: str, status: Status) -> None:
        summary = self._require(server, response_id)
        summary.status = Status(status)
        self._update_summary(summary)

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

    def remove_many(self, server: str, response_ids: Iterable[str]) -> int:
        """Remove several responses with one write per shard file touched (`remove` writes
        two files per response). Pass leaves before their parents: the forest then drops
        each in place. Returns how many were removed."""
        removed: list[Key] = []
        by_shard: dict[int, list[Key]] = {}
        for rid in response_ids:
            key = (server, rid)
            summary = self._nodes.get(key)
            if summary is None:
                continue
            by_shard.setdefault(summary.shard, []).append(key)
            removed.append(key)
        for number, keys in by_shard.items():
            self._nodes_table(number).remove(doc_ids=[self._doc_ids[key] for key in keys])
            for key in keys:  # the summaries go once their shard no longer has them
                del self._nodes[key]
                del self._doc_ids[key]
            self._shard_counts[number] = max(0, self._shard_counts[number] - len(keys))
            bodies = self._bodies(number).table("bodies")
            ids = self._body_ids[number]
            body_ids = [ids.pop(key) for key in keys if key in ids]
            present = [doc_id for doc_id in body_ids if bodies.contains(doc_id=doc_id)]
            if present:
                bodies.remove(doc_ids=present)
        forest = self._forests.get(server)
        if forest is not None:
            for key in removed:
                forest.remove(key)
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

    def _refs(self, server: str) -> list[NodeRef]:
        """The forest's view of one server's responses. Parent links point at the very key
        objects of the index (and each summary's parent id at its parent's id string), so at
        100,000 responses no second copy of every key and id is kept."""
        canonical = {key: key for key in self._nodes if key[0] == server}
        refs = []
        for key, node in self._nodes.items():
            if key[0] != server:
                continue
            parent = None
            if node.parent:
                parent = canonical.get((server, node.parent))
                if parent is None:
                    parent = (server, node.parent)  # not indexed: an orphan's parent
                else:
                    node.parent = parent[1]
            refs.append(NodeRef(key, parent, node.created_at, self._seq(node)))
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

    def save_profile(self, profile: dict[str, Any]) -> None:
        """Save (or replace) a profile. Only the whitelisted fields are written: never a key."""
        assert self._catalog is not None
        clean = {k: profile.get(k) for k in _PROFILE_FIELDS}
        self._catalog.table("profiles").upsert(clean, Query().name == clean["name"])

    def remove_profile(self, name: str) -> bool:
        assert self._catalog is not None
        return bool(self._catalog.table("profiles").remove(Query().name == name))

    def presets(self) -> list[dict[str, Any]]:
        assert self._catalog is not None
        return [dict(p) for p in self._catalog.table("presets").all()]

    def save_preset(self, preset: dict[str, Any]) -> None:
        assert self._catalog is not None
        self._catalog.table("presets").upsert(dict(preset), Query().name == preset["name"])

    def remove_preset(self, name: str) -> bool:
        assert self._catalog is not None
        return bool(self._catalog.table("presets").remove(Query().name == name))


def _body_doc(
    server: str,
    rid: str,
    profile: str,
    response: dict[str, Any],
    input_items: list[dict[str, Any]] | None,
    request: dict[str, Any] | None,
) -> dict[str, Any]:
    """One body document: what a summary shard can be rebuilt from after a crash."""
    return {
        "server": server,
        "id": rid,
        "profile": profile,
        "response": response,
        "input": input_items,
        "request": request,
    }
