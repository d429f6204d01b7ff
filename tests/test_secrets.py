"""Secrets (API keys, `${VAR}` tool header values) never leave the environment: not into the
data directory, exports, terminal output, screenshots, error messages, notifications or logs.
And what is written is private: files 0600, the index directory 0700."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import itertools
import json
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from loopback import serve
from ui_helpers import settle

from tui.api.profiles import Profile, resolve_profile
from tui.cli import main
from tui.ops.connect import make_client, offline_backend, server_id
from tui.paths import backend_dir, data_dir, index_dir
from tui.store.index import Index
from tui.tools import Preset
from tui.ui.app import ResponsesApp

# Distinctive values that the generic redaction patterns (sk-…, "Bearer …") would not catch
# on their own: only tracking the actual values keeps them out.
OPENAI_KEY = "Qz7OpenAiKeyValue9xKp"
LAB_KEY = "Qz7LabKeyValue9xKpMw"
LAB_TOKEN = "Qz7LabTokenValue9xKpRt"
SECRETS = (OPENAI_KEY, LAB_KEY, LAB_TOKEN)

DOCS_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com/mcp",
    "require_approval": "never",
    "headers": {"Authorization": "Bearer ${LAB_TOKEN}"},
}
SIZE = (120, 40)


@pytest.fixture(autouse=True)
def secret_env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("LAB_KEY", LAB_KEY)
    monkeypatch.setenv("LAB_TOKEN", LAB_TOKEN)


@pytest.fixture
def no_sleep(monkeypatch):
    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", instant)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "asyncio", "textual", "tui"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


# ------------------------------------------------------------------ helpers


def leaks(text: str | bytes, where: str) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    found = []
    for secret in SECRETS:
        if secret.encode() in data:
            found.append(f"{secret} in {where}")
    return found


def files_under(*roots: Path) -> Iterable[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in root.rglob("*") if p.is_file())


def assert_no_secret_files(*roots: Path) -> None:
    found = []
    for path in files_under(*roots):
        found += leaks(path.read_bytes(), str(path))
    assert found == []


def assert_clean(captured, logs, *extra: str) -> None:
    found = leaks(captured.out, "stdout") + leaks(captured.err, "stderr")
    found += leaks(logs.text, "logging")
    for record in logs.records:
        found += leaks(record.getMessage(), f"log record {record.name}")
    for n, text in enumerate(extra):
        found += leaks(text, f"text {n}")
    assert found == []


def run(*argv: str) -> int:
    return main(list(argv))


@contextlib.contextmanager
def echo_server(status: int | str) -> Iterator[str]:
    """A Responses API server that answers every request with `status` and an error body
    that repeats the secret-bearing headers and the whole request body back."""
    numbers = itertools.count(1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request_body = self.rfile.read(length).decode("utf-8", "replace")
            echoed = (
                f"Incorrect API key provided: {self.headers.get('Authorization', '')}; "
                f"token {self.headers.get('X-Lab-Token', '')}; you sent {request_body}"
            )
            if status == "sse-error":
                events = [
                    {
                        "type": "response.created",
                        "response": {
                            "id": f"resp_echo{next(numbers)}",
                            "status": "in_progress",
                        },
                    },
                    {"type": "error", "code": "bad_key", "message": echoed},
                ]
                self._write(200, "text/event-stream", _sse(events))
            elif status == "sse-failed":
                failed = {
                    "id": f"resp_echo{next(numbers)}",
                    "status": "failed",
                    "model": "m",
                    "output": [],
                    "error": {"code": "server_error", "message": echoed},
                }
                events = [
                    {"type": "response.created", "response": {**failed, "status": "x"}},
                    {"type": "response.failed", "response": failed},
                ]
                self._write(200, "text/event-stream", _sse(events))
            elif status == "html":
                page = f"<html><title>Denied {echoed}</title></html>"
                self._write(401, "text/html", page.encode())
            else:
                body = json.dumps({"error": {"message": echoed, "code": "x"}})
                self._write(int(status), "application/json", body.encode())

        def _write(self, code: int, kind: str, data: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    with serve(Handler) as url:
        yield url


def _sse(events: list[dict]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _add_docs_tool() -> None:
    assert (
        run(
            *("tools", "add", "docs", "--mcp", "https://mcp.example.com/mcp"),
            *("--label", "docs", "--tool-header", "Authorization: Bearer ${LAB_TOKEN}"),
        )
        == 0
    )


def _add_lab_profile(url: str) -> None:
    assert (
        run(
            *("profiles", "add", "lab", "--base-url", url, "--api-key-env", "LAB_KEY"),
            *("--header", "X-Lab-Token: ${LAB_TOKEN}"),
        )
        == 0
    )


def _last_id() -> str:
    with Index.open(index_dir()) as index:
        return index.nodes()[-1].id


# ------------------------------------------------------------------ the CLI, end to end


def test_cli_round_trip_keeps_secrets_out(tmp_path, capsys, logs):
    """profiles, tools, send with a tool (offline backend), list, exports: no secret anywhere."""
    _add_lab_profile("http://127.0.0.1:1/v1")
    assert run("profiles", "add", "oa", "--base-url", "https://api.openai.com/v1") == 0
    assert run("profiles", "list") == 0
    _add_docs_tool()
    assert run("tools", "list") == 0
    out = capsys.readouterr().out
    assert "$LAB_KEY (set)" in out and "docs" in out

    # The offline backend names the tool "search" when the text mentions it: an mcp_call.
    assert run("send", "please search the docs", "--tools", "docs") == 0
    first = _last_id()
    assert run("send", "now fetch the page", "--reply-to", first) == 0
    second = _last_id()
    captured = capsys.readouterr()
    assert "tool call docs." in captured.err
    with Index.open(index_dir()) as index:
        assert index.get(server_id(resolve_profile("local", {})), second).tool_labels == ("docs",)

    exports = []
    for fmt in ("md", "json"):
        for extra in ([], ["--tree"]):
            assert run("export", second, "--format", fmt, *extra) == 0
            exports.append(capsys.readouterr().out)
            target = tmp_path / f"out-{fmt}-{len(extra)}.{fmt}"
            assert run("export", second, "--format", fmt, *extra, "-o", str(target)) == 0
            assert target.read_text()
    assert run("list") == 0
    assert run("list", "--all") == 0
    doc = json.loads(exports[2])
    # The request keeps the placeholder (so a later turn can resend the tool)...
    assert doc["responses"][0]["request"]["tools"][0]["headers"] == {
        "Authorization": "Bearer ${LAB_TOKEN}"
    }
    assert_clean(capsys.readouterr(), logs, *exports)
    # Everything we wrote: the index, the exports. (The offline backend's own storage, also
    # under the data directory, has its own test below.)
    assert_no_secret_files(index_dir(), *(p for p in tmp_path.iterdir() if p.is_file()))


def test_offline_backend_storage_keeps_no_tool_secret(capsys):
    """The offline backend's own files live in the data directory too."""
    _add_docs_tool()
    assert run("send", "please search the docs", "--tools", "docs") == 0
    capsys.readouterr()
    stored = list(files_under(backend_dir()))
    assert stored, "the offline backend stored nothing"
    found = []
    for path in stored:
        found += leaks(path.read_bytes(), str(path.relative_to(data_dir())))
    assert found == []


