"""`responses-tui send --reply-to ID --fan-out N`: one line per run, in run order, with the id
it created or why it failed; comma lists for --model and --temperature; exit codes."""

from __future__ import annotations

import re

import pytest

import tui.local.server as offline_server
from tui.api.profiles import resolve_profile
from tui.cli import main
from tui.local.request import RequestError
from tui.ops.connect import server_id
from tui.ops.conversation import settings_of
from tui.paths import index_dir
from tui.store.index import Index

SERVER = server_id(resolve_profile("local", {}))
RUN = re.compile(r"^run (\d) · (\S+)(?: · T (\S+))?: (resp_\w+)$")


def send(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["send", *argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


@pytest.fixture
def turn(capsys) -> str:
    """A second turn (the one fanned out from), replying to a first."""
    code, _out, err = send(capsys, "What is a fork?")
    assert code == 0, err
    rid = re.search(r"resp_\w+", err).group(0)
    code, _out, err = send(capsys, "--reply-to", rid, "Tell me more")
    assert code == 0, err
    return re.findall(r"resp_\w+", err)[-1]


def indexed() -> Index:
    return Index.open(index_dir())


def test_fan_out_sends_the_turns_input_again_as_siblings(capsys, turn):
    code, out, err = send(
        capsys, "--reply-to", turn, "--fan-out", "3", "--model", "a,b,c",
        "--temperature", "0.2,0.7,1.0",
    )  # fmt: skip
    assert code == 0, err
    assert f"fanning out from {turn}: 3 runs of its input again" in err
    matches = [RUN.match(line) for line in out]
    assert all(matches) and len(matches) == 3, out
    assert [(m[1], m[2], m[3]) for m in matches] == [
        ("1", "a", "0.2"),
        ("2", "b", "0.7"),
        ("3", "c", "1"),
    ]
    with indexed() as index:
        siblings = index.forest(SERVER).siblings((SERVER, turn))
        for m in matches:
            rid = m[4]
            assert (SERVER, rid) in siblings
            assert index.get(SERVER, rid).input_preview == "Tell me more"
            assert settings_of(index, SERVER, rid)["model"] == m[2]
        assert settings_of(index, SERVER, matches[0][4])["temperature"] == 0.2


def test_one_value_goes_to_every_run_and_a_message_makes_replies(capsys, turn):
    code, out, err = send(
        capsys, "--reply-to", turn, "--fan-out", "2", "--model", "m1", "And then?"
    )
    assert code == 0, err
    assert "2 runs of the message as replies to it" in err
    assert [RUN.match(line)[2] for line in out] == ["m1", "m1"]
    with indexed() as index:
        children = index.forest(SERVER).children((SERVER, turn))
        ids = [RUN.match(line)[4] for line in out]
        assert sorted(k[1] for k in children) == sorted(ids)
        assert all(index.get(SERVER, rid).input_preview == "And then?" for rid in ids)


def test_without_lists_every_run_keeps_the_turns_own_model(capsys, turn):
    code, out, err = send(capsys, "--reply-to", turn, "--fan-out", "2")
    assert code == 0, err
    assert [RUN.match(line)[2] for line in out] == ["offline-echo"] * 2


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--fan-out", "3", "--model", "a,b"], "--model gives 2 values for 3 runs"),
        (["--fan-out", "2", "--temperature", "1,1,1"], "--temperature gives 3 values for 2"),
        (["--fan-out", "2", "--temperature", "0.5,3"], "run 2: temperature: must be between"),
        (["--fan-out", "2", "--model", "a,"], "run 2: model: type a model name"),
        (["--fan-out", "9"], "--fan-out: must be from 2 to 8"),
        (["--fan-out", "1"], "--fan-out: must be from 2 to 8"),
        (["--fan-out", "2", "--no-store"], "not with --approve"),
        (["--fan-out", "2", "--tools", ""], "not with --approve"),
    ],
)
def test_what_cannot_be_sent_is_a_usage_error(capsys, turn, argv, said):
    with indexed() as index:
        before = len(index)
    code, out, err = send(capsys, "--reply-to", turn, *argv)
    assert code == 2 and out == [], (out, err)
    assert err.startswith("responses-tui: error: ") and said in err, err
    assert len(err.strip().splitlines()) == 1
    with indexed() as index:
        assert len(index) == before  # nothing was sent


def test_usage_errors_without_a_turn(capsys):
    code, _out, err = send(capsys, "--fan-out", "2", "hi")
    assert code == 2 and "--fan-out needs --reply-to ID" in err
    # A list of temperatures is for a fan-out; a single send takes one.
    code, _out, err = send(capsys, "--temperature", "0.5,0.7", "hi")
    assert code == 2 and "'0.5,0.7' is not a number" in err
    code, _out, err = send(capsys, "--reply-to", "resp_nope", "--fan-out", "2")
    assert code == 1 and "unknown response id 'resp_nope'" in err


def test_a_failed_run_is_one_line_the_others_are_kept_and_the_exit_is_1(capsys, turn, monkeypatch):
    real = offline_server.check_create

    def refuse(body):
        if body.get("model") == "no-such-model":
            raise RequestError("The model `no-such-\x1b[2Jmodel` does not exist", param="model")
        return real(body)

    monkeypatch.setattr(offline_server, "check_create", refuse)
    code, out, err = send(
        capsys, "--reply-to", turn, "--fan-out", "3", "--model", "a,no-such-model,c"
    )
    assert code == 1
    assert len(out) == 3
    assert RUN.match(out[0]) and RUN.match(out[2])
    assert out[1].startswith("run 2 · no-such-model: failed: ")
    assert "does not exist" in out[1] and "\x1b" not in out[1]
    assert err.splitlines()[-1] == "responses-tui: error: 1 of 3 runs failed (run 2 first)"
    with indexed() as index:
        siblings = index.forest(SERVER).siblings((SERVER, turn))
        assert len(siblings) == 3  # the turn and the two that worked
        for line in (out[0], out[2]):
            assert (SERVER, RUN.match(line)[4]) in siblings
