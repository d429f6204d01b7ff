"""`tui.ops.importer`: the walk up a chain of responses on a server (against an in-memory
stand-in for the client), the one-line report of an import, the trimming of whole-history
input items, and the checks and writes of `import --file`."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tui.api.errors import EndpointNotSupported, NotFoundError, ProtocolError, ServerError
from tui.ops import importer
from tui.ops.importer import (
    ImportFileResult,
    ImportResult,
    describe_import,
    import_chain,
    import_export_file,
    own_input,
    parent_output,
    validate_export,
)
from tui.store.index import Index
from tui.store.records import Status

SERVER = "http://local.test/v1"
T = 1_790_000_000.0


def message(text: str, role: str = "assistant", mid: str | None = None) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    item: dict[str, Any] = {"type": "message", "role": role}
    if mid is not None:
        item["id"] = mid
    item["content"] = [{"type": kind, "text": text}]
    return item


def said(text: str) -> list[dict[str, Any]]:
    return [message(text, role="user")]


def response(rid: str, parent: str | None = None, text: str | None = None, **fields: Any):
    body: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": T,
        "status": "completed",
        "model": "m",
        "output": [message(text if text is not None else f"answer {rid}", mid=f"msg_{rid}")],
        "previous_response_id": parent,
    }
    body.update(fields)
    return body


class FakeClient:
    """What `import_chain` asks of a client: retrieve, list_input_items, secrets."""

    def __init__(
        self,
        responses: list[dict],
        inputs: dict[str, list] | None = None,
        *,
        input_items: bool = True,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.responses = {r["id"]: r for r in responses}
        self.inputs = (
            inputs if inputs is not None else {r["id"]: said(f"q {r['id']}") for r in responses}
        )
        self.input_items = input_items
        self._secrets = list(secrets)
        self.calls: list[tuple[str, str]] = []

    async def retrieve(self, rid: str) -> dict:
        self.calls.append(("retrieve", rid))
        if rid not in self.responses:
            raise NotFoundError(f"retrieve {rid}: not found", status=404)
        return copy.deepcopy(self.responses[rid])

    async def list_input_items(self, rid: str) -> list:
        self.calls.append(("input_items", rid))
        if not self.input_items:
            raise EndpointNotSupported("no input items here", endpoint="input_items")
        if rid not in self.inputs:
            raise NotFoundError(f"input items of {rid}: not found", status=404)
        return copy.deepcopy(self.inputs[rid])

    def secrets(self) -> list[str]:
        return list(self._secrets)


@pytest.fixture
def index(tmp_path):
    with Index.open(tmp_path / "index") as idx:
        yield idx


async def run(client: FakeClient, index: Index, rid: str, **kw: Any) -> ImportResult:
    return await import_chain(client, index, server=SERVER, profile="prof", response_id=rid, **kw)


def chain(n: int) -> list[dict]:
    """r1 <- r2 <- ... <- rn."""
    return [response(f"r{k}", f"r{k - 1}" if k > 1 else None) for k in range(1, n + 1)]


# ---------------------------------------------------------------- walking the chain


async def test_a_chain_is_imported_root_first_with_its_inputs(index):
    client = FakeClient(chain(3))
    seen: list[tuple[int, str]] = []
    result = await run(client, index, "r3", progress=lambda n, rid: seen.append((n, rid)))
    assert result == ImportResult(requested="r3", imported=["r1", "r2", "r3"], root_by_echo="r1")
    assert seen == [(1, "r3"), (2, "r2"), (3, "r1")]
    assert client.calls == [
        ("retrieve", "r3"),
        ("input_items", "r3"),
        ("retrieve", "r2"),
        ("input_items", "r2"),
        ("retrieve", "r1"),
        ("input_items", "r1"),
    ]
    for rid, parent in (("r1", None), ("r2", "r1"), ("r3", "r2")):
        node = index.get(SERVER, rid)
        assert (node.parent, node.profile, node.status, node.ancestor_missing) == (
            parent,
            "prof",
            Status.STORED,
            False,
        )
        body = index.load_body(SERVER, rid)
        assert body["response"] == client.responses[rid]
        assert body["input"] == said(f"q {rid}")
    assert describe_import(result) == (
        "r3: imported 3 responses; r1 is a root: the server names no previous response for it"
    )


async def test_the_walk_stops_at_a_known_ancestor_whose_input_is_recorded(index):
    client = FakeClient(chain(3))
    index.add_response(client.responses["r1"], server=SERVER, profile="old", input_items=said("x"))
    result = await run(client, index, "r3")
    assert result == ImportResult(requested="r3", imported=["r2", "r3"], reused="r1")
    assert ("retrieve", "r1") not in client.calls
    assert index.load_body(SERVER, "r1")["input"] == said("x")
    assert not index.get(SERVER, "r2").ancestor_missing
    assert describe_import(result) == "r3: imported 2 responses; joined the known ancestor r1"


async def test_a_known_ancestor_without_recorded_input_is_fetched_again(index):
    client = FakeClient(chain(2))
    index.add_response(client.responses["r1"], server=SERVER, profile="old", input_items=None)
    result = await run(client, index, "r2")
    assert result.imported == ["r1", "r2"] and result.reused is None
    assert index.load_body(SERVER, "r1")["input"] == said("q r1")


async def test_the_requested_response_is_fetched_even_when_known(index):
    client = FakeClient(chain(1))
    index.add_response(client.responses["r1"], server=SERVER, profile="old", input_items=said("x"))
    result = await run(client, index, "r1")
    assert result.imported == ["r1"] and result.reused is None
    assert index.load_body(SERVER, "r1")["input"] == said("q r1")


async def test_an_ancestor_gone_from_the_server_marks_the_top_of_the_chain(index):
    client = FakeClient(chain(4)[1:])  # r1 is gone
    result = await run(client, index, "r4")
    assert result == ImportResult(
        requested="r4", imported=["r2", "r3", "r4"], missing_ancestor="r1"
    )
    assert [index.get(SERVER, rid).ancestor_missing for rid in ("r2", "r3", "r4")] == [
        True,
        False,
        False,
    ]
    assert describe_import(result) == (
        "r4: imported 3 responses; ancestor r1 is gone from the server"
    )


async def test_a_response_whose_server_names_a_parent_is_never_called_a_root(index):
    """Even when the index, from what we sent, knows no parent for it."""
    index.add_response(response("r2"), server=SERVER, profile="p", request={"model": "m"})
    client = FakeClient([response("r2", "r1")])  # r1 is gone
    result = await run(client, index, "r2")
    assert result == ImportResult(requested="r2", imported=["r2"], missing_ancestor="r1")
    assert describe_import(result) == "r2: imported 1 response; ancestor r1 is gone from the server"


async def test_an_unknown_requested_response_raises_and_stores_nothing(index):
    client = FakeClient(chain(1))
    with pytest.raises(NotFoundError):
        await run(client, index, "r9")
    assert len(index) == 0


async def test_a_chain_that_loops_stops_where_it_meets_itself(index):
    client = FakeClient([response("ra", "rb"), response("rb", "rc"), response("rc", "rb")])
    result = await run(client, index, "ra")
    assert result == ImportResult(requested="ra", imported=["rc", "rb", "ra"], cycle_at="rb")
    assert index.get(SERVER, "rc").ancestor_missing
    assert describe_import(result) == (
        "ra: imported 3 responses; stopped: the server's chain loops back to rb"
    )


@pytest.mark.parametrize(("length", "capped"), [(2, False), (3, False), (4, True), (9, True)])
async def test_the_walk_stops_after_max_chain_responses(index, monkeypatch, length, capped):
    monkeypatch.setattr(importer, "MAX_CHAIN", 3)
    client = FakeClient(chain(length))
    result = await run(client, index, f"r{length}")
    assert result.capped is capped
    kept = [f"r{k}" for k in range(max(1, length - 2), length + 1)]
    assert result.imported == kept
    assert index.get(SERVER, kept[0]).ancestor_missing is capped
    assert result.root_by_echo == (None if capped else "r1")


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


@pytest.mark.parametrize(("late", "capped"), [(3600.0, False), (3600.5, True)])
async def test_the_walk_stops_after_an_hour(index, late, capped):
    client = FakeClient(chain(3))
    # Asked once for the deadline, then before each response.
    result = await run(client, index, "r3", clock=Clock(0.0, 1.0, 2.0, late))
    assert result.capped is capped
    assert result.imported == (["r2", "r3"] if capped else ["r1", "r2", "r3"])


async def test_a_walk_stopped_before_any_response_imports_nothing(index):
    client = FakeClient(chain(2))
    result = await run(client, index, "r2", clock=Clock(0.0, 3601.0))
    assert result == ImportResult(requested="r2", capped=True)
    assert len(index) == 0 and client.calls == []
    assert describe_import(result) == (
        "r2: imported 0 responses; stopped after 0 responses (at most 100,000, 60 minutes)"
    )


@pytest.mark.parametrize(
    "answer",
    [
        response("r_other"),
        response("r1", "bad id"),
        response("r1", "r\x1b[2J"),
        response("r1", 7),
        {**response("r1"), "id": None},
    ],
)
async def test_an_answer_for_another_id_or_with_a_bad_parent_is_a_protocol_error(index, answer):
    client = FakeClient([])
    client.responses["r1"] = answer
    with pytest.raises(ProtocolError) as caught:
        await run(client, index, "r1")
    assert str(caught.value) == (
        "retrieve r1: the server answered with an id that is not the one asked for, or not an id"
    )
    assert len(index) == 0


async def test_the_protocol_error_names_a_long_id_in_60_characters(index):
    rid = "r" * 70
    client = FakeClient([])
    client.responses[rid] = response("other")
    with pytest.raises(ProtocolError) as caught:
        await run(client, index, rid)
    assert str(caught.value).startswith(f"retrieve {'r' * 59}…: the server answered")


@pytest.mark.parametrize("parent", [None, ""])
async def test_an_empty_parent_is_a_root(index, parent):
    client = FakeClient([response("r1", parent)])
    result = await run(client, index, "r1")
    assert result.imported == ["r1"] and result.root_by_echo == "r1"
    assert client.calls == [("retrieve", "r1"), ("input_items", "r1")]


async def test_other_server_errors_end_the_import_with_nothing_stored(index):
    class Failing(FakeClient):
        async def retrieve(self, rid: str) -> dict:
            if rid == "r1":
                raise ServerError("retrieve r1: the server failed (500)", status=500)
            return await super().retrieve(rid)

    with pytest.raises(ServerError):
        await run(Failing(chain(2)), index, "r2")
    assert len(index) == 0


# ---------------------------------------------------------------- input items


async def test_a_server_without_input_items_is_asked_once(index):
    client = FakeClient(chain(3), input_items=False)
    result = await run(client, index, "r3")
    assert result.inputs_unavailable
    assert [call for call in client.calls if call[0] == "input_items"] == [("input_items", "r3")]
    for rid in ("r1", "r2", "r3"):
        assert index.load_body(SERVER, rid)["input"] is None
        assert not index.get(SERVER, rid).input_recorded
    assert describe_import(result) == (
        "r3: imported 3 responses; input not recorded (the server cannot return input items); "
        "r1 is a root: the server names no previous response for it"
    )


async def test_input_recorded_earlier_is_kept_when_the_server_cannot_list_it(index):
    client = FakeClient(chain(2), input_items=False)
    index.add_response(client.responses["r2"], server=SERVER, profile="p", input_items=said("mine"))
    index.add_response(client.responses["r1"], server=SERVER, profile="p", input_items=None)
    result = await run(client, index, "r2")
    assert result.imported == ["r1", "r2"] and result.inputs_unavailable
    assert index.load_body(SERVER, "r2")["input"] == said("mine")


async def test_input_items_not_found_for_one_response_do_not_stop_asking(index):
    client = FakeClient(chain(3), inputs={"r1": said("one")})
    index.add_response(client.responses["r3"], server=SERVER, profile="p", input_items=said("3!"))
    result = await run(client, index, "r3")
    assert not result.inputs_unavailable
    assert [call[1] for call in client.calls if call[0] == "input_items"] == ["r3", "r2", "r1"]
    assert index.load_body(SERVER, "r3")["input"] == said("3!")  # the recorded copy
    assert index.load_body(SERVER, "r2")["input"] is None
    assert index.load_body(SERVER, "r1")["input"] == said("one")


async def test_what_the_server_echoes_of_a_secret_never_reaches_disk(index):
    secret = "sk-very-secret-1234"
    r1 = response("r1", text=f"your key is {secret}")
    client = FakeClient([r1], inputs={"r1": said(f"use {secret}")}, secrets=(secret, "abc"))
    await run(client, index, "r1")
    body = index.load_body(SERVER, "r1")
    assert body["response"]["output"][0]["content"][0]["text"] == "your key is ***"
    assert body["input"] == said("use ***")
    assert secret not in json.dumps(body)


# ---------------------------------------------------------------- whole-history input items


async def test_whole_history_input_items_are_trimmed_to_the_turns_own(index):
    r1, r2, r3 = chain(3)
    two = [*said("q r1"), message("answer r1", mid="msg_r1"), *said("q r2")]
    three = [*two, message("answer r2", mid="msg_r2"), *said("q r3")]
    client = FakeClient([r1, r2, r3], inputs={"r1": said("q r1"), "r2": two, "r3": three})
    result = await run(client, index, "r3")
    assert result.trimmed == 2 + 4
    for rid in ("r1", "r2", "r3"):
        assert index.load_body(SERVER, rid)["input"] == said(f"q {rid}")
    assert describe_import(result) == (
        "r3: imported 3 responses; dropped 6 input items that repeat earlier turns; "
        "r1 is a root: the server names no previous response for it"
    )


async def test_trimming_follows_the_parent_we_sent_when_the_server_echoes_none(index):
    """Llama Stack echoes no parent: the index knows r2 replies to r1 from what we sent."""
    r1 = response("r1")
    r2 = response("r2")  # no echo
    index.add_response(r1, server=SERVER, profile="p", input_items=said("q r1"))
    index.add_response(
        r2, server=SERVER, profile="p", input_items=None, request={"previous_response_id": "r1"}
    )
    history = [*said("q r1"), message("answer r1", mid="msg_r1"), *said("q r2")]
    client = FakeClient([r2], inputs={"r2": history})
    result = await run(client, index, "r2")
    assert result == ImportResult(requested="r2", imported=["r2"], trimmed=2)
    assert index.load_body(SERVER, "r2")["input"] == said("q r2")
    assert index.get(SERVER, "r2").parent == "r1"


async def test_input_items_are_kept_whole_when_the_parent_is_unknown(index):
    r2 = response("r2", "r1")
    history = [*said("q r1"), message("answer r1", mid="msg_r1"), *said("q r2")]
    client = FakeClient([r2], inputs={"r2": history})
    result = await run(client, index, "r2")
    assert result.trimmed == 0 and result.missing_ancestor == "r1"
    assert index.load_body(SERVER, "r2")["input"] == history


U1, U2 = said("one")[0], said("two")[0]
M1 = message("Paris.", mid="msg_1")


@pytest.mark.parametrize(
    ("output", "items", "own"),
    [
        (None, [U1, M1, U2], [U1, M1, U2]),  # the parent is unknown
        ([], [U1, M1, U2], [U1, M1, U2]),
        ([M1], [], []),
        ([M1], [U1, M1, U2], [U2]),  # after the parent's output, found by its id
        ([M1], [M1, U2], [U2]),
        ([M1], [U1, M1], []),
        ([M1], [M1, U1, M1, U2], [U2]),  # the last one counts
        ([M1], [U1, U2], [U1, U2]),  # not among the items
        # Found by the answer's text when the ids differ (or are missing).
        ([message("Paris.")], [U1, message(" Paris.\n", mid="other"), U2], [U2]),
        ([message(" Paris. ")], [message("Paris."), U2], [U2]),
        (
            [message("Paris.")],
            [U1, message("Paris.", role="user"), U2],
            [U1, message("Paris.", role="user"), U2],
        ),
        ([message("Paris.")], [U1, message("Rome."), U2], [U1, message("Rome."), U2]),
        # No answer text to go by, and an id that is not a string is no id.
        (
            [{"type": "function_call", "id": 5}],
            [{"type": "function_call", "id": 5}, U2],
            [{"type": "function_call", "id": 5}, U2],
        ),
        (
            [{"type": "function_call", "id": "fc_1"}, "junk"],
            ["junk", {"id": "fc_1"}, U2, "x"],
            [U2, "x"],
        ),
        (
            [{"type": "function_call"}],
            [{"type": "message", "role": "assistant", "content": []}, U2],
            [{"type": "message", "role": "assistant", "content": []}, U2],
        ),
    ],
)
def test_own_input_is_what_follows_the_parents_output(output, items, own):
    assert own_input(output, items) == own


async def test_parent_output_is_the_recorded_output_of_an_indexed_parent(index):
    index.add_response(response("r1", text="Hi."), server=SERVER, profile="p")
    index.add_response({"id": "r2", "output": "not a list"}, server=SERVER, profile="p")
    index.add_response({"id": "r3"}, server=SERVER, profile="p")
    assert parent_output(index, SERVER, "r1") == [message("Hi.", mid="msg_r1")]
    assert parent_output(index, SERVER, "r2") == []
    assert parent_output(index, SERVER, "r3") == []
    assert parent_output(index, SERVER, "r9") is None
    assert parent_output(index, SERVER, None) is None
    assert parent_output(index, SERVER, "") is None
    assert parent_output(index, "http://elsewhere/v1", "r1") is None


# ---------------------------------------------------------------- the report


@pytest.mark.parametrize(
    ("result", "line"),
    [
        (ImportResult(requested="r"), "r: imported 0 responses"),
        (ImportResult(requested="r", imported=["a"]), "r: imported 1 response"),
        (ImportResult(requested="r", imported=["a", "b"]), "r: imported 2 responses"),
        (
            ImportResult(requested="r", imported=["a"] * 1234, capped=True),
            "r: imported 1234 responses; stopped after 1,234 responses (at most 100,000, "
            "60 minutes)",
        ),
        (
            ImportResult(
                requested="r",
                imported=["a"],
                reused="k",
                missing_ancestor="g",
                inputs_unavailable=True,
                cycle_at="c",
                capped=True,
                root_by_echo="t",
                trimmed=1,
            ),
            "r: imported 1 response; joined the known ancestor k; ancestor g is gone from the "
            "server; input not recorded (the server cannot return input items); dropped 1 input "
            "items that repeat earlier turns; stopped: the server's chain loops back to c; "
            "stopped after 1 responses (at most 100,000, 60 minutes); t is a root: the server "
            "names no previous response for it",
        ),
    ],
)
def test_the_report_is_one_line_in_a_fixed_order(result, line):
    assert describe_import(result) == line


def test_the_report_gives_the_limits_in_force(monkeypatch):
    monkeypatch.setattr(importer, "MAX_CHAIN", 2500)
    monkeypatch.setattr(importer, "MAX_CHAIN_SECONDS", 90.0)
    assert describe_import(ImportResult(requested="r", capped=True)) == (
        "r: imported 0 responses; stopped after 0 responses (at most 2,500, 1.5 minutes)"
    )


# ---------------------------------------------------------------- checking an export file


def entry(rid: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "response": response(rid, parent),
        "input": said(f"q {rid}"),
        "request": None,
        "profile": "p",
        "status": "stored",
        "ancestor_missing": False,
        **fields,
    }


def document(*entries: dict, version: int = 2, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": "responses-tui.export",
        "version": version,
        "scope": "tree" if version == 2 else "path",
        "server": SERVER,
        "responses": list(entries) or [entry("r1")],
    }
    doc.update(fields)
    return doc


def nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_a_good_document_gives_its_version_server_and_entries():
    entries = [entry("r1"), entry("r2", "r1")]
    assert validate_export(document(*entries)) == (2, SERVER, entries)
    version, _, _ = validate_export(document(version=1))
    assert version == 1 and type(version) is int


@pytest.mark.parametrize(
    "doc",
    [
        document(scope=None),
        document(version=1, scope=None),
        document(entry("r1", "")),
        document(entry("r1", input=None, request=None, status=None, profile=None)),
        document(entry("r1", input=[], request={}, profile="")),
        document({"response": response("r1")}),  # an old file: nothing but the response
        *(document(entry("r1", status=str(status))) for status in Status),
        document(entry("r1", ancestor_missing=True)),
        document(server="s" * 512),
        document(server="héllo ~ \xa0 wörld"),
        document(entry("r" * 512)),
        document(entry("r1", profile="p" * 200)),
        document(entry("r1", extra=[[[[nested(93)]]]])),  # 100 levels: the most there can be
    ],
)
def test_documents_within_the_rules_are_accepted(doc):
    validate_export(doc)


_NOT_OURS = 'not a responses-tui export (expected "format": "responses-tui.export")'


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ([], _NOT_OURS),
        ("responses-tui.export", _NOT_OURS),
        ({"version": 2}, _NOT_OURS),
        (document(format="responses-tui.exports"), _NOT_OURS),
        (document(version=3), "unsupported export version 3 (this responses-tui reads 1, 2)"),
        (document(version=0), "unsupported export version 0 (this responses-tui reads 1, 2)"),
        (document(version=True), "unsupported export version True (this responses-tui reads 1, 2)"),
        (document(version="2"), "unsupported export version '2' (this responses-tui reads 1, 2)"),
        (document(version=None), "unsupported export version None (this responses-tui reads 1, 2)"),
        (document(scope="path"), "export version 2 has scope 'path', not 'tree'"),
        (document(version=1, scope="tree"), "export version 1 has scope 'tree', not 'path'"),
        (document(version=1, scope=""), "export version 1 has scope '', not 'path'"),
        (
            document(entry("r1", extra=[[[[nested(94)]]]])),
            "the export nests more than 100 levels deep",
        ),
        (document(server=None), "the export's server is missing or not a string"),
        (document(server=5), "the export's server is missing or not a string"),
        (document(server=" \t"), "the export's server is missing or not a string"),
        (document(server="s" * 513), "the export's server is too long (513 characters)"),
        (document(server="a\x1bb"), "the export's server contains control characters"),
        (document(server="a\x00"), "the export's server contains control characters"),
        (document(server="a\x1f"), "the export's server contains control characters"),
        (document(server="a\nb"), "the export's server contains control characters"),
        (document(server="a\x7f"), "the export's server contains control characters"),
        (document(server="a\x80"), "the export's server contains control characters"),
        (document(server="a\x9f"), "the export's server contains control characters"),
        (document(responses=None), 'the export has no "responses" list'),
        (document(responses={"r1": entry("r1")}), 'the export has no "responses" list'),
        (document(responses=["r1"]), "response 1 of the export has no response object"),
        (
            document(entry("r1"), {"response": "r2"}),
            "response 2 of the export has no response object",
        ),
        (document(entry("r1"), {"input": []}), "response 2 of the export has no response object"),
        (
            document({"response": {"object": "response"}}),
            "response 1 of the export: its id is missing or not a string",
        ),
        (
            document({"response": {"id": "r" * 513}}),
            "response 1 of the export: its id is too long (513 characters)",
        ),
        (
            document({"response": {"id": "r\x9b2J"}}),
            "response 1 of the export: its id contains control characters",
        ),
        (
            document(entry("r1", "a\x1b")),
            "response 1 of the export: its previous_response_id contains control characters",
        ),
        (
            document(entry("r1", 5)),
            "response 1 of the export: its previous_response_id is missing or not a string",
        ),
        (
            document(entry("r1", " ")),
            "response 1 of the export: its previous_response_id is missing or not a string",
        ),
        (document(entry("r1", input="hi")), "response 1 of the export: its input is not a list"),
        (document(entry("r1", input={})), "response 1 of the export: its input is not a list"),
        (
            document(entry("r1", request=[])),
            "response 1 of the export: its request is not an object",
        ),
        (
            document(entry("r1", request="x")),
            "response 1 of the export: its request is not an object",
        ),
        (document(entry("r1", status="gone")), "response 1 of the export: unknown status 'gone'"),
        (document(entry("r1", status=1)), "response 1 of the export: unknown status 1"),
        (
            document(entry("r1", profile="p" * 201)),
            "response 1 of the export: its profile is too long (201 characters)",
        ),
        (
            document(entry("r1", profile="a\x07")),
            "response 1 of the export: its profile contains control characters",
        ),
        (
            document(entry("r1", profile=3)),
            "response 1 of the export: its profile is missing or not a string",
        ),
        (
            document(entry("r1", ancestor_missing="yes")),
            "response 1 of the export: ancestor_missing is not true or false",
        ),
        (
            document(entry("r1", ancestor_missing=None)),
            "response 1 of the export: ancestor_missing is not true or false",
        ),
        (
            document(entry("r1"), entry("r2", ancestor_missing=1)),
            "response 2 of the export: ancestor_missing is not true or false",
        ),
    ],
)
def test_a_bad_document_is_refused_saying_what_is_wrong(doc, error):
    with pytest.raises(ValueError) as caught:
        validate_export(doc)
    assert str(caught.value) == error


# ---------------------------------------------------------------- writing an export file


def state(index: Index, server: str = SERVER) -> dict[str, tuple]:
    out = {}
    for node in index.nodes(server):
        body = index.load_body(server, node.id)
        out[node.id] = (
            node.parent,
            node.profile,
            str(node.status),
            node.ancestor_missing,
            body["input"],
            body["request"],
            body["response"]["output"][0]["content"][0]["text"],
        )
    return out


def test_a_fresh_import_adds_every_response_as_recorded(index):
    doc = document(
        entry("r1", ancestor_missing=True),
        entry("r2", "r1", profile="other", input=None),
        entry("r3", "r1", status="deleted", request={"model": "m", "previous_response_id": "r1"}),
        entry("r4", "r3", profile="", status="missing"),
        entry("r5", "r4", status=None),
        {"response": response("r6", "r5")},
    )
    result = import_export_file(index, doc, profile="mine")
    assert result == ImportFileResult(added=["r1", "r2", "r3", "r4", "r5", "r6"], server=SERVER)
    assert state(index) == {
        "r1": (None, "p", "stored", True, said("q r1"), None, "answer r1"),
        "r2": ("r1", "other", "stored", False, None, None, "answer r2"),
        "r3": (
            "r1",
            "p",
            "deleted",
            False,
            said("q r3"),
            {"model": "m", "previous_response_id": "r1"},
            "answer r3",
        ),
        "r4": ("r3", "mine", "missing", False, said("q r4"), None, "answer r4"),
        "r5": ("r4", "p", "stored", False, said("q r5"), None, "answer r5"),
        "r6": ("r5", "mine", "stored", False, None, None, "answer r6"),
    }


def test_a_status_the_response_itself_gives_needs_no_recording(index):
    failed = entry("r1", status="failed")
    failed["response"]["status"] = "failed"
    import_export_file(index, document(failed, entry("r2", "r1", status="not_stored")), profile="x")
    assert index.get(SERVER, "r1").status == Status.FAILED
    assert index.get(SERVER, "r2").status == Status.NOT_STORED


def test_another_server_takes_every_response_under_the_given_profile(index):
    doc = document(entry("r1", profile="p1"), entry("r2", "r1", profile="p2", status="deleted"))
    result = import_export_file(index, doc, server="http://other/v1", profile="lab")
    assert result == ImportFileResult(added=["r1", "r2"], server="http://other/v1")
    assert {n.profile for n in index.nodes("http://other/v1")} == {"lab"}
    assert index.get("http://other/v1", "r2").status == Status.DELETED
    assert index.nodes(SERVER) == []


def test_importing_twice_updates_and_changes_nothing(index):
    doc = document(
        entry("r1", ancestor_missing=True),
        entry("r2", "r1", status="deleted", request={"model": "m"}),
        entry("r3", "r1"),
    )
    import_export_file(index, doc, profile="mine")
    before = state(index)
    again = import_export_file(index, doc, profile="mine")
    assert again == ImportFileResult(updated=["r1", "r2", "r3"], server=SERVER)
    assert state(index) == before


def test_the_files_copy_replaces_the_index_but_keeps_what_the_file_lacks(index):
    index.add_response(
        response("r1", text="old"),
        server=SERVER,
        profile="p",
        input_items=said("kept"),
        request={"model": "old"},
    )
    index.add_response(response("r2", "r1", text="old"), server=SERVER, profile="p")
    index.set_status(SERVER, "r2", Status.MISSING)
    index.add_response(response("r3", "r1", text="old"), server=SERVER, profile="p")
    index.set_status(SERVER, "r3", Status.DELETED)
    index.add_response(response("r5", "r1", text="old"), server=SERVER, profile="p")
    new1 = entry("r1", input=None, request=None)
    new1["response"]["output"][0]["content"][0]["text"] = "new"
    doc = document(
        new1,
        entry("r2", "r1", status="stored"),
        entry("r3", "r1"),
        entry("r4", "r3"),
        entry("r5", "r1", status="deleted"),
    )
    result = import_export_file(index, doc, profile="x")
    assert result == ImportFileResult(added=["r4"], updated=["r1", "r2", "r3", "r5"], server=SERVER)
    assert index.get(SERVER, "r5").status == Status.DELETED  # the file knows that one
    assert state(index)["r1"] == (None, "p", "stored", False, said("kept"), {"model": "old"}, "new")
    # The index knows better than the file that these are gone from the server.
    assert index.get(SERVER, "r2").status == Status.MISSING
    assert index.get(SERVER, "r3").status == Status.DELETED


def test_a_response_twice_in_a_file_is_counted_once_and_the_later_copy_wins(index):
    first, second = entry("r1"), entry("r1", status="deleted")
    second["response"]["output"][0]["content"][0]["text"] = "later"
    result = import_export_file(index, document(first, entry("r2", "r1"), second), profile="x")
    assert result == ImportFileResult(added=["r1", "r2"], server=SERVER)
    assert state(index)["r1"][2:] == ("deleted", False, said("q r1"), None, "later")


def test_a_flag_the_file_does_not_set_stays_unset(index):
    doc = document(entry("r1", request={"model": "m"}), entry("r2", "r1", status="deleted"))
    import_export_file(index, doc, profile="x")
    assert not index.get(SERVER, "r1").ancestor_missing
    assert not index.get(SERVER, "r2").ancestor_missing


def test_new_plain_responses_are_written_together_not_one_by_one(index, monkeypatch):
    one_by_one: list[str] = []
    add_response = index.add_response

    def spy(response, **kw):
        one_by_one.append(response["id"])
        return add_response(response, **kw)

    monkeypatch.setattr(index, "add_response", spy)
    index.add_many([(response("r0"), None)], server=SERVER, profile="p")
    doc = document(
        entry("r0"),
        entry("r1", "r0"),
        entry("r2", "r1", profile="q"),
        entry("r3", "r1", status=None),
        entry("r4", "r1", request={"model": "m"}),
        entry("r5", "r1", status="deleted"),
        entry("r6", "r1", ancestor_missing=True),
        entry("r7", "r1"),
        entry("r7", "r1"),
    )
    result = import_export_file(index, doc, profile="x")
    assert one_by_one == ["r0", "r4", "r5", "r6", "r7", "r7"]
    assert result.added == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]
    assert {n.id: n.profile for n in index.nodes(SERVER)} == {
        "r0": "p",
        "r1": "p",
        "r2": "q",
        "r3": "p",
        "r4": "p",
        "r5": "p",
        "r6": "p",
        "r7": "p",
    }


def test_a_bad_file_writes_nothing(index):
    doc = document(entry("r1"), entry("r2", "r1"), entry("r3", status="exploded"))
    with pytest.raises(ValueError, match="response 3 of the export: unknown status 'exploded'"):
        import_export_file(index, doc, profile="x")
    assert len(index) == 0
