"""The provisional record of a reply (issue 13, point 5: every write through ops): `send_turn`
records a turn as soon as the server creates it, for the app and the CLI alike, scrubbed of
tool secrets like the final record."""

from __future__ import annotations

from pathlib import Path

import pytest
from client_kit import RID, Server, completed, created, delta, sse

from tui.api.events import TextDelta
from tui.ops.conversation import plan_turn, send_turn
from tui.store.index import Index
from tui.store.records import Status

SERVER = "https://api.unit.test/v1"
TOKEN = "Qz7ProvisionalToken9xKp"
TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example/sse",
    "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"},
}


def _created_echoing_the_tool() -> dict:
    event = created()
    # A server echoes the tools it was sent: with the header value filled in.
    event["response"]["tools"] = [{**TOOL, "headers": {"Authorization": f"Bearer {TOKEN}"}}]
    return event


def _files(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@pytest.mark.parametrize("with_callback", [True, False])
async def test_a_created_reply_is_recorded_at_once_and_scrubbed(tmp_path, with_callback):
    server = Server(sse(_created_echoing_the_tool(), delta("Hel"), delta("lo"), completed()))
    seen: list[tuple[Status, bytes]] = []
    started = []
    with Index.open(tmp_path / "index") as index:
        plan = plan_turn(index, SERVER, text="hi", parent=None, default_model="m", tools=[TOOL])

        def on_event(event, _acc):
            if isinstance(event, TextDelta) and not seen:  # mid-stream: what is on disk now
                summary = index.get(SERVER, RID)
                seen.append((summary.status if summary else None, _files(tmp_path)))

        async with server.client() as client:
            result = await send_turn(
                client,
                index,
                plan,
                server=SERVER,
                profile="unit",
                on_event=on_event,
                on_created=started.append if with_callback else None,
                env={"DOCS_TOKEN": TOKEN},
            )
        assert result.error is None
        status, files = seen[0]
        assert status == Status.INCOMPLETE  # in the forest before the answer ends
        assert TOKEN.encode() not in files  # and no secret reached the disk meanwhile
        assert TOKEN.encode() not in _files(tmp_path)
        assert index.get(SERVER, RID).status == Status.STORED
        if with_callback:
            assert [s.key for s in started] == [(SERVER, RID)]


async def test_a_created_event_with_an_id_that_is_not_an_id_records_nothing(tmp_path):
    bad = created("resp_../../etc")
    server = Server(sse(bad, delta("x")))
    started = []
    with Index.open(tmp_path / "index") as index:
        plan = plan_turn(index, SERVER, text="hi", parent=None, default_model="m")
        async with server.client() as client:
            await send_turn(
                client, index, plan, server=SERVER, profile="unit", on_created=started.append
            )
        assert started == [] and len(index) == 0


# ------------------------------------------------------------------ one writer for app and CLI


async def test_the_app_and_the_cli_export_the_same_bytes(tmp_path, isolated_env):
    from ui_helpers import build, key_of, settle

    from tui.cli import main

    app, index, _ = build(isolated_env)  # the index the CLI opens too
    key = key_of(index, "Now a budget version")
    # An answer with characters a terminal acts on (C1 CSI, a bidi override): JSON keeps them
    # as escapes, whoever writes it.
    body = index.load_body(*key)
    body["response"]["output"][0]["content"][0]["text"] = "cheap \x9b31m and \u202e reversed"
    index.add_response(body["response"], server=key[0], profile="demo")
    kinds = [(scope, fmt) for scope in ("path", "tree") for fmt in ("md", "json")]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        for scope, fmt in kinds:
            path = tmp_path / f"app-{scope}.{fmt}"
            app._export(key, {"scope": scope, "format": fmt, "path": str(path)})
    index.close()
    for scope, fmt in kinds:
        by_cli = tmp_path / f"cli-{scope}.{fmt}"
        argv = ["export", key[1], "--format", fmt, "-o", str(by_cli)]
        assert main([*argv, "--tree"] if scope == "tree" else argv) == 0
        assert (tmp_path / f"app-{scope}.{fmt}").read_bytes() == by_cli.read_bytes(), scope
        if fmt == "json":
            assert b"\\u009b31m" in by_cli.read_bytes() and b"\x9b" not in by_cli.read_bytes()


async def test_only_the_first_created_event_is_recorded_and_under_the_sending_profile(tmp_path):
    # A server that says "created" twice, or "in progress" first: one provisional record,
    # made from the created event, filed under the profile that sent it.
    in_progress = {"type": "response.in_progress", "response": created()["response"]}
    again = created()
    again["response"] = {**again["response"], "model": "echoed-again"}
    server = Server(sse(in_progress, created(), again, delta("x"), completed()))
    started, seen = [], []
    with Index.open(tmp_path / "index") as index:
        plan = plan_turn(index, SERVER, text="hi", parent=None, default_model="m")

        def on_event(event, _acc):
            if isinstance(event, TextDelta) and not seen:
                seen.append(index.get(SERVER, RID))

        async with server.client() as client:
            await send_turn(
                client,
                index,
                plan,
                server=SERVER,
                profile="unit",
                on_event=on_event,
                on_created=started.append,
            )
        assert len(started) == 1
        assert seen[0].profile == "unit" and seen[0].model != "echoed-again"


def test_a_markdown_export_is_not_written_as_json_escapes(tmp_path):
    from tui.ops.export import export_markdown, render_export

    with Index.open(tmp_path / "index") as index:
        response = {
            "id": RID,
            "object": "response",
            "created_at": 1_700_000_000,
            "status": "completed",
            "model": "m",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "one\u2028two"}],
                }
            ],
        }
        index.add_response(response, server=SERVER, profile="unit")
        markdown = render_export(index, SERVER, RID, scope="path", fmt="md")
        assert markdown == export_markdown(index, SERVER, RID) and "\u2028" in markdown
        assert "\\u2028" in render_export(index, SERVER, RID, scope="path", fmt="json")


async def test_a_partial_with_no_created_event_before_it_keeps_the_input_and_request(tmp_path):
    # No "created" came (a server that starts with "in progress"), then the stream broke: the
    # partial is the first record of the turn, and carries what we sent.
    in_progress = {"type": "response.in_progress", "response": created()["response"]}
    server = Server(sse(in_progress, delta("par")))
    started = []
    with Index.open(tmp_path / "index") as index:
        plan = plan_turn(index, SERVER, text="the question", parent=None, default_model="m")
        async with server.client() as client:
            result = await send_turn(
                client, index, plan, server=SERVER, profile="unit", on_created=started.append
            )
        assert started == [] and result.error is not None
        body = index.load_body(SERVER, RID)
        assert body["input"] == plan.input_items
        assert body["request"] == plan.request
        assert index.get(SERVER, RID).status == Status.INCOMPLETE
