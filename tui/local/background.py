"""Background responses (`background: true`), step by step and deterministic.

The create answers at once with status `queued`; the finished response is computed then
but kept aside (`pending` in the stored record). Each retrieve of the response moves it one
step: queued → in_progress → its final status (completed, or incomplete when
`max_output_tokens` cut it). Listing and input items show the current state without moving
it. Cancelling a queued or running response makes it `cancelled` (no output, no usage);
cancelling one that is already cancelled returns it unchanged; cancelling a finished one is
a 400, as the API does.
"""

from __future__ import annotations

from typing import Any

RUNNING = ("queued", "in_progress")


def start(record: dict[str, Any], final: dict[str, Any]) -> dict[str, Any]:
    """The record to store for a new background response; its response is the queued one."""
    queued = {**record["response"], "status": "queued", "output": [], "usage": None}
    queued["completed_at"] = None
    queued["incomplete_details"] = None
    return {**record, "response": queued, "pending": final}


def running(record: dict[str, Any]) -> bool:
    return "pending" in record and record["response"].get("status") in RUNNING


def advance(record: dict[str, Any], now: int) -> bool:
    """Move a running response one step; False when there was nothing to move."""
    if not running(record):
        return False
    if record["response"]["status"] == "queued":
        record["response"] = {**record["response"], "status": "in_progress"}
        return True
    final = dict(record.pop("pending"))
    if final.get("status") == "completed":
        final["completed_at"] = max(int(final["created_at"]), now)
    record["response"] = final
    return True


def cancel(record: dict[str, Any]) -> str | None:
    """Cancel in place; None when done, else why it cannot be."""
    response = record["response"]
    status = response.get("status")
    if status == "cancelled":
        return None
    if not running(record):
        article = "an" if str(status)[:1] in "aeiou" else "a"
        return f"Cannot cancel {article} {status} response."
    record.pop("pending", None)
    record["response"] = {
        **response,
        "status": "cancelled",
        "output": [],
        "usage": None,
        "completed_at": None,
    }
    return None
