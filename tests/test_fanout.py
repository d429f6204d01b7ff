"""Fan out (issue 15, point 4), the pure part: N plans from one turn, each run's settings, the
form's validation, and sending them a few at a time against the offline backend, in-process,
with one run failing and the others kept."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tui.api import items
from tui.api.client import ResponsesClient
from tui.api.profiles import resolve_profile
from tui.local.transport import OfflineTransport
from tui.ops.connect import make_client, offline_backend, server_id
from tui.ops.conversation import CannotSend, plan_turn, send_turn, settings_of
from tui.ops.fanout import (
    CONCURRENCY,
    RunSettings,
    parse_runs,
    parse_temperature,
    reply_plans,
    run_fanout,
    sibling_plans,
    spread,
    validate_runs,
)
from tui.store.index import Index

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "backend", seed=3, delta_delay=0.002)


async def first_turn(client, index, text="What is a fork?", **overrides) -> str:
    plan = plan_turn(
        index, SERVER, text=text, parent=None, default_model="offline-echo", overrides=overrides
    )
    result = await send_turn(client, index, plan, server=SERVER, profile="local")
    assert result.ok, result.error
    return result.summary.id


class Counting(httpx.AsyncBaseTransport):
    """The offline backend's transport, counting the requests open at once (a streamed one
    stays open until its body is closed)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.open = 0
        self.most = 0
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.open += 1
        self.most = max(self.most, self.open)
        if request.method == "POST":
            self.creates += 1
        response = await self.inner.handle_async_request(request)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_Closing(response, self)
        )


class _Closing(httpx.AsyncByteStream):
    def __init__(self, response: httpx.Response, counter: Counting) -> None:
        self.response = response
        self.counter = counter
        self.closed = False

    async def __aiter__(self):
        async for chunk in self.response.aiter_raw():
            yield chunk

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            self.counter.open -= 1
        await self.response.aclose()


# ------------------------------------------------------------------ validation


def test_the_number_of_runs_is_from_2_to_8():
    assert parse_runs("3") == 3 and parse_runs(" 8 ") == 8 and parse_runs(2) == 2
    for bad in ("1", "9", "0", "-2"):
        with pytest.raises(ValueError, match="must be from 2 to 8"):
            parse_runs(bad)
    with pytest.raises(ValueError, match="whole number"):
        parse_runs("three")


def test_temperature_is_empty_or_between_0_and_2():
    assert parse_temperature("") is None and parse_temperature("  ") is None
    assert parse_temperature("0") == 0.0 and parse_temperature("2") == 2.0
    assert parse_temperature(" 0.7 ") == 0.7
    for bad in ("2.01", "-0.1", "nan", "inf"):
        with pytest.raises(ValueError, match="must be between 0 and 2"):
            parse_temperature(bad)
    with pytest.raises(ValueError, match="not a number"):
        parse_temperature("warm")


def test_the_first_problem_names_its_run_and_field():
    rows = [("a", "0.2"), ("b", "5"), ("", "x")]
    assert validate_runs(rows) == ([], "run 2: temperature: must be between 0 and 2")
    assert validate_runs([("a", ""), ("  ", "1")]) == ([], "run 2: model: type a model name")
    assert validate_runs([("a b", "")])[1].startswith("run 1: model: not a model name")
    runs, problem = validate_runs([(" a ", ""), ("b", "1.5")])
    assert problem == "" and runs == [RunSettings("a", None), RunSettings("b", 1.5)]


def test_a_list_spreads_one_value_or_one_per_run():
    assert spread(["a"], 3, "--model") == ["a", "a", "a"]
    assert spread(["a", "b", "c"], 3, "--model") == ["a", "b", "c"]
    for values in (["a", "b"], ["a", "b", "c", "d"]):
        with pytest.raises(ValueError, match=f"--model gives {len(values)} values for 3 runs"):
            spread(values, 3, "--model")


# ------------------------------------------------------------------ plans


