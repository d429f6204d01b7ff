"""The offline backend does not pretend (issue 10, point 12).

It echoes the settings it was sent (or the API's defaults), refuses with a 400 what it cannot
do as asked, and really does what the app uses: background runs and cancel,
`max_output_tokens`, `text.format` json_schema / json_object, forced `tool_choice`, integer
`created_at`, and `usage` in OpenAI's naming. Driven through the real client (in-process
transport), straight through `OfflineBackend.handle`, and over loopback HTTP.
"""

from __future__ import annotations

import json
import math
import re
import string
from fractions import Fraction
from typing import Any

import httpx
import openai
import pytest
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_offline_backend import (
    DEEPWIKI,
    LOCAL,
    MODEL,
    assert_openai_error,
    call,
    collect,
    create,
    http_server,  # noqa: F401  (fixture)
    raw_stream,
    sse_messages,
    text_of,
)

from tui.api.client import ResponsesClient
from tui.api.errors import BadRequest
from tui.local.ids import IdFactory
from tui.local.jsonschema_value import Unsupported, json_value
from tui.local.server import OfflineBackend
from tui.local.storage import BackendStore
from tui.local.transport import OfflineTransport
from tui.ops.connect import make_client, offline_backend
from tui.ops.conversation import plan_turn, send_turn, settings_of
from tui.store.index import Index
from tui.store.records import LOGICAL_PARENT

T0 = 1_750_000_000
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
LOOKUP = {"type": "function", "name": "lookup", "parameters": {"type": "object"}}
NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 12},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        "rating": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "score": {"type": "number", "minimum": 2.5, "multipleOf": 0.5},
        "watched": {"type": "boolean"},
        "genre": {"enum": ["drama", "comedy"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 3},
        "cast": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 5},
                    "age": {"type": ["integer", "null"], "maximum": -3},
                },
                "required": ["name", "age"],
                "additionalProperties": False,
            },
        },
        "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
    "required": ["title", "year", "rating", "score", "watched", "genre", "tags", "cast"],
    "additionalProperties": False,
}


@pytest.fixture
def backend(tmp_path):
    return offline_backend(tmp_path / "b", seed=12)


@pytest.fixture
async def client(backend):
    async with make_client(LOCAL, {}, backend=backend) as c:
        yield c


def post(backend: OfflineBackend, **body) -> tuple[int, dict]:
    return call(backend, "POST", "/v1/responses", body={"model": MODEL, **body})


def refused(backend: OfflineBackend, **body) -> dict:
    status, data = post(backend, **body)
    assert status == 400, data
    assert_openai_error(data)
    return data["error"]


def tokens(text: str) -> int:
    """The offline backend's tokenizer, restated: four characters a token."""
    return math.ceil(len(text) / 4)


def message_text(response: dict) -> str:
    return "".join(
        part["text"]
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


# ---------------------------------------------------------------- a small JSON Schema validator


def schema_errors(value: Any, schema: Any, root: Any = None, path: str = "$") -> list[str]:
    """Why `value` does not validate against `schema` (empty: it does). Written for these
    tests, independently of the generator."""
    root = schema if root is None else root
    if schema is True:
        return []
    if schema is False:
        return [f"{path}: false schema"]
    out: list[str] = []
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#").strip("/").split("/"):
            if part:
                target = target[part]
        out += schema_errors(value, target, root, path)
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, kind) for kind in kinds):
            return [*out, f"{path}: {value!r} is not of type {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in enum")
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: {value!r} is not the const")
    for branch in schema.get("allOf", []):
        out += schema_errors(value, branch, root, path)
    if "anyOf" in schema and not any(
        not schema_errors(value, b, root, path) for b in schema["anyOf"]
    ):
        out.append(f"{path}: matches no anyOf branch")
    if "oneOf" in schema:
        matching = sum(not schema_errors(value, b, root, path) for b in schema["oneOf"])
        if matching != 1:
            out.append(f"{path}: matches {matching} oneOf branches")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path}: missing {name}")
        extra = schema.get("additionalProperties", True)
        for name, sub in value.items():
            if name in props:
                out += schema_errors(sub, props[name], root, f"{path}.{name}")
            elif extra is False:
                out.append(f"{path}: unexpected {name}")
            elif isinstance(extra, dict):
                out += schema_errors(sub, extra, root, f"{path}.{name}")
        if len(value) < schema.get("minProperties", 0):
            out.append(f"{path}: too few properties")
        if len(value) > schema.get("maxProperties", math.inf):
            out.append(f"{path}: too many properties")
    if isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        for n, item in enumerate(value):
            sub = prefix[n] if n < len(prefix) else schema.get("items", True)
            out += schema_errors(item, sub, root, f"{path}[{n}]")
        if len(value) < schema.get("minItems", 0):
            out.append(f"{path}: too few items")
        if len(value) > schema.get("maxItems", math.inf):
            out.append(f"{path}: too many items")
        if schema.get("uniqueItems"):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(seen)) != len(seen):
                out.append(f"{path}: items not unique")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{path}: too short")
        if len(value) > schema.get("maxLength", math.inf):
            out.append(f"{path}: too long")
        pattern = FORMATS.get(schema.get("format", ""))
        if pattern and not re.fullmatch(pattern, value):
            out.append(f"{path}: {value!r} is not a {schema['format']}")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: above maximum")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{path}: not above exclusiveMinimum")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(f"{path}: not below exclusiveMaximum")
        multiple = schema.get("multipleOf")
        if multiple is not None and Fraction(str(value)) % Fraction(str(multiple)) != 0:
            out.append(f"{path}: {value} is not a multiple of {multiple}")
    return out