@pytest.mark.parametrize(
    "status", [401, 403, 400, 404, 422, 429, 500, 503, "html", "sse-error", "sse-failed"]
)
def test_server_echoing_secrets_in_errors(status, tmp_path, capsys, logs, no_sleep):
    """A server that repeats the key, the header token and the request body (with the tool's
    filled-in header) in its error: the user sees the error, never the values."""
    with echo_server(status) as url:
        _add_lab_profile(url)
        _add_docs_tool()
        capsys.readouterr()
        sends = [
            run("--profile", "lab", "send", "please search", "--tools", "docs"),
            run(
                *("--base-url", url, "--header", "X-Lab-Token: Bearer ${LAB_TOKEN}"),
                *("send", "hello", "--tools", "docs"),
            ),
        ]
        # Reads and deletes: an SSE answer to a GET is nonsense, a 404 on delete means "gone";
        # whatever the outcome, only the messages matter here.
        run("--profile", "lab", "import", "resp_x")
        run("--profile", "lab", "delete", "resp_x", "--yes")
        run("--base-url", url, "--api-key-env", "OPENAI_API_KEY", "import", "resp_y")
    captured = capsys.readouterr()
    assert sends == [1, 1], captured.err
    assert "Traceback" not in captured.err
    assert_clean(captured, logs)
    assert_no_secret_files(tmp_path)


