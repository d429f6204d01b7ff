"""Issue 15, point 1: run settings are a per-branch setting. The pure table
(tui/run_settings.py), every field reaching the request body, inheritance across reply, fork,
edit, regenerate and replay, and GET /models (offline backend, none, hostile)."""

from __future__ import annotations

import json

import httpx
import pytest
from client_kit import Server
from test_replay import Recording
from ui_helpers import LOCAL, SERVER

from tui import run_settings as rs
from tui.api.client import MAX_MODEL_ID, MAX_MODELS, ResponsesClient
from tui.api.errors import EndpointNotSupported, ProtocolError
from tui.ops.connect import offline_backend
from tui.ops.conversation import plan_sibling, plan_turn, send_turn, settings_of
from tui.store.index import Index

SCHEMA = {
    "name": "city",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    },
}
EVERY = {
    "model": "offline-echo-2",
    "instructions": "Answer in French.",
    "temperature": 1.2,
    "top_p": 0.5,
    "reasoning": {"effort": "high", "summary": "concise"},
    "max_output_tokens": 400,
    "text": {"format": {"type": "json_schema", **SCHEMA}},
    "metadata": {"team": "lab", "run": "7"},
}


# ------------------------------------------------------------------ checks


@pytest.mark.parametrize(
    ("check", "value", "why"),
    [
        (rs.check_temperature, "2.5", "must be between 0 and 2"),
        (rs.check_temperature, "-0.1", "must be between 0 and 2"),
        (rs.check_temperature, "hot", "'hot' is not a number"),
        (rs.check_temperature, "nan", "not a number"),
        (rs.check_top_p, "1.01", "must be between 0 and 1"),
        (rs.check_max_output_tokens, "0", "must be a whole number above 0"),
        (rs.check_max_output_tokens, "12.5", "must be a whole number above 0"),
        (rs.check_max_output_tokens, True, "must be a whole number above 0"),
    ],
)
def test_numbers_out_of_range_are_refused(check, value, why):
    with pytest.raises(rs.SettingError) as caught:
        check(value)
    assert caught.value.why == why


def test_numbers_in_range_are_taken():
    assert rs.check_temperature("0") == 0.0 and rs.check_temperature(2) == 2.0
    assert rs.check_top_p(" 0.25 ") == 0.25
    assert rs.check_max_output_tokens("1_000") == 1000


def test_reasoning_effort_and_summary_are_one_of_the_api_values():
    assert rs.check_reasoning("minimal", "auto") == {"effort": "minimal", "summary": "auto"}
    assert rs.check_reasoning("none", "") == {"effort": "none"}
    assert rs.check_reasoning("", "") is None
    with pytest.raises(rs.SettingError, match="effort is one of none, minimal"):
        rs.check_reasoning("extreme", None)
    with pytest.raises(rs.SettingError, match="summary is one of auto"):
        rs.check_reasoning("low", "long")


def test_metadata_is_at_most_16_string_pairs_of_the_api_sizes():
    assert rs.check_metadata("a: 1\n\nb : two words ") == {"a": "1", "b": "two words"}
    assert rs.check_metadata("") is None
    too_many = "\n".join(f"k{n}: v" for n in range(17))
    for text, why in [
        (too_many, "at most 16 keys"),
        ("novalue", "line 1: write it as 'key: value'"),
        ("a: 1\na: 2", "line 2: 'a' twice"),
        ("k" * 65 + ": v", "a key is at most 64 characters"),
        ("k: " + "v" * 513, "the value of 'k' is over 512"),
    ]:
        with pytest.raises(rs.SettingError) as caught:
            rs.check_metadata(text)
        assert caught.value.why == why and caught.value.field == "metadata"
    with pytest.raises(rs.SettingError):
        rs.check_metadata({"a": 1})


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "the schema is not JSON"),
        ("[1]", "the schema is not a JSON object"),
        ('{"schema": {}}', 'the schema needs a "name"'),
        ('{"name": "a b", "schema": {}}', "the name is letters, digits"),
        ('{"name": "city", "schema": 3}', 'its "schema" must be a JSON object'),
    ],
)
def test_a_json_schema_must_be_an_object_with_a_name(text, why):
    with pytest.raises(rs.SettingError) as caught:
        rs.check_schema(text)
    assert caught.value.why.startswith(why) and caught.value.field == "text"
    assert str(caught.value).startswith("Text format: ")


def test_a_json_schema_becomes_the_text_format():
    assert rs.text_format("json_schema", json.dumps(SCHEMA)) == EVERY["text"]
    assert rs.text_format("json_object") == {"format": {"type": "json_object"}}
    assert rs.text_format("text") is None