FORMATS = {
    "date": r"\d{4}-\d\d-\d\d",
    "date-time": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
    "email": r"[^@\s]+@[^@\s]+\.[a-z]+",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "ipv4": r"(\d{1,3}\.){3}\d{1,3}",
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "array": list, "object": dict}[kind])


def test_the_validator_catches_what_it_should():
    assert schema_errors({"a": 1}, {"type": "object", "required": ["b"]})
    assert schema_errors(0.3, {"type": "number", "multipleOf": 0.25})
    assert not schema_errors(0.75, {"type": "number", "multipleOf": 0.25})
    assert schema_errors(True, {"type": "integer"})
    assert schema_errors([1, 1], {"type": "array", "uniqueItems": True})
    assert schema_errors(5, {"type": "integer", "exclusiveMaximum": 5})
    assert schema_errors("ab", {"type": "string", "maxLength": 1})


# ---------------------------------------------------------------- 1. echoed settings


RESPONSE_REQUIRED = (
    "id",
    "object",
    "created_at",
    "error",
    "incomplete_details",
    "instructions",
    "model",
    "tools",
    "output",
    "parallel_tool_calls",
    "metadata",
    "tool_choice",
    "temperature",
    "top_p",
)


async def test_defaults_are_echoed_when_not_sent(client):
    response = await client.create({"model": MODEL, "input": "hello"})
    assert set(RESPONSE_REQUIRED) <= set(response)
    expected = {
        "temperature": 1.0,
        "top_p": 1.0,
        "metadata": {},
        "text": {"format": {"type": "text"}},
        "reasoning": {"effort": None, "summary": None},
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "truncation": "disabled",
        "top_logprobs": 0,
        "service_tier": "default",
        "background": False,
        "user": None,
        "safety_identifier": None,
        "prompt_cache_key": None,
        "conversation": None,
        "tools": [],
    }
    assert {k: response.get(k, "<missing>") for k in expected} == expected


async def test_sent_settings_are_echoed(client):
    sent = {
        "temperature": 0.3,
        "top_p": 0.5,
        "instructions": "Be terse.",
        "metadata": {"case": "echo"},
        "max_output_tokens": 4000,
        "max_tool_calls": 2,
        "parallel_tool_calls": False,
        "tool_choice": "none",
        "truncation": "auto",
        "user": "u-1",
        "safety_identifier": "s-1",
        "prompt_cache_key": "k-1",
        "top_logprobs": 0,
    }
    response = await client.create({"model": MODEL, "input": "hello", **sent})
    assert {k: response[k] for k in sent} == sent
    assert response["status"] == "completed"


async def test_partial_objects_are_echoed_with_the_defaults_filled_in(client):
    response = await client.create(
        {
            "model": MODEL,
            "input": "hello",
            "reasoning": {"effort": "low"},
            "text": {"verbosity": "low"},
        }
    )
    assert response["reasoning"] == {"effort": "low", "summary": None}
    assert response["text"] == {"format": {"type": "text"}, "verbosity": "low"}


async def test_stream_echoes_settings_from_the_first_event(client):
    body = {"model": MODEL, "input": "hello", "temperature": 0.2, "reasoning": {"effort": "low"}}
    events = await collect(client, body)
    for response in (events[0].response, events[-1].response):
        assert response["temperature"] == 0.2
        assert response["reasoning"] == {"effort": "low", "summary": None}
        assert (response["top_p"], response["top_logprobs"]) == (1.0, 0)
        assert response["text"] == {"format": {"type": "text"}}


def test_echoed_defaults_are_not_inherited(tmp_path, backend):
    """settings_of drops the echoed defaults of a response we did not send ourselves."""
    response = create(backend, input="imported")
    with Index.open(tmp_path / "index") as index:
        index.add_response(response, server="srv", profile="p", input_items=None)
        assert settings_of(index, "srv", response["id"]) == {"model": MODEL}


