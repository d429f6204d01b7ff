"""What real servers send where no recording exists, written from their documented shapes,
and what misbehaving ones send: the client understands every error shape, never pages or
walks forever, and says what a server cannot do."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from ui_helpers import LOCAL, SERVER, build, goto, key_of, settle, type_and_send

from tui.api import client as client_module
from tui.api.client import ResponsesClient
from tui.api.errors import (
    BadRequest,
    EndpointNotSupported,
    PagingStopped,
    PreviousResponseNotFound,
    ProtocolError,
)
from tui.api.events import ErrorEvent, parse_event
from tui.api.profiles import Profile
from tui.api.sse import encode_sse
from tui.ops.conversation import plan_turn, send_turn
from tui.ops.importer import describe_import, import_chain
from tui.ops.sync import sync
from tui.store.index import Index
from tui.store.records import Status

PARENT = "resp_parent0001"
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, base_url: str = "http://srv.test/v1") -> ResponsesClient:
    async def no_sleep(_s: float) -> None:
        return None

    profile = Profile(name="t", base_url=base_url)
    return ResponsesClient(
        profile, env={}, transport=httpx.MockTransport(handler), sleep=no_sleep, max_retries=0
    )


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as opened:
        yield opened


def server_of(client: ResponsesClient) -> str:
    return client.base_url


def seed_parent(index: Index, server: str) -> None:
    index.add_response(
        {"id": PARENT, "status": "completed", "model": "m", "output": []},
        server=server,
        profile="t",
        input_items=[{"type": "message", "role": "user", "content": "hi"}],
        request={"model": "m"},
    )


def sse(*events: dict, event_names: tuple[str | None, ...] = ()) -> httpx.Response:
    names = list(event_names) + [None] * len(events)
    body = b"".join(encode_sse(e, names[n]) for n, e in enumerate(events))
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


# ------------------------------------------------------------------ 2. every error shape

MISSING_PARENT_SHAPES = {
    "openai 400": lambda: httpx.Response(
        400,
        json={
            "error": {
                "message": f"Previous response with id '{PARENT}' not found.",
                "type": "invalid_request_error",
                "param": "previous_response_id",
                "code": "previous_response_not_found",
            }
        },
    ),
    "fireworks 404": lambda: httpx.Response(404, json={"detail": "Previous response not found"}),
    "llama stack 404": lambda: httpx.Response(
        404, json={"detail": f"Response '{PARENT}' not found. Use 'client.responses.list()'."}
    ),
    "llama stack in a stream": lambda: sse(
        {"error": {"message": f"Response '{PARENT}' not found.", "code": "404"}}
    ),
    "event: error in a stream": lambda: sse(
        {"message": f"Previous response with id '{PARENT}' not found."}, event_names=("error",)
    ),
}


@pytest.mark.parametrize("shape", sorted(MISSING_PARENT_SHAPES))
async def test_a_missing_parent_in_every_shape_marks_it_missing_and_records_nothing(index, shape):
    async with client_for(lambda r: MISSING_PARENT_SHAPES[shape]()) as client:
        server = server_of(client)
        seed_parent(index, server)
        plan = plan_turn(index, server, text="next", parent=PARENT, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert isinstance(result.error, PreviousResponseNotFound), result.error
    assert index.get(server, PARENT).status == Status.MISSING
    assert len(index) == 1
    again = plan_turn(index, server, text="next", parent=PARENT, default_model="m")
    assert again.replayed == 1


async def test_a_404_naming_another_response_is_not_a_missing_parent(index):
    body = {"detail": "Model 'x' not found"}
    async with client_for(lambda r: httpx.Response(404, json=body)) as client:
        server = server_of(client)
        seed_parent(index, server)
        plan = plan_turn(index, server, text="next", parent=PARENT, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert not isinstance(result.error, PreviousResponseNotFound)
    assert "Model 'x' not found" in str(result.error)
    assert index.get(server, PARENT).status == Status.STORED


@pytest.mark.parametrize(
    "events",
    [
        [{"type": "error", "error": {"message": "Model 'x' not found", "code": "404"}}],
        [{"error": {"message": "Model 'x' not found", "code": 404}}],  # no type (Llama Stack)
        [{"type": "error", "message": "Model 'x' not found", "code": "model_not_found"}],
    ],
)
async def test_stream_errors_before_creation_show_the_servers_words_and_leave_no_turn(
    index, events
):
    async with client_for(lambda r: sse(*events)) as client:
        server = server_of(client)
        plan = plan_turn(index, server, text="hi", parent=None, default_model="x")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert "Model 'x' not found" in str(result.error)
    assert result.summary is None and len(index) == 0


def test_a_typeless_error_object_is_an_error_event_but_a_response_is_not():
    event = parse_event({"error": {"message": "boom", "code": 500}}, "message")
    assert isinstance(event, ErrorEvent) and event.message == "boom" and event.code == "500"
    assert isinstance(parse_event({"error": "plain words"}), ErrorEvent)
    created = parse_event({"type": "response.created", "response": {"id": "r"}, "error": None})
    assert not isinstance(created, ErrorEvent)
    assert not isinstance(parse_event({"response": {"id": "r"}, "error": {"m": 1}}), ErrorEvent)


async def test_response_failed_after_creation_is_recorded_failed_with_its_reason(index):
    created = {"id": "resp_f1", "status": "in_progress", "output": [], "model": "m"}
    failed = {**created, "status": "failed", "error": {"code": "server_error", "message": "oom"}}
    handler = lambda r: sse(  # noqa: E731
        {"type": "response.created", "response": created},
        {"type": "response.failed", "response": failed},
    )
    async with client_for(handler) as client:
        server = server_of(client)
        plan = plan_turn(index, server, text="hi", parent=None, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert "oom" in str(result.error)
    assert index.get(server, "resp_f1").status == Status.FAILED


async def test_problem_json_422_keeps_its_validation_reasons():
    body = {
        "type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY",
        "title": "Invalid request",
        "status": 422,
        "detail": "Your request is not valid and no HTTP validation response was found.",
        "validation": [
            {
                "location": ["body"],
                "severity": "Error",
                "code": "required",
                "message": "must have required property 'model'",
            },
            {"location": ["body", "input"], "message": "must be string"},
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422, headers={"content-type": "application/problem+json"}, content=json.dumps(body)
        )

    async with client_for(handler) as client:
        with pytest.raises(BadRequest) as info:
            await client.create({"model": "m", "input": "hi"})
    text = str(info.value)
    assert "Invalid request: body: must have required property 'model'" in text
    assert "body.input: must be string" in text


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (None, "it sent null"),
        ([{"id": "resp_1"}], "it sent a list"),
        ("ok", "it sent a string"),
        ({"error": {"message": "quota exceeded"}}, "quota exceeded"),
    ],
)
async def test_a_200_that_is_not_a_response_says_so_in_words(payload, words):
    content = json.dumps(payload).encode()
    async with client_for(lambda r: httpx.Response(200, content=content)) as client:
        with pytest.raises(Exception) as info:
            await client.create({"model": "m", "input": "hi"})
    assert words in str(info.value)


# ------------------------------------------------------------------ 4. nothing hangs


def pages(make_page: Callable[[httpx.Request, int], dict]) -> tuple[Handler, list[httpx.Request]]:
    """A list endpoint built from `make_page`; `seen` holds the list requests it answered."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/input_items"):
            return httpx.Response(200, json={"data": [], "has_more": False})
        seen.append(request)
        assert len(seen) < 200, "the pager did not stop"
        return httpx.Response(200, json=make_page(request, len(seen)))

    return handler, seen


