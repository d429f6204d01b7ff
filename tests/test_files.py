"""Files and odd command lines: temp files, the lock file, profile names, ports, TLS, pipes.

`export -o` writes through a temp file created with O_EXCL next to the target, never follows a
symlink planted at a temp name and leaves no temp file behind; the lock file is opened with
O_NOFOLLOW; a profile name or base URL with control characters is refused; a port out of
range, a TLS failure and a closed pipe each end in one clear line (or quietly, for the pipe).
"""

from __future__ import annotations

import errno
import http.server
import os
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ids import plain
from loopback import serve

from tui.api.profiles import resolve_profile
from tui.cli import main
from tui.ops.connect import server_id
from tui.paths import index_dir
from tui.store import atomic
from tui.store.index import Index

ROOT = Path(__file__).resolve().parent.parent
SERVER = server_id(resolve_profile("local", {}))


@pytest.fixture
def no_sleep(monkeypatch):
    async def instant(_seconds: float) -> None:
        return None

    monkeypatch.setattr("asyncio.sleep", instant)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("responses-tui: error:"), err
    assert "\x1b" not in err and "Traceback" not in err
    return lines[0]


def a_response(capsys) -> str:
    """Send one message to the offline backend; its id."""
    assert main(["send", "hello files"]) == 0
    capsys.readouterr()
    with Index.open(index_dir()) as index:
        return index.nodes(SERVER)[0].id


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------ export -o


def test_export_never_follows_a_symlink_planted_at_a_temp_name(tmp_path, capsys):
    rid = a_response(capsys)
    out = tmp_path / "out" / "talk.md"
    out.parent.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    # The name the temp file used to have (the pid is no secret), and a few around it.
    planted = [
        out.parent / f".talk.md.{pid}.tmp" for pid in range(os.getpid() - 2, os.getpid() + 3)
    ]
    for link in planted:
        link.symlink_to(victim)
    assert main(["export", rid, "-o", str(out)]) == 0
    assert victim.read_text() == "precious\n"
    assert "hello files" in out.read_text()
    assert all(link.is_symlink() for link in planted)  # someone else's files: left alone
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(
        ["talk.md", *(link.name for link in planted)]
    )


