"""Bring the index up to date with what the server holds, without ever removing anything.

Two modes, chosen by what the server can do:

- Listing (Fireworks, Llama Stack, the offline backend): page through the server's responses,
  newest first, and add the ones the index lacks together with their input items, oldest
  first so parents come before children. The id of the newest response seen by the last
  complete sync is kept per server (the "watermark"); the next sync stops paging there unless
  `full`. When the listing was read to its end, an indexed response of this server the server
  does not list is retrieved, and marked missing only when the server says it is not found
  (Llama Stack's list skips responses created in the same second at a page boundary); a
  missing one it lists again is stored again. A listing that would page forever (a cursor
  that does not advance, a repeated page) is stopped and counts as incomplete.
- Re-check (OpenAI, which cannot list): retrieve every known stored, incomplete or missing
  response, a bounded number at a time. A 404 marks it missing, an answer restores it; any
  other error leaves it as it was and is reported. A server that can neither list nor
  retrieve (open-responses-server) cannot be synced: EndpointNotSupported says so.

Responses we created with `store: false`, or deleted ourselves, are never touched. A failure of
the listing itself (auth, network) propagates; per-response problems only go in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, EndpointNotSupported, NotFoundError, PagingStopped
from tui.ops.bounded import each_bounded, in_order
from tui.ops.importer import own_input, parent_output
from tui.store.index import Index
from tui.store.records import Status
from tui.tools import scrub

PAGE_SIZE = 100

# What the server should still have: these are re-checked, or marked missing when unlisted.
_SERVER_HELD = (Status.STORED, Status.INCOMPLETE, Status.FAILED)
_RECHECKED = (*_SERVER_HELD, Status.MISSING)

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
    unlisted_found: list[str] = field(default_factory=list)  # not listed, but retrieve has them
    warnings: list[str] = field(default_factory=list)  # e.g. why paging stopped


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
    rejected_before = client.rejected_ids
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
            rejected_before=rejected_before,
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
    rejected_before: int,
) -> SyncReport:
    report = SyncReport(listed=True)
    watermark = None if full else index.sync_watermark(server)
    listed: set[str] = set()
    fresh: list[dict[str, Any]] = []  # not in the index, newest first
    newest: str | None = None
    report.complete = True
    item = first
    try:
        while item is not None:
            rid = item["id"]  # the client lists only ids that are ids (`safe_id`)
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
    except PagingStopped as error:
        report.complete = False
        report.warnings.append(str(error))
    rejected = client.rejected_ids - rejected_before
    if rejected:
        report.warnings.append(
            f"skipped {rejected} listed response{'s' if rejected != 1 else ''} whose id is "
            "not an id"
        )

    fresh.reverse()  # oldest first: parents before children
    inputs = await _fetch_inputs(client, fresh, report, concurrency=concurrency, progress=progress)
    records = _own_inputs(index, server, [(r, inputs[r["id"]]) for r in fresh if r["id"] in inputs])
    if records:
        secrets = client.secrets()  # what a server echoes back never reaches disk
        records = [(scrub(r, secrets), scrub(i, secrets)) for r, i in records]  # None stays None
        index.add_many(records, server=server, profile=profile)
    report.new = [r["id"] for r, _ in records]

    if report.complete:
        unlisted = [
            n.id for n in index.nodes(server) if n.id not in listed and n.status in _SERVER_HELD
        ]
        await _confirm_unlisted(client, index, server, unlisted, report, concurrency=concurrency)
    if not report.failed and not report.warnings:
        # A response we could not add is retried next time: keep the older watermark.
        index.set_sync_watermark(server, newest)
    return report


def _own_inputs(
    index: Index, server: str, records: list[tuple[dict[str, Any], list | None]]
) -> list[tuple[dict[str, Any], list | None]]:
    """Each new response's input items trimmed to its own input (servers that return the whole
    conversation so far), its parent's output taken from this batch or from the index."""
    batch = {r["id"]: r for r, _ in records}
    out = []
    for response, items in records:
        parent = response.get("previous_response_id")
        if items is not None and isinstance(parent, str) and parent:
            if parent in batch:
                output = batch[parent].get("output")
                output = output if isinstance(output, list) else []
            else:
                output = parent_output(index, server, parent)
            items = own_input(output, items)
        out.append((response, items))
    return out


async def _retrieve_each(
    client: ResponsesClient,
    ids: list[str],
    report: SyncReport,
    *,
    concurrency: int,
    progress: Progress | None = None,
) -> tuple[list[str], list[str], bool]:
    """Retrieve each of `ids`, a bounded number at a time: (the ones the server has, the ones
    it says are not found, whether it has no retrieve route at all), both lists in `ids`
    order. Any other failure goes in `report.failed` and the response is left as it was."""
    found: list[str] = []
    gone: list[str] = []
    unsupported = False

    async def one(rid: str) -> None:
        nonlocal unsupported
        try:
            await client.retrieve(rid)
        except EndpointNotSupported:
            unsupported = True  # the client remembers: the rest fail at once, unsent
        except NotFoundError:
            gone.append(rid)
        except ApiError as error:
            report.failed[rid] = str(error)
        else:
            found.append(rid)

    await each_bounded(ids, one, concurrency=concurrency, progress=progress)
    return in_order(found, ids), in_order(gone, ids), unsupported


async def _confirm_unlisted(
    client: ResponsesClient,
    index: Index,
    server: str,
    ids: list[str],
    report: SyncReport,
    *,
    concurrency: int,
) -> None:
    """Retrieve each response a complete listing left out: missing only on the server's word."""
    found, gone, unsupported = await _retrieve_each(client, ids, report, concurrency=concurrency)
    for rid in gone:
        index.set_status(server, rid, Status.MISSING)
    report.missing, report.unlisted_found = gone, found
    if unsupported:
        report.warnings.append(
            "the listing left out some known responses, and this server cannot retrieve "
            "them to check: they are left as they were"
        )


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

    async def one(rid: str) -> None:
        try:
            out[rid] = await client.list_input_items(rid)
        except EndpointNotSupported:
            # No such endpoint: the client remembers, so the rest fail at once, unsent.
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

    found, gone, unsupported = await _retrieve_each(
        client, targets, report, concurrency=concurrency, progress=progress
    )
    if unsupported:
        raise EndpointNotSupported(
            f"this server ({client.host}) can neither list nor retrieve stored responses: "
            "there is nothing to sync with",
            endpoint="retrieve",
        )
    for rid in gone:
        node = index.get(server, rid)
        if node is not None and node.status != Status.MISSING:
            index.set_status(server, rid, Status.MISSING)
            report.missing.append(rid)
    for rid in found:
        node = index.get(server, rid)
        if node is not None and node.status == Status.MISSING:
            index.set_status(server, rid, Status.STORED)
            report.restored.append(rid)
    report.checked = len(targets)
    report.failed = {rid: report.failed[rid] for rid in targets if rid in report.failed}
    return report
