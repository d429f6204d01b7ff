"""A hostile server (tests/hostile_server.py), driven through the CLI and the ops: nothing it
sends reaches the terminal as a control sequence, no id it sends escapes its place, the key
never reaches disk, no nesting crashes anything, only a real deletion deletes, and a reply
the index cannot record is reported with its id."""

from __future__ import annotations

import errno
import json

import pytest
from hostile_server import (
    ESC,
    Reply,
    completed_stream,
    deep,
    hostile,
    json_reply,
    raw_json_reply,
    response,
    sse_reply,
    text_reply,
)
from test_hostile import bad_chars

from tui.api.client import ResponsesClient
from tui.api.profiles import Profile
from tui.cli import main
from tui.ops.connect import server_id
from tui.ops.deleter import delete_responses
from tui.ops.sync import sync
from tui.paths import index_dir
from tui.store.index import Index

KEY = "zz9PLAINkeyVALUE0123456789"  # not shaped like sk-…: only the scrubber can find it


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("HOSTILE_KEY", KEY)


def cli(base_url: str, *argv: str) -> int:
    return main(["--base-url", base_url, "--api-key-env", "HOSTILE_KEY", "--model", "m", *argv])


def inert(capsys) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert bad_chars(out, allowed="\n") == [], repr(out)
    assert bad_chars(err, allowed="\n") == [], repr(err)
    assert KEY[:6] not in out + err
    return out, err


def server_of(base_url: str) -> str:
    return server_id(Profile(name="custom", base_url=base_url))


# ------------------------------------------------------------------ 2. nothing reaches the terminal

ERROR_SHAPES = {
    "json error.message": lambda: json_reply({"error": {"message": ESC, "code": ESC}}, 400),
    "detail string": lambda: json_reply({"detail": ESC}, 404),
    "detail list": lambda: json_reply({"detail": [{"loc": ["body", ESC], "msg": ESC}]}, 422),
    "plain text 500": lambda: text_reply(ESC * 3, 500),
    "html page": lambda: text_reply(f"<title>{ESC}</title>", 502, "text/html"),
    "sse error": lambda: sse_reply({"type": "error", "error": {"message": ESC, "code": ESC}}),
    "response.failed": lambda: sse_reply(
        {"type": "response.created", "response": response("resp_f", status="in_progress")},
        {
            "type": "response.failed",
            "response": response("resp_f", status="failed", error={"message": ESC}),
        },
    ),
}


@pytest.mark.parametrize("shape", sorted(ERROR_SHAPES))
def test_send_prints_every_error_shape_inert(capsys, shape):
    with hostile(lambda m, p, b: ERROR_SHAPES[shape]()) as server:
        assert cli(server.base_url, "send", "hi") == 1
    _out, err = inert(capsys)
    assert "pwned" in err or "evil" in err or "error" in err  # the words, without the codes


def test_send_prints_call_ids_and_approval_ids_inert(capsys):
    final = response("resp_calls")
    final["output"] = [
        {"type": "function_call", "call_id": f"call_{ESC}", "name": ESC, "arguments": ESC},
        {"type": "mcp_approval_request", "id": f"mcpr_{ESC}", "server_label": ESC, "name": "x"},
    ]
    with hostile(lambda m, p, b: completed_stream(final)) as server:
        assert cli(server.base_url, "send", "hi") == 0
    _out, err = inert(capsys)
    assert "function call" in err and "approval requested" in err


def test_profile_names_urls_models_variables_and_file_names_print_inert(capsys, tmp_path):
    with Index.open(index_dir()) as index:  # as an older version could have saved them
        index.save_profile(
            {
                "name": f"lab{ESC}",
                "base_url": f"http://lab.test/{ESC}",
                "api_key_env": f"LAB{ESC}",
                "headers": {},
                "default_model": f"model{ESC}",
            }
        )
    main(["profiles", "list"])  # listed, or refused as unusable: inert either way
    inert(capsys)
    assert main(["--base-url", "http://lab.test/v1", "--api-key-env", f"NOPE{ESC}", "list"]) in (
        0,
        1,
        2,
    )
    inert(capsys)
    final = response("resp_1")
    with hostile(lambda m, p, b: completed_stream(final)) as server:
        assert cli(server.base_url, "--model", f"m{ESC}", "send", "hi") == 0
        inert(capsys)
        target = tmp_path / f"out{ESC}.md"
        assert cli(server.base_url, "export", "resp_1", "-o", str(target)) == 0
    inert(capsys)