def test_the_temp_file_is_exclusive_next_to_the_target_and_a_taken_name_is_skipped(
    tmp_path, monkeypatch
):
    target = tmp_path / "export.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / ".export.json.taken.tmp").symlink_to(victim)
    names = iter(["taken", "free"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda _n: next(names))
    opened: list[tuple[Path, int]] = []
    real_open = os.open

    def spy(path, flags, *args, **kw):
        opened.append((Path(path), flags))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(atomic.os, "open", spy)
    atomic.write_private_file(target, b'{"ok": true}')
    temps = [(path, flags) for path, flags in opened if path.name.endswith(".tmp")]
    assert [path.name for path, _ in temps] == [".export.json.taken.tmp", ".export.json.free.tmp"]
    for path, flags in temps:
        assert path.parent == tmp_path
        assert flags & os.O_EXCL and flags & os.O_NOFOLLOW and flags & os.O_CREAT
        assert not flags & os.O_TRUNC
    assert target.read_bytes() == b'{"ok": true}'
    assert victim.read_text() == "precious\n"
    assert temp_files(tmp_path) == [".export.json.taken.tmp"]


def test_a_failed_write_leaves_no_temp_file(tmp_path, monkeypatch, capsys):
    rid = a_response(capsys)
    # The target is a directory: the rename fails after the temp file was written.
    folder = tmp_path / "a-folder.md"
    folder.mkdir()
    assert main(["export", rid, "-o", str(folder)]) == 1
    one_error_line(capsys.readouterr().err)
    assert temp_files(tmp_path) == []

    # The disk fills up while writing.
    def full(_fd, _data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "write", full)
    with pytest.raises(OSError):
        atomic.write_private_file(tmp_path / "x.json", b"data")
    assert temp_files(tmp_path) == [] and not (tmp_path / "x.json").exists()


# ------------------------------------------------------------------ the lock file


def test_a_symlink_planted_as_the_lock_file_is_not_followed(capsys):
    directory = index_dir()
    directory.mkdir(parents=True, mode=0o700)
    victim = directory.parent / "victim.txt"
    victim.write_text("precious\n")
    (directory / "index.lock").symlink_to(victim)
    assert main(["list"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "symbolic link" in line and "index.lock" in line
    assert victim.read_text() == "precious\n"


# ------------------------------------------------------------------ profiles add

BAD_NAMES = ["", "   ", "lab\x1b[31m", "lab\nsecond", "la\u202eb", "lab\x9b2J"]
BAD_URLS = [
    "",
    "http://exa\nmple.com/v1",
    "http://exa\tmple.com/v1",
    "http://example.com\x1b]0;pwned\x07/v1",
    "http://example.com/v1\x00",
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=plain)
def test_profiles_add_refuses_an_empty_or_control_character_name(name, capsys):
    code = main(["profiles", "add", name, "--base-url", "http://localhost:8321/v1"])
    assert code == 2
    one_error_line(capsys.readouterr().err)
    with Index.open(index_dir()) as index:
        assert index.profiles() == []


@pytest.mark.parametrize("url", BAD_URLS, ids=plain)
def test_profiles_add_refuses_an_empty_or_control_character_base_url(url, capsys):
    assert main(["profiles", "add", "lab", "--base-url", url]) == 2
    one_error_line(capsys.readouterr().err)
    with Index.open(index_dir()) as index:
        assert index.profiles() == []


def test_profiles_add_refuses_a_variable_name_that_is_not_one(capsys):
    args = ["profiles", "add", "lab", "--base-url", "http://localhost:8321/v1"]
    assert main([*args, "--api-key-env", "LAB\x1b[2JKEY"]) == 2
    one_error_line(capsys.readouterr().err)
    assert main([*args, "--api-key-env", "LAB_KEY"]) == 0  # a good one still works


# ------------------------------------------------------------------ serve --port


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_with_a_port_out_of_range_is_one_line(port, capsys):
    assert main(["serve", f"--port={port}"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert port in line


# ------------------------------------------------------------------ TLS


class Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def self_signed(tmp_path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return tmp_path


def test_a_tls_failure_is_not_called_connection_refused(self_signed, monkeypatch, capsys, no_sleep):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(self_signed / "cert.pem", self_signed / "key.pem")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    monkeypatch.setenv("LAB_KEY", "sk-test-tls-key-value")
    try:
        base = f"https://127.0.0.1:{server.server_address[1]}/v1"
        code = main(["--base-url", base, "--api-key-env", "LAB_KEY", "import", "resp_abc123"])
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert "TLS handshake" in line and "certificate verify failed" in line, line
    assert "refused" not in line


def test_https_to_a_plain_http_server_is_a_tls_failure(monkeypatch, capsys, no_sleep):
    monkeypatch.setenv("LAB_KEY", "sk-test-tls-key-value")
    with serve(Quiet) as url:
        base = url.replace("http://", "https://")
        code = main(["--base-url", base, "--api-key-env", "LAB_KEY", "import", "resp_abc123"])
    assert code == 1
    line = one_error_line(capsys.readouterr().err)
    assert "TLS handshake" in line and "refused" not in line, line


# ------------------------------------------------------------------ a closed pipe


def _many_responses(count: int) -> None:
    records = []
    for n in range(count):
        body = {
            "id": f"resp_pipe{n:08d}",
            "object": "response",
            "created_at": 1_700_000_000 + n,
            "status": "completed",
            "model": "pipe-model",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"Answer number {n}"}],
                }
            ],
        }
        inputs = [{"type": "message", "role": "user", "content": f"Question number {n}"}]
        records.append((body, inputs))
    with Index.open(index_dir()) as index:
        assert index.add_many(records, server=SERVER, profile="local") == count


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_closed_pipe_ends_quietly(capsys):
    _many_responses(3000)  # far more than a pipe's buffer
    process = _cli("list")
    first = process.stdout.readline()
    process.stdout.close()  # `| head -1`
    err = process.stderr.read()
    process.wait(60)
    assert first.strip()
    assert err == b"", err.decode(errors="replace")
    assert process.returncode in (0, 141)


def test_a_pipe_closed_before_anything_is_written_ends_quietly():
    process = _cli("profiles", "list")
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read()
    process.wait(60)
    assert err == b"", err.decode(errors="replace")
    assert process.returncode in (0, 141)