def example(rid: str) -> dict:
    return {"id": rid, "object": "response", "status": "completed", "model": "m", "output": []}


@pytest.mark.parametrize(
    ("make_page", "reason"),
    [
        # A mock made from an OpenAPI file: the same example page, forever.
        (
            lambda r, n: {"data": [example("resp_123")], "has_more": True, "last_id": "resp_123"},
            "does not advance",
        ),
        # A cursor that moves, over the same page.
        (
            lambda r, n: {"data": [example("resp_a")], "has_more": True, "last_id": f"c{n}"},
            "same page twice",
        ),
    ],
)
async def test_a_list_that_would_page_forever_is_stopped_and_sync_says_so(index, make_page, reason):
    handler, seen = pages(make_page)
    async with client_for(handler) as client:
        server = server_of(client)
        index.add_response(example("resp_known"), server=server, profile="t")
        report = await sync(client, index, server=server, profile="t")
    assert len(seen) == 2
    assert not report.complete
    assert any(reason in w for w in report.warnings), report.warnings
    assert index.get(server, "resp_known").status == Status.STORED  # not judged on half a list


async def test_list_stops_at_the_page_cap(monkeypatch):
    monkeypatch.setattr(client_module, "MAX_LIST_PAGES", 5)
    handler, seen = pages(
        lambda r, n: {"data": [example(f"resp_{n}")], "has_more": True, "last_id": f"resp_{n}"}
    )
    got = []
    async with client_for(handler) as client:
        with pytest.raises(PagingStopped) as info:
            async for item in client.list_responses():
                got.append(item["id"])
    assert len(seen) == 5 and len(got) == 5
    assert "more than 5 pages" in str(info.value)


