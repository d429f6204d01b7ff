"""Build the response object from stream events, so a cut stream still leaves a response.

The final `response.completed` (or failed/incomplete) snapshot is authoritative when it
arrives; until then `partial()` gives the output seen so far, status "incomplete".
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tui.api.events import (
    ErrorEvent,
    OutputItemEvent,
    ReasoningDelta,
    ResponseEvent,
    StreamEvent,
    TextDelta,
    TextDone,
    ToolEvent,
)


class StreamAccumulator:
    def __init__(self, request: dict[str, Any] | None = None) -> None:
        self.request = request or {}
        self.response: dict[str, Any] = {}
        self.output: dict[int, dict[str, Any]] = {}
        self.final: dict[str, Any] | None = None
        self.error: ErrorEvent | None = None
        self.events = 0
        self.warnings: list[str] = []
        self.text = ""  # every output_text delta, in order: what the user has seen

    @property
    def response_id(self) -> str | None:
        rid = self.response.get("id")
        return rid if isinstance(rid, str) else None

    def feed(self, event: StreamEvent) -> None:
        self.events += 1
        if isinstance(event, ResponseEvent):
            self.response = copy.deepcopy(event.response)
            if event.terminal:
                self.final = self.response
                self._fill_arguments(self.final)
            elif self.response.get("output"):
                for n, item in enumerate(self.response["output"]):
                    if isinstance(item, dict):
                        self.output.setdefault(n, item)
        elif isinstance(event, OutputItemEvent):
            self.output[event.output_index] = copy.deepcopy(event.item)
        elif isinstance(event, TextDelta):
            self.text += event.delta
            part = self._part(event.output_index, event.content_index, event.item_id)
            part["text"] = part.get("text", "") + event.delta
        elif isinstance(event, TextDone):
            part = self._part(event.output_index, event.content_index, event.item_id)
            part["text"] = event.text
        elif isinstance(event, ReasoningDelta):
            item = self.output.setdefault(
                event.output_index, {"type": "reasoning", "id": event.item_id, "summary": []}
            )
            key = "content" if "reasoning_text" in event.type else "summary"
            parts = item.setdefault(key, [])
            if not parts:
                kind = "reasoning_text" if key == "content" else "summary_text"
                parts.append({"type": kind, "text": ""})
            parts[-1]["text"] = parts[-1].get("text", "") + event.delta
        elif isinstance(event, ToolEvent) and event.type.endswith("arguments.delta"):
            item = self.output.get(event.output_index)
            if item is not None:
                delta = event.delta
                if isinstance(delta, dict):  # Fireworks sends the arguments as a dict
                    item["arguments"] = json.dumps(delta, ensure_ascii=False)
                elif isinstance(delta, str):
                    item["arguments"] = str(item.get("arguments") or "") + delta
        elif isinstance(event, ToolEvent) and event.type.endswith("arguments.done"):
            item = self.output.get(event.output_index)
            if item is not None and isinstance(event.data.get("arguments"), str):
                item["arguments"] = event.data["arguments"]
        elif isinstance(event, ErrorEvent):
            self.error = event

    def _fill_arguments(self, final: dict[str, Any]) -> None:
        """A final call item with empty arguments gets the ones its deltas carried
        (open-responses-server streams them, then sends `"arguments": ""` in the snapshot)."""
        output = final.get("output")
        if not isinstance(output, list):
            return
        for n, item in enumerate(output):
            if not isinstance(item, dict) or item.get("arguments") not in ("", None):
                continue
            if item.get("type") not in ("function_call", "mcp_call"):
                continue
            seen = self.output.get(n)
            if isinstance(seen, dict) and isinstance(seen.get("arguments"), str):
                item["arguments"] = seen["arguments"]

    def _part(self, output_index: int, content_index: int, item_id: str) -> dict[str, Any]:
        item = self.output.setdefault(
            output_index,
            {
                "type": "message",
                "id": item_id,
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        )
        content = item.setdefault("content", [])
        while len(content) <= content_index:
            content.append({"type": "output_text", "text": "", "annotations": []})
        return content[content_index]

    def partial(self, reason: str = "interrupted") -> dict[str, Any]:
        """The response as far as the stream got, marked incomplete."""
        response = copy.deepcopy(self.response)
        response.setdefault("object", "response")
        for key in ("model", "previous_response_id", "instructions", "tools", "store"):
            if key in self.request and key not in response:
                response[key] = self.request[key]
        output = [copy.deepcopy(self.output[n]) for n in sorted(self.output)]
        for item in output:
            if item.get("status") == "in_progress":
                item["status"] = "incomplete"
        response["output"] = output
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": reason}
        return response
