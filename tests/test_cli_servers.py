"""The CLI against servers other than the offline backend's usual path: a function call made
with --no-store is answered by replay, and an answer that came as plain JSON is printed."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler

from loopback import serve

from tui.cli import main
from tui.paths import index_dir
from tui.store.index import Index


def run(*argv: str) -> int:
    return main(list(argv))


def test_a_no_store_function_call_can_be_answered(capsys):
    parameters = '{"type": "object", "properties": {"city": {"type": "string"}}}'
    assert (
        run("tools", "add", "weather", "--function", "get_weather", "--parameters", parameters) == 0
    )
    capsys.readouterr()
    assert run("send", "call get_weather for Porto", "--tools", "weather", "--no-store") == 0
    err = capsys.readouterr().err
    match = re.search(r"--reply-to (resp_\w+) --function-output (call_\w+)=OUTPUT", err)
    assert match, err
    # The offline backend did not keep it (store: false): the answer replays the call.
    assert (
        run("send", "--reply-to", match.group(1), "--function-output", f"{match.group(2)}=21C") == 0
    )
    assert "21C" in capsys.readouterr().out
    with Index.open(index_dir()) as index:
        answer = index.latest()
        assert answer.parent == match.group(1)
        sent = index.load_body(answer.server, answer.id)["request"]
        assert "previous_response_id" not in sent


class PlainJSON(BaseHTTPRequestHandler):
    """A server that answers a streamed create with the whole response as plain JSON."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        sent = json.loads(self.rfile.read(length))
        assert sent["stream"] is True
        body = json.dumps(
            {
                "id": "resp_plainjson",
                "object": "response",
                "status": "completed",
                "model": sent["model"],
                "output": [
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [
                            {"type": "output_text", "text": "answered \x1b]0;x\x07plainly"}
                        ],
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        return None


def test_send_prints_an_answer_that_came_as_plain_json(capsys):
    with serve(PlainJSON) as base_url:
        assert run("--base-url", base_url, "--model", "m", "send", "hello") == 0
    out = capsys.readouterr().out
    assert "answered" in out and "plainly" in out
    assert "\x1b" not in out and "\x07" not in out


def test_send_says_it_replays_and_a_failure_prints_no_stray_line(capsys):
    assert run("send", "keep this to myself", "--no-store") == 0
    rid = capsys.readouterr().err.split()[0]
    assert run("send", "and now?", "--reply-to", rid) == 0
    assert f"replaying 1 turn as input: the server cannot continue {rid}" in capsys.readouterr().err
    assert run("--model", "m", "--base-url", "http://127.0.0.1:9/v1", "send", "hi") == 1
    assert capsys.readouterr().out == ""
