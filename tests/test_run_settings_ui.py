"""Issue 15, point 1, in the app: the run settings form (S on a turn, ctrl+o while typing), the
status line that says what the next message changes, the transcript's settings line, and
the server's models in the form (offline backend, a server without /models)."""

from __future__ import annotations

import httpx
from client_kit import Server
from textual.widgets import Button, Input, Select, Static, TextArea
from ui_helpers import build, goto, key_of, settle, type_and_send, wait_for

from tui.ui.settings_screen import RunSettingsScreen
from tui.ui.transcript import Turn

SIZE = (120, 40)
TAIL = "Show a tiny example"


def shown(widget: Static) -> str:
    return str(widget.render())


def status_line(app) -> str:
    return shown(app.composer.target)


def request_of(index, key) -> dict:
    return index.load_body(*key)["request"]


async def open_form(pilot, app, key: str) -> RunSettingsScreen:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, RunSettingsScreen))
    await pilot.pause()
    return app.screen


async def test_the_form_sets_the_next_message_and_the_branch_inherits_it(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        tail = key_of(index, TAIL)
        await goto(pilot, app, tail)
        asked = []
        list_models = app.client.list_models

        async def counted():
            asked.append(1)
            return await list_models()

        app.client.list_models = counted
        for attempt in range(2):  # asked once a session
            form = await open_form(pilot, app, "S")
            hint = form.query_one("#hint-model", Static)
            await wait_for(pilot, lambda hint=hint: "offline-echo" in shown(hint))  # GET /models
            if attempt == 0:
                await pilot.press("escape")
                await wait_for(pilot, lambda form=form: app.screen is not form)
        assert asked == [1]
        form.query_one("#model", Input).value = "lab-model"
        form.query_one("#temperature", Input).value = "1.2"
        await pilot.pause()
        assert not form.query_one("#save", Button).disabled
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunSettingsScreen))
        await pilot.pause()
        line = status_line(app)
        assert "lab-model" in line and "temperature 1.2" in line, line
        # Sent from that turn: the request carries them.
        await pilot.press("enter")
        await settle(pilot, app)
        await type_and_send(pilot, app, "with my settings")
        first = app.current
        assert first != tail and index.get(*first).parent == tail[1]
        request = request_of(index, first)
        assert request["model"] == "lab-model" and request["temperature"] == 1.2
        assert index.get(*first).model == "lab-model"
        # The transcript says what this turn changed from its parent's (the model: its header).
        await wait_for(pilot, lambda: app.transcript.query(Turn))
        turn = next(t for t in app.transcript.query(Turn) if t.summary.key == first)
        assert turn.settings == "temperature 1.2"
        assert "⚙ temperature 1.2" in shown(turn.query_one(".turn-settings", Static))
        # The choice was used: the status line is back to the inherited settings...
        assert "temperature 1.2" not in status_line(app)
        # ...and the next reply inherits them.
        await type_and_send(pilot, app, "and again")
        second = app.current
        assert index.get(*second).parent == first[1]
        request = request_of(index, second)
        assert request["model"] == "lab-model" and request["temperature"] == 1.2
        turn = next(t for t in app.transcript.query(Turn) if t.summary.key == second)
        assert turn.settings == ""  # the same as its parent's
        # Elsewhere in the forest nothing was chosen: the tail's own settings.
        await goto(pilot, app, tail)
        await pilot.pause()
        assert "lab-model" not in status_line(app) and "1.2" not in status_line(app)
    index.close()