async def test_list_stops_when_paging_takes_too_long():
    handler, seen = pages(
        lambda r, n: {"data": [example(f"resp_{n}")], "has_more": True, "last_id": f"resp_{n}"}
    )
    ticks = iter(range(0, 100_000, 400))
    async with client_for(handler) as client:
        client._clock = lambda: float(next(ticks))
        with pytest.raises(PagingStopped) as info:
            async for _ in client.list_responses():
                pass
    assert "took longer than" in str(info.value)
    assert len(seen) == 3  # 0 s, 400 s, 800 s, then past the 900 s bound


async def test_input_items_that_repeat_forever_are_stopped(index):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/input_items"):
            item = {"id": "msg_1", "type": "message", "role": "user", "content": "hi"}
            return httpx.Response(200, json={"data": [item], "has_more": True, "last_id": "msg_1"})
        return httpx.Response(200, json=example("resp_x"))

    async with client_for(handler) as client:
        with pytest.raises(PagingStopped) as info:
            await client.list_input_items("resp_x")
    assert "input items of resp_x: stopped after" in str(info.value)


async def test_import_stops_on_a_previous_response_cycle_and_says_so(index):
    chain = {"resp_a": "resp_b", "resp_b": "resp_c", "resp_c": "resp_a"}
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        rid = request.url.path.split("/")[3]
        if request.url.path.endswith("/input_items"):
            return httpx.Response(200, json={"data": [], "has_more": False})
        asked.append(rid)
        return httpx.Response(200, json={**example(rid), "previous_response_id": chain[rid]})

    async with client_for(handler) as client:
        server = server_of(client)
        result = await import_chain(client, index, server=server, profile="t", response_id="resp_a")
    assert asked == ["resp_a", "resp_b", "resp_c"]
    assert result.cycle_at == "resp_a"
    assert "loops back to resp_a" in describe_import(result)
    assert sorted(n.id for n in index.nodes(server)) == ["resp_a", "resp_b", "resp_c"]
    assert index.get(server, "resp_c").ancestor_missing


async def test_a_mock_that_answers_every_retrieve_with_one_example_is_refused(index):
    async with client_for(lambda r: httpx.Response(200, json=example("resp_123"))) as client:
        with pytest.raises(ProtocolError):
            await import_chain(
                client, index, server=server_of(client), profile="t", response_id="resp_9"
            )
    assert len(index) == 0


