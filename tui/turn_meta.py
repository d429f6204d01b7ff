"""What the server said about one turn, as short lines of text: the meta line (token usage,
reasoning settings), the status note (failed, incomplete, cancelled, queued, in progress) and
the numbered sources cited by the answer (`url_citation`, `file_citation`,
`container_file_citation` annotations).

One source of truth for the transcript (full and compact turns) and the Markdown export.
Every string taken from the response goes through `tui.text.one_line`, so nothing here can
carry an escape sequence, a control character or a newline to the terminal; callers render
the result as plain text (never markup, never a hyperlink). Pure: no Textual, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.api import items
from tui.api.usage import Usage, response_usage
from tui.text import one_line

SEP = " · "
MAX_SOURCES = 50  # listed per turn; the rest are counted
TITLE_CHARS = 120
URL_CHARS = 300
ID_CHARS = 80
MESSAGE_CHARS = 200


# ------------------------------------------------------------------ meta line


def usage_text(usage: Usage) -> str:
    """ "in 1,234 (cached 1,000) · out 56 (reasoning 20)"; "" when nothing is known.

    A detail that is zero is left out (servers that do not cache or reason send zeros)."""
    parts = []
    if usage.input is not None:
        text = f"in {usage.input:,}"
        if usage.cached:
            text += f" (cached {usage.cached:,})"
        parts.append(text)
    elif usage.cached:
        parts.append(f"cached {usage.cached:,}")
    if usage.output is not None:
        text = f"out {usage.output:,}"
        if usage.reasoning:
            text += f" (reasoning {usage.reasoning:,})"
        parts.append(text)
    elif usage.reasoning:
        parts.append(f"reasoning {usage.reasoning:,}")
    if not parts and usage.total is not None:
        parts.append(f"{usage.total:,} tokens")
    return SEP.join(parts)


def reasoning_setting(response: Any) -> str:
    """ "effort high, summary auto" from the response's `reasoning` object; "" when unset."""
    reasoning = response.get("reasoning") if isinstance(response, dict) else None
    if not isinstance(reasoning, dict):
        return ""
    parts = []
    effort = reasoning.get("effort")
    if isinstance(effort, str) and effort.strip():
        parts.append(f"effort {one_line(effort, 20)}")
    summary = reasoning.get("summary")
    if not isinstance(summary, str):
        summary = reasoning.get("generate_summary")  # the older name of the same setting
    if isinstance(summary, str) and summary.strip():
        parts.append(f"summary {one_line(summary, 20)}")
    return ", ".join(parts)


def meta_line(response: Any, cost: str = "") -> str:
    """The turn's meta line: token usage (then its `cost`, when given), then the reasoning
    settings; "" when none."""
    parts = [usage_text(response_usage(response)), cost, reasoning_setting(response)]
    return SEP.join(p for p in parts if p)


# ------------------------------------------------------------------ status note


@dataclass(frozen=True, slots=True)
class StatusNote:
    text: str
    level: str  # "error", "warning" or "info"


INCOMPLETE_REASONS = {
    "max_output_tokens": "the output token limit was reached",
    "max_tool_calls": "the tool call limit was reached",
    "content_filter": "stopped by the content filter",
    "interrupted": "the stream broke; the partial answer is kept",
    "cancelled": "cancelled; the partial answer is kept",
    "error": "the server reported an error mid-stream; the partial answer is kept",
}
CUT_SHORT = StatusNote("… incomplete: the reply was cut short", "warning")


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return one_line(error, MESSAGE_CHARS)
    if not isinstance(error, dict):
        return ""
    message = error.get("message")
    message = one_line(message, MESSAGE_CHARS) if isinstance(message, str) else ""
    code = error.get("code")
    code = one_line(code, 60) if isinstance(code, str | int) and not isinstance(code, bool) else ""
    if message and code and code not in message:
        return f"{message} ({code})"
    return message or code