# ---------------------------------------------------------------- 2. refused, not ignored


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"conversation": "conv_123"}, "conversation"),
        ({"conversation": {"id": "conv_123"}}, "conversation"),
        ({"prompt": {"id": "pmpt_1", "version": "2"}}, "prompt"),
        ({"top_logprobs": 5}, "top_logprobs"),
        ({"context_management": [{"type": "compaction"}]}, "context_management"),
        ({"moderation": {"model": "omni-moderation-latest"}}, "moderation"),
        ({"tools": [{"type": "web_search"}]}, "tools"),
        ({"tools": [WEATHER, {"type": "file_search", "vector_store_ids": ["vs"]}]}, "tools"),
        ({"tools": [WEATHER], "tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
    ],
)
def test_what_it_cannot_do_is_a_400_not_silence(backend, body, param):
    error = refused(backend, input="hello", **body)
    assert error["code"] == "unsupported_parameter"
    assert error["param"] == param
    assert error["message"].startswith(f"not supported by the offline backend: {param}")
    assert call(backend, "GET", "/v1/responses")[1]["data"] == []  # nothing was stored


@pytest.mark.parametrize("name", ["frobnicate", "x_responses_tui_parent", "messages"])
def test_unknown_arguments_are_refused_like_the_api(backend, name):
    error = refused(backend, input="hello", **{name: 1})
    assert error == {
        "message": f"Unrecognized request argument supplied: {name}",
        "type": "invalid_request_error",
        "param": name,
        "code": "unknown_parameter",
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"reasoning": {"effort": "low", "budget": 3}}, "reasoning.budget"),
        ({"text": {"format": {"type": "text"}, "style": "x"}}, "text.style"),
        ({"text": {"format": {"type": "json_object", "name": "x"}}}, "text.format.name"),
    ],
)
def test_unknown_nested_arguments_are_refused(backend, body, param):
    error = refused(backend, input="json please", **body)
    assert (error["code"], error["param"]) == ("unknown_parameter", param)


