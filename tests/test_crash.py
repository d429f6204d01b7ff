"""Crash safety: SIGKILL a process that writes to the index in a loop, 50 times. The index is
readable every time, loses at most the write in flight, and no temp file is left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tui.store.index import Index

PROJECT = Path(__file__).resolve().parents[1]

# The child reports each write after it returned (so after its fsync and rename).
WRITER = textwrap.dedent(
    """
    import itertools, sys
    from pathlib import Path
    from tui.store.index import Index
    idx = Index.open(Path(sys.argv[1]))
    start = len(idx)
    print(f"start {start}", flush=True)
    for i in itertools.count(start):
        idx.add_response(
            {"id": f"resp_{i}", "object": "response", "created_at": float(i), "model": "m",
             "status": "completed", "previous_response_id": f"resp_{i - 1}" if i else None,
             "output": [{"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": "x" * (i % 500)}]}]},
            server="s", profile="p",
            input_items=[{"type": "message", "role": "user", "content": f"q{i}"}],
        )
        if i % 5 == 0:
            idx.set_status("s", f"resp_{i}", "incomplete")
        print(f"done {i}", flush=True)
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_fifty_sigkills_lose_at_most_the_write_in_flight(tmp_path):
    directory = tmp_path / "index"
    rng = random.Random(50)
    committed = -1  # the last write a child reported as done
    for round_number in range(50):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=PROJECT,
        )
        try:
            first = child.stdout.readline()
            assert first.startswith("start "), child.stderr.read()
            assert int(first.split()[1]) >= committed + 1
            time.sleep(rng.uniform(0.0, 0.08))
        finally:
            child.send_signal(signal.SIGKILL)
            output, _errors = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        done = [int(line.split()[1]) for line in output.splitlines() if line.startswith("done ")]
        if done:
            committed = max(committed, done[-1])

        with Index.open(directory) as index:  # readable, no warnings, nothing moved aside
            assert index.warnings == [], (round_number, index.warnings)
            ids = {node.id for node in index.nodes("s")}
            count = len(ids)
            # Every reported write is there; at most one more (the one in flight) may be.
            assert count in (committed + 1, committed + 2), (round_number, count, committed)
            assert ids == {f"resp_{i}" for i in range(count)}
            if count:
                last = f"resp_{count - 1}"
                assert index.load_body("s", last)["response"]["id"] == last
                assert len(index.forest("s").segments()) == 1
            committed = count - 1
        leftovers = [p for p in directory.rglob("*") if p.name.endswith(".tmp")]
        assert leftovers == []
        assert not list(directory.rglob("*.corrupt-*"))
    assert committed > 50


def test_a_second_instance_writes_beside_a_running_writer(tmp_path):
    directory = tmp_path / "index"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=PROJECT,
    )

    def next_done() -> int:
        line = child.stdout.readline()
        assert line.startswith("done "), (line, child.stderr.read() if not line else "")
        return int(line.split()[1])

    try:
        assert child.stdout.readline().startswith("start")
        for _ in range(3):  # the writer is well under way
            next_done()
        with Index.open(directory) as index:
            for i in range(20):
                index.add_response(
                    {"id": f"other_{i}", "created_at": 1.0, "status": "completed"},
                    server="other",
                    profile="p",
                )
            assert len(index.nodes("other")) == 20
        for _ in range(3):  # and goes on after ours
            last = next_done()
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    with Index.open(directory) as index:  # the lock died with the process; nothing lost
        assert index.warnings == []
        assert len(index.nodes("other")) == 20
        ids = {node.id for node in index.nodes("s")}
        assert {f"resp_{i}" for i in range(last + 1)} <= ids
        assert len(index.forest("s").segments()) == 1


def test_a_foreign_json_file_is_moved_aside_never_overwritten(tmp_path):
    directory = tmp_path / "index"
    with Index.open(directory) as index:
        index.save_profile({"name": "lab", "base_url": "http://127.0.0.1:1/v1"})
    catalog = directory / "catalog.json"
    foreign = b'{"this": "is", "someone": ["else", "s"]}'
    catalog.write_bytes(foreign)
    with Index.open(directory) as index:
        assert any("catalog.json" in w and "moved aside" in w for w in index.warnings)
        index.save_profile({"name": "again", "base_url": "http://127.0.0.1:2/v1"})
    (aside,) = directory.glob("catalog.json.corrupt-*")
    assert aside.read_bytes() == foreign