# ------------------------------------------------------------------ 10. capabilities


async def test_create_without_a_route_says_which_base_url_to_try():
    body = {"error": {"message": "no route /v1/responses", "type": "not_found"}}
    async with client_for(lambda r: httpx.Response(404, json=body)) as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.create({"model": "m", "input": "hi"})
    assert "try the base URL without /v1" in str(info.value)
    async with client_for(lambda r: httpx.Response(404, json=body), "http://srv.test") as client:
        with pytest.raises(EndpointNotSupported) as info:
            await client.create({"model": "m", "input": "hi"})
    assert "try the base URL ending in /v1" in str(info.value)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, {"error": {"message": "no route DELETE /v1/responses/resp_x"}}, "route"),
        (405, {"detail": "Method Not Allowed"}, "route"),
        (404, {"detail": "Response 'resp_x' not found."}, "gone"),
        (404, {"error": {"message": "No response found with id 'resp_x'."}}, "gone"),
        (404, {"detail": "Not Found"}, "unclear"),
        (404, {}, "unclear"),
    ],
)
async def test_delete_404s_are_read_for_what_they_say(status, body, kind):
    from tui.api.errors import NotFoundError

    async with client_for(lambda r: httpx.Response(status, json=body)) as client:
        with pytest.raises(Exception) as info:
            await client.delete("resp_x")
    error = info.value
    if kind == "route":
        assert isinstance(error, EndpointNotSupported)
        assert "cannot delete responses" in str(error)
    elif kind == "gone":
        assert isinstance(error, NotFoundError)
    else:
        assert not isinstance(error, NotFoundError | EndpointNotSupported)
        assert "without saying the response is gone" in str(error)


# ------------------------------------------------------------------ 6. an answer always reaches


def plain_json_answer(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    assert sent["stream"] is True
    return httpx.Response(
        200,
        json={
            "id": "resp_plain",
            "object": "response",
            "status": "completed",
            "model": "m",
            "previous_response_id": sent.get("previous_response_id"),
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "a plain JSON answer"}],
                }
            ],
        },
    )


async def test_the_app_shows_an_answer_that_came_as_plain_json(tmp_path):
    client = ResponsesClient(LOCAL, env={}, transport=httpx.MockTransport(plain_json_answer))
    app, index, _ = build(tmp_path, client=client)
    async with app.run_test(size=(110, 34)) as pilot:
        await goto(pilot, app, key_of(index, "Show a tiny example"))
        await pilot.press("enter")
        await type_and_send(pilot, app, "answer me plainly")
        await settle(pilot, app)
        assert app.current == (SERVER, "resp_plain")
        shown = " ".join(str(w.render()) for w in app.transcript.query("*") if hasattr(w, "render"))
        assert "a plain JSON answer" in shown
    index.close()


