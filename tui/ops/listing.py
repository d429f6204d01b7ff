"""The forest as an indented text tree, for `responses-tui list`.

A chain without forks stays at one indentation level, so a 1,000-turn conversation does not
march off the right edge; each fork opens one level with tree glyphs. Iterative throughout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tui.forest import Forest
from tui.store.index import Index
from tui.store.records import NodeSummary, status_words, utc_text
from tui.text import one_line

PREVIEW_WIDTH = 48

# Markdown's markers, as they show in a one-line preview of an answer: emphasis, code spans,
# links, headings and quotes (a heading or a quote began a line before the preview joined
# its lines, so it follows a blank now).
_PAIRED = re.compile(r"(\*\*|__|~~)(\S(?:.*?\S)?)\1")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")
_LINE_MARK = re.compile(r"(^|\s)(?:#{1,6}|>)(?=\s)\s*")


def unmark(text: str) -> str:
    """Plain text from a preview written in Markdown: `**Offline backend** · turn 1` ->
    `Offline backend · turn 1`. What is not a marker (a lone `*` in `2*3`, `C#`) stays."""
    text = _LINK.sub(r"\1", text)
    text = _PAIRED.sub(r"\2", text)
    text = text.replace("`", "")
    return _LINE_MARK.sub(r"\1", text)


def forest_lines(
    index: Index, server: str, figures: Callable[[Any], str] | None = None
) -> list[str]:
    """The lines of `list`; `figures` (`list --usage`): a turn's usage and cost, in brackets
    after its time."""
    forest = index.forest(server)
    lines: list[str] = []
    for root in forest.roots():
        lines.extend(_conversation_lines(index, forest, root, figures))
    return lines


def _conversation_lines(
    index: Index, forest: Forest, root, figures: Callable[[Any], str] | None = None
) -> list[str]:
    lines: list[str] = []
    # Stack of (segment head, prefix for its first line, prefix for the following lines).
    stack = [(root, "", "")]
    while stack:
        head, first_prefix, rest_prefix = stack.pop()
        segment = forest.segment_of(head)
        for n, key in enumerate(segment.keys):
            prefix = first_prefix if n == 0 else rest_prefix
            extra = f"[{figures(key)}]" if figures is not None else ""
            line = node_line(index.get(*key), orphan=forest.is_orphan(key), figures=extra)
            lines.append(prefix + names(index, key, root=key == root) + line)
        children = forest.segment_children(head)
        for i in reversed(range(len(children))):
            last = i == len(children) - 1
            stack.append(
                (
                    children[i],
                    rest_prefix + ("└─ " if last else "├─ "),
                    rest_prefix + ("   " if last else "│  "),
                )
            )
    return lines


def names(index: Index, key, *, root: bool) -> str:
    """`"Title" ` before a conversation's first line, `★ word ` before a bookmarked turn."""
    text = ""
    title = index.title(*key) if root else None
    if title:
        text += f'"{title}"  '
    label = index.label(*key)
    if label is not None:
        text += f"★ {label}  " if label else "★  "
    return text


def node_line(node: NodeSummary | None, *, orphan: bool = False, figures: str = "") -> str:
    if node is None:
        return "?"
    when = utc_text(node.created_at)
    said = (
        one_line(unmark(node.input_preview), PREVIEW_WIDTH)
        if node.input_recorded
        else "(input not recorded)"
    )
    answer = one_line(unmark(node.output_preview), PREVIEW_WIDTH)
    return (
        f"{one_line(node.id, 80)}  {one_line(node.model, 40)}  {when}  "
        f"{figures + '  ' if figures else ''}{said} → {answer}"
        f"{markers(node, orphan)}"
    )


def markers(node: NodeSummary, orphan: bool = False) -> str:
    marks = status_words(node, orphan)
    return "  [" + ", ".join(marks) + "]" if marks else ""