@pytest.mark.parametrize(
    "body",
    [
        {"include": ["reasoning.encrypted_content", "message.input_image.image_url"]},
        {"include": []},
        {"top_logprobs": 0},
        {"conversation": None, "prompt": None},
        {"service_tier": "flex"},
        {"stream_options": {"include_obfuscation": False}},
        {"prompt_cache_retention": "24h", "prompt_cache_options": {"ttl": "5m"}},
        {"reasoning": {"effort": "high", "summary": "auto"}},
        {"text": {"format": {"type": "text"}, "verbosity": "high"}},
        {"truncation": "auto"},
    ],
)
def test_harmless_arguments_are_accepted(backend, body):
    status, data = post(backend, input="hello", **body)
    assert status == 200, data
    assert data["status"] == "completed"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"temperature": 3}, "temperature", "decimal_above_max_value"),
        ({"temperature": -0.5}, "temperature", "decimal_below_min_value"),
        ({"temperature": "hot"}, "temperature", "invalid_type"),
        ({"top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ({"max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ({"max_output_tokens": 0}, "max_output_tokens", "integer_below_min_value"),
        ({"max_output_tokens": 20.5}, "max_output_tokens", "invalid_type"),
        ({"max_output_tokens": True}, "max_output_tokens", "invalid_type"),
        ({"max_tool_calls": 0}, "max_tool_calls", "integer_below_min_value"),
        ({"top_logprobs": 21}, "top_logprobs", "integer_above_max_value"),
        ({"metadata": {f"k{n}": "v" for n in range(17)}}, "metadata", None),
        ({"metadata": {"n": 1}}, "metadata.n", "invalid_type"),
        ({"metadata": "tag"}, "metadata", "invalid_type"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
        ({"include": ["everything"]}, "include[0]", "invalid_value"),
        ({"tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
        ({"truncation": "middle"}, "truncation", "invalid_value"),
        ({"stream": "yes"}, "stream", "invalid_type"),
        ({"instructions": ["a"]}, "instructions", "invalid_type"),
        ({"text": {"format": {"type": "xml"}}}, "text.format.type", "invalid_value"),
    ],
)
def test_bad_values_are_400_with_param_and_code(backend, body, param, code):
    error = refused(backend, input="hello", **body)
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code


def test_max_output_tokens_below_16_says_so_like_the_api(backend):
    error = refused(backend, input="hello", max_output_tokens=15)
    assert error["message"] == (
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, "
        "but got 15 instead."
    )


async def test_refusals_reach_the_client_as_bad_request(client):
    with pytest.raises(BadRequest) as info:
        await client.create(
            {"model": MODEL, "input": "x", "include": ["message.output_text.logprobs"]}
        )
    assert info.value.status == 400
    assert info.value.code == "unsupported_parameter"
    assert info.value.param == "include"
    with pytest.raises(BadRequest):
        await collect(client, {"model": MODEL, "input": "x", "conversation": "conv_1"})


async def test_the_apps_replayed_turn_still_succeeds_and_keeps_its_key_private(tmp_path):
    """A replay records its logical parent under a private key: it goes to the index, never
    on the wire (which would now be refused as an unknown argument)."""
    backend = offline_backend(tmp_path / "backend", seed=4)
    bodies: list[dict] = []

    class Recording(httpx.AsyncBaseTransport):
        inner = OfflineTransport(backend)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            content = await request.aread()
            if content:
                bodies.append(json.loads(content))
            return await self.inner.handle_async_request(request)

    server = "local"
    with Index.open(tmp_path / "index") as index:
        async with ResponsesClient(LOCAL, env={}, transport=Recording()) as client:
            results = []
            parent = None
            for text, store in (("first", True), ("private", False), ("third", True)):
                plan = plan_turn(
                    index,
                    server,
                    text=text,
                    parent=parent,
                    default_model=MODEL,
                    store=store,
                    overrides={"temperature": 0.5, "reasoning": {"effort": "low"}},
                )
                result = await send_turn(client, index, plan, server=server, profile="local")
                assert result.ok, result.error
                results.append(result)
                parent = result.summary.id
        assert plan.replayed == 1
        assert plan.request[LOGICAL_PARENT] == results[1].summary.id
        assert all(LOGICAL_PARENT not in body for body in bodies)
        assert bodies[-1]["temperature"] == 0.5
        assert results[-1].response["reasoning"] == {"effort": "low", "summary": None}


# ---------------------------------------------------------------- 3a. background


def test_background_goes_queued_in_progress_completed_one_step_per_retrieve(backend):
    status, queued = post(backend, input="work on this later", background=True)
    assert status == 200
    assert queued["status"] == "queued"
    assert queued["background"] is True
    assert queued["output"] == [] and queued["usage"] is None
    assert queued["completed_at"] is None
    rid = queued["id"]
    # listing shows it without moving it
    listed = call(backend, "GET", "/v1/responses")[1]["data"]
    assert [(r["id"], r["status"]) for r in listed] == [(rid, "queued")]
    assert call(backend, "GET", f"/v1/responses/{rid}/input_items")[0] == 200

    running = call(backend, "GET", f"/v1/responses/{rid}")[1]
    assert running["status"] == "in_progress" and running["output"] == []
    done = call(backend, "GET", f"/v1/responses/{rid}")[1]
    assert done["status"] == "completed"
    assert "work on this later" in text_of(done)
    assert done["usage"]["output_tokens"] > 0
    assert isinstance(done["completed_at"], int) and done["completed_at"] >= done["created_at"]
    assert call(backend, "GET", f"/v1/responses/{rid}")[1] == done  # finished: stays put
    assert call(backend, "GET", "/v1/responses")[1]["data"] == [done]


def test_cancel_a_queued_or_running_background_response(backend):
    queued = create(backend, input="never mind", background=True)
    status, cancelled = call(backend, "POST", f"/v1/responses/{queued['id']}/cancel")
    assert status == 200
    assert cancelled["status"] == "cancelled"
    assert cancelled["output"] == [] and cancelled["usage"] is None
    assert call(backend, "GET", f"/v1/responses/{queued['id']}")[1] == cancelled
    again = call(backend, "POST", f"/v1/responses/{queued['id']}/cancel")
    assert again == (200, cancelled)  # cancelling twice changes nothing

    other = create(backend, input="stop midway", background=True)
    assert call(backend, "GET", f"/v1/responses/{other['id']}")[1]["status"] == "in_progress"
    status, stopped = call(backend, "POST", f"/v1/responses/{other['id']}/cancel")
    assert (status, stopped["status"]) == (200, "cancelled")
    assert call(backend, "GET", f"/v1/responses/{other['id']}")[1]["status"] == "cancelled"


def test_cancelling_a_finished_background_response_is_400(backend):
    rid = create(backend, input="quick", background=True)["id"]
    call(backend, "GET", f"/v1/responses/{rid}")
    call(backend, "GET", f"/v1/responses/{rid}")
    status, data = call(backend, "POST", f"/v1/responses/{rid}/cancel")
    assert status == 400
    assert_openai_error(data)
    assert data["error"]["message"] == "Cannot cancel a completed response."
    assert call(backend, "GET", f"/v1/responses/{rid}")[1]["status"] == "completed"


def test_background_needs_store_and_cannot_stream(backend):
    assert refused(backend, input="x", background=True, store=False)["param"] == "background"
    error = refused(backend, input="x", background=True, stream=True)
    assert error["param"] == "background"
    assert "poll" in error["message"]


def test_a_running_background_response_cannot_be_continued_yet(backend):
    rid = create(backend, input="first", background=True)["id"]
    error = refused(backend, input="next", previous_response_id=rid)
    assert error["param"] == "previous_response_id"
    assert "queued" in error["message"]
    call(backend, "GET", f"/v1/responses/{rid}")
    call(backend, "GET", f"/v1/responses/{rid}")
    follow = create(backend, input="next", previous_response_id=rid)
    assert "1 earlier turn" in text_of(follow)


def test_background_with_max_output_tokens_ends_incomplete(backend):
    rid = create(backend, input="long answer please", background=True, max_output_tokens=16)["id"]
    call(backend, "GET", f"/v1/responses/{rid}")
    done = call(backend, "GET", f"/v1/responses/{rid}")[1]
    assert done["status"] == "incomplete"
    assert done["incomplete_details"] == {"reason": "max_output_tokens"}
    status, data = call(backend, "POST", f"/v1/responses/{rid}/cancel")
    assert status == 400 and "incomplete" in data["error"]["message"]


def test_retrieve_with_stream_is_refused(backend):
    rid = create(backend, input="x")["id"]
    status, data = call(backend, "GET", f"/v1/responses/{rid}", {"stream": "true"})
    assert status == 400
    assert (data["error"]["param"], data["error"]["code"]) == ("stream", "unsupported_parameter")


def test_background_over_http_with_the_official_sdk(http_server):  # noqa: F811
    sdk = openai.OpenAI(base_url=f"http://127.0.0.1:{http_server}/v1", api_key="x", max_retries=0)
    queued = sdk.responses.create(model=MODEL, input="in the background", background=True)
    assert queued.status == "queued" and queued.background is True
    statuses = [sdk.responses.retrieve(queued.id).status for _ in range(3)]
    assert statuses == ["in_progress", "completed", "completed"]
    assert "in the background" in sdk.responses.retrieve(queued.id).output_text

    second = sdk.responses.create(model=MODEL, input="cancel me", background=True)
    assert sdk.responses.cancel(second.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.cancel(queued.id)
    assert "completed" in str(info.value)
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model=MODEL, input="x", include=["message.output_text.logprobs"])
    assert info.value.code == "unsupported_parameter"


# ---------------------------------------------------------------- 3b. max_output_tokens


def test_max_output_tokens_cuts_the_answer(tmp_path):
    full = create(offline_backend(tmp_path / "a", seed=1), input="tell me everything")
    cut = create(
        offline_backend(tmp_path / "b", seed=1), input="tell me everything", max_output_tokens=16
    )
    assert full["status"] == "completed" and tokens(text_of(full)) > 16
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["completed_at"] is None
    assert cut["max_output_tokens"] == 16
    text = text_of(cut)
    assert tokens(text) == 16 and len(text) == 64
    assert text_of(full).startswith(text)
    assert cut["output"][-1]["status"] == "incomplete"
    assert cut["usage"]["output_tokens"] == 16


def test_max_output_tokens_boundary(tmp_path):
    size = tokens(text_of(create(offline_backend(tmp_path / "a", seed=1), input="just fits")))
    fits = create(
        offline_backend(tmp_path / "b", seed=1), input="just fits", max_output_tokens=size
    )
    assert fits["status"] == "completed" and fits["incomplete_details"] is None
    assert fits["usage"]["output_tokens"] == size
    short = create(
        offline_backend(tmp_path / "c", seed=1), input="just fits", max_output_tokens=size - 1
    )
    assert short["status"] == "incomplete"
    assert tokens(text_of(short)) == size - 1


async def test_max_output_tokens_in_a_stream_ends_with_response_incomplete(client):
    events = await collect(
        client, {"model": MODEL, "input": "stream a long answer", "max_output_tokens": 20}
    )
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == text_of(final)
    assert tokens(deltas) == 20
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.data["item"]["status"] == "incomplete"
    assert "response.completed" not in [e.type for e in events]
    stored = await client.retrieve(final["id"])
    assert stored == final


def test_raw_stream_terminal_event_is_response_incomplete(backend):
    raw = raw_stream(backend, input="raw and long", max_output_tokens=16)
    names = [event for event, _ in sse_messages(raw)]
    assert names[-2:] == ["response.incomplete", None]


def test_a_function_call_that_does_not_fit_is_cut_and_marked_incomplete(backend):
    wide = {
        "type": "function",
        "name": "report",
        "parameters": {
            "type": "object",
            "properties": {name: {"type": "string"} for name in "abcd"},
        },
    }
    text = "please report on " + " ".join(f"word{n}" for n in range(8))
    full = create(backend, input=text, tools=[wide])
    assert full["output"][0]["type"] == "function_call"
    assert tokens(full["output"][0]["arguments"]) > 16
    cut = create(backend, input=text, tools=[wide], max_output_tokens=16)
    assert cut["status"] == "incomplete"
    [item] = cut["output"]
    assert item["type"] == "function_call" and item["status"] == "incomplete"
    assert tokens(item["arguments"]) == 16
    assert full["output"][0]["arguments"].startswith(item["arguments"])


def test_an_mcp_call_that_does_not_fit_is_not_run(backend):
    text = "search " + " ".join(f"w{n}" for n in range(30))
    cut = create(backend, input=text, tools=[DEEPWIKI], max_output_tokens=16)
    assert [i["type"] for i in cut["output"]] == ["mcp_list_tools", "mcp_call"]
    call_item = cut["output"][1]
    assert call_item["status"] == "incomplete" and call_item["output"] is None


# ---------------------------------------------------------------- 3c. text.format


def json_schema_format(schema: dict, name: str = "answer") -> dict:
    return {"format": {"type": "json_schema", "name": name, "schema": schema, "strict": True}}


def test_json_schema_answer_validates_and_is_deterministic(tmp_path):
    answers = []
    for name in ("a", "b"):
        response = create(
            offline_backend(tmp_path / name, seed=1),
            input="describe a film",
            text=json_schema_format(NESTED_SCHEMA),
        )
        assert response["status"] == "completed"
        assert response["text"]["format"]["schema"] == NESTED_SCHEMA
        answers.append(text_of(response))
    assert answers[0] == answers[1]
    value = json.loads(answers[0])
    assert schema_errors(value, NESTED_SCHEMA) == []
    assert len(value["tags"]) == 3 and len(value["cast"]) == 2


async def test_json_schema_answer_streams_as_json(client):
    events = await collect(
        client,
        {"model": MODEL, "input": "a film", "text": json_schema_format(NESTED_SCHEMA)},
    )
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == text_of(events[-1].response)
    assert schema_errors(json.loads(deltas), NESTED_SCHEMA) == []


def test_json_schema_answer_to_a_function_output_is_json_too(backend):
    asked = create(backend, input="get_weather in Paris", tools=[WEATHER])
    call_id = asked["output"][0]["call_id"]
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    answer = create(
        backend,
        input=[{"type": "function_call_output", "call_id": call_id, "output": "sunny"}],
        previous_response_id=asked["id"],
        tools=[WEATHER],
        text=json_schema_format(schema),
    )
    assert schema_errors(json.loads(text_of(answer)), schema) == []


def test_json_schema_with_references_and_recursion(backend):
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                },
                "required": ["label", "children", "next"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    }
    value = json.loads(text_of(create(backend, input="a tree", text=json_schema_format(schema))))
    assert schema_errors(value, schema) == []
    assert value["children"]  # not just the empty minimum at the top


@pytest.mark.parametrize(
    ("schema", "what"),
    [
        ({"type": "string", "pattern": "^[A-Z]{3}$"}, "pattern"),
        ({"type": "object", "properties": {"a": {"not": {"type": "null"}}}}, "not"),
        ({"type": "array", "contains": {"type": "integer"}}, "contains"),
        ({"type": "integer", "minimum": 5, "maximum": 4}, "no allowed value"),
        ({"type": "array", "items": {"type": "boolean"}, "minItems": 3, "uniqueItems": True}, ""),
        ({"$ref": "https://example.com/schema.json"}, "$ref"),
    ],
)
def test_a_schema_it_cannot_satisfy_is_refused_not_faked(backend, schema, what):
    error = refused(backend, input="x", text=json_schema_format(schema))
    assert (error["code"], error["param"]) == ("unsupported_parameter", "text.format.schema")
    assert what in error["message"]


@pytest.mark.parametrize(
    ("fmt", "param"),
    [
        ({"type": "json_schema", "schema": {"type": "object"}}, "text.format.name"),
        ({"type": "json_schema", "name": "x"}, "text.format.schema"),
        ({"type": "json_schema", "name": "has space", "schema": {}}, "text.format.name"),
        ({"type": "json_schema", "name": "x", "schema": "object"}, "text.format.schema"),
    ],
)
def test_malformed_json_schema_format_is_400(backend, fmt, param):
    assert refused(backend, input="x", text={"format": fmt})["param"] == param


def test_json_object_gives_a_json_object_when_asked_for_json(backend):
    response = create(
        backend, input="Answer in JSON please.", text={"format": {"type": "json_object"}}
    )
    value = json.loads(text_of(response))
    assert isinstance(value, dict) and value["offline_backend"] is True
    error = refused(backend, input="no magic word", text={"format": {"type": "json_object"}})
    assert error["param"] == "input"
    assert "json" in error["message"]


def test_json_object_counts_json_in_the_instructions(backend):
    response = create(
        backend,
        input="hello",
        instructions="Reply with a JSON object.",
        text={"format": {"type": "json_object"}},
    )
    assert isinstance(json.loads(text_of(response)), dict)


# A strategy for the schemas the generator promises to satisfy.
_NAMES = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.text(alphabet=string.ascii_letters, max_size=4),
)


@st.composite
def _number_schema(draw, kind: str) -> dict:
    schema: dict[str, Any] = {"type": kind}
    step = draw(
        st.sampled_from(
            [None, 1, 2, 5, 0.5, 2.5] if kind == "integer" else [None, 0.5, 0.25, 0.1, 3]
        )
    )
    if step is not None:
        schema["multipleOf"] = step
    # wide enough to hold an allowed value strictly inside (integers: multiples of p for p/q)
    unit = Fraction(str(step or 1)).numerator if kind == "integer" else (step or 1)
    width = unit * draw(st.integers(2, 6))
    low = draw(
        st.one_of(st.none(), st.integers(-50, 50), st.floats(-50, 50).map(lambda f: round(f, 2)))
    )
    if low is not None:
        key = draw(st.sampled_from(["minimum", "exclusiveMinimum"]))
        schema[key] = low
    if draw(st.booleans()):
        high = (low if low is not None else draw(st.integers(-50, 50))) + width
        schema[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = high
    return schema


@st.composite
def _string_schema(draw) -> dict:
    if draw(st.booleans()):
        return {"type": "string", "format": draw(st.sampled_from(sorted(FORMATS)))}
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.one_of(st.none(), st.integers(0, 12)))
    if low is not None:
        schema["minLength"] = low
    if draw(st.booleans()):
        schema["maxLength"] = (low or 0) + draw(st.integers(2, 10))
    return schema


_LEAVES = st.one_of(
    _string_schema(),
    _number_schema("integer"),
    _number_schema("number"),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(_SCALARS, min_size=1, max_size=4, unique_by=json.dumps).map(lambda v: {"enum": v}),
    _SCALARS.map(lambda v: {"const": v}),
    st.just({}),
)


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    @st.composite
    def obj(draw, prefix: str = "", closed: bool | None = None) -> dict:
        names = st.builds(lambda n: prefix + n, _NAMES)
        props = draw(st.dictionaries(names, children, max_size=4))
        required = [n for n in props if draw(st.booleans())]
        schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        if closed if closed is not None else draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arr(draw) -> dict:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    @st.composite
    def narrowed(draw) -> dict:
        """A closed object, and a second schema that requires some of its properties."""
        base = draw(obj(closed=True))
        required = [n for n in base["properties"] if draw(st.booleans())]
        return {"allOf": [base, {"required": required, "minProperties": len(required)}]}

    unique = st.builds(
        lambda low, items: {"type": "array", "items": items, "minItems": low, "uniqueItems": True},
        st.integers(0, 4),
        st.sampled_from([{"type": "string"}, {"type": "integer", "minimum": 3}]),
    )
    nullable = children.map(lambda c: {"anyOf": [c, {"type": "null"}]})
    both = st.tuples(obj("l_", False), obj("r_", False)).map(lambda p: {"allOf": list(p)})
    # a closed side forbids what the other side only offers
    closing = st.tuples(obj("l_", True), obj("r_", False)).map(
        lambda p: {"allOf": [p[0], {**p[1], "required": []}]}
    )
    bounds = st.tuples(st.integers(-20, 20), st.integers(-20, 20)).map(
        lambda p: {
            "allOf": [
                {"type": "integer", "minimum": p[0], "maximum": max(p) + 3},
                {"minimum": p[1], "maximum": max(p) + 5},
            ]
        }
    )
    return st.one_of(obj(), arr(), unique, nullable, both, closing, narrowed(), bounds)


SCHEMAS = st.recursive(_LEAVES, _extend, max_leaves=12)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEMAS)
def test_generated_values_validate_against_generated_schemas(schema):
    value = json_value(schema)
    assert schema_errors(value, schema) == [], (schema, value)
    assert json_value(schema) == value  # deterministic
    json.dumps(value)  # plain JSON


