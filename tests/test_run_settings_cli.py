"""Issue 15, point 1, in the shell: `responses-tui send` takes the run settings as options,
checks them first (one usage line naming the option), and a reply inherits them."""

from __future__ import annotations

import json

import pytest

from tui.cli import EXIT_USAGE, main
from tui.paths import index_dir
from tui.store.index import Index


def requests() -> list[dict]:
    """What the sends sent (besides the input)."""
    with Index.open(index_dir()) as index:
        return [index.load_body(n.server, n.id)["request"] for n in index.nodes()]


def request(rid: str) -> dict:
    with Index.open(index_dir()) as index:
        (node,) = [n for n in index.nodes() if n.id == rid]
        return index.load_body(node.server, node.id)["request"]


def last_id(capsys) -> str:
    err = capsys.readouterr().err
    return err.strip().splitlines()[-1].split(" · ")[0]


def test_send_takes_every_run_setting_and_a_reply_inherits_them(capsys, tmp_path):
    schema = tmp_path / "city.json"
    schema.write_text(json.dumps({"name": "city", "schema": {"type": "object", "properties": {}}}))
    code = main(
        [
            "send", "first", "--model", "lab-model", "--instructions", "Be brief.",
            "--temperature", "0.7", "--reasoning-effort", "low", "--max-output-tokens", "300",
            "--json-schema", str(schema),
        ]
    )  # fmt: skip
    assert code == 0
    first = last_id(capsys)
    (sent,) = requests()
    assert sent["model"] == "lab-model"
    assert sent["instructions"] == "Be brief."
    assert sent["temperature"] == 0.7
    assert sent["reasoning"] == {"effort": "low"}
    assert sent["max_output_tokens"] == 300
    assert sent["text"] == {
        "format": {
            "type": "json_schema",
            "name": "city",
            "schema": json.loads(schema.read_text())["schema"],
        }
    }
    # A reply without options inherits them; one option replaces only its own setting.
    assert main(["send", "more", "--reply-to", first, "--temperature", "1.5"]) == 0
    second = last_id(capsys)
    reply = request(second)
    assert reply["temperature"] == 1.5
    assert {k: reply[k] for k in ("model", "instructions", "max_output_tokens")} == {
        "model": "lab-model",
        "instructions": "Be brief.",
        "max_output_tokens": 300,
    }
    # --instructions '' takes them out.
    assert main(["send", "plain", "--reply-to", second, "--instructions", ""]) == 0
    third = request(last_id(capsys))
    assert "instructions" not in third and third["temperature"] == 1.5


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--temperature", "3"], "--temperature: must be between 0 and 2"),
        (["--temperature", "warm"], "--temperature: 'warm' is not a number"),
        (["--reasoning-effort", "huge"], "--reasoning-effort: effort is one of none, minimal"),
        (["--max-output-tokens", "0"], "--max-output-tokens: must be a whole number above 0"),
        (["--json-schema", "/nonexistent/schema.json"], "--json-schema: cannot read"),
    ],
)
def test_a_wrong_run_setting_is_one_usage_line_and_nothing_is_sent(capsys, argv, said):
    assert main(["send", "hello", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"responses-tui: error: {said}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert requests() == []


def test_a_json_schema_file_must_name_its_schema(capsys, tmp_path):
    path = tmp_path / "bad.json"
    for text, said in [
        ("{not json", "the schema is not JSON"),
        ('{"type": "object"}', 'the schema needs a "name"'),
    ]:
        path.write_text(text)
        assert main(["send", "hello", "--json-schema", str(path)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith(f"responses-tui: error: --json-schema: {said}"), err
    assert requests() == []