# ------------------------------------------------------------------ 3. every id is checked

HOSTILE_IDS = ["../../../admin/evil", "resp_\x00nul", f"resp_{ESC}", "..", "resp_a b"]


async def test_a_listing_with_ids_that_are_not_ids_stores_none_and_sends_nothing_there():
    listing = {"data": [response(i) for i in [*HOSTILE_IDS, "resp_good"]], "has_more": False}

    def route(method, path, body):
        if path.startswith("/v1/responses?"):
            return json_reply(listing)
        if path.endswith("/input_items?limit=100&order=asc"):
            return json_reply({"data": [], "has_more": False})
        return json_reply({"error": {"message": f"unexpected {path}"}}, 500)

    with hostile(route) as server, Index.open(index_dir()) as index:
        profile = Profile(name="custom", base_url=server.base_url, api_key_env="HOSTILE_KEY")
        async with ResponsesClient(profile) as client:
            report = await sync(client, index, server=server_of(server.base_url), profile="x")
        assert [n.id for n in index.nodes()] == ["resp_good"]
        assert any("not an id" in w for w in report.warnings)
        assert not any("admin" in p or "%" in p or ".." in p for p in server.paths())


async def test_a_delete_of_an_id_that_is_not_an_id_sends_nothing():
    with hostile(lambda m, p, b: json_reply({"deleted": True})) as server:
        with Index.open(index_dir()) as index:
            here = server_of(server.base_url)
            for rid in HOSTILE_IDS:  # an index from before ids were checked may hold these
                index.add_response({"id": rid, "status": "completed"}, server=here, profile="x")
            profile = Profile(name="custom", base_url=server.base_url, api_key_env="HOSTILE_KEY")
            async with ResponsesClient(profile) as client:
                report = await delete_responses(client, index, server=here, ids=HOSTILE_IDS)
            assert set(report.failed) == set(HOSTILE_IDS)
            assert len(index) == len(HOSTILE_IDS)
        assert server.requests == []


def test_search_and_the_markdown_export_print_stored_hostile_ids_inert(capsys):
    rid = "resp_\x9b31m\u202eevil"
    with Index.open(index_dir()) as index:
        here = server_of("http://old.test/v1")
        index.add_response(response(rid, text="findme"), server=here, profile="x", input_items=[])
    assert main(["--base-url", "http://old.test/v1", "search", "findme"]) == 0
    inert(capsys)
    assert main(["--base-url", "http://old.test/v1", "export", rid]) == 0
    inert(capsys)
    assert main(["--base-url", "http://old.test/v1", "export", rid, "--format", "json"]) == 0
    out, _ = inert(capsys)
    assert json.loads(out)["responses"][0]["response"]["id"] == rid  # exact, escaped


# ------------------------------------------------------------------ 4. the key never reaches disk


def test_an_import_whose_server_echoes_the_key_stores_and_exports_no_key(capsys):
    echoed = response("resp_echo", instructions=f"your key is {KEY}")

    def route(method, path, body):
        if path.startswith("/v1/responses/resp_echo/input_items"):
            item = {"type": "message", "role": "user", "content": f"Bearer {KEY}"}
            return json_reply({"data": [item], "has_more": False})
        return json_reply(echoed)

    with hostile(route) as server:
        assert cli(server.base_url, "import", "resp_echo") == 0
        inert(capsys)
        assert cli(server.base_url, "export", "resp_echo", "--format", "json") == 0
    out, _ = inert(capsys)
    assert "***" in out
    for path in index_dir().rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text("utf-8", "replace"), path