@settings(max_examples=examples(25), deadline=None)
@given(st.dictionaries(_NAMES, SCHEMAS, max_size=3))
def test_backend_answers_generated_object_schemas(properties):
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    backend = OfflineBackend(BackendStore(None), IdFactory(1))
    response = create(backend, input="x", text=json_schema_format(schema))
    assert schema_errors(json.loads(text_of(response)), schema) == []


def test_generator_refuses_rather_than_guesses():
    for schema in (
        {"type": "string", "pattern": "a+"},
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        {"type": "object", "required": ["a"], "additionalProperties": False},
        {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]},
        {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1},
    ):
        with pytest.raises(Unsupported):
            json_value(schema)
    assert json_value({"oneOf": [{"type": "string"}, {"type": "integer"}]}) == "offline"


# ---------------------------------------------------------------- 3d. tool_choice


def kinds(response: dict) -> list[str]:
    return [item["type"] for item in response["output"]]


def test_required_calls_a_function_even_when_not_named(backend):
    plain = create(backend, input="what is the weather like", tools=[WEATHER])
    assert kinds(plain) == ["message"]
    forced = create(
        backend, input="what is the weather like", tools=[WEATHER], tool_choice="required"
    )
    assert kinds(forced) == ["function_call"]
    assert forced["output"][0]["name"] == "get_weather"
    assert json.loads(forced["output"][0]["arguments"]) == {"city": "what is the weather like"}


