"""The browser benchmark's set-up: the profile, screen size and index that `bench_all.py`
drives the app over (`bench/run` prints every figure; `bench/run --sizes 10000` for the
browser at 10,000 responses)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import corpus  # noqa: E402

from tui.api.profiles import resolve_profile  # noqa: E402
from tui.ops.connect import server_id  # noqa: E402
from tui.store.index import Index  # noqa: E402

LOCAL = resolve_profile("local", {})
SERVER = server_id(LOCAL)
SIZE = (120, 40)


def build_index(directory: Path, total: int, conversations: int, deep: int) -> str:
    """The corpus plus one `deep`-turn chain; returns the id of the chain's last turn."""
    data = corpus(total, conversations)
    parent = None
    for n in range(deep):
        body = {
            "id": f"resp_deep{n:027x}",
            "object": "response",
            "created_at": 1_600_000_000 + n,
            "status": "completed",
            "model": "bench",
            "previous_response_id": parent,
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": f"Deep answer {n}. " * 30}],
                }
            ],
        }
        inputs = [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": f"deep {n}"}],
            }
        ]
        data.append((body, inputs))
        parent = body["id"]
    with Index.open(directory) as index:
        index.add_many(data, server=SERVER, profile="local")
    return str(parent)
