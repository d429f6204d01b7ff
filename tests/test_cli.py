"""The headless CLI end to end, against the offline backend in the test's own data directory."""

from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from loopback import serve

from tui.api.profiles import resolve_profile
from tui.cli import main
from tui.ops.connect import make_client
from tui.paths import index_dir
from tui.store.index import Index

LOCAL = resolve_profile("local", {})


def run(*argv: str) -> int:
    return main(list(argv))


def create(body: dict) -> dict:
    """Create a response on the offline backend (its storage lives in RESPONSES_TUI_HOME)."""

    async def go() -> dict:
        async with make_client(LOCAL, {}) as client:
            return await client.create({"model": "offline-echo", **body})

    return asyncio.run(go())


@pytest.fixture
def branched():
    """root -> a -> b, and a second branch root -> c (a fork at root)."""
    root = create({"input": "plan a trip"})
    a = create({"input": "somewhere warm", "previous_response_id": root["id"]})
    b = create({"input": "in december", "previous_response_id": a["id"]})
    c = create({"input": "somewhere cold", "previous_response_id": root["id"]})
    return {"root": root, "a": a, "b": b, "c": c}


def test_list_on_a_fresh_machine(capsys):
    assert run("list") == 0
    out = capsys.readouterr().out
    assert "offline backend" in out
    assert "0 responses" in out


def test_search_prints_hits_newest_first(branched, capsys):
    assert run("import", branched["b"]["id"], branched["c"]["id"]) == 0
    capsys.readouterr()
    assert run("search", "SOMEWHERE") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:2]] == [branched["c"]["id"], branched["a"]["id"]]
    assert all(line.split()[1] in ("input", "output") for line in lines)
    assert "somewhere cold" in lines[0]  # the snippet keeps the original case

    assert run("search", "somewhere", "cold") == 0  # every word must match
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        branched["c"]["id"]
    ]
    assert run("search", "somewhere", "--limit", "1") == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert run("search", "--all", "december") == 0
    server, rid = capsys.readouterr().out.split()[:2]
    assert server.startswith("http") and rid == branched["b"]["id"]


def test_search_without_hits_and_with_a_bad_limit(branched, capsys):
    assert run("search", "nothing-like-this") == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no response matches 'nothing-like-this'" in captured.err
    assert run("search", "trip", "--limit", "0") == 2
    assert "--limit must be at least 1" in capsys.readouterr().err


def test_import_walks_to_the_root_and_list_shows_the_fork(branched, capsys):
    assert run("import", branched["b"]["id"], branched["c"]["id"]) == 0
    out = capsys.readouterr().out
    assert f"{branched['b']['id']}: imported 3 responses" in out
    assert f"{branched['c']['id']}: imported 1 response" in out
    assert "joined the known ancestor" in out

    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("offline backend") and "4 responses" in lines[0]
    body = lines[1:]
    assert body[0].startswith(branched["root"]["id"])
    assert "plan a trip" in body[0]
    # The fork at the root opens two branches with tree glyphs, oldest first.
    assert body[1].startswith("├─ " + branched["a"]["id"])
    assert body[2].startswith("│  " + branched["b"]["id"])
    assert body[3].startswith("└─ " + branched["c"]["id"])
    assert all("offline-echo" in line for line in body)


def test_import_unknown_id_is_one_clear_line(capsys):
    assert run("import", "resp_doesnotexist") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "unknown response id 'resp_doesnotexist'" in err[0]
    assert "Traceback" not in err[0]