@pytest.mark.parametrize(
    ("status", "pad", "argv"),
    [
        (400, 290, ["send", "hi"]),  # an error body is cut at 300 characters
        (200, 110, ["import", "resp_1"]),  # a 200 that is not JSON is quoted up to 120
    ],
)
def test_error_text_is_scrubbed_before_it_is_cut(capsys, status, pad, argv):
    body = "x" * pad + KEY  # cut first, the key's first characters would be shown
    with hostile(lambda m, p, b: text_reply(body, status)) as server:
        assert cli(server.base_url, *argv) == 1
    _, err = inert(capsys)
    assert "***" in err


# ------------------------------------------------------------------ 6. no recursion limit reached


def test_an_error_body_nested_100000_deep_is_one_line(capsys):
    with hostile(lambda m, p, b: raw_json_reply(deep(100_000), 400)) as server:
        assert cli(server.base_url, "send", "hi") == 1
    _, err = inert(capsys)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_deep_event_is_skipped_and_a_deep_created_response_is_recorded(capsys):
    final = response("resp_deep")
    final["metadata"] = {"deep": json.loads(deep(600))}
    created = {**final, "status": "in_progress", "output": []}
    stream = "".join(
        [
            f"data: {json.dumps({'type': 'response.created', 'response': created})}\n\n",
            f"data: {deep(100_000)}\n\n",
            f"data: {json.dumps({'type': 'response.completed', 'response': final})}\n\n",
        ]
    )
    with hostile(lambda m, p, b: Reply(200, stream.encode(), "text/event-stream")) as server:
        assert cli(server.base_url, "send", "hi") == 0
        inert(capsys)
        with Index.open(index_dir()) as index:
            (node,) = index.nodes()
            assert node.id == "resp_deep"


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", deep(100_000, {})],
        ["--json", '{"type": "function", "name": "f", "parameters": ' + deep(600, {}) + "}"],
        ["--function", "f", "--parameters", deep(100_000, {})],
    ],
)
def test_tools_add_with_json_nested_too_deeply_is_one_line(capsys, argv):
    assert main(["tools", "add", "deep", *argv]) == 2
    _, err = inert(capsys)
    assert "deep" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ 8. a delete is a delete


@pytest.mark.parametrize(
    "answer",
    [
        lambda: Reply(302, b"", headers={"location": "https://login.example/sso"}),
        lambda: text_reply("<html><title>Sign in</title></html>", 200, "text/html"),
        lambda: json_reply({"ok": True}),
    ],
)
def test_a_delete_answered_by_a_redirect_or_a_login_page_deletes_nothing(capsys, answer):
    def route(method, path, body):
        if method == "DELETE":
            return answer()
        return completed_stream(response("resp_keep"))

    with hostile(route) as server:
        assert cli(server.base_url, "send", "hi") == 0
        capsys.readouterr()
        assert cli(server.base_url, "delete", "resp_keep", "--yes") == 1
    _, err = inert(capsys)
    assert "kept in the index" in err
    with Index.open(index_dir()) as index:
        assert [n.id for n in index.nodes()] == ["resp_keep"]


# ------------------------------------------------------------------ 9. disk full


def test_a_reply_that_cannot_be_recorded_is_reported_with_its_id(capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Index, "add_response", full)
    with hostile(lambda m, p, b: completed_stream(response("resp_made"))) as server:
        assert cli(server.base_url, "send", "hi") == 1
    _, err = inert(capsys)
    assert "resp_made was created on the server but could not be recorded" in err
    assert "No space left on device" in err and "responses-tui import resp_made" in err