def test_required_prefers_the_tool_the_text_names(backend):
    response = create(
        backend, input="please lookup this", tools=[WEATHER, LOOKUP], tool_choice="required"
    )
    assert response["output"][0]["name"] == "lookup"


def test_required_with_an_mcp_tool_makes_an_mcp_call(backend):
    response = create(backend, input="anything at all", tools=[DEEPWIKI], tool_choice="required")
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    assert response["output"][1]["name"] == "search"  # the first tool the server offers
    asking = {**DEEPWIKI, "require_approval": "always"}
    response = create(backend, input="anything at all", tools=[asking], tool_choice="required")
    assert kinds(response) == ["mcp_list_tools", "mcp_approval_request"]


def test_a_named_function_is_called_whatever_the_text_says(backend):
    response = create(
        backend,
        input="get_weather please",
        tools=[WEATHER, LOOKUP],
        tool_choice={"type": "function", "name": "lookup"},
    )
    assert kinds(response) == ["function_call"]
    assert response["output"][0]["name"] == "lookup"
    assert response["tool_choice"] == {"type": "function", "name": "lookup"}


def test_a_named_mcp_tool_is_called(backend):
    tool_choice = {"type": "mcp", "server_label": "deepwiki", "name": "fetch"}
    response = create(backend, input="hello", tools=[DEEPWIKI], tool_choice=tool_choice)
    assert kinds(response) == ["mcp_list_tools", "mcp_call", "message"]
    assert response["output"][1]["name"] == "fetch"


