"""Benchmark the local index and the forest model (issue 2 targets).

    python bench/bench_index.py [--responses 10000] [--conversations 500]

Builds an index of N responses in C conversations (with forks) in a temporary directory, then
measures: appending one response (median and p95 over 200 appends, each one atomic and
fsynced), opening the index and building the forest (cold, in a fresh process), and building
the forest alone. Prints a Markdown table; the README's Performance section quotes it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.forest import Forest, NodeRef  # noqa: E402
from tui.store.index import Index  # noqa: E402

SERVER = "http://offline.invalid/v1"
FILLER = (
    "The quick brown fox jumps over the lazy dog while the model explains, step by step, "
    "how a branch of the conversation differs from its siblings. "
) * 10  # ~1.5 KB of answer text, like a typical short reply


def response(n: int, parent: str | None, created: float) -> tuple[dict, list]:
    rid = f"resp_{n:032x}"
    body = {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": "completed",
        "model": "accounts/fireworks/models/qwen3-235b-a22b",
        "previous_response_id": parent,
        "store": True,
        "tools": [],
        "output": [
            {
                "id": f"msg_{n:032x}",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": f"Answer {n}. {FILLER}"}],
            }
        ],
        "usage": {"input_tokens": 120, "output_tokens": 380, "total_tokens": 500},
    }
    inputs = [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": f"Question number {n}: what next?"}],
        }
    ]
    return body, inputs


def corpus(total: int, conversations: int, seed: int = 1) -> list[tuple[dict, list]]:
    """`conversations` trees; each new turn continues the newest node of its tree or,
    one time in five, forks from a random earlier node."""
    rng = random.Random(seed)
    out: list[tuple[dict, list]] = []
    trees: list[list[str]] = [[] for _ in range(conversations)]
    for n in range(total):
        tree = trees[n % conversations]
        if not tree:
            parent = None
        elif rng.random() < 0.2:
            parent = rng.choice(tree)
        else:
            parent = tree[-1]
        body, inputs = response(n, parent, 1_700_000_000 + n)
        tree.append(body["id"])
        out.append((body, inputs))
    return out


def cold_open(directory: Path) -> float:
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); t = time.perf_counter();"
        "from tui.store.index import Index;"
        f"i = Index.open(__import__('pathlib').Path({str(directory)!r})); f = i.forest({SERVER!r});"
        "print(time.perf_counter() - t, len(f)); i.close()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, _count = out.stdout.split()
    return float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--appends", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    data = corpus(args.responses, args.conversations)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "index"
        started = time.perf_counter()
        with Index.open(directory) as index:
            index.add_many(data, server=SERVER, profile="bench")
        build = time.perf_counter() - started

        appends = []
        with Index.open(directory) as index:
            index.forest(SERVER)
            parents = [body["id"] for body, _ in data[-args.appends :]]
            for n, parent in enumerate(parents):
                body, inputs = response(args.responses + n, parent, 1_800_000_000 + n)
                t = time.perf_counter()
                index.add_response(body, server=SERVER, profile="bench", input_items=inputs)
                appends.append(time.perf_counter() - t)
        appends.sort()
        median = statistics.median(appends) * 1000
        p95 = appends[int(len(appends) * 0.95) - 1] * 1000
        rows.append(
            (
                f"append one response to {args.responses:,}",
                f"{median:.2f} ms median",
                f"{p95:.2f} ms p95",
            )
        )

        opens = sorted(cold_open(directory) for _ in range(5))
        rows.append(
            (
                f"open index + build forest ({args.responses + args.appends:,}, fresh process)",
                f"{statistics.median(opens) * 1000:.0f} ms median",
                f"{opens[-1] * 1000:.0f} ms worst of 5",
            )
        )

    refs = []
    for body, _ in data:
        parent = body["previous_response_id"]
        refs.append(NodeRef(body["id"], parent, body["created_at"]))
    forest_times = []
    for _ in range(5):
        t = time.perf_counter()
        forest = Forest.build(refs)
        forest.segments()
        forest_times.append(time.perf_counter() - t)
    forest_times.sort()
    rows.append(
        (
            f"Forest.build + segments ({len(refs):,} nodes)",
            f"{statistics.median(forest_times) * 1000:.1f} ms median",
            f"{forest_times[-1] * 1000:.1f} ms worst of 5",
        )
    )
    rows.append((f"(setup: bulk insert of {args.responses:,})", f"{build:.2f} s", ""))

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| measurement | typical | spread |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