def test_the_form_values_round_trip_and_name_each_problem():
    values = rs.FormValues.of(EVERY)
    settings, problems = values.settings()
    assert not problems
    assert settings == {**EVERY, "store": None}
    values.temperature, values.max_output_tokens, values.store = "3", "-1", False
    settings, problems = values.settings()
    assert problems == {
        "temperature": "must be between 0 and 2",
        "max_output_tokens": "must be a whole number above 0",
    }
    assert settings["store"] is False
    empty, problems = rs.FormValues().settings()
    assert not problems and set(empty.values()) == {None}


# ------------------------------------------------------------------ reading, writing, words


def test_reading_leaves_out_echoed_defaults_and_odd_values():
    echoed = {
        "model": "m",
        "temperature": 1.0,
        "top_p": "high",
        "max_output_tokens": -3,
        "metadata": {},
        "store": True,
        "text": {"format": {"type": "text"}},
        "instructions": 7,
    }
    assert rs.read(echoed) == {"model": "m"}
    assert rs.read({"store": False, "max_output_tokens": 16}) == {
        "store": False,
        "max_output_tokens": 16,
    }
    assert rs.read("nonsense") == {}


def test_writing_sets_and_takes_out():
    body = {"model": "a", "temperature": 0.3, "instructions": "x"}
    rs.write(body, {"temperature": None, "top_p": 0.9, "store": True, "tools": [{"type": "x"}]})
    assert body == {"model": "a", "instructions": "x", "top_p": 0.9, "tools": [{"type": "x"}]}
    rs.write(body, {"store": False})
    assert body["store"] is False


def test_differences_say_what_changed_briefly():
    parent = {"model": "a", "temperature": 0.5, "instructions": "Be brief."}
    child = {**parent, "model": "b", "temperature": 1.2, "max_output_tokens": 500}
    assert rs.differences(parent, child) == "model: b · temperature 1.2 · max 500 tokens"
    assert rs.differences(parent, child, skip=("model",)) == "temperature 1.2 · max 500 tokens"
    assert rs.differences(parent, parent) == ""
    assert rs.differences(parent, {"model": "a"}) == "no instructions · temperature default"
    assert rs.differences({}, {"store": False, "text": EVERY["text"]}) == (
        "not stored · JSON schema city"
    )
    hostile = {"model": "x\x1b[31mred\nline", "instructions": "a\nb\x07"}
    said = rs.differences({}, hostile)
    assert "\x1b" not in said and "\n" not in said and "\x07" not in said


def test_changes_are_what_the_form_changes_in_the_inherited_settings():
    base = {"model": "a", "temperature": 0.5}
    chosen = {key: None for key in rs.KEYS} | {"model": "a", "top_p": 0.2, "store": True}
    assert rs.changes(base, chosen) == {"temperature": None, "top_p": 0.2}


# ------------------------------------------------------------------ reaching the wire


@pytest.fixture
def world(tmp_path):
    backend = offline_backend(tmp_path / "backend", seed=3)
    wire = Recording(backend)
    client = ResponsesClient(LOCAL, env={}, transport=wire)
    with Index.open(tmp_path / "index") as index:
        yield index, client, wire


async def send(index, client, plan):
    result = await send_turn(client, index, plan, server=SERVER, profile="local")
    assert result.ok, result.error
    return result.summary.id


def sent(wire) -> dict:
    body = wire.bodies[-1]
    return {key: body.get(key) for key in rs.KEYS if key in body}


async def test_every_field_reaches_the_request_and_the_branch_inherits_it(world):
    index, client, wire = world
    async with client:
        plan = plan_turn(
            index, SERVER, text="first", parent=None, default_model="offline-echo",
            overrides={**EVERY, "store": False},
        )  # fmt: skip
        root = await send(index, client, plan)
        assert sent(wire) == {**EVERY, "store": False}
        # A reply inherits all but store (a reply to a turn not stored is stored).
        reply = await send(
            index, client, plan_turn(index, SERVER, text="more", parent=root, default_model="d")
        )
        assert sent(wire) == EVERY
        assert plan_turn(index, SERVER, text="x", parent=reply, default_model="d").replayed == 0
        # A fork from the root: the same.
        plan = plan_turn(index, SERVER, text="other", parent=root, default_model="d")
        assert plan.kind == "fork"
        await send(index, client, plan)
        assert sent(wire) == EVERY
        # The reply was replayed (its parent is not stored): the settings came along.
        assert wire.bodies[-1].get("previous_response_id") is None
        # Edit and regenerate of the reply: its settings.
        await send(
            index, client, plan_sibling(index, SERVER, reply, text="edited", default_model="d")
        )
        assert sent(wire) == EVERY
        await send(index, client, plan_sibling(index, SERVER, reply, text=None, default_model="d"))
        assert sent(wire) == EVERY