def test_allowed_tools_narrows_the_choice(backend):
    allowed = {
        "type": "allowed_tools",
        "mode": "auto",
        "tools": [{"type": "function", "name": "lookup"}],
    }
    auto = create(backend, input="get_weather now", tools=[WEATHER, LOOKUP], tool_choice=allowed)
    assert kinds(auto) == ["message"]  # the named tool is not allowed
    required = create(
        backend,
        input="get_weather now",
        tools=[WEATHER, LOOKUP],
        tool_choice={**allowed, "mode": "required"},
    )
    assert [i["name"] for i in required["output"]] == ["lookup"]


def test_a_forced_choice_calls_again_after_a_function_output(backend):
    asked = create(backend, input="get_weather", tools=[WEATHER])
    answer = {
        "type": "function_call_output",
        "call_id": asked["output"][0]["call_id"],
        "output": "sunny",
    }
    again = create(
        backend,
        input=[answer],
        previous_response_id=asked["id"],
        tools=[WEATHER],
        tool_choice="required",
    )
    assert kinds(again) == ["function_call"]
    auto = create(backend, input=[answer], previous_response_id=asked["id"], tools=[WEATHER])
    assert kinds(auto) == ["message"]


@pytest.mark.parametrize(
    ("tools", "tool_choice"),
    [
        ([], "required"),
        ([WEATHER], {"type": "function", "name": "missing"}),
        ([DEEPWIKI], {"type": "mcp", "server_label": "other"}),
        ([DEEPWIKI], {"type": "mcp", "server_label": "deepwiki", "name": "not_offered"}),
        (
            [WEATHER],
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "x"}],
            },
        ),
    ],
)
def test_a_choice_of_a_tool_not_sent_is_400(backend, tools, tool_choice):
    assert (
        refused(backend, input="x", tools=tools, tool_choice=tool_choice)["param"] == "tool_choice"
    )


