"""`max_output_tokens` for offline answers, counted with the backend's own tokenizer.

Generated tokens are the message text and the arguments of the calls the backend makes, in
output order. When they do not fit, the output stops where the budget runs out: the item
being generated is cut (status `incomplete`; an MCP call cut short is not run, an approval
request cut short is not asked) and nothing after it is produced, as a model that hits the
limit would. The response is then `incomplete` with reason `max_output_tokens`.
"""

from __future__ import annotations

from typing import Any

from tui.local.generator import count_tokens, truncate_tokens

CALL_TYPES = ("mcp_call", "mcp_approval_request", "function_call")


def generated_tokens(item: dict[str, Any]) -> int:
    if item.get("type") in CALL_TYPES:
        return count_tokens(str(item.get("arguments") or ""))
    if item.get("type") == "message":
        return sum(count_tokens(str(p.get("text") or "")) for p in item.get("content") or [])
    return 0


def apply_budget(
    output: list[dict[str, Any]], limit: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """(the output within `limit` tokens, whether it had to be cut)."""
    if limit is None:
        return output, False
    left = limit
    kept: list[dict[str, Any]] = []
    for item in output:
        need = generated_tokens(item)
        if need <= left:
            kept.append(item)
            left -= need
            continue
        cut = _cut(item, left)
        if cut is not None:
            kept.append(cut)
        return kept, True
    return kept, False


def _cut(item: dict[str, Any], left: int) -> dict[str, Any] | None:
    kind = item.get("type")
    if left == 0:
        return None
    if kind == "message":
        part = item["content"][0]
        text = truncate_tokens(str(part.get("text") or ""), left)
        return {**item, "status": "incomplete", "content": [{**part, "text": text}]}
    if kind == "mcp_approval_request":
        return None
    arguments = truncate_tokens(str(item.get("arguments") or ""), left)
    cut = {**item, "arguments": arguments, "status": "incomplete"}
    if kind == "mcp_call":
        cut["output"] = None  # never run with half its arguments
    return cut
