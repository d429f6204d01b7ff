"""How the browser looks: deterministic snapshots (fixed ids, fixed clock, no animation).

Regenerate after an intended change with `pytest tests/test_snapshots.py --snapshot-update`
and look at the report before committing.
"""

from __future__ import annotations

import asyncio

import httpx
from ui_helpers import LOCAL, SERVER, build, key_of, show_turn, wait_for

from tui.api.client import ResponsesClient


def test_empty_first_run(snap_compare, tmp_path):
    app, _index, _ = build(tmp_path, demo=False)
    assert snap_compare(app, terminal_size=(100, 30))


def test_branched_conversation(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Add a day trip to Sintra"))

    assert snap_compare(app, terminal_size=(110, 34), run_before=run_before)


def test_layout_80x24(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Which port wine"))

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_large_terminal(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Now a budget version"))

    assert snap_compare(app, terminal_size=(200, 60), run_before=run_before)


def test_streaming_reply_in_progress(snap_compare, tmp_path):
    """A server that sends some deltas and then stalls: the screenshot is mid-stream."""
    stall = asyncio.Event()
    created = {
        "id": "resp_" + "5" * 32,
        "object": "response",
        "created_at": 1_790_007_000.0,
        "status": "in_progress",
        "model": "offline-echo",
        "output": [],
    }
    import json

    async def body():
        yield f"data: {json.dumps({'type': 'response.created', 'response': created})}\n\n".encode()
        for piece in ("The GIL ", "is a **mutex** ", "that protects ", "the interpreter; "):
            event = {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
            }
            yield f"data: {json.dumps(event)}\n\n".encode()
        await stall.wait()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler))
    app, index, _ = build(tmp_path, client=client)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        await pilot.pause()
        pilot.app.composer.set_text("So what does the GIL protect?")
        await pilot.press("ctrl+s")
        transcript = pilot.app.transcript
        # The last delta is on screen (the live Markdown is fed once a frame); the server stalls.
        await wait_for(pilot, lambda: "interpreter" in transcript.live_text)
        await wait_for(pilot, lambda: "interpreter" in pilot.app.export_screenshot())
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_delete_modal(snap_compare, tmp_path):
    app, index, _ = build(tmp_path)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Make it vegetarian"))
        await pilot.press("d")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_help_screen(snap_compare, tmp_path):
    app, _index, _ = build(tmp_path)
    assert snap_compare(app, terminal_size=(100, 40), press=["question_mark"])


def test_error_toast(snap_compare, tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"error": {"message": "Rate limit reached for requests", "type": "x"}}
        )

    async def no_sleep(_s: float) -> None:
        return None

    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler), sleep=no_sleep)
    app, index, _ = build(tmp_path, client=client)

    async def run_before(pilot):
        await show_turn(pilot, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        await pilot.pause()
        pilot.app.composer.set_text("This text survives the failure")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not pilot.app.streaming)
        await wait_for(pilot, lambda: bool(pilot.app.screen.query("Toast")))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_long_transcript(snap_compare, tmp_path):
    """A 40-turn path: older turns compact, recent ones full Markdown."""
    app, index, backend = build(tmp_path, demo=False)
    from ui_helpers import _run

    from tui.ops.connect import make_client
    from tui.ops.conversation import plan_turn, record

    async def chain() -> None:
        parent = None
        async with make_client(LOCAL, {}, backend=backend) as client:
            for n in range(40):
                plan = plan_turn(
                    index,
                    SERVER,
                    text=f"Question {n + 1}: tell me more about step {n + 1}.",
                    parent=parent,
                    default_model="offline-echo",
                )
                response = await client.create(plan.body)
                record(index, SERVER, "local", plan, response)
                parent = response["id"]

    _run(chain())

    async def run_before(pilot):
        # The transcript opens at the end (the newest, full Markdown turn): scroll to where
        # the compact older turns meet the first Markdown turn, so the image shows both. The
        # compact block sits above every Markdown widget, so its place does not depend on when
        # the Markdown finishes its layout.
        transcript = pilot.app.transcript
        await wait_for(
            pilot, lambda: len(transcript.path_keys) == 40 and transcript.query(".older")
        )
        older = transcript.query_one(".older")
        await wait_for(pilot, lambda: older.virtual_region.height > 0)
        transcript.scroll_to(y=older.virtual_region.bottom - 12, animate=False)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_search_dialog_with_hits(snap_compare, tmp_path):
    """ctrl+f over the demo forest: one line per hit, the match highlighted."""
    app, _index, _ = build(tmp_path)

    async def run_before(pilot):
        from tui.ui.history_screens import SearchScreen

        await pilot.press("ctrl+f")
        for _ in range(100):
            await pilot.pause()
            if isinstance(pilot.app.screen, SearchScreen):
                break
        await pilot.press(*"lisbon")
        for _ in range(100):
            await pilot.pause()
            if pilot.app.screen._shown == "lisbon":
                break
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_search_dialog_while_indexing(snap_compare, tmp_path):
    """Opened before the full-text index is complete: it says how far indexing got."""
    app, _index, _ = build(tmp_path)
    app.fulltext.progress = (3, 9)  # as if a build were under way
    app.fulltext.building = app.fulltext.searcher

    async def run_before(pilot):
        from tui.ui.history_screens import SearchScreen

        await pilot.app.push_screen(SearchScreen(pilot.app.fulltext.current, lambda: (3, 9)))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
