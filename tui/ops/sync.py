"""Bring the index up to date with what the server holds, without ever removing anything.

Two modes, chosen by what the server can do:

- Listing (Fireworks, Llama Stack, the offline backend): page through the server's responses,
  newest first, and add the ones the index lacks together with their input items, oldest
  first so parents come before children. The id of the newest response seen by the last
  complete sync is kept per server (the "watermark"); the next sync stops paging there unless
  `full`. When the listing was read to its end, an indexed response of this server the server
  no longer lists is marked missing, and a missing one it lists again is stored again.
- Re-check (OpenAI, which cannot list): retrieve every known stored, incomplete or missing
  response, a bounded number at a time. A 404 marks it missing, an answer restores it; any
  other error leaves it as it was and is reported.

Responses we created with `store: false`, or deleted ourselves, are never touched. A failure of
the listing itself (auth, network) propagates; per-response problems only go in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tinydb import Query

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, EndpointNotSupported, NotFoundError
from tui.ops.bounded import each_bounded, in_order
from tui.store.index import Index
from tui.store.records import Status

PAGE_SIZE = 100
SYNC_TABLE = "sync"

# What the server should still have: these are re-checked, or marked missing when unlisted.
_SERVER_HELD = (Status.STORED, Status.INCOMPLETE)
_RECHECKED = (Status.STORED, Status.INCOMPLETE, Status.MISSING)

Progress = Callable[[int, int | None], None]


@dataclass
class SyncReport:
    listed: bool  # True: the server lists responses; False: known ones were re-checked
    new: list[str] = field(default_factory=list)  # ids added to the index (oldest first)
    missing: list[str] = field(default_factory=list)  # ids now marked missing
    restored: list[str] = field(default_factory=list)  # ids that were missing and are back
    checked: int = 0  # how many known responses were re-checked (re-check mode)
    failed: dict[str, str] = field(default_factory=dict)  # id -> reason (left as they were)
    complete: bool = False  # listing mode: the listing was read to its end (not stopped early)


# ------------------------------------------------------------------ watermark


def sync_watermark(index: Index, server: str) -> str | None:
    """The newest response id the last complete sync of `server` saw, if any."""
    assert index._catalog is not None
    doc = index._catalog.table(SYNC_TABLE).get(Query().sync == server)
    newest = doc.get("newest") if isinstance(doc, dict) else None
    return newest if isinstance(newest, str) and newest else None


def set_sync_watermark(index: Index, server: str, newest: str | None) -> None:
    """Remember `newest` for the next sync of `server` (None forgets it: a full sync next)."""
    assert index._catalog is not None
    table = index._catalog.table(SYNC_TABLE)
    if newest is None:
        table.remove(Query().sync == server)
    else:
        table.upsert({"sync": server, "newest": newest}, Query().sync == server)


# ------------------------------------------------------------------ sync


async def sync(
    client: ResponsesClient,
    index: Index,
    *,
    server: str,
    profile: str,
    full: bool = False,
    concurrency: int = 8,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> SyncReport:
    """Sync the index's responses of `server` with the server (see the module docstring)."""
    listing = client.list_responses(limit=page_size)
    try:
        first = await anext(listing, None)
    except EndpointNotSupported:
        await listing.aclose()
        return await _recheck(
            client, index, server=server, concurrency=concurrency, progress=progress
        )
    try:
        return await _sync_listed(
            client,
            index,
            listing,
            first,
            server=server,
            profile=profile,
            full=full,
            concurrency=concurrency,
            progress=progress,
        )
    finally:
        await listing.aclose()


async def _sync_listed(
    client: ResponsesClient,
    index: Index,
    listing: Any,
    first: dict[str, Any] | None,
    *,
    server: str,
    profile: str,
    full: bool,
    concurrency: int,
    progress: Progress | None,
) -> SyncReport:
    report = SyncReport(listed=True)
    watermark = None if full else sync_watermark(index, server)
    listed: set[str] = set()
    fresh: list[dict[str, Any]] = []  # not in the index, newest first
    newest: str | None = None
    report.complete = True
    item = first
    while item is not None:
        rid = item.get("id")
        if isinstance(rid, str) and rid:
            if newest is None:
                newest = rid
            if rid == watermark:
                report.complete = False  # everything older was seen by the last sync
                break
            if rid not in listed:
                listed.add(rid)
                known = index.get(server, rid)
                if known is None:
                    fresh.append(item)
                elif known.status == Status.MISSING:
                    index.set_status(server, rid, Status.STORED)
                    report.restored.append(rid)
            if progress is not None:
                progress(len(listed), None)
        item = await anext(listing, None)  # a failure of the listing itself propagates

    fresh.reverse()  # oldest first: parents before children
    inputs = await _fetch_inputs(client, fresh, report, concurrency=concurrency, progress=progress)
    records = [(r, inputs[r["id"]]) for r in fresh if r["id"] in inputs]
    if records:
        index.add_many(records, server=server, profile=profile)
    report.new = [r["id"] for r, _ in records]

    if report.complete:
        for node in index.nodes(server):
            if node.id not in listed and node.status in _SERVER_HELD:
                index.set_status(server, node.id, Status.MISSING)
                report.missing.append(node.id)
    if not report.failed:
        # A response we could not add is retried next time: keep the older watermark.
        set_sync_watermark(index, server, newest)
    return report


async def _fetch_inputs(
    client: ResponsesClient,
    responses: list[dict[str, Any]],
    report: SyncReport,
    *,
    concurrency: int,
    progress: Progress | None,
) -> dict[str, list[dict[str, Any]] | None]:
    """id -> input items (None: not recorded) for each response whose fetch did not fail."""
    out: dict[str, list[dict[str, Any]] | None] = {}
    unsupported = False

    async def one(rid: str) -> None:
        nonlocal unsupported
        if unsupported:
            out[rid] = None
            return
        try:
            out[rid] = await client.list_input_items(rid)
        except EndpointNotSupported:
            unsupported = True  # the server has no such endpoint: ask no more
            out[rid] = None
        except NotFoundError:
            out[rid] = None
        except ApiError as error:
            report.failed[rid] = str(error)

    ids = [r["id"] for r in responses]
    await each_bounded(ids, one, concurrency=concurrency, progress=progress)
    return out


async def _recheck(
    client: ResponsesClient,
    index: Index,
    *,
    server: str,
    concurrency: int,
    progress: Progress | None,
) -> SyncReport:
    report = SyncReport(listed=False)
    targets = [n.id for n in index.nodes(server) if n.status in _RECHECKED]
    if progress is not None:
        progress(0, len(targets))

    async def one(rid: str) -> None:
        try:
            await client.retrieve(rid)
        except NotFoundError:
            node = index.get(server, rid)
            if node is not None and node.status != Status.MISSING:
                index.set_status(server, rid, Status.MISSING)
                report.missing.append(rid)
        except ApiError as error:
            report.failed[rid] = str(error)
        else:
            node = index.get(server, rid)
            if node is not None and node.status == Status.MISSING:
                index.set_status(server, rid, Status.STORED)
                report.restored.append(rid)

    await each_bounded(targets, one, concurrency=concurrency, progress=progress)
    report.checked = len(targets)
    report.missing = in_order(report.missing, targets)
    report.restored = in_order(report.restored, targets)
    report.failed = {rid: report.failed[rid] for rid in targets if rid in report.failed}
    return report