async def test_ctrl_o_while_typing_and_a_refused_value(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, TAIL))
        await pilot.press("enter")
        await settle(pilot, app)
        app.composer.set_text("kept while I choose")
        form = await open_form(pilot, app, "ctrl+o")
        form.query_one("#temperature", Input).value = "3"
        await pilot.pause()
        assert form.query_one("#save", Button).disabled
        reason = shown(form.query_one("#save-reason", Static))
        assert reason == "Cannot save: Temperature: must be between 0 and 2", reason
        await pilot.press("ctrl+s")  # refused: the form stays
        await pilot.pause()
        assert app.screen is form
        form.query_one("#temperature", Input).value = "0.4"
        form.query_one("#format", Select).value = "json_schema"
        await pilot.pause()
        assert form.query_one("#field-text").display
        reason = shown(form.query_one("#save-reason", Static))
        assert reason.startswith("Cannot save: Text format: the schema is not JSON"), reason
        form.query_one("#schema", TextArea).load_text(
            '{"name": "city", "schema": {"type": "object", "properties": {"name": '
            '{"type": "string"}}, "required": ["name"]}}'
        )
        form.query_one("#max_tokens", Input).value = "500"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not form)
        await pilot.pause()
        assert app.focused is app.composer.input
        assert app.composer.text == "kept while I choose"
        line = status_line(app)
        assert "temperature 0.4 · max 500 tokens · JSON schema city" in line, line
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        request = request_of(index, app.current)
        assert request["temperature"] == 0.4 and request["max_output_tokens"] == 500
        assert request["text"]["format"]["name"] == "city"
        # esc drops what the form says.
        form = await open_form(pilot, app, "ctrl+o")
        form.query_one("#temperature", Input).value = "1.9"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not form)
        assert "1.9" not in status_line(app)
    index.close()


async def test_a_reply_says_its_settings_while_it_streams(tmp_path):
    """The ⚙ line is under the live turn from its first frame, as it is once recorded."""
    app, index, _ = build(tmp_path, delta_delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, TAIL))
        await pilot.press("enter")
        await settle(pilot, app)
        app.conversation.set_run_settings({"temperature": 1.2, "max_output_tokens": 300})
        app.composer.set_text("warmer, please")
        await pilot.press("ctrl+s")
        transcript = app.transcript
        await wait_for(pilot, lambda: transcript.query(".-live .turn-settings"))
        said = shown(transcript.query_one(".-live .turn-settings", Static))
        assert said == "⚙ temperature 1.2 · max 300 tokens"
        assert app.streaming  # said while it streams, not only once it is in
        await settle(pilot, app)
        turn = next(t for t in transcript.query(Turn) if t.summary.key == app.current)
        assert turn.settings == "temperature 1.2 · max 300 tokens"
    index.close()


async def test_edit_sends_with_the_settings_chosen(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        tail = key_of(index, TAIL)
        await goto(pilot, app, tail)
        await pilot.press("e")
        await settle(pilot, app)
        form = await open_form(pilot, app, "ctrl+o")
        form.query_one("#top_p", Input).value = "0.3"
        form.query_one("#store", Select).value = "no"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is not form)
        assert "top_p 0.3 · not stored" in status_line(app)
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        sibling = app.current
        assert index.get(*sibling).parent == index.get(*tail).parent and sibling != tail
        request = request_of(index, sibling)
        assert request["top_p"] == 0.3 and request["store"] is False
    index.close()


async def test_regenerate_uses_the_settings_chosen_on_the_turn(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        tail = key_of(index, TAIL)
        await goto(pilot, app, tail)
        form = await open_form(pilot, app, "S")
        form.query_one("#instructions", TextArea).load_text("Answer in French.")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunSettingsScreen))
        await pilot.press("r")
        await settle(pilot, app)
        sibling = app.current
        assert sibling != tail and index.get(*sibling).parent == index.get(*tail).parent
        assert request_of(index, sibling)["instructions"] == "Answer in French."
    index.close()


async def test_a_server_without_models_says_models_unavailable_once(tmp_path):
    server = Server(httpx.Response(404, json={"error": {"message": "Unknown endpoint"}}))
    app, index, _ = build(tmp_path, client=server.client())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await goto(pilot, app, key_of(index, TAIL))
        for _ in range(2):
            form = await open_form(pilot, app, "S")
            hint = form.query_one("#hint-model", Static)
            await wait_for(pilot, lambda hint=hint: "models unavailable" in shown(hint))
            assert "cannot list its models" in shown(hint)
            form.query_one("#model", Input).value = "any-name-at-all"
            await pilot.pause()
            assert not form.query_one("#save", Button).disabled  # any name is accepted
            await pilot.press("escape")
            await wait_for(pilot, lambda form=form: app.screen is not form)
        assert [r.url.path for r in server.requests] == ["/v1/models"]  # asked once
    index.close()