def test_a_read_only_home_can_still_be_listed_searched_and_exported(capsys, monkeypatch):
    import hashlib

    from tui.store.lock import IndexLock

    with hostile(lambda m, p, b: completed_stream(response("resp_ro", text="readable"))) as server:
        assert cli(server.base_url, "send", "hi") == 0
        capsys.readouterr()
        home = index_dir()

        def snapshot() -> dict[str, str]:
            return {
                str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(home.rglob("*"))
                if p.is_file()
            }

        before = snapshot()
        real_acquire = IndexLock.acquire

        def read_only(self, wait: float = 0.0) -> None:
            if self.path.parent == home:  # what a read-only file system answers
                raise OSError(errno.EROFS, "Read-only file system", str(self.path))
            real_acquire(self, wait)

        monkeypatch.setattr(IndexLock, "acquire", read_only)
        assert cli(server.base_url, "list") == 0
        out, err = inert(capsys)
        assert "resp_ro" in out and "reading a copy" in err
        assert cli(server.base_url, "search", "readable") == 0
        assert "resp_ro" in inert(capsys)[0]
        assert cli(server.base_url, "export", "resp_ro") == 0
        assert "readable" in inert(capsys)[0]
        assert cli(server.base_url, "send", "a writer") == 1  # one line, nothing half-done
        assert "Read-only file system" in inert(capsys)[1]
        assert snapshot() == before


async def test_the_app_against_the_hostile_server(tmp_path):
    from ui_helpers import settle, type_and_send

    from tui.ui.app import ResponsesApp

    listing = {"data": [response(i) for i in [*HOSTILE_IDS, "resp_listed"]], "has_more": False}

    def route(method, path, body):
        if method == "POST":
            return json_reply({"error": {"message": f"refused {ESC}"}}, 400)
        if path.startswith("/v1/responses?"):
            return json_reply(listing)
        return json_reply({"data": [], "has_more": False})

    with hostile(route) as server:
        profile = Profile(name="custom", base_url=server.base_url, api_key_env="HOSTILE_KEY")
        with Index.open(tmp_path / "index") as index:
            app = ResponsesApp(index, profile, env={"HOSTILE_KEY": KEY}, debounce=0)
            async with app.run_test(size=(110, 34), notifications=True) as pilot:
                await type_and_send(pilot, app, "keep me")
                await settle(pilot, app)
                assert app.composer.text == "keep me"  # nothing was created
                await pilot.press("escape", "ctrl+r")
                await settle(pilot, app)
                shown = "\n".join(str(n.message) for n in app._notifications)
                assert "refused" in shown and bad_chars(shown, allowed="\n") == []
                assert KEY[:6] not in shown + str(app.export_screenshot())
            assert [n.id for n in index.nodes()] == ["resp_listed"]
        assert not any("admin" in p or ".." in p for p in server.paths())


def test_asks_whose_ids_are_not_ids_are_never_offered_for_an_answer():
    from tui.ops.conversation import pending_requests

    with Index.open(index_dir()) as index:
        answer = response("resp_asks")
        answer["output"] = [
            {"type": "function_call", "call_id": f"call_{ESC}", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "call_ok", "name": "f", "arguments": "{}"},
            {"type": "mcp_approval_request", "id": "../x", "server_label": "s", "name": "t"},
            {"type": "function_call", "call_id": 7, "name": "f"},
        ]
        index.add_response(answer, server="s", profile="x")
        assert [a.get("call_id") for a in pending_requests(index, "s", "resp_asks")] == ["call_ok"]


async def test_the_app_keeps_the_text_and_names_the_reply_it_could_not_record(
    tmp_path, monkeypatch
):
    from ui_helpers import settle, type_and_send

    from tui.ui.app import ResponsesApp

    with hostile(lambda m, p, b: completed_stream(response("resp_lost"))) as server:
        profile = Profile(name="custom", base_url=server.base_url, api_key_env="HOSTILE_KEY")
        with Index.open(tmp_path / "index") as index:
            app = ResponsesApp(index, profile, env={"HOSTILE_KEY": KEY}, debounce=0)
            async with app.run_test(size=(110, 34), notifications=True) as pilot:

                def full(*args, **kwargs):
                    raise OSError(errno.ENOSPC, "No space left on device")

                monkeypatch.setattr(index, "add_response", full)
                await type_and_send(pilot, app, "do not lose me")
                await settle(pilot, app)
                assert app.composer.text == "do not lose me"
                shown = "\n".join(str(n.message) for n in app._notifications)
                assert "resp_lost was created on the server but could not be recorded" in shown
