"""Nothing the app prints when something unexpected happens holds a secret.

An exception no one planned for (a full disk mid-send, a recursion limit, a key that cannot be
encoded) is reported in one line and the app keeps running; what still ends the app prints one
redacted line, never a traceback with local variables, and exits non-zero. A key that cannot go
in an HTTP header is refused before anything is sent, naming its variable, never its value.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from textual.widget import Widget
from ui_helpers import SERVER, build, settle, wait_for

from tui.api.errors import ApiError
from tui.api.profiles import Profile, resolve_profile
from tui.cli import main
from tui.store.index import Index
from tui.ui.app import ResponsesApp

# Values the generic redaction patterns would catch anyway are not enough: these are only
# kept out by tracking the actual values.
KEY = "sk-test-Qz7CrashKeyValue9xKp"
TOKEN = "Qz7CrashToolToken9xKpRt"
SECRETS = (KEY, TOKEN)
SIZE = (110, 34)
ROOT = Path(__file__).resolve().parent.parent


def secret_free(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked in {text[:300]!r}"


def errors_shown(app) -> list[str]:
    return [str(n.message) for n in app._notifications if n.severity == "error"]


# ------------------------------------------------------------------ workers and handlers


def _mid_send_errors() -> list[BaseException]:
    return [
        RecursionError("maximum recursion depth exceeded while decoding a JSON object"),
        OSError(errno.ENOSPC, f"No space left on device, while writing Bearer {KEY}"),
        UnicodeEncodeError("ascii", f"Bearer {KEY}é", 28, 29, "ordinal not in range(128)"),
        RuntimeError(f"headers were {{'Authorization': 'Bearer {KEY}', 'X-Token': '{TOKEN}'}}"),
    ]


@pytest.mark.parametrize("error", _mid_send_errors(), ids=lambda e: type(e).__name__)
async def test_an_unexpected_error_mid_send_is_one_line_and_the_app_goes_on(
    error, tmp_path, monkeypatch
):
    app, index, _ = build(tmp_path, demo=False)

    async def failing_send(*_args, **_kw):
        headers = {"Authorization": f"Bearer {KEY}"}  # noqa: F841 (a local that must not show)
        raise error

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.client.add_secrets([KEY, TOKEN])
        await pilot.pause()
        with monkeypatch.context() as patch:
            patch.setattr("tui.ui.conversation_pane.send_turn", failing_send)
            app.composer.set_text("Hello before the disk fills")
            await pilot.press("ctrl+s")
            await settle(pilot, app, errors=1)
        assert app.is_running
        shown = errors_shown(app)
        assert len(shown) == 1, shown
        assert "\n" not in shown[0]
        assert type(error).__name__ in shown[0]
        secret_free(*shown, app.export_screenshot())
        assert app.composer.text == "Hello before the disk fills"  # nothing was created
        assert not app.streaming and not app.composer.input.read_only
        # Still usable: the same message goes through now.
        await pilot.press("ctrl+s")
        await settle(pilot, app, errors=1)  # the one raised above, and no other
        assert [n.input_preview for n in index.nodes(SERVER)] == ["Hello before the disk fills"]
    assert app.return_code in (None, 0)
    index.close()


async def test_an_unexpected_error_in_a_handler_or_callback_keeps_the_app(tmp_path, monkeypatch):
    app, index, _ = build(tmp_path)

    def broken_action(self) -> None:
        raise KeyError(f"Bearer {KEY}")

    def broken_callback() -> None:
        raise ValueError(f"token {TOKEN} rejected")

    monkeypatch.setattr(ResponsesApp, "action_help", broken_action)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.client.add_secrets([KEY, TOKEN])
        await pilot.pause()
        await pilot.press("question_mark")  # a key binding (a message handler of the app)
        await pilot.pause()
        app.call_later(broken_callback)  # a callback run by the app's message loop
        await pilot.pause()
        app.set_timer(0.01, broken_callback)  # a timer
        await wait_for(pilot, lambda: len(errors_shown(app)) >= 3)
        assert app.is_running
        shown = errors_shown(app)
        assert len(shown) == 3, shown
        assert all("\n" not in line for line in shown)
        assert "KeyError" in shown[0] and "ValueError" in shown[1]
        secret_free(*shown)
        await pilot.press("n")  # the app still answers keys
        await pilot.pause()
        assert app.conversation.mode == "new"
    assert app.return_code in (None, 0)
    index.close()


# ------------------------------------------------------------------ a crash that still happens


class Exploding(Widget):
    """A widget whose handler fails: its message loop is gone, so the app must stop."""

    def boom(self) -> None:
        key = KEY  # noqa: F841 (locals a traceback with locals would print)
        headers = {"Authorization": f"Bearer {KEY}", "X-Token": TOKEN}
        raise RuntimeError(f"cannot use {headers}")


async def test_a_crash_in_a_widget_exits_non_zero_with_one_redacted_line(tmp_path, capsys):
    app, index, _ = build(tmp_path, demo=False)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.client.add_secrets([KEY, TOKEN])
            widget = Exploding()
            await app.screen.mount(widget)
            await pilot.pause()
            widget.call_later(widget.boom)
            await pilot.pause()
            await pilot.pause()
    index.close()
    assert app.return_code == 1
    out, err = capsys.readouterr()
    secret_free(out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("responses-tui: error:") and "RuntimeError" in lines[0]
    assert "locals" not in err and "Traceback" not in err


CRASH_SCRIPT = textwrap.dedent(
    """
    import functools, sys
    from textual.app import App
    import tui.ui.app as app_module
    from tui.tools import resolve_tools

    TOOL = {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com/mcp",
            "headers": {"Authorization": "Bearer ${CRASH_TOOL_TOKEN}"}}
    mounted = app_module.ResponsesApp.on_mount

    def on_mount(self):
        mounted(self)

        def boom():
            key = self.profile.api_key(self.env)
            wire, tool_secrets = resolve_tools([TOOL], self.env)
            headers = {"Authorization": f"Bearer {key}"}
            raise RuntimeError(f"crash while holding {headers}")

        self.transcript.call_later(boom)  # fails in the transcript's own message loop

    app_module.ResponsesApp.on_mount = on_mount
    app_module.ResponsesApp.run = functools.partialmethod(App.run, headless=True, size=(90, 30))
    from tui.cli import main
    sys.exit(main(["--profile", "openai"]))
    """
)


def test_a_crash_of_the_real_app_prints_no_locals_and_no_secret(tmp_path):
    env = {
        **os.environ,
        "RESPONSES_TUI_HOME": str(tmp_path / "home"),
        "OPENAI_API_KEY": KEY,
        "CRASH_TOOL_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    secret_free(output)
    assert "locals" not in output and "Traceback" not in output, output[-3000:]
    assert done.returncode != 0, output[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("responses-tui: error:"), done.stderr
    assert "RuntimeError" in lines[0] and "***" in lines[0]


# ------------------------------------------------------------------ keys that cannot be sent

BAD_KEYS = {
    "non-ascii": "sk-test-Qz7Crash\u00e9KeyValue",
    "crlf": "sk-test-Qz7Crash\r\nX-Injected: yes",
    "escape": "sk-test-Qz7Crash\x1b[2JKeyValue",
    "nul": "sk-test-Qz7Crash\x00KeyValue",  # not in a real environment; in a mapping, yes
}
IN_ENVIRON = {name: key for name, key in BAD_KEYS.items() if name != "nul"}


@pytest.mark.parametrize("bad", IN_ENVIRON.values(), ids=IN_ENVIRON.keys())
def test_a_key_that_cannot_be_a_header_is_refused_naming_the_variable(bad, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", bad)
    assert main(["--profile", "openai", "import", "resp_abc123"]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("responses-tui: error:")
    assert "OPENAI_API_KEY" in lines[0]
    assert "Qz7Crash" not in out + err


@pytest.mark.parametrize("bad", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_header_variable_that_cannot_be_sent_is_refused_naming_it(bad):
    profile = Profile("lab", "http://127.0.0.1:9/v1", headers={"X-Team": "team ${LAB_TEAM}"})
    with pytest.raises(ApiError) as caught:
        profile.resolved_headers({"LAB_TEAM": bad})
    assert "LAB_TEAM" in str(caught.value) and "Qz7Crash" not in str(caught.value)


async def test_switching_to_a_profile_with_an_unsendable_key_is_a_clear_message(tmp_path):
    env = {"OPENAI_API_KEY": BAD_KEYS["non-ascii"]}
    index = Index.open(tmp_path / "index")
    app = ResponsesApp(index, resolve_profile("local", {}), env=env, debounce=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.switch_profile("openai") is False
        await pilot.pause()
        assert app.is_running and app.profile.name == "local"
        shown = errors_shown(app)
        assert len(shown) == 1 and "OPENAI_API_KEY" in shown[0], shown
        assert "Qz7Crash" not in shown[0]
    index.close()