async def test_a_stream_that_never_ends_is_cut_off_with_the_partial_answer_kept(index):
    created = {"id": "resp_long", "status": "in_progress", "output": [], "model": "m"}

    async def forever():
        yield encode_sse({"type": "response.created", "response": created})
        yield encode_sse(
            {"type": "response.output_text.delta", "output_index": 0, "delta": "so far"}
        )
        while True:
            yield b": keep-alive\n\n"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=forever())

    ticks = iter(range(0, 10**9, 60))
    async with client_for(handler) as client:
        client._clock = lambda: float(next(ticks))
        server = server_of(client)
        plan = plan_turn(index, server, text="think hard", parent=None, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert "went on for longer than" in str(result.error)
    node = index.get(server, "resp_long")
    assert node.status == Status.INCOMPLETE and node.output_preview == "so far"


@pytest.mark.parametrize("bound", ["count", "time"])
async def test_import_of_an_endless_chain_stops_and_says_so(index, monkeypatch, bound):
    from tui.ops import importer

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/input_items"):
            return httpx.Response(200, json={"data": [], "has_more": False})
        n = int(request.url.path.rsplit("_", 1)[-1])
        return httpx.Response(
            200, json={**example(f"resp_{n}"), "previous_response_id": f"resp_{n + 1}"}
        )

    clock = iter(range(0, 10**9, 1000))
    if bound == "count":
        monkeypatch.setattr(importer, "MAX_CHAIN", 7)
    async with client_for(handler) as client:
        server = server_of(client)
        result = await import_chain(
            client,
            index,
            server=server,
            profile="t",
            response_id="resp_0",
            clock=(lambda: 0.0) if bound == "count" else (lambda: float(next(clock))),
        )
    assert result.capped
    assert len(result.imported) == (7 if bound == "count" else 3)  # 1000 s a step, 3600 s
    assert f"stopped after {len(result.imported)} responses" in describe_import(result)


# ------------------------------------------------------------------ 3 and 9, by hand


def test_an_approval_answer_to_an_unstored_request_replays_the_request(index):
    from tui.ops.conversation import approval_items, plan_followup

    server = "http://srv.test/v1"
    asked = {
        "id": "resp_ask",
        "status": "completed",
        "store": False,
        "model": "m",
        "output": [
            {
                "type": "mcp_approval_request",
                "id": "mcpr_1",
                "server_label": "docs",
                "name": "search",
                "arguments": '{"q": "x"}',
                "status": "completed",
            }
        ],
    }
    question = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]}
    ]
    index.add_response(
        asked, server=server, profile="t", input_items=question, request={"model": "m"}
    )
    plan = plan_followup(
        index,
        server,
        "resp_ask",
        approval_items("mcpr_1", True),
        default_model="m",
        kind="approval",
    )
    assert plan.replayed == 1 and "previous_response_id" not in plan.body
    assert [i["type"] for i in plan.body["input"]] == [
        "message",
        "mcp_approval_request",
        "mcp_approval_response",
    ]
    request = plan.body["input"][1]
    assert request["id"] == "mcpr_1" and "status" not in request  # its answer names this id


async def test_sync_trims_whole_history_input_items_using_the_parent_in_the_same_batch(index):
    first = {
        **example("resp_1"),
        "output": [
            {
                "id": "msg_a1",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "hello back"}],
            }
        ],
    }
    second = {**example("resp_2"), "previous_response_id": "resp_1"}
    said = lambda text, role="user": {  # noqa: E731
        "type": "message",
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }
    inputs = {
        "resp_1": [said("hello")],
        "resp_2": [said("hello"), {**first["output"][0], "id": "msg_a1"}, said("and now?")],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/input_items"):
            rid = request.url.path.split("/")[3]
            return httpx.Response(200, json={"data": inputs[rid], "has_more": False})
        return httpx.Response(200, json={"data": [second, first], "has_more": False})

    async with client_for(handler) as client:
        server = server_of(client)
        report = await sync(client, index, server=server, profile="t")
    assert report.new == ["resp_1", "resp_2"]
    assert index.load_body(server, "resp_2")["input"] == [said("and now?")]
    assert index.load_body(server, "resp_1")["input"] == [said("hello")]


@pytest.mark.parametrize(
    "answer",
    [
        lambda: httpx.Response(404, json={"detail": "Not Found"}),  # Llama Stack without /v1
        lambda: sse({"detail": "Not Found"}),  # a proxy wrapping its upstream's 404 in a stream
    ],
)
async def test_a_create_answered_with_a_bare_not_found_suggests_the_other_base_url(index, answer):
    async with client_for(lambda r: answer(), "http://srv.test") as client:
        server = server_of(client)
        plan = plan_turn(index, server, text="hi", parent=None, default_model="m")
        result = await send_turn(client, index, plan, server=server, profile="t")
    assert isinstance(result.error, EndpointNotSupported)
    assert "try the base URL ending in /v1" in str(result.error)
    assert len(index) == 0
