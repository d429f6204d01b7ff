"""Import a response and its ancestors from the server into the index.

Walks `previous_response_id` up to the root, fetching each response and (where the server
has the endpoint) its input items, then inserts the chain root first. The walk stops early at
an ancestor the index already holds with its input recorded, and stops cleanly at one the
server no longer has: the chain is kept and its top is marked "ancestor missing".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tui.api.client import ResponsesClient
from tui.api.errors import EndpointNotSupported, NotFoundError
from tui.store.index import Index


@dataclass
class ImportResult:
    requested: str
    imported: list[str] = field(default_factory=list)  # root first
    reused: str | None = None  # first ancestor that was already in the index
    missing_ancestor: str | None = None  # id the server no longer has
    inputs_unavailable: bool = False  # the server cannot return input items


Progress = Callable[[int, str], None]


async def import_chain(
    client: ResponsesClient,
    index: Index,
    *,
    server: str,
    profile: str,
    response_id: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Import `response_id` and every ancestor the index lacks. Raises NotFoundError if the
    requested response itself is unknown to the server."""
    result = ImportResult(requested=response_id)
    fetched: list[tuple[dict, list | None]] = []
    current: str | None = response_id
    while current:
        known = index.get(server, current)
        if known is not None and current != response_id and known.input_recorded:
            result.reused = current
            break
        try:
            response = await client.retrieve(current)
        except NotFoundError:
            if current == response_id:
                raise
            result.missing_ancestor = current
            break
        inputs = await _input_items(client, index, server, current, result)
        fetched.append((response, inputs))
        if progress is not None:
            progress(len(fetched), current)
        parent = response.get("previous_response_id")
        current = parent if isinstance(parent, str) and parent else None

    for response, inputs in reversed(fetched):
        index.add_response(response, server=server, profile=profile, input_items=inputs)
        result.imported.append(str(response.get("id")))
    if result.missing_ancestor and fetched:
        top = str(fetched[-1][0].get("id"))
        index.set_flag(server, top, ancestor_missing=True)
    return result


async def _input_items(
    client: ResponsesClient, index: Index, server: str, response_id: str, result: ImportResult
) -> list | None:
    """The input items, or the copy we already recorded, or None ("input not recorded")."""
    if not result.inputs_unavailable:
        try:
            return await client.list_input_items(response_id)
        except EndpointNotSupported:
            result.inputs_unavailable = True
        except NotFoundError:
            pass
    if index.get(server, response_id) is not None:
        return index.load_body(server, response_id).get("input")
    return None