def status_note(response: Any, *, recorded: str = "") -> StatusNote | None:
    """A one-line note for a turn that did not simply complete; None for a completed one.

    `recorded` is the index's status of the turn ("incomplete", "failed", ...): it gives a
    generic note when the response itself does not say what happened."""
    status = response.get("status") if isinstance(response, dict) else None
    background = isinstance(response, dict) and response.get("background") is True
    if status == "failed":
        error = _error_text(response.get("error"))
        return StatusNote(f"✗ failed: {error}" if error else "✗ failed", "error")
    if status == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if isinstance(reason, str) and reason.strip():
            text = f"… incomplete: {one_line(reason, 40)}"
            if reason in INCOMPLETE_REASONS:
                text += f" ({INCOMPLETE_REASONS[reason]})"
            return StatusNote(text, "warning")
        return StatusNote("… incomplete", "warning")
    if status == "cancelled":
        return StatusNote("⊘ cancelled", "warning")
    if status == "cancelling":
        return StatusNote("⊘ cancelling", "warning")
    if status == "queued":
        return StatusNote("‖ queued" + (" (background)" if background else ""), "info")
    if status == "in_progress":
        if background:
            return StatusNote("◔ in progress (background)", "info")
        return StatusNote("◔ in progress when recorded: the reply never finished", "warning")
    if status == "completed":
        return None
    if recorded == "failed":
        return StatusNote("✗ failed", "error")
    return CUT_SHORT if recorded == "incomplete" else None


# ------------------------------------------------------------------ sources


@dataclass(frozen=True, slots=True)
class Source:
    """One cited source, already made safe to show (`one_line`)."""

    kind: str  # "url", "file" or "container_file"
    url: str = ""
    title: str = ""
    filename: str = ""
    file_id: str = ""
    container_id: str = ""


def _field(annotation: dict[str, Any], key: str, width: int) -> str:
    value = annotation.get(key)
    return one_line(value, width) if isinstance(value, str) else ""


def _raw(annotation: dict[str, Any], key: str) -> str:
    value = annotation.get(key)
    return value if isinstance(value, str) else ""


def _annotations(response: Any) -> list[dict[str, Any]]:
    if not isinstance(response, dict):
        return []
    found = []
    for item in items.output_items(response):
        if items.item_type(item) != "message" or not isinstance(item.get("content"), list):
            continue
        for part in item["content"]:
            if not isinstance(part, dict) or not isinstance(part.get("annotations"), list):
                continue
            found.extend(a for a in part["annotations"] if isinstance(a, dict))
    return found


def sources(response: Any) -> list[Source]:
    """The sources cited in the response's output text, in order of first citation, each
    once (a URL cited again, or the same file, is the same source; a later citation fills in
    a title or file name the first one lacked)."""
    found: dict[tuple[str, ...], Source] = {}
    for annotation in _annotations(response):
        kind = annotation.get("type")
        if kind == "url_citation":
            url = _field(annotation, "url", URL_CHARS)
            if not url:
                continue
            key: tuple[str, ...] = ("url", annotation["url"])
            source = Source("url", url=url, title=_field(annotation, "title", TITLE_CHARS))
        elif kind in ("file_citation", "container_file_citation"):
            file_id = _field(annotation, "file_id", ID_CHARS)
            filename = _field(annotation, "filename", TITLE_CHARS)
            if not (file_id or filename):
                continue
            container = _field(annotation, "container_id", ID_CHARS)
            short = kind.removesuffix("_citation")
            key = (short, _raw(annotation, "container_id"), _raw(annotation, "file_id") or filename)
            source = Source(short, filename=filename, file_id=file_id, container_id=container)
        else:
            continue  # file_path and kinds we do not know cite nothing to list
        earlier = found.get(key)
        if earlier is None:
            found[key] = source
        elif not (earlier.title or earlier.filename) and (source.title or source.filename):
            found[key] = Source(
                earlier.kind,
                url=earlier.url,
                title=source.title,
                filename=source.filename,
                file_id=earlier.file_id,
                container_id=earlier.container_id,
            )
    return list(found.values())


def source_line(number: int, source: Source) -> str:
    """ "[1] Title — https://…", "[2] report.pdf (file-abc)", "[3] out.csv (cfile_1 in cntr_1)"."""
    if source.kind == "url":
        body = f"{source.title} — {source.url}" if source.title else source.url
    else:
        where = source.file_id
        if source.container_id:
            where = f"{where} in {source.container_id}" if where else source.container_id
        if source.filename and where:
            body = f"{source.filename} ({where})"
        else:
            body = source.filename or where
    return f"[{number}] {body}"


def source_lines(response: Any, limit: int = MAX_SOURCES) -> list[str]:
    """The numbered source lines of a response (at most `limit`, then a count of the rest)."""
    cited = sources(response)
    lines = [source_line(n, s) for n, s in enumerate(cited[:limit], start=1)]
    if len(cited) > limit:
        rest = len(cited) - limit
        lines.append(f"… {rest} more source{'s' if rest != 1 else ''}")
    return lines
