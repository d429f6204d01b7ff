"""Fan out (tui/ops/fanout.py), the corners tests/test_fanout.py leaves: the exact messages of
the form's checks at their bounds, the settings a fan-out starts from (`own_settings`), a run's
line when nothing came back or the model is long, and how `run_fanout` passes the profile and
the environment on, bounds its streams, and reports each way a run can end without a turn."""

from __future__ import annotations

import httpx
import pytest
import test_fanout
from test_fanout import LOCAL, SERVER, Counting, first_turn

import tui.ops.fanout as fanout
from tui.api.client import ResponsesClient
from tui.api.errors import ApiError
from tui.local.transport import OfflineTransport
from tui.ops.connect import make_client
from tui.ops.conversation import TurnPlan, TurnResult, plan_turn, send_turn
from tui.ops.fanout import (
    LINE_CHARS,
    MODEL_CHARS,
    RunResult,
    RunSettings,
    own_settings,
    parse_model,
    parse_temperature,
    run_fanout,
    sibling_plans,
)

index = test_fanout.index  # the fixtures of tests/test_fanout.py
backend = test_fanout.backend


def plan_of(model: str, temperature: float | None = None) -> TurnPlan:
    body: dict = {"model": model}
    if temperature is not None:
        body["temperature"] = temperature
    return TurnPlan(body, None, [], "new")


# ------------------------------------------------------------------ the form's checks


def test_a_temperature_that_is_not_a_number_is_quoted_cut_to_20_characters():
    with pytest.raises(ValueError) as raised:
        parse_temperature("warm")
    assert str(raised.value) == "not a number: 'warm'"
    with pytest.raises(ValueError) as raised:
        parse_temperature("abcdefghijklmnopqrstuvwxyz")
    assert str(raised.value) == "not a number: 'abcdefghijklmnopqrs…'"  # 19 and the …


def test_a_model_name_may_take_exactly_model_chars_characters():
    assert MODEL_CHARS == 200
    assert parse_model("m" * 200) == "m" * 200
    with pytest.raises(ValueError) as raised:
        parse_model("m" * 201)
    assert str(raised.value) == "not a model name (no spaces, at most 200 characters)"


# ------------------------------------------------------------------ own settings