# ---------------------------------------------------------------- 3e. created_at


def test_created_at_is_integer_seconds_and_ties_keep_their_order_in_the_list(tmp_path):
    backend = offline_backend(tmp_path / "b", seed=1)
    backend.clock = lambda: T0 + 0.75
    first = create(backend, input="one")
    second = create(backend, input="two")
    assert type(first["created_at"]) is int and type(first["completed_at"]) is int
    assert first["created_at"] == second["created_at"] == T0  # a tie, as on every server
    assert first["completed_at"] >= first["created_at"]
    listed = json.loads(backend.handle("GET", "/v1/responses", {}, b"").body)["data"]
    assert [r["id"] for r in listed] == [second["id"], first["id"]]  # newest first


def test_created_at_is_an_integer_on_the_wire(backend):
    answer = backend.handle(
        "POST", "/v1/responses", {}, json.dumps({"model": MODEL, "input": "x"}).encode()
    )
    assert re.search(rb'"created_at": \d+,', answer.body)
    assert re.search(rb'"completed_at": \d+,', answer.body)


# ---------------------------------------------------------------- 4. usage


def test_usage_counts_tokens_in_openai_naming(backend):
    response = create(backend, input="one two three four five")  # 23 characters
    answer = tokens(text_of(response))
    assert response["usage"] == {
        "input_tokens": 6,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": answer,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 6 + answer,
    }


def test_usage_counts_earlier_turns_and_call_arguments(backend):
    first = create(backend, input="alpha beta")
    second = create(backend, input="gamma", previous_response_id=first["id"])
    assert second["usage"]["input_tokens"] == 3 + 2
    called = create(backend, input="get_weather in Rome", tools=[WEATHER])
    arguments = called["output"][0]["arguments"]
    assert called["usage"]["output_tokens"] == tokens(arguments)


async def test_usage_of_a_stream_matches_the_plain_answer(tmp_path):
    usages = []
    for name, stream in (("a", False), ("b", True)):
        backend = offline_backend(tmp_path / name, seed=1)
        async with make_client(LOCAL, {}, backend=backend) as client:
            body = {"model": MODEL, "input": "count these words"}
            if stream:
                usages.append((await collect(client, body))[-1].response["usage"])
            else:
                usages.append((await client.create(body))["usage"])
    assert usages[0] == usages[1]


def test_the_backend_storage_refuses_an_id_with_a_trailing_newline():
    from tui.local.storage import safe_id

    assert safe_id("resp_x") and not safe_id("resp_x\n") and not safe_id("../x")