async def test_overrides_apply_to_one_send_then_are_inherited(world):
    index, client, wire = world
    async with client:
        root = await send(
            index, client,
            plan_turn(index, SERVER, text="a", parent=None, default_model="offline-echo",
                      overrides={"temperature": 0.3, "instructions": "Be brief."}),
        )  # fmt: skip
        changed = {"temperature": 1.5, "instructions": None, "max_output_tokens": 300}
        # Edit and regenerate carry the overrides too.
        edit = plan_sibling(index, SERVER, root, text="b", default_model="d", overrides=changed)
        assert sent_of(edit) == {
            "model": "offline-echo",
            "temperature": 1.5,
            "max_output_tokens": 300,
        }
        regen = plan_sibling(index, SERVER, root, text=None, default_model="d", overrides=changed)
        assert sent_of(regen) == sent_of(edit)
        reply = await send(
            index, client,
            plan_turn(index, SERVER, text="c", parent=root, default_model="d", overrides=changed),
        )  # fmt: skip
        assert sent(wire) == {"model": "offline-echo", "temperature": 1.5, "max_output_tokens": 300}
        assert settings_of(index, SERVER, reply) == {
            "model": "offline-echo",
            "temperature": 1.5,
            "max_output_tokens": 300,
        }
        # The root's own settings are untouched: a second reply to it gets them.
        again = plan_turn(index, SERVER, text="d", parent=root, default_model="d")
        assert sent_of(again) == {
            "model": "offline-echo",
            "temperature": 0.3,
            "instructions": "Be brief.",
        }


def sent_of(plan) -> dict:
    return {key: plan.body[key] for key in rs.KEYS if key in plan.body}


async def test_the_echoed_settings_of_an_imported_turn_are_inherited(world):
    index, client, _ = world
    async with client:
        response = await client.create(
            {
                "model": "offline-echo",
                "input": "hi",
                "metadata": {"a": "b"},
                "max_output_tokens": 99,
            }
        )
    index.add_response(response, server=SERVER, profile="local", input_items=None)
    assert settings_of(index, SERVER, response["id"]) == {
        "model": "offline-echo",
        "metadata": {"a": "b"},
        "max_output_tokens": 99,
    }


# ------------------------------------------------------------------ GET /models


async def test_the_offline_backend_lists_its_model(world):
    _, client, _ = world
    async with client:
        assert await client.list_models() == ["offline-echo"]


async def test_a_server_without_models_says_so_once():
    server = Server(httpx.Response(404, json={"error": {"message": "Unknown endpoint"}}))
    async with server.client() as client:
        with pytest.raises(EndpointNotSupported, match="cannot list its models"):
            await client.list_models()
        with pytest.raises(EndpointNotSupported):
            await client.list_models()
    assert len(server.requests) == 1
    assert server.paths == ["/v1/models"]


async def test_a_hostile_models_payload_is_bounded_and_cleaned():
    data = [
        {"id": "good-model"},
        {"id": "evil\x1b[31m"},
        {"id": " padded "},
        {"id": "x" * (MAX_MODEL_ID + 1)},
        {"id": 7},
        "nonsense",
        {"id": "good-model"},
    ] + [{"id": f"m{n:05d}"} for n in range(MAX_MODELS * 3)]
    server = Server(httpx.Response(200, json={"object": "list", "data": data}))
    async with server.client() as client:
        models = await client.list_models()
    assert models[0] == "good-model" and len(models) == MAX_MODELS
    assert all(m.isprintable() and len(m) <= MAX_MODEL_ID and m.strip() == m for m in models)
    for payload in ({"data": "x"}, [1, 2]):
        server = Server(httpx.Response(200, json=payload))
        async with server.client() as client:
            with pytest.raises(ProtocolError, match="models: expected a list"):
                await client.list_models()


# ------------------------------------------------------------------ the transcript's line


def test_the_transcript_says_what_each_turn_changed_from_its_parent():
    from tui.ui.transcript import settings_notes

    def turn(request):
        return (None, {"request": request, "response": {}}, False)

    root = turn({"model": "a", "instructions": "Be brief.", "store": False})
    same = turn({"model": "a", "instructions": "Be brief."})
    hotter = turn({"model": "b", "instructions": "Be brief.", "temperature": 1.4})
    hostile = turn({"model": "b", "temperature": 1.4, "instructions": "x\x1b[2J\ny"})
    turns = [root, same, hotter, hostile]
    # The root: what it set (the model and store are in its header); then what changed.
    assert settings_notes(turns, 4) == [
        "instructions: Be brief.",
        "",
        "temperature 1.4",
        "instructions: x y",
    ]
    assert settings_notes(turns, 2) == ["temperature 1.4", "instructions: x y"]
    # A parent whose body was not read (far up a long path) says nothing.
    assert settings_notes([(None, {}, False), hotter], 1) == [""]


def test_the_offline_backend_routes_models_with_or_without_v1(tmp_path):
    backend = offline_backend(tmp_path / "b", seed=1)
    for path in ("/models", "/v1/models"):
        answer = backend.handle("GET", path)
        assert answer.status == 200
        assert [m["id"] for m in json.loads(answer.body)["data"]] == ["offline-echo"]
    assert backend.handle("POST", "/v1/models").status == 405
