"""Import a response and its ancestors from the server into the index, or re-import a file.

`import_chain` walks `previous_response_id` up to the root, fetching each response and (where
the server has the endpoint) its input items, then inserts the chain root first. The walk stops
early at an ancestor the index already holds with its input recorded, and stops cleanly at one
the server no longer has: the chain is kept and its top is marked "ancestor missing". It stops
on a cycle (an id seen twice) and after `MAX_CHAIN` responses, and says so. A response whose
server echoes no parent is a root (Llama Stack echoes none, even for replies: a turn we sent
keeps the parent we sent). Input items that hold the whole conversation so far (Llama Stack)
are trimmed to the turn's own input, after the parent's recorded output.

`import_export_file` re-imports a document written by `tui.ops.export` (the version 1 path or
the version 2 tree), without the network: every response object as the server returned it, its
recorded input and request, its status and its "ancestor missing" flag.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.api import jsonlimits
from tui.api.client import ResponsesClient
from tui.api.errors import EndpointNotSupported, NotFoundError, ProtocolError
from tui.api.items import response_text, safe_id
from tui.ops.export import EXPORT_FORMAT, SUPPORTED_VERSIONS
from tui.store.index import Index
from tui.store.records import Status, derive_status
from tui.text import one_line
from tui.tools import scrub


@dataclass
class ImportResult:
    requested: str
    imported: list[str] = field(default_factory=list)  # root first
    reused: str | None = None  # first ancestor that was already in the index
    missing_ancestor: str | None = None  # id the server no longer has
    inputs_unavailable: bool = False  # the server cannot return input items
    cycle_at: str | None = None  # the walk met this id twice: the chain loops on the server
    capped: bool = False  # stopped after MAX_CHAIN responses
    root_by_echo: str | None = None  # the top of the chain: the server names no parent for it
    trimmed: int = 0  # earlier turns' items dropped from input items (whole-history servers)


Progress = Callable[[int, str], None]
MAX_CHAIN = 100_000
MAX_CHAIN_SECONDS = 3600.0


async def import_chain(
    client: ResponsesClient,
    index: Index,
    *,
    server: str,
    profile: str,
    response_id: str,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ImportResult:
    """Import `response_id` and every ancestor the index lacks. Raises NotFoundError if the
    requested response itself is unknown to the server."""
    result = ImportResult(requested=response_id)
    fetched: list[tuple[dict, list | None]] = []
    current: str | None = response_id
    seen: set[str] = set()
    deadline = clock() + MAX_CHAIN_SECONDS
    while current:
        if current in seen:
            result.cycle_at = current
            break
        if len(seen) >= MAX_CHAIN or clock() > deadline:
            result.capped = True
            break
        seen.add(current)
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
        parent = response.get("previous_response_id")
        if response.get("id") != current or not (not parent or safe_id(parent)):
            raise ProtocolError(
                f"retrieve {one_line(current, 60)}: the server answered with an id that is not "
                "the one asked for, or not an id"
            )
        inputs = await _input_items(client, current, result)
        fetched.append((response, inputs))
        if progress is not None:
            progress(len(fetched), current)
        current = parent or None  # a safe id (checked above), else the top of the chain

    # What a server echoes back (a key in an error, a header in a tool) never reaches disk.
    secrets = client.secrets()
    for response, inputs in reversed(fetched):
        rid = str(response.get("id"))
        if inputs is not None:
            own = own_input(
                parent_output(index, server, _recorded_parent(index, server, rid, response)), inputs
            )
            result.trimmed += len(inputs) - len(own)
            inputs = own
        index.add_response(
            scrub(response, secrets),
            server=server,
            profile=profile,
            input_items=scrub(inputs, secrets),  # None stays None: "input not recorded"
        )
        result.imported.append(rid)
    if fetched and not fetched[-1][0].get("previous_response_id"):
        top = index.get(server, str(fetched[-1][0].get("id")))
        if top is not None and top.parent is None:
            result.root_by_echo = top.id
    if (result.missing_ancestor or result.cycle_at or result.capped) and fetched:
        top = str(fetched[-1][0].get("id"))
        index.set_flag(server, top, ancestor_missing=True)
    return result


def _recorded_parent(index: Index, server: str, rid: str, response: dict) -> str | None:
    """The parent the index knows for `rid` (what we sent), else the server's echo (a safe id
    or nothing: `import_chain` checked it)."""
    node = index.get(server, rid)
    if node is not None and node.parent:
        return node.parent
    return response.get("previous_response_id") or None


def parent_output(index: Index, server: str, parent: str | None) -> list[Any] | None:
    """The recorded output items of `parent`, or None when the index does not have it."""
    if not parent or index.get(server, parent) is None:
        return None
    output = (index.load_body(server, parent).get("response") or {}).get("output")
    return output if isinstance(output, list) else []


def own_input(output: list[Any] | None, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A turn's own input from input items that may start with the whole conversation so far
    (Llama Stack returns every earlier turn's input and output): what follows the last item
    of the parent's `output`, found by its id, else by the parent's answer text. Unchanged
    when the parent is unknown (None) or its output is not among the items."""
    if not output or not items:
        return items
    ids = {o.get("id") for o in output if isinstance(o, dict) and isinstance(o.get("id"), str)}
    answer = response_text({"output": output}).strip()
    own = items  # unless the parent's output is among them
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if item.get("id") in ids or (
            answer
            and item.get("role") == "assistant"
            and response_text({"output": [item]}).strip() == answer
        ):
            own = items[n + 1 :]  # the last one found counts
    return own


