"""Delete responses on the server and in the index, with bounded concurrency.

A response made with `store: false` is not asked of the server (it never kept it: a proxy
such as open-responses-server would only answer an unclear 404) and is forgotten locally.
A 404 counts as already gone only when the server says the response is not found; a server
without a delete route (open-responses-server) fails every delete with one reason, and nothing
leaves the index. A response whose delete failed stays in the index, untouched,
and is listed in the report with the reason, so nothing is lost silently. A deleted response
that still has later turns in the index is kept as a tombstone (status "deleted") so their
branch stays attached; "forget locally" removes it regardless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tui.api.client import ResponsesClient
from tui.api.errors import ApiError, EndpointNotSupported, NotFoundError
from tui.ops.bounded import each_bounded, in_order
from tui.store.index import Index
from tui.store.records import Status

FORGET_BATCH = 200  # responses forgotten per index write round (one write per shard file)


@dataclass
class DeleteReport:
    deleted: list[str] = field(default_factory=list)  # gone on the server (or already gone)
    already_gone: list[str] = field(default_factory=list)  # subset of deleted: it was a 404
    failed: dict[str, str] = field(default_factory=dict)  # id -> reason
    forgotten: list[str] = field(default_factory=list)  # removed from the index
    # Deleted on the server but kept in the index, marked deleted, because later turns that
    # still exist hang from it (removing it would cut their branch off the tree).
    tombstoned: list[str] = field(default_factory=list)
    unsupported: str | None = None  # "this server cannot delete responses", when it cannot
    # Made with `store: false`: the server never kept them, so nothing is asked of it.
    not_stored: list[str] = field(default_factory=list)


def subtree_ids(index: Index, server: str, response_id: str) -> list[str]:
    """The response and all its descendants known to the index, deepest last."""
    forest = index.forest(server)
    key = (server, response_id)
    return [response_id] + [rid for _s, rid in forest.descendants(key)]


async def delete_responses(
    client: ResponsesClient | None,
    index: Index,
    *,
    server: str,
    ids: Iterable[str],
    local_only: bool = False,
    concurrency: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> DeleteReport:
    """Delete `ids` on the server (unless `local_only`) and forget the ones that went."""
    targets = list(dict.fromkeys(ids))
    report = DeleteReport()
    interrupted: asyncio.CancelledError | None = None
    if local_only:
        report.deleted = list(targets)
    else:
        if client is None:
            raise ValueError("a client is needed to delete on the server")
        held = []
        for rid in targets:
            node = index.get(server, rid)
            if node is not None and node.status == Status.NOT_STORED:
                report.not_stored.append(rid)
                report.deleted.append(rid)
            else:
                held.append(rid)

        async def one(rid: str) -> None:
            try:
                await client.delete(rid)
                report.deleted.append(rid)
            except NotFoundError:
                report.deleted.append(rid)
                report.already_gone.append(rid)
            except EndpointNotSupported as error:
                report.unsupported = str(error)
                report.failed[rid] = str(error)
            except ApiError as error:
                report.failed[rid] = str(error)

        try:
            await each_bounded(held, one, concurrency=concurrency, progress=progress)
        except asyncio.CancelledError as error:
            # Cancelled (esc): what the server already deleted is still recorded below, so
            # the index never shows a deleted response as alive; the rest stays untouched.
            interrupted = error
        report.deleted = in_order(report.deleted, targets)
        report.already_gone = in_order(report.already_gone, targets)
    forest = index.forest(server)
    # Deepest first, so a parent sees whether its children go too (and every removal is of
    # a leaf, which the forest does in place).
    going: set[str] = set()
    for rid in reversed(report.deleted):
        if index.get(server, rid) is None:
            continue
        stays = [c for c in forest.children((server, rid)) if c[1] not in going]
        if not local_only and stays:
            index.set_status(server, rid, Status.DELETED)
            report.tombstoned.append(rid)
        else:
            going.add(rid)
            report.forgotten.append(rid)
    for start in range(0, len(report.forgotten), FORGET_BATCH):
        index.remove_many(server, report.forgotten[start : start + FORGET_BATCH])
        if interrupted is None:
            await asyncio.sleep(0)  # let the progress bar and the keyboard breathe
    report.forgotten.reverse()
    report.tombstoned.reverse()
    if interrupted is not None:
        raise interrupted
    return report
