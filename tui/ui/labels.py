"""Labels for the forest and the transcript, as `rich.text.Text` (never markup strings).

Model text goes through `sanitize` and into `Text` objects, so `[bold]`, `[/]` and escape
sequences in it are shown as the characters they are.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from tui.glyphs import FORK
from tui.store.records import NodeSummary, Status, clean_time
from tui.text import one_line

READABLE = 12  # cells of what was said worth more than the details at the line's end
MARKERS = {
    Status.NOT_STORED: ("◌", "not stored", "yellow"),
    Status.DELETED: ("✗", "deleted", "red"),
    Status.INCOMPLETE: ("…", "incomplete", "yellow"),
    Status.FAILED: ("!", "failed", "red"),
    Status.MISSING: ("?", "missing on server", "red"),
}


def elsewhere_text(others: list[tuple[str, int]], key: str) -> str:
    """What the index holds of other servers, and the key that shows them ('' for nothing):
    an empty forest must not look like lost history."""
    if not others:
        return ""
    total = sum(count for _, count in others)
    shown = [f"{one_line(name, 30)} {count:,}" for name, count in others[:3]]
    if len(others) > 3:
        shown.append(f"{len(others) - 3} more")
    plural = "s" if total != 1 else ""
    return (
        f"The index holds {total:,} response{plural} of other servers "
        f"({' · '.join(shown)}): {key} shows every server."
    )


def short_id(response_id: str, keep: int = 8) -> str:
    """`resp_7ac89468…`: enough to recognise, short enough for a status line."""
    response_id = one_line(response_id, 200)
    prefix, sep, rest = response_id.partition("_")
    if not sep or len(rest) <= keep + 1:
        return response_id
    return f"{prefix}_{rest[:keep]}…"


def short_model(model: str, width: int = 18) -> str:
    """`accounts/fireworks/models/qwen3-235b-a22b` → `qwen3-235b-a22b` (at most `width`)."""
    model = model if isinstance(model, str) else ""
    return one_line(model.rstrip("/").rsplit("/", 1)[-1], width)


def relative_time(created_at: float, now: float) -> str:
    """ "now", "5m", "3h", "2d", "4mo", "1y"; "?" for an unknown time (0, or a value an old
    index may hold that is no time at all: NaN, infinite, a string)."""
    created_at = clean_time(created_at)
    if not created_at:
        return "?"
    seconds = max(0, int(clean_time(now) - created_at))
    if seconds < 60:
        return "now"
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


def node_label(
    node: NodeSummary,
    *,
    now: float,
    forks: int = 0,
    turns: int = 1,
    orphan: bool = False,
    width: int = 38,
    pending: bool = False,
    show_model: bool = False,
    title: str | None = None,
    label: str | None = None,
    place: tuple[int, int] | None = None,
    compared: bool = False,
) -> Text:
    """One line of at most `width` cells: markers, what the user said (or the answer when the
    input was not recorded), then dim details (turns, forks, tools, model, age). The model is
    shown when asked (conversation roots, and turns whose model differs from their parent's)
    and only when the preview keeps room to be read. A conversation's `title` (given with `R`)
    replaces what the user said; a turn's `label` (`b`) shows as `★ word` first, and the
    turn marked for a branch comparison (`+`) as `⇔`."""
    prefix = Text()
    if pending:
        prefix.append("● ", style="bold cyan")
    elif node.status in MARKERS:
        glyph, _, colour = MARKERS[node.status]
        prefix.append(glyph + " ", style=colour)
    if node.ancestor_missing or orphan:
        prefix.append("↥ ", style="red")
    if compared:
        prefix.append("⇔ ", style="bold yellow")
    if label is not None:
        prefix.append(f"★ {label} " if label else "★ ", style="bold magenta")
    # Details, most important first; when the line is short they go from the end, whole (a
    # cut "now" would read "no"), so that what was said keeps room to be read; the place
    # among versions (2/3) always stays.
    details = []
    if place is not None:
        details.append(f"{place[0]}/{place[1]}")  # one of several versions of this turn
    if turns > 1:
        details.append(f"{turns} turns")
    if forks > 1:
        details.append(f"{FORK}{forks}")
    if node.has_tools:
        details.append("⚙")
    age = relative_time(node.created_at, now)

    def fits(parts: list[str], room: int) -> bool:
        return width - prefix.cell_len - cell_len("  " + " · ".join(parts)) >= room

    parts = [*details, age]
    if show_model and node.model:
        with_model = [*details, short_model(node.model), age]
        if fits(with_model, 18):
            parts = with_model
    keep = 1 if place is not None else 0  # the place among versions stays, however short
    while len(parts) > keep and not fits(parts, READABLE):
        parts.pop()
    suffix = "  " + " · ".join(parts) if parts else ""
    said = node.input_preview if node.input_recorded else ""
    style = ""
    if title:
        said, style = title, "bold"
    elif not said:
        said = node.output_preview or "(input not recorded)"
        style = "italic"
    room = max(1, width - prefix.cell_len - cell_len(suffix))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append_text(prefix)
    text.append(one_line(said, room), style=style)
    text.append(suffix, style="dim")
    return text