async def test_sibling_plans_resend_the_input_with_each_runs_settings(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        root = await first_turn(client, index)
        child = await first_turn(client, index, instructions="Be brief.", temperature=0.3)
        plan = plan_turn(index, SERVER, text="Why?", parent=root, default_model="offline-echo")
        plan.body["temperature"] = 0.3
        second = (await send_turn(client, index, plan, server=SERVER, profile="local")).summary
    assert child
    runs = [RunSettings("m-a", 0.0), RunSettings("m-b", None), RunSettings("m-c", 1.9)]
    plans = sibling_plans(index, SERVER, second.id, runs, default_model="offline-echo")
    assert [p.parent for p in plans] == [root] * 3
    assert {p.kind for p in plans} == {"regenerate"}
    assert [p.model for p in plans] == ["m-a", "m-b", "m-c"]
    assert [p.body.get("temperature") for p in plans] == [0.0, None, 1.9]
    assert "temperature" not in plans[1].body  # None: not sent, the server's default
    for plan in plans:
        assert plan.input_items[-1]["content"][0]["text"] == "Why?"
        assert plan.body["previous_response_id"] == root
    assert plans[0].body is not plans[1].body  # each run its own body


async def test_reply_plans_send_one_new_message_n_times(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        root = await first_turn(client, index, instructions="Be brief.")
    runs = [RunSettings("m-a", 0.5), RunSettings("m-b", None)]
    plans = reply_plans(index, SERVER, root, "And then?", runs, default_model="offline-echo")
    assert [p.parent for p in plans] == [root, root]
    assert [p.model for p in plans] == ["m-a", "m-b"]
    assert all(p.body["instructions"] == "Be brief." for p in plans)  # inherited
    assert all(p.input_items[0]["content"][0]["text"] == "And then?" for p in plans)
    with pytest.raises(CannotSend):
        reply_plans(index, SERVER, root, "  ", runs, default_model="offline-echo")


def test_sibling_plans_of_an_unknown_turn_cannot_be_sent(index):
    with pytest.raises(CannotSend, match="unknown response"):
        sibling_plans(index, SERVER, "resp_nope", [RunSettings("m")], default_model="m")


# ------------------------------------------------------------------ sending


async def test_a_fan_out_of_3_with_one_failing_keeps_the_other_two(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        root = await first_turn(client, index)
        plan = plan_turn(index, SERVER, text="Tell me more", parent=root, default_model="x")
        node = (await send_turn(client, index, plan, server=SERVER, profile="local")).summary.id
        runs = [RunSettings("model-a", 0.2), RunSettings("model-b", 0.7), RunSettings("m-c")]
        plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
        plans[1].body["temperature"] = 5  # past the form's check: the server refuses it
        before = len(index)
        created, done = [], []
        results = await run_fanout(
            client,
            index,
            plans,
            server=SERVER,
            profile="local",
            on_created=lambda run, summary: created.append((run, summary.id)),
            on_done=done.append,
        )
    assert [r.run for r in results] == [1, 2, 3]
    ok = [r for r in results if r.ok]
    assert [r.run for r in ok] == [1, 3]
    assert len(index) == before + 2  # the two that worked, and nothing of the one that failed
    siblings = index.forest(SERVER).siblings((SERVER, node))
    for r in ok:
        assert (SERVER, r.created) in siblings
        summary = index.get(SERVER, r.created)
        assert summary.parent == root and str(summary.status) == "stored"
        assert summary.input_preview.startswith("Tell me more")
        assert settings_of(index, SERVER, r.created)["model"] == r.plan.model
    assert settings_of(index, SERVER, results[0].created)["temperature"] == 0.2
    assert sorted(created) == sorted((r.run, r.created) for r in ok)
    assert sorted(r.run for r in done) == [1, 2, 3]
    failed = results[1]
    assert failed.created is None and "temperature" in failed.error
    line = failed.line()
    assert line.startswith("run 2 · model-b · T 5: failed: ") and "\n" not in line
    assert results[0].line() == f"run 1 · model-a · T 0.2: {results[0].created}"
    assert results[2].line() == f"run 3 · m-c: {results[2].created}"


async def test_at_most_three_runs_stream_at_once(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
    counting = Counting(OfflineTransport(backend))
    runs = [RunSettings(f"m{n}") for n in range(6)]
    plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
    async with ResponsesClient(LOCAL, env={}, transport=counting) as client:
        results = await run_fanout(client, index, plans, server=SERVER, profile="local")
    assert all(r.ok for r in results), [r.error for r in results]
    assert counting.creates == 6
    assert counting.most == CONCURRENCY == 3  # bounded, and the bound is used
    assert counting.open == 0
    assert len(index.forest(SERVER).siblings((SERVER, node))) == 7


async def test_a_server_error_on_the_second_request_fails_only_that_run(index, backend):
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
    inner = OfflineTransport(backend)
    seen = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 2:
            return httpx.Response(400, json={"error": {"message": "model \x1b[31mgone\nsoon"}})
        return await inner.handle_async_request(request)

    runs = [RunSettings("a"), RunSettings("b"), RunSettings("c")]
    plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
    transport = httpx.MockTransport(handler)
    async with ResponsesClient(LOCAL, env={}, transport=transport) as client:
        results = await run_fanout(
            client, index, plans, server=SERVER, profile="local", concurrency=1
        )
    assert [r.ok for r in results] == [True, False, True]
    assert "gone soon" in results[1].error and "\x1b" not in results[1].line()
    assert len(index.forest(SERVER).siblings((SERVER, node))) == 3


async def test_a_bug_in_one_run_is_reported_and_the_others_go_on(index, backend, monkeypatch):
    import tui.ops.fanout as fanout

    real = fanout.send_turn
    calls = []

    async def flaky(client, index, plan, **kw):
        calls.append(plan.model)
        if plan.model == "b":
            raise RuntimeError("boom")
        return await real(client, index, plan, **kw)

    monkeypatch.setattr(fanout, "send_turn", flaky)
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
        plans = sibling_plans(
            index, SERVER, node, [RunSettings("a"), RunSettings("b")], default_model="x"
        )
        results = await run_fanout(client, index, plans, server=SERVER, profile="local")
    assert [r.ok for r in results] == [True, False]
    assert results[1].error == "RuntimeError: boom"


async def test_cancelling_a_fan_out_keeps_what_was_created(index, tmp_path):
    slow = offline_backend(tmp_path / "slow", seed=5, delta_delay=0.05)
    async with make_client(LOCAL, {}, backend=slow) as client:
        node = await first_turn(client, index)
        runs = [RunSettings("a"), RunSettings("b")]
        plans = sibling_plans(index, SERVER, node, runs, default_model="x")
        created = []
        task = asyncio.ensure_future(
            run_fanout(
                client,
                index,
                plans,
                server=SERVER,
                profile="local",
                on_created=lambda run, s: created.append(s.id),
            )
        )
        for _ in range(400):
            if len(created) == 2:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(created) == 2
    for rid in created:
        assert str(index.get(SERVER, rid).status) == "incomplete"


async def test_a_run_the_server_fails_mid_stream_is_kept_and_said_as_recorded(index, backend):
    """Llama Stack 0.7.3 answers an unknown model with a 200 stream that creates the response,
    then says `data: {"error": ...}` (tests/wire, exchange 27): the run's turn is kept, marked
    failed, and its line says so, in the server's words."""
    from wire import LLAMA, load

    recorded = next(e for e in load(LLAMA) if e.n == 27)
    assert recorded.request["model"] == "no-such-model"
    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
    inner = OfflineTransport(backend)

    async def handler(request: httpx.Request) -> httpx.Response:
        if b"no-such-model" in request.content:
            return httpx.Response(
                200, headers={"content-type": recorded.content_type}, content=recorded.body
            )
        return await inner.handle_async_request(request)

    runs = [RunSettings("a"), RunSettings("no-such-model"), RunSettings("c")]
    plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
    async with ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(handler)) as client:
        results = await run_fanout(client, index, plans, server=SERVER, profile="local")
    assert [r.ok for r in results] == [True, False, True]
    failed = results[1]
    assert failed.created is not None
    assert str(index.get(SERVER, failed.created).status) == "failed"
    line = failed.line()
    assert f"run 2 · no-such-model: failed ({failed.created} kept, marked failed): " in line
    assert "Model 'no-such-model' not found" in line


async def test_each_runs_events_reach_on_event_with_its_number_and_its_text_so_far(index, backend):
    """What the app's live view is fed: every event of every run, after `on_created` for
    that run, with the run's own accumulator (its text so far); a coroutine is awaited."""
    from tui.api.events import ResponseEvent, TextDelta

    async with make_client(LOCAL, {}, backend=backend) as client:
        node = await first_turn(client, index)
        runs = [RunSettings("a"), RunSettings("b")]
        plans = sibling_plans(index, SERVER, node, runs, default_model="offline-echo")
        created: dict[int, str] = {}
        texts: dict[int, str] = {1: "", 2: ""}
        order: list[tuple[int, str]] = []

        def on_created(run, summary):
            created[run] = summary.id
            order.append((run, "created"))

        async def on_event(run, event, acc):
            await asyncio.sleep(0)  # a coroutine: awaited, in the stream's order
            if isinstance(event, ResponseEvent) and event.type == "response.created":
                assert run in created  # the turn is in the index before its first event
                order.append((run, "event"))
            if isinstance(event, TextDelta):
                texts[run] += event.delta
                assert acc.text == texts[run]  # the run's own text so far, no other's
                assert acc.response_id == created[run]

        results = await run_fanout(
            client,
            index,
            plans,
            server=SERVER,
            profile="local",
            on_created=on_created,
            on_event=on_event,
        )
    assert all(r.ok for r in results)
    for r in results:
        recorded = index.load_body(SERVER, r.created)["response"]
        assert texts[r.run] and items.response_text(recorded).startswith(texts[r.run][:20])
    for run in (1, 2):
        assert order.index((run, "created")) < order.index((run, "event"))
