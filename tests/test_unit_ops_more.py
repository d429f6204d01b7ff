"""More of `tui.ops`: what `send_turn` hands back when a stream breaks, fails or cannot be
recorded (warnings included), bookmarks in the Markdown headings, the bookmark of an export
entry, and titles and bookmarks in `responses-tui list`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tui.api.client import ResponsesClient
from tui.api.errors import PreviousResponseNotFound, ProtocolError, StreamFailed
from tui.api.items import normalize_input
from tui.api.profiles import Profile
from tui.ops.conversation import TurnPlan, TurnResult, plan_turn, send_turn
from tui.ops.export import export_markdown
from tui.ops.importer import validate_export
from tui.ops.listing import forest_lines, names
from tui.store.index import Index
from tui.store.records import Status

SERVER = "https://api.example.com/v1"
KEY = "sk-the-api-key-0001"
PROFILE = Profile(name="t", base_url=SERVER, api_key_env="T_KEY")
RID = "resp_" + "1" * 32
MALFORMED = "skipped a malformed event (message)"


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


def respond(rid: str, parent: str | None = None, n: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1_750_000_000 + n,
        "model": "m1",
        "status": "completed",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"re {rid}"}],
            }
        ],
        **fields,
    }


def add(index: Index, rid: str, parent: str | None = None, n: int = 0, **kw: Any) -> None:
    index.add_response(
        respond(rid, parent, n), server=SERVER, profile="p", input_items=normalize_input(rid), **kw
    )


# ------------------------------------------------------------------ send_turn


def sse(*events: dict | str) -> bytes:
    out = []
    for event in events:
        if isinstance(event, str):
            out.append(f"data: {event}\n\n")
        else:
            out.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
    return "".join(out).encode()


def created(rid: str = RID) -> dict:
    response = {"id": rid, "object": "response", "status": "in_progress", "output": []}
    return {"type": "response.created", "response": response}


def delta(text: str) -> dict:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": text,
    }


def completed(rid: str = RID) -> dict:
    return {"type": "response.completed", "response": respond(rid)}


async def no_sleep(_s: float) -> None:
    return None


def new_plan(index: Index, parent: str | None = None) -> TurnPlan:
    return plan_turn(index, SERVER, text="question", parent=parent, default_model="m")


async def send(index: Index, stream: bytes, plan: TurnPlan) -> TurnResult:
    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream)

    client = ResponsesClient(
        PROFILE, env={"T_KEY": KEY}, transport=httpx.MockTransport(answer), sleep=no_sleep
    )
    async with client:
        return await send_turn(client, index, plan, server=SERVER, profile="prof")


def full_disk(index: Index, monkeypatch) -> None:
    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index, "add_response", full)


async def test_a_finished_turn_hands_back_the_streams_warnings(index):
    result = await send(index, sse(created(), "{not json", completed()), new_plan(index))
    assert result.ok
    assert result.warnings == [MALFORMED]


async def test_a_finished_turn_that_cannot_be_recorded_keeps_its_warnings(index, monkeypatch):
    full_disk(index, monkeypatch)
    result = await send(index, sse(created(), "{not json", completed()), new_plan(index))
    assert result.summary is None and result.response["id"] == RID
    assert result.warnings == [MALFORMED]


async def test_a_finished_turn_whose_id_is_not_an_id_keeps_its_warnings(index):
    result = await send(index, sse("{not json", completed("a b")), new_plan(index))
    assert isinstance(result.error, ProtocolError)
    assert result.warnings == [MALFORMED]


async def test_a_partial_that_cannot_be_recorded_keeps_its_warnings(index, monkeypatch):
    full_disk(index, monkeypatch)
    result = await send(index, sse(created(), "{not json", delta("x")), new_plan(index))
    assert result.summary is None and result.response["id"] == RID
    assert result.warnings == [MALFORMED]


async def test_an_error_in_the_stream_keeps_its_warnings(index):
    add(index, "resp_a")
    gone = {"type": "error", "message": "Response 'resp_a' not found", "code": "not_found"}
    result = await send(index, sse("{not json", gone), new_plan(index, "resp_a"))
    assert isinstance(result.error, PreviousResponseNotFound)
    assert (result.response, result.summary) == (None, None)
    assert result.warnings == [MALFORMED]
    assert index.get(SERVER, "resp_a").status == Status.MISSING


async def test_a_partial_is_recorded_under_the_profile_that_sent_it(index):
    result = await send(index, sse(created(), delta("half")), new_plan(index))
    assert result.summary.status == Status.INCOMPLETE
    assert result.summary.profile == "prof"
    assert index.get(SERVER, RID).profile == "prof"


async def test_a_failure_with_an_empty_response_hands_back_no_response(index):
    failed = {"type": "response.failed", "response": {}}
    result = await send(index, sse(failed), new_plan(index))
    assert isinstance(result.error, StreamFailed)
    assert (result.response, result.summary) == (None, None)
    assert index.nodes() == []


# ------------------------------------------------------------------ export headings


def heading(markdown: str, rid: str) -> str:
    (line,) = [line for line in markdown.splitlines() if line.startswith("## ") and rid in line]
    return line


def test_a_bookmark_follows_the_status_marks_in_the_heading(index):
    add(index, "r1", status=Status.INCOMPLETE)
    index.set_label(SERVER, "r1", "keep")
    assert heading(export_markdown(index, SERVER, "r1"), "r1") == (
        "## Turn 1 · `r1` · m1 · 2025-06-15 15:06 UTC (incomplete) · ★ keep"
    )


def test_a_bookmark_without_a_word_is_a_bare_star(index):
    add(index, "r1", status=Status.INCOMPLETE)
    index.set_label(SERVER, "r1", "")
    assert heading(export_markdown(index, SERVER, "r1"), "r1") == (
        "## Turn 1 · `r1` · m1 · 2025-06-15 15:06 UTC (incomplete) · ★"
    )


# ------------------------------------------------------------------ export files


def document(**fields: Any) -> dict[str, Any]:
    entry = {"response": respond("r1"), "input": normalize_input("q"), **fields}
    return {
        "format": "responses-tui.export",
        "version": 2,
        "scope": "tree",
        "server": SERVER,
        "responses": [entry],
    }


@pytest.mark.parametrize("bookmark", [5, ["keep"], {"w": "keep"}, True])
def test_a_bookmark_that_is_not_text_is_refused(bookmark):
    with pytest.raises(ValueError) as raised:
        validate_export(document(bookmark=bookmark))
    assert str(raised.value) == "response 1 of the export: its bookmark is not text"


@pytest.mark.parametrize("bookmark", [None, "", "keep"])
def test_a_bookmark_that_is_text_or_none_is_accepted(bookmark):
    validate_export(document(bookmark=bookmark))


# ------------------------------------------------------------------ list: names


def test_a_title_is_shown_only_on_the_first_line_of_a_conversation(index):
    add(index, "r1")
    add(index, "r2", "r1", 1)
    index.set_title(SERVER, "r2", "Later part")  # a turn that is not (or no longer) a root
    assert names(index, (SERVER, "r2"), root=False) == ""
    assert names(index, (SERVER, "r2"), root=True) == '"Later part"  '
    assert [line.split("  ")[0] for line in forest_lines(index, SERVER)] == ["r1", "r2"]


def test_a_title_and_a_bookmark_both_show_title_first(index):
    add(index, "r1")
    index.set_title(SERVER, "r1", "Plans")
    index.set_label(SERVER, "r1", "keep")
    assert names(index, (SERVER, "r1"), root=True) == '"Plans"  ★ keep  '
    index.set_label(SERVER, "r1", "")
    assert names(index, (SERVER, "r1"), root=True) == '"Plans"  ★  '
    assert forest_lines(index, SERVER)[0].startswith('"Plans"  ★  r1  m1  ')


@pytest.mark.parametrize("status", [["stored"], {"stored": 1}, 5])
def test_a_status_that_is_not_text_is_an_unknown_status_not_a_crash(status):
    with pytest.raises(ValueError) as raised:
        validate_export(document(status=status))
    assert str(raised.value) == f"response 1 of the export: unknown status {status!r}"
