"""Deterministic offline replies. They say plainly that no model was involved.

The reply is built only from the request (the text, the turn number, earlier turns in the
branch, the instructions, the tools), so the same request gets the same answer, except that
the second reply to the same input after the same response (a regenerate) says
`variant 2`, the third `variant 3`: siblings differ visibly. It
uses a little Markdown (a list and a code block) so the app's rendering is exercised.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

OFFLINE_MODEL = "offline-echo"


def _quote(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def offline_reply(
    user_text: str,
    *,
    turn: int,
    variant: int = 1,
    earlier_inputs: Sequence[str] = (),
    instructions: str | None = None,
    tool_labels: Sequence[str] = (),
    tool_calls: Sequence[str] = (),
) -> str:
    words = re.findall(r"\w+", user_text)
    digest = hashlib.sha256(user_text.encode("utf-8")).hexdigest()[:8]
    again = f" · variant {variant}" if variant > 1 else ""  # a regenerate: visibly another
    lines = [
        f"**Offline backend** · turn {turn}{again} · no model was called; this reply is "
        "generated deterministically from your message.",
        "",
        f"You said: “{_quote(user_text) or '(nothing)'}”",
        "",
        f"- Words: {len(words)} · characters: {len(user_text)} · fingerprint `{digest}`",
    ]
    if earlier_inputs:
        lines.append(
            f"- Context: {len(earlier_inputs)} earlier turn"
            f"{'s' if len(earlier_inputs) != 1 else ''} in this branch, "
            f"starting with “{_quote(earlier_inputs[0], 60)}”"
        )
    else:
        lines.append("- Context: this is the first turn of a new conversation")
    if instructions:
        lines.append(f"- Instructions: “{_quote(instructions, 80)}”")
    if tool_labels:
        lines.append(f"- Tools offered: {', '.join(tool_labels)}")
    for call in tool_calls:
        lines.append(f"- Tool: called {call} (offline result)")
    longest = max(words, key=len) if words else ""
    lines += [
        "",
        "```text",
        f"turn={turn} words={len(words)} longest={longest!r}",
        "```",
        "",
        "Set an API key (see `responses-tui --help`) to talk to a real model.",
    ]
    return "\n".join(lines)


def mcp_result(server_label: str, tool: str, user_text: str) -> str:
    """The stand-in output of an MCP tool: no server is contacted."""
    return (
        f"Offline result of {server_label}.{tool} for '{_quote(user_text, 60)}' "
        "(no MCP server was contacted; this text is generated offline)"
    )


def tool_answer_reply(notes: Sequence[str], *, turn: int, no_tools_given: bool = False) -> str:
    """The reply to a turn that answers tool calls (MCP approvals, function outputs)."""
    lines = [
        f"**Offline backend** · turn {turn} · no model was called; this reply is generated "
        "deterministically from your tool answers.",
        "",
        *[f"- {note}" for note in notes],
    ]
    if no_tools_given:
        lines += [
            "",
            "Note: no tools were sent with this request (the API does not remember them); "
            "the server label and tool name were taken from the approval request.",
        ]
    lines += ["", "Set an API key (see `responses-tui --help`) to talk to a real model."]
    return "\n".join(lines)


def approval_note(server_label: str, tool: str, approved: bool, result: str = "") -> str:
    if approved:
        return f"Approved: called {server_label}.{tool} (offline result): {result}"
    return f"Denied: the call to {server_label}.{tool} was not run."


def function_output_note(name: str, output: str) -> str:
    return (
        f"Function `{name}` returned (offline, not interpreted by a model): “{_quote(output, 200)}”"
    )


def split_deltas(text: str, size: int = 3) -> list[str]:
    """The text in small pieces (about `size` words each, spaces kept) for streaming."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)] or [""]


def count_tokens(text: str) -> int:
    """The backend's own tokenizer, a stable stand-in for a real one: a token is four
    characters (the last one may be shorter). Usage and `max_output_tokens` both count
    with it, so an answer cut to N tokens counts exactly N."""
    return -(-len(text) // TOKEN_CHARS)


def truncate_tokens(text: str, limit: int) -> str:
    """The first `limit` tokens of `text` (it may end mid-word, as a real cut does)."""
    return text[: max(0, limit) * TOKEN_CHARS]


TOKEN_CHARS = 4
