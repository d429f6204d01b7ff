"""A small conversation with recorded usage for the cost tests: on OpenAI's address (real
genai-prices lookups, no network), in both naming schemes, with a turn without usage and a
turn whose model no price table knows.

    r1 (gpt-4o: in 1,000 cached 200, out 500 reasoning 100; OpenAI names)
    ├─ r2 (gpt-4o: prompt 2,000, completion 300; Fireworks names)
    │  └─ r4 (mystery-model-x: in 100, out 10: unpriced)
    └─ r3 (no usage)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tui.store.index import Index

OPENAI = "https://api.openai.com/v1"
WHEN = 1_748_736_000.0  # 2025-06-01 UTC: prices as they were then
UNKNOWN_MODEL = "mystery-model-x"

USAGE = {
    "r1": {
        "input_tokens": 1000,
        "input_tokens_details": {"cached_tokens": 200},
        "output_tokens": 500,
        "output_tokens_details": {"reasoning_tokens": 100},
        "total_tokens": 1500,
    },
    "r2": {"prompt_tokens": 2000, "completion_tokens": 300, "total_tokens": 2300},
    "r3": None,
    "r4": {"input_tokens": 100, "output_tokens": 10},
}
PARENTS = {"r1": None, "r2": "r1", "r3": "r1", "r4": "r2"}
MODELS = {"r1": "gpt-4o", "r2": "gpt-4o", "r3": "gpt-4o", "r4": UNKNOWN_MODEL}


def gpt4o(tokens_in: int, cached: int, out: int) -> Decimal:
    """The price genai-prices gives (looked up independently of tui.cost)."""
    from datetime import UTC, datetime

    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=tokens_in, cache_read_tokens=cached, output_tokens=out)
    when = datetime.fromtimestamp(WHEN // 86400 * 86400, UTC)
    return calc_price(
        usage, model_ref="gpt-4o", provider_id="openai", genai_request_timestamp=when
    ).total_price


R1_PRICE = gpt4o(1000, 200, 500)
R2_PRICE = gpt4o(2000, 0, 300)


def response(rid: str, usage: Any, model: str, parent: str | None, n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "object": "response",
        "created_at": WHEN + n,
        "model": model,
        "status": "completed",
        "previous_response_id": parent,
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"answer {rid}"}],
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def add_tree(index: Index, server: str = OPENAI, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Add the tree on `server`; the keys by short name."""
    keys = {}
    for n, rid in enumerate(("r1", "r2", "r3", "r4")):
        parent = PARENTS[rid]
        body = response(
            prefix + rid, USAGE[rid], MODELS[rid], prefix + parent if parent else None, n
        )
        said = [{"type": "message", "role": "user", "content": f"question {rid}"}]
        index.add_response(body, server=server, profile="openai", input_items=said)
        keys[rid] = (server, prefix + rid)
    return keys