async def _input_items(
    client: ResponsesClient, response_id: str, result: ImportResult
) -> list | None:
    """The input items, or None when the server cannot give them (then an update keeps the
    copy the index recorded: `Index.add_response`)."""
    if result.inputs_unavailable:
        return None
    try:
        return await client.list_input_items(response_id)
    except EndpointNotSupported:
        result.inputs_unavailable = True
    except NotFoundError:
        pass
    return None


def describe_import(result: ImportResult) -> str:
    """One line on what an import did, for the app and the CLI alike."""
    n = len(result.imported)
    parts = [f"{result.requested}: imported {n} response{'s' if n != 1 else ''}"]
    if result.reused:
        parts.append(f"joined the known ancestor {result.reused}")
    if result.missing_ancestor:
        parts.append(f"ancestor {result.missing_ancestor} is gone from the server")
    if result.inputs_unavailable:
        parts.append("input not recorded (the server cannot return input items)")
    if result.trimmed:
        parts.append(f"dropped {result.trimmed} input items that repeat earlier turns")
    if result.cycle_at:
        parts.append(f"stopped: the server's chain loops back to {result.cycle_at}")
    if result.capped:
        parts.append(
            f"stopped after {len(result.imported):,} responses (at most {MAX_CHAIN:,}, "
            f"{MAX_CHAIN_SECONDS / 60:g} minutes)"
        )
    if result.root_by_echo:
        parts.append(
            f"{result.root_by_echo} is a root: the server names no previous response for it"
        )
    return "; ".join(parts)


# ---------------------------------------------------------------- re-import an export file


@dataclass
class ImportFileResult:
    added: list[str] = field(default_factory=list)  # new to the index, in document order
    updated: list[str] = field(default_factory=list)  # already indexed, replaced
    server: str = ""


_MAX_ID_CHARS = 512