def test_export_markdown_and_json(branched, capsys, tmp_path):
    assert run("import", branched["b"]["id"]) == 0
    capsys.readouterr()

    assert run("export", branched["b"]["id"], "--format", "md") == 0
    md = capsys.readouterr().out
    assert md.index("plan a trip") < md.index("somewhere warm") < md.index("in december")
    assert "## Turn 3" in md and "**Assistant**" in md
    assert "somewhere cold" not in md  # another branch

    assert run("export", branched["b"]["id"], "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == [branched[k]["id"] for k in ("root", "a", "b")]
    assert doc["responses"][2]["response"] == branched["b"]
    assert doc["responses"][0]["input"][0]["content"][0]["text"] == "plan a trip"

    target = tmp_path / "out.json"
    assert run("export", branched["a"]["id"], "--format", "json", "-o", str(target)) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["path"][-1] == branched["a"]["id"]


def test_export_unknown_id(capsys):
    assert run("export", "resp_nope") == 1
    assert "unknown response id 'resp_nope'" in capsys.readouterr().err


def test_delete_subtree_on_server_and_locally(branched, capsys):
    assert run("import", branched["b"]["id"], branched["c"]["id"]) == 0
    capsys.readouterr()
    assert run("delete", branched["a"]["id"], "--subtree", "--yes") == 0
    assert "deleted 2 of 2" in capsys.readouterr().out

    async def gone(rid: str) -> bool:
        from tui.api.errors import NotFoundError

        async with make_client(LOCAL, {}) as client:
            try:
                await client.retrieve(rid)
            except NotFoundError:
                return True
        return False

    assert asyncio.run(gone(branched["a"]["id"]))
    assert asyncio.run(gone(branched["b"]["id"]))
    assert not asyncio.run(gone(branched["c"]["id"]))
    with Index.open(index_dir()) as index:
        ids = {n.id for n in index.nodes()}
    assert ids == {branched["root"]["id"], branched["c"]["id"]}


def test_delete_refuses_without_confirmation(branched, capsys, monkeypatch):
    assert run("import", branched["b"]["id"]) == 0
    capsys.readouterr()
    with open(os.devnull) as devnull:
        monkeypatch.setattr("sys.stdin", devnull)
        assert run("delete", branched["b"]["id"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    with Index.open(index_dir()) as index:
        assert len(index.nodes()) == 3


def delete_on_server(rid: str) -> None:
    async def go() -> None:
        async with make_client(LOCAL, {}) as client:
            await client.delete(rid)

    asyncio.run(go())


def test_delete_already_gone_counts_as_deleted(branched, capsys):
    assert run("import", branched["c"]["id"]) == 0
    delete_on_server(branched["c"]["id"])  # by someone else: the index still has it
    capsys.readouterr()
    # The server says "No response found with id …": already gone, so it leaves the index.
    assert run("delete", branched["c"]["id"], "--yes") == 0
    assert "already gone" in capsys.readouterr().out
    with Index.open(index_dir()) as index:
        assert [n.id for n in index.nodes()] == [branched["root"]["id"]]


@pytest.mark.parametrize("confirm", [("--yes",), ()])
def test_delete_of_an_id_not_in_the_index_is_an_error(branched, capsys, confirm):
    # Not in the index: an error whether or not --yes was given (and nothing is sent).
    assert run("delete", branched["c"]["id"], *confirm) == 1
    assert "not in the index" in capsys.readouterr().err
    assert create({"input": "still there?", "previous_response_id": branched["c"]["id"]})


def test_delete_answered_no_is_not_an_error(branched, capsys, monkeypatch):
    assert run("import", branched["c"]["id"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    assert run("delete", branched["c"]["id"]) == 0
    assert capsys.readouterr().out.strip() == "nothing deleted"
    with Index.open(index_dir()) as index:
        assert index.get(index.nodes()[0].server, branched["c"]["id"]) is not None


def test_delete_local_only_leaves_the_server_alone(branched, capsys):
    assert run("import", branched["c"]["id"]) == 0
    assert run("delete", branched["c"]["id"], "--local-only", "--yes") == 0
    assert "forgot 1 of 1" in capsys.readouterr().out
    assert create({"input": "still there?", "previous_response_id": branched["c"]["id"]})


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--profile", "openai", "import", "resp_x"], "OPENAI_API_KEY"),
        (["--profile", "nosuch", "list"], "nosuch"),
        (["--base-url", "ftp://example.com/v1", "import", "resp_x"], "bad base URL"),
        (["--base-url", "not a url", "list"], "bad base URL"),
        (["--header", "no-colon", "list"], "bad header"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(argv, expected, capsys):
    assert run(*argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert expected in err[0]
    assert err[0].startswith("responses-tui: error:")


def test_unreachable_server(capsys, monkeypatch):
    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", no_sleep)
    code = run("--base-url", "http://127.0.0.1:9/v1", "import", "resp_x")
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "127.0.0.1:9" in err[0]


def test_key_never_printed_on_auth_failure(capsys, monkeypatch):
    """A server that echoes the key back in its 401 body: the key still never reaches the user."""
    import http.server

    class EchoKey(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            key = self.headers.get("Authorization", "")
            body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}})
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    monkeypatch.setenv("LAB_KEY", "sk-test-SECRET-abc123")
    with serve(EchoKey) as url:
        code = run("--base-url", url, "--api-key-env", "LAB_KEY", "import", "resp_x")
    captured = capsys.readouterr()
    assert code == 1
    assert "401" in captured.err
    assert "SECRET" not in captured.out + captured.err


def test_an_open_index_does_not_lock_the_cli_out(capsys):
    with Index.open(index_dir()) as index:
        assert run("list") == 0
        assert "0 responses" in capsys.readouterr().out
        assert run("send", "beside the app") == 0
        assert index.refresh() is True and len(index) == 1


def test_a_writer_that_does_not_let_go_is_one_clear_line(capsys, monkeypatch):
    from tui.store import index as index_module
    from tui.store.lock import IndexLock

    monkeypatch.setattr(index_module, "WRITE_WAIT", 0.1)
    assert run("send", "first") == 0
    capsys.readouterr()
    hung = IndexLock(index_dir())
    hung.acquire()
    try:
        assert run("send", "second") == 1
    finally:
        hung.release()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "busy" in err and "responses-tui: error:" in err


def test_profiles_add_list_remove(capsys, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-never-stored-42")
    assert (
        run(
            "profiles",
            "add",
            "lab",
            "--base-url",
            "http://127.0.0.1:8000/v1",
            "--api-key-env",
            "MY_KEY",
            "--model",
            "m1",
        )
        == 0
    )
    assert run("profiles", "list") == 0
    out = capsys.readouterr().out
    assert "lab" in out and "$MY_KEY (set)" in out
    for path in index_dir().rglob("*"):
        if path.is_file():
            assert b"sk-never-stored-42" not in path.read_bytes()
    assert run("profiles", "remove", "lab") == 0
    assert run("profiles", "remove", "lab") == 1
