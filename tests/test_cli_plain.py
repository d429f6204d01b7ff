"""Issue 14.10, the CLI items: `--help` names the key variables and shows that COMMAND is
optional; `list` and `search` print plain text (no Markdown markers) cut to the terminal's
width on a terminal; `serve` logs a dropped client in one line, never a traceback."""

from __future__ import annotations

import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from tui.cli import main
from tui.ops.listing import unmark

ROOT = Path(__file__).resolve().parents[1]


def test_help_names_the_key_variables_and_shows_command_is_optional(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: responses-tui [OPTIONS] [COMMAND [ARGS ...]]\n")
    assert "Without a COMMAND, the interactive browser opens." in out
    for var in (
        "FIREWORKS_API_KEY",
        "FIREWORKS_ACCOUNT_ID",
        "OPENAI_API_KEY",
        "RESPONSES_TUI_PROFILE",
        "RESPONSES_TUI_HOME",
    ):
        assert re.search(rf"^  {var} +\S", out, re.MULTILINE), var


def test_a_command_keeps_its_own_usage_line(capsys):
    with pytest.raises(SystemExit):
        main(["list", "--help"])
    assert capsys.readouterr().out.startswith("usage: responses-tui list [-h]")


@pytest.mark.parametrize(
    ("marked", "plain"),
    [
        ("**Offline backend** · turn 1", "Offline backend · turn 1"),
        ("a __strong__ and ~~gone~~ word", "a strong and gone word"),
        ("run `ls -l` now", "run ls -l now"),
        ("see [the docs](https://x.test/a) here", "see the docs here"),
        ("# Title ## Part > quoted", "Title Part quoted"),
        ("2*3*4 in C# costs 5 * 2", "2*3*4 in C# costs 5 * 2"),  # not markers: kept
    ],
)
def test_unmark_leaves_plain_text(marked, plain):
    assert unmark(marked) == plain


def cli(*args: str, columns: int | None = None) -> str:
    """Run the CLI in a real process; on a terminal `columns` wide when given, else piped."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tui", *args]
    if columns is None:
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout
    env["COLUMNS"] = str(columns)
    main_fd, terminal = pty.openpty()
    process = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=terminal, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([main_fd], [], [], 60)
        assert ready, "no output"
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert process.wait(60) == 0, process.stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_list_and_search_are_plain_text_cut_to_the_terminal():
    sent = subprocess.run(
        [sys.executable, "-m", "tui", "send", "a **bold** question about `code` # here"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    for args in (("list",), ("search", "question")):
        on_terminal = cli(*args, columns=50).splitlines()
        piped = cli(*args).splitlines()
        assert on_terminal and len(on_terminal) == len(piped), args
        for shown, whole in zip(on_terminal, piped, strict=True):
            for line in (shown, whole):
                assert not re.search(r"\*\*|`|(^|\s)#\s", line), (args, line)
            assert cell_len(shown) <= 50, (args, shown)
            if cell_len(whole) > 50:  # cut, and says so
                assert shown.endswith("…") and whole.startswith(shown[:-1].rstrip()), args
            else:
                assert shown == whole
        assert any(cell_len(line) > 50 for line in piped), args  # whole lines into a pipe


def test_serve_logs_a_dropped_client_in_one_line():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        port = int(re.search(r":(\d+)/v1", server.stdout.readline()).group(1))
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"POST /v1/resp")  # half a request line, then a reset
        time.sleep(0.2)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(0.5)
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert "Traceback" not in errors
    lines = errors.splitlines()
    assert len(lines) == 1, errors
    assert re.fullmatch(
        r"responses-tui serve: client 127\.0\.0\.1:\d+ dropped the connection: "
        r"Connection reset by peer",
        lines[0],
    )