async def test_own_settings_are_the_turns_model_and_temperature(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        warm = await first_turn(client, index, model="offline-echo-2", temperature=0.7)
        plain = await first_turn(client, index)
    got = own_settings(index, SERVER, warm, default_model="fallback")
    assert got == RunSettings("offline-echo-2", 0.7)
    # no temperature recorded: None (not sent); the model it was sent with, not the default
    assert own_settings(index, SERVER, plain, default_model="fallback") == RunSettings(
        "offline-echo", None
    )


def test_own_settings_of_an_unknown_turn_are_the_default_model_alone(index):
    got = own_settings(index, SERVER, "resp_nope", default_model="fallback")
    assert got == RunSettings("fallback", None)


# ------------------------------------------------------------------ a run's line


def test_the_line_of_a_run_that_failed_before_anything_came_back():
    outcome = RunResult(2, plan_of("m-b", 0.5), None, "create: refused")
    assert outcome.line() == "run 2 · m-b · T 0.5: failed: create: refused"


def test_the_line_cuts_a_long_model_name_to_60_characters():
    model = "x" * 70
    outcome = RunResult(1, plan_of(model), None, "boom")
    assert outcome.line() == f"run 1 · {'x' * 59}…: failed: boom"
    assert (
        RunResult(1, plan_of("y" * 60), None, "boom").line() == f"run 1 · {'y' * 60}: failed: boom"
    )


# ------------------------------------------------------------------ sending


async def test_a_concurrency_of_one_or_less_sends_one_run_at_a_time(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
    runs = [RunSettings("m1"), RunSettings("m2")]
    for concurrency in (1, 0):
        counting = Counting(OfflineTransport(backend))
        plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
        async with ResponsesClient(LOCAL, env={}, transport=counting) as client:
            results = await run_fanout(
                client, index, plans, server=SERVER, profile="local", concurrency=concurrency
            )
        assert all(r.ok for r in results), [r.error for r in results]
        assert (counting.creates, counting.most) == (2, 1)


async def test_each_run_is_recorded_under_the_profile_given(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
        plans = sibling_plans(index, SERVER, node, [RunSettings("a")], default_model="x")
        results = await run_fanout(client, index, plans, server=SERVER, profile="lab-profile")
    assert results[0].ok, results[0].error
    assert index.get(SERVER, results[0].created).profile == "lab-profile"


async def test_tool_placeholders_are_filled_from_the_env_given(index, backend, monkeypatch):
    monkeypatch.delenv("RTUI_FANOUT_TOKEN", raising=False)
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
    tool = {
        "type": "function",
        "name": "lookup",
        "description": "key ${RTUI_FANOUT_TOKEN}",
        "parameters": {"type": "object", "properties": {}},
    }
    plans = sibling_plans(index, SERVER, node, [RunSettings("a")], default_model="x")
    plans[0].body["tools"] = [tool]
    inner = OfflineTransport(backend)
    sent: list[bytes] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.append(request.content)
        return await inner.handle_async_request(request)

    transport = httpx.MockTransport(handler)
    async with ResponsesClient(LOCAL, env={}, transport=transport) as client:
        results = await run_fanout(
            client,
            index,
            plans,
            server=SERVER,
            profile="local",
            env={"RTUI_FANOUT_TOKEN": "tok-fanout-1"},
        )
    assert results[0].error == ""
    assert len(sent) == 1 and b"key tok-fanout-1" in sent[0]


async def test_an_api_error_raised_by_a_run_is_its_one_line_reason(index, monkeypatch):
    why = "model \x1b[31mgone\nsoon " + "z" * 400

    async def refused(client, index, plan, **kw):
        raise ApiError(why)

    monkeypatch.setattr(fanout, "send_turn", refused)
    done = []
    results = await run_fanout(
        None, index, [plan_of("a")], server=SERVER, profile="local", on_done=done.append
    )
    error = results[0].error
    assert not results[0].ok and results[0].result is None
    assert error.startswith("model gone soon zzz") and "\x1b" not in error
    assert len(error) == LINE_CHARS and error.endswith("z…")
    assert error == "model gone soon " + "z" * (LINE_CHARS - 17) + "…"
    assert done == results


async def test_a_run_whose_send_returned_no_turn_and_no_error_says_nothing_came_back(
    index, monkeypatch
):
    async def empty(client, index, plan, **kw):
        return TurnResult({"id": "resp_x"}, None)

    monkeypatch.setattr(fanout, "send_turn", empty)
    results = await run_fanout(None, index, [plan_of("a")], server=SERVER, profile="local")
    assert results[0].error == "nothing came back"
    assert results[0].line() == "run 1 · a: failed: nothing came back"


async def test_a_previous_response_the_server_lost_is_said_with_the_plans_anchor(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        root = await first_turn(client, index)
        plan = plan_turn(index, SERVER, text="Go on", parent=root, default_model="offline-echo")
        node = (await send_turn(client, index, plan, server=SERVER, profile="local")).summary.id
    plans = sibling_plans(index, SERVER, node, [RunSettings("a")], default_model="x")
    assert plans[0].anchor == root

    async def handler(request: httpx.Request) -> httpx.Response:
        said = f"Previous response with id '{root}' not found."
        error = {"message": said, "code": "previous_response_not_found"}
        return httpx.Response(400, json={"error": error})

    transport = httpx.MockTransport(handler)
    async with ResponsesClient(LOCAL, env={}, transport=transport) as client:
        results = await run_fanout(client, index, plans, server=SERVER, profile="local")
    assert results[0].error.startswith(
        f"{root} can no longer be continued on the server (Previous response with id "
    )
    assert "it is now marked missing" in results[0].error
    assert str(index.get(SERVER, root).status) == "missing"
