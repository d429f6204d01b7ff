"""F on a turn: the fan-out form (runs, then each run's model and temperature, prefilled from
the turn), its validation, and the runs appearing in the graph as siblings of the turn."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Input, Markdown, Static
from ui_helpers import SERVER, build, forget_input, goto, key_of, settle, wait_for

import tui.local.server as offline_server
import tui.local.transport as offline_transport
from tui.api import items
from tui.local.request import RequestError
from tui.ops.conversation import settings_of
from tui.ops.fanout import RunSettings
from tui.ui.fanout_screen import FanoutScreen
from tui.ui.transcript import Turn

SIZE = (120, 40)
SINTRA = "Add a day trip to Sintra"


async def open_form(pilot, app, index) -> tuple[tuple[str, str], FanoutScreen]:
    key = key_of(index, SINTRA)
    await goto(pilot, app, key)
    await pilot.press("F")
    await wait_for(pilot, lambda: isinstance(app.screen, FanoutScreen))
    await pilot.pause()
    return key, app.screen


def reason(form: FanoutScreen) -> str:
    return str(form.query_one("#send-reason").render()).strip()


async def test_f_opens_the_form_prefilled_and_sends_three_siblings(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key, form = await open_form(pilot, app, index)
        own = settings_of(index, *key)
        assert form.query_one("#fanout-count", Input).value == "3"
        assert app.focused is form.query_one("#fanout-count")
        for n in (1, 2, 3):
            assert form.query_one(f"#model-{n}", Input).value == own["model"]
            assert form.query_one(f"#run-{n}").display
        assert not form.query_one("#run-4").display
        assert reason(form) == "" and not form.query_one("#send", Button).disabled
        form.query_one("#model-2", Input).value = "other-model"
        form.query_one("#temperature-3", Input).value = "1.5"
        before = set(index.forest(SERVER).siblings(key))
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert app.screen is app.screen_stack[0]
        new = set(index.forest(SERVER).siblings(key)) - before
        assert len(new) == 3
        graph = app.forest_view
        for sibling in new:
            assert sibling in graph.forest  # in the graph, drawn as a stored turn
            assert sibling not in graph._pending
            assert index.get(*sibling).input_preview.startswith(SINTRA)
            assert str(index.get(*sibling).status) == "stored"
        models = sorted(settings_of(index, *k)["model"] for k in new)
        assert models == sorted([own["model"], own["model"], "other-model"])
        assert [settings_of(index, *k).get("temperature") for k in new].count(1.5) == 1
        assert app.current in new  # the cursor went to the first run the server created
        assert app.transcript.path_keys[-1] == app.current
        shown = list(app.transcript.query(Turn))[-1]  # drawn again once its run ended
        assert shown.summary.key == app.current and str(shown.summary.status) == "stored"
        graph.reveal(app.current)
        assert graph.row_of(app.current) is not None
        said = [str(n.message) for n in app._notifications]
        assert "3 of 3 runs in" in said
    index.close()


async def test_the_form_says_why_it_cannot_send(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        _key, form = await open_form(pilot, app, index)
        send = form.query_one("#send", Button)
        form.query_one("#temperature-2", Input).value = "5"
        await pilot.pause()
        assert reason(form) == "Cannot send: run 2: temperature: must be between 0 and 2"
        assert send.disabled
        count = len(index)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form and len(index) == count  # nothing sent
        form.query_one("#temperature-2", Input).value = ""
        form.query_one("#model-3", Input).value = " "
        await pilot.pause()
        assert reason(form) == "Cannot send: run 3: model: type a model name"
        form.query_one("#fanout-count", Input).value = "2"  # run 3 is not sent: no problem
        await pilot.pause()
        assert reason(form) == "" and not send.disabled
        assert not form.query_one("#run-3").display
        form.query_one("#fanout-count", Input).value = "9"
        await pilot.pause()
        assert reason(form) == "Cannot send: runs: must be from 2 to 8" and send.disabled
        form.query_one("#fanout-count", Input).value = "8"
        form.query_one("#model-3", Input).value = "m"
        await pilot.pause()
        assert all(form.query_one(f"#run-{n}").display for n in range(1, 9))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0] and len(index) == count
    index.close()


async def test_a_failed_run_is_reported_with_its_number_and_the_others_kept(tmp_path, monkeypatch):
    real = offline_server.check_create

    def refuse(body):
        if body.get("model") == "no-such-model":
            raise RequestError("The model `no-such-model` does not exist", param="model")
        return real(body)

    monkeypatch.setattr(offline_server, "check_create", refuse)
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key, form = await open_form(pilot, app, index)
        form.query_one("#model-2", Input).value = "no-such-model"
        before = set(index.forest(SERVER).siblings(key))
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        new = set(index.forest(SERVER).siblings(key)) - before
        assert len(new) == 2
        said = "\n".join(str(n.message) for n in app._notifications)
        assert "2 of 3 runs in; failed:" in said
        assert "run 2 · no-such-model: failed: " in said and "does not exist" in said
        assert not app.streaming
    index.close()


async def test_f_on_a_turn_without_recorded_input_says_why(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key = key_of(index, "Explain Python's GIL")
        forget_input(index, key)
        await goto(pilot, app, key)
        count = len(index)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FanoutScreen))
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert len(index) == count
        assert any("not recorded" in str(n.message) for n in app._notifications)
    index.close()


async def test_the_runs_show_while_they_stream_and_esc_cancels_them_all(tmp_path):
    app, index, _ = build(tmp_path, delta_delay=0.05)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key, form = await open_form(pilot, app, index)
        form.query_one("#fanout-count", Input).value = "4"
        before = set(index.forest(SERVER).siblings(key))
        await pilot.press("ctrl+s")
        graph = app.forest_view

        def streaming_runs() -> set:
            return set(index.forest(SERVER).siblings(key)) - before

        await wait_for(pilot, lambda: len(streaming_runs()) == 3)  # 3 at once: not the 4th
        assert app.streaming
        for run in streaming_runs():  # in the graph while they stream, marked so
            assert run in graph._pending and graph.node_for(run) is not None
            assert str(index.get(*run).status) == "incomplete"
        assert app.current in streaming_runs()
        await pilot.press("F")  # one fan-out at a time
        await pilot.pause()
        assert not isinstance(app.screen, FanoutScreen)
        assert any("still running" in str(n.message) for n in app._notifications)
        await pilot.press("escape")
        await settle(pilot, app)
        assert not app.streaming
        runs = streaming_runs()
        assert len(runs) == 3  # the 4th never started
        for run in runs:  # kept, marked incomplete, drawn as such
            assert str(index.get(*run).status) == "incomplete"
            assert run not in graph._pending
        assert any("Fan-out cancelled" in str(n.message) for n in app._notifications)
    index.close()


async def test_a_model_name_from_a_server_reaches_the_form_neutralised(tmp_path):
    app, index, _ = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        form = FanoutScreen("resp_1", RunSettings("evil\x1b[2J\nmodel", None))
        await app.push_screen(form)
        await pilot.pause()
        value = form.query_one("#model-1", Input).value
        assert "\x1b" not in value and "\n" not in value and value.startswith("evil")
    index.close()


def live_head(app) -> str:
    return str(app.transcript.query_one(".-live .turn-head", Static).render())


def held_streams(monkeypatch, after: int) -> asyncio.Event:
    """The offline backend's streams pause after their first `after` chunks until the event
    is set: a run is still streaming when the test looks, however slow the machine."""
    body = offline_transport._Body
    real = body.__aiter__
    gate = asyncio.Event()

    async def held(self):
        n = 0
        async for chunk in real(self):
            n += 1
            if n > after:
                await gate.wait()
            yield chunk

    monkeypatch.setattr(body, "__aiter__", held)
    return gate


async def test_the_run_under_the_cursor_streams_into_the_transcript(tmp_path, monkeypatch):
    """Each run streams into its own node: the transcript shows the run the cursor is on,
    with its text so far and then its own deltas only; moved to another run still streaming,
    it shows that one's; a run that ends is shown as recorded."""
    gate = held_streams(monkeypatch, after=16)
    app, index, _ = build(tmp_path, delta_delay=0.02)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        key, form = await open_form(pilot, app, index)
        form.query_one("#fanout-count", Input).value = "2"
        form.query_one("#model-2", Input).value = "other-model"
        form.query_one("#temperature-2", Input).value = "1.5"
        parent = (key[0], index.get(*key).parent)
        before = set(index.forest(SERVER).siblings(key))
        await pilot.press("ctrl+s")
        fan, transcript = app.conversation.fan, app.transcript

        def runs() -> list:
            return [k for k in fan.made if k not in before]

        await wait_for(pilot, lambda: len(runs()) == 2)
        # The cursor goes to the run the server created first (run 1 or 2: they start at once).
        await wait_for(pilot, lambda: fan.shown is not None and len(transcript.live_text) > 10)
        first = fan.shown
        [second] = [k for k in runs() if k != first]
        assert app.current == first and first == runs()[0]

        def settings_line() -> str:
            said = transcript.query(".-live .turn-settings")
            return str(said.first(Static).render()) if said else ""

        def looks_right(run: tuple[str, str]) -> None:
            live = fan.live[run]
            assert transcript.live_text == live.text  # all of its text so far, no other's
            assert transcript.path_keys[-1] == parent  # under the turn it answers
            if live.run == 1:
                assert f"run 1 of 2 · {live.plan.model}" in live_head(app)
                assert settings_line() == ""  # the same settings as its parent's
            else:  # while it streams, as once it is recorded
                assert "run 2 of 2 · other-model" in live_head(app)
                assert settings_line() == "⚙ temperature 1.5"

        looks_right(first)
        await goto(pilot, app, second)
        await wait_for(pilot, lambda: fan.shown == second)
        looks_right(second)
        before_release = len(transcript.live_text)
        gate.set()  # the runs go on: the one shown takes its own deltas, and no other's
        await wait_for(pilot, lambda: len(fan.live[second].text) > before_release)
        for _ in range(3):
            if second not in fan.live:
                break
            assert transcript.live_text == fan.live[second].text
            await asyncio.sleep(0.02)

        await settle(pilot, app)
        assert fan.shown is None and not transcript.query(".-live")
        assert transcript.path_keys[-1] == second  # as recorded now
        turn = next(t for t in transcript.query(Turn) if t.summary.key == second)
        two = index.load_body(*second)["request"].get("temperature") == 1.5
        assert turn.settings == ("temperature 1.5" if two else "")
        assert app.current == second  # the cursor stayed where the user put it
        recorded = index.load_body(*second)["response"]
        assert items.response_text(recorded).startswith(transcript_text_of(turn)[:20])
    index.close()


def transcript_text_of(turn: Turn) -> str:
    return turn.query_one(Markdown).source