def _clean_text(value: object, what: str, limit: int = _MAX_ID_CHARS) -> str:
    """A non-empty single-line string without control characters (ids and server names end up
    in terminal output, so a hostile file must not smuggle escape sequences in)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing or not a string")
    if len(value) > limit:
        raise ValueError(f"{what} is too long ({len(value)} characters)")
    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise ValueError(f"{what} contains control characters")
    return value


def validate_export(document: object) -> tuple[int, str, list[dict[str, Any]]]:
    """(version, server, entries) of an export document; ValueError saying what is wrong."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise ValueError(f'not a responses-tui export (expected "format": "{EXPORT_FORMAT}")')
    version = document.get("version")
    if isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise ValueError(
            f"unsupported export version {version!r} (this responses-tui reads {supported})"
        )
    scope = document.get("scope")
    expected_scope = "tree" if version == 2 else "path"
    if scope is not None and scope != expected_scope:
        raise ValueError(f"export version {version} has scope {scope!r}, not {expected_scope!r}")
    if jsonlimits.depth(document) > jsonlimits.MAX_DEPTH:
        raise ValueError(f"the export nests more than {jsonlimits.MAX_DEPTH} levels deep")
    server = _clean_text(document.get("server"), "the export's server")
    entries = document.get("responses")
    if not isinstance(entries, list):
        raise ValueError('the export has no "responses" list')
    for n, entry in enumerate(entries, start=1):
        where = f"response {n} of the export"
        if not isinstance(entry, dict) or not isinstance(entry.get("response"), dict):
            raise ValueError(f"{where} has no response object")
        response = entry["response"]
        _clean_text(response.get("id"), f"{where}: its id")
        parent = response.get("previous_response_id")
        if parent is not None and parent != "":
            _clean_text(parent, f"{where}: its previous_response_id")
        if entry.get("input") is not None and not isinstance(entry["input"], list):
            raise ValueError(f"{where}: its input is not a list")
        for name in ("title", "bookmark"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                raise ValueError(f"{where}: its {name} is not text")
        if entry.get("request") is not None and not isinstance(entry["request"], dict):
            raise ValueError(f"{where}: its request is not an object")
        status = entry.get("status")
        # A list, not a set: `in` must not hash a status that is a list or an object.
        if status is not None and status not in [str(s) for s in Status]:
            raise ValueError(f"{where}: unknown status {status!r}")
        profile = entry.get("profile")
        if profile is not None and profile != "":
            _clean_text(profile, f"{where}: its profile", limit=200)
        if not isinstance(entry.get("ancestor_missing", False), bool):
            raise ValueError(f"{where}: ancestor_missing is not true or false")
    return int(version), server, entries


def import_export_file(
    index: Index, document: dict, *, server: str | None = None, profile: str
) -> ImportFileResult:
    """Add every response of an export document (version 1 path or version 2 tree).

    Each response goes in with its input, request, status and "ancestor missing" flag, under
    the document's server unless `server` is given. Entries keep the profile name they were
    recorded with; `profile` names the ones that carry none (and all of them when `server`
    moves them to another server). The whole document is checked before anything is written,
    so a bad file changes nothing. Re-importing an export into a fresh index recreates the same
    forest. A response the index already has is replaced by the file's copy, except that input
    or a request the file lacks is kept, and an index that knows a response is deleted or
    missing on the server keeps that status."""
    _version, doc_server, entries = validate_export(document)
    target = server or doc_server
    result = ImportFileResult(server=target)
    occurrences = Counter(str(entry["response"]["id"]) for entry in entries)
    # New responses the index can take as they are go in one write per shard (`add_many`);
    # the others (a request, a status of their own, a flag, already indexed) one by one.
    batches: dict[str, list[tuple[dict, list | None]]] = {}
    seen: set[str] = set()
    for entry in entries:
        response = entry["response"]
        rid = str(response["id"])
        existing = index.get(target, rid)
        if rid not in seen:
            seen.add(rid)
            (result.added if existing is None else result.updated).append(rid)
        status = Status(entry["status"]) if entry.get("status") else None
        if existing is not None and existing.status in (Status.DELETED, Status.MISSING):
            status = existing.status
        name = profile if server else (entry.get("profile") or profile)
        if (
            existing is None
            and occurrences[rid] == 1
            and entry.get("request") is None
            and (status is None or status == derive_status(response))
            and not entry.get("ancestor_missing")
        ):
            batches.setdefault(name, []).append((response, entry.get("input")))
            continue
        summary = index.add_response(
            response,
            server=target,
            profile=name,
            input_items=entry.get("input"),
            status=status,
            request=entry.get("request"),
        )
        if entry.get("ancestor_missing") and not summary.ancestor_missing:
            index.set_flag(target, rid, ancestor_missing=True)
    for name, records in batches.items():
        index.add_many(records, server=target, profile=name)
    for entry in entries:  # names (R, b in the app) once every response is in
        rid = str(entry["response"]["id"])
        if entry.get("title"):
            index.set_title(target, rid, entry["title"])
        if entry.get("bookmark") is not None:
            index.set_label(target, rid, entry["bookmark"])
    return result