def test_network_failure_messages_keep_secrets_out(tmp_path, capsys, logs, no_sleep):
    _add_lab_profile("http://127.0.0.1:9/v1")
    _add_docs_tool()
    capsys.readouterr()
    codes = [
        run("--profile", "lab", "send", "please search", "--tools", "docs"),
        run("--profile", "lab", "import", "resp_x"),
        run("--base-url", f"http://{LAB_TOKEN}.invalid/v1", "--api-key-env", "LAB_KEY", "list"),
        run("--profile", "openai", "--base-url", "http://127.0.0.1:9/v1", "import", "r"),
    ]
    captured = capsys.readouterr()
    assert codes[:2] == [1, 1] and codes[3] == 1
    assert "127.0.0.1:9" in captured.err
    # (the host name in codes[2] is the user's own URL, not a secret value: left out)
    captured_without_url = captured.err.replace(f"{LAB_TOKEN}.invalid", "")
    found = leaks(captured.out, "stdout") + leaks(captured_without_url, "stderr")
    found += leaks(logs.text.replace(f"{LAB_TOKEN}.invalid", ""), "logging")
    assert found == []
    assert_no_secret_files(index_dir())


def test_client_exceptions_never_carry_secrets(no_sleep):
    """The exceptions themselves (str, args, message), not just what the CLI prints."""
    from tui.api.errors import ApiError
    from tui.ops.conversation import plan_turn, send_turn

    texts: list[str] = []

    async def scenario(url: str) -> None:
        profile = Profile("lab", url, api_key_env="LAB_KEY", headers={"X": "${LAB_TOKEN}"})
        with Index.open(index_dir()) as index:
            async with make_client(profile) as client:
                for call in (client.retrieve("resp_x"), client.delete("resp_x")):
                    try:
                        await call
                    except ApiError as error:
                        texts.extend([str(error), repr(error), error.message, repr(error.args)])
                        texts.append(repr(error.body))
                plan = plan_turn(
                    index,
                    server_id(profile),
                    text="please search",
                    parent=None,
                    default_model="m",
                    tools=[DOCS_TOOL],
                )
                result = await send_turn(
                    client, index, plan, server=server_id(profile), profile="lab"
                )
                assert result.error is not None
                texts.extend([str(result.error), repr(result.error), repr(result.error.args)])

    for status in (401, 500, "sse-error", "sse-failed"):
        with echo_server(status) as url:
            asyncio.run(scenario(url))
    found = []
    for n, text in enumerate(texts):
        found += leaks(text, f"exception text {n}: {text[:80]}")
    assert found == [], "\n".join(found)


# ------------------------------------------------------------------ the app


def _app_texts(app) -> list[str]:
    texts = [app.export_screenshot()]
    texts += [f"{n.title} {n.message}" for n in app._notifications]
    return texts


async def test_app_send_with_tool_screenshot_and_notifications(tmp_path, capsys, logs):
    index = Index.open(index_dir())
    index.save_preset(Preset("docs", DOCS_TOOL).to_doc())
    local = resolve_profile("local", {})
    app = ResponsesApp(index, local, backend=offline_backend(), env=os.environ, debounce=0)
    texts: list[str] = []
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.pause()
            await pilot.press("n")
            app.conversation.next_tools = [DOCS_TOOL]
            app.composer.set_text("please search the docs")
            await pilot.press("ctrl+s")
            await settle(pilot, app)
            assert app.current is not None
            assert index.get(*app.current).tool_labels == ("docs",)
            # Open every collapsed entry (tool calls, listed tools) before the screenshot.
            from textual.widgets import Collapsible

            for entry in app.transcript.query(Collapsible):
                entry.collapsed = False
            await pilot.pause()
            texts += _app_texts(app)
            for widget in app.transcript.query("*"):
                texts.append(str(getattr(widget, "source", "") or ""))
            # The app's own export, and the tools screen.
            target = tmp_path / "app-export.json"
            app._export(app.current, {"scope": "tree", "format": "json", "path": target})
            await pilot.pause()
            assert stat.S_IMODE(target.stat().st_mode) == 0o600
            texts.append(target.read_text())
            await pilot.press("escape")
            app.action_tools()
            await pilot.pause()
            texts += _app_texts(app)
    finally:
        index.close()
    assert_clean(capsys.readouterr(), logs, *texts)
    assert_no_secret_files(index_dir(), tmp_path / "app-export.json")


@pytest.mark.parametrize("status", [401, 500, "sse-error", "sse-failed"])
async def test_app_send_failure_keeps_secrets_off_the_screen(status, capsys, logs, no_sleep):
    """What the app shows after a failed send (notification, transcript, screenshot)."""
    texts: list[str] = []
    with echo_server(status) as url:
        profile = Profile(
            "lab", url, api_key_env="LAB_KEY", headers={"X-Lab-Token": "${LAB_TOKEN}"}
        )
        index = Index.open(index_dir())
        app = ResponsesApp(index, profile, env=os.environ, debounce=0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await pilot.pause()
                await pilot.press("n")
                app.conversation.next_tools = [DOCS_TOOL]
                app.composer.set_text("please search")
                await pilot.press("ctrl+s")
                await settle(pilot, app)
                messages = [str(n.message) for n in app._notifications]
                assert any(n.severity == "error" for n in app._notifications), messages
                texts += _app_texts(app)
                for widget in app.transcript.query("*"):
                    texts.append(str(getattr(widget, "source", "") or ""))
        finally:
            index.close()
    assert_clean(capsys.readouterr(), logs, *texts)
    if status != "sse-failed":  # that one's index is checked in test_server_echoing_...
        assert_no_secret_files(index_dir())


# ------------------------------------------------------------------ file modes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_even_with_a_permissive_umask(tmp_path, capsys):
    old = os.umask(0)
    try:
        _add_docs_tool()
        assert run("profiles", "add", "lab", "--base-url", "http://127.0.0.1:1/v1") == 0
        assert run("send", "please search the docs", "--tools", "docs") == 0
        rid = _last_id()
        assert run("send", "more", "--reply-to", rid) == 0
        outputs = []
        for fmt in ("md", "json"):
            target = tmp_path / f"export.{fmt}"
            assert run("export", rid, "--format", fmt, "-o", str(target)) == 0
            outputs.append(target)
        existing = tmp_path / "existing.md"  # an existing, world-readable file is replaced
        existing.write_text("old")
        existing.chmod(0o644)
        assert run("export", rid, "--format", "md", "-o", str(existing)) == 0
        outputs.append(existing)
    finally:
        os.umask(old)
    capsys.readouterr()

    assert _mode(index_dir()) == 0o700
    wrong = {}
    index_files = list(files_under(index_dir()))
    assert any(p.name == "catalog.json" for p in index_files)
    assert any(p.name.endswith(".bodies.json") for p in index_files)
    for path in index_files:
        if _mode(path) != 0o600:
            wrong[str(path)] = oct(_mode(path))
    for path in index_dir().rglob("*"):
        if path.is_dir() and _mode(path) & 0o077:
            wrong[str(path)] = oct(_mode(path))
    backend_files = list(files_under(backend_dir()))
    assert backend_files
    for path in backend_files + outputs:
        if _mode(path) != 0o600:
            wrong[str(path)] = oct(_mode(path))
    if _mode(backend_dir()) & 0o077:
        wrong[str(backend_dir())] = oct(_mode(backend_dir()))
    assert wrong == {}


def test_an_existing_index_directory_is_tightened(capsys):
    index_dir().mkdir(parents=True, mode=0o755)
    index_dir().chmod(0o755)
    assert run("list") == 0
    capsys.readouterr()
    assert _mode(index_dir()) == 0o700
