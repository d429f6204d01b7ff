"""Compare two answers, or two branches from their common ancestor: what the compare view
(`tui.ui.compare_screen`) and `responses-tui diff` show.

- A word-level diff: `difflib.SequenceMatcher` over each side's words (whitespace is kept
  for showing, not compared). Each side is cut at `MAX_CHARS` characters and `MAX_WORDS`
  words before it is compared (the matcher is quadratic on repetitive text), and says so.
- The settings that differ (model, instructions, temperature, ...), read as
  `tui.ops.conversation.settings_of` reads what a turn inherits.
- The token usage of each side (`tui.api.usage`), summed over a branch's turns.
- The common ancestor of two turns (`tui.forest.Forest`), and the turns below it.

Every text is made safe here (`tui.text.sanitize` / `one_line`), so callers show it as plain
text. Pure: no Textual.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui.api import items
from tui.api.usage import Usage, count, response_usage
from tui.forest import Forest
from tui.ops.conversation import settings_of
from tui.store.index import Index
from tui.text import one_line, sanitize
from tui.turn_meta import reasoning_setting, usage_text

MAX_CHARS = 20_000  # per side: longer text is cut before it is compared
MAX_WORDS = 2_000  # per side: SequenceMatcher takes ~0.3 s on 2,000 repeated words
MAX_TURNS = 20  # per side of a branch comparison: the turns right after the ancestor
VALUE_CHARS = 80  # a setting's value, as shown
UNSET = "—"

# Settings compared, in the order shown: (field of the request, how it is named).
SETTINGS = (
    ("model", "model"),
    ("instructions", "instructions"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("reasoning", "reasoning"),
    ("max_output_tokens", "max_output_tokens"),
    ("text", "text format"),
    ("tools", "tools"),
)

Key = tuple[str, str]

# ------------------------------------------------------------------ the word diff

SAME, REMOVED, ADDED = "same", "removed", "added"
_WORD = re.compile(r"(\S+)(\s*)")


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text of one kind: `same`, `removed` (only on the left) or `added` (only on
    the right). Whitespace after a word belongs to its piece."""

    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class Block:
    """Part of one side: a turn's `input` or `answer` (diffed), or a `title` (not diffed)."""

    role: str
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(piece.text for piece in self.pieces)


@dataclass(frozen=True, slots=True)
class Cut:
    """Text cut to the limits, and what was cut."""

    text: str
    chars: int  # the whole text's length
    capped: bool


def cap(text: str, max_chars: int = MAX_CHARS, max_words: int = MAX_WORDS) -> Cut:
    """`text` made safe (escape sequences and control characters out, newlines kept) and cut
    at `max_chars` characters and `max_words` words."""
    clean = sanitize(text, multiline=True)
    cut = clean[:max_chars]
    for words, match in enumerate(_WORD.finditer(cut), start=1):
        if words > max_words:
            cut = cut[: match.start()]
            break
    return Cut(cut, len(clean), len(cut) < len(clean))


def _tokens(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(leading whitespace, [(word, whitespace after it)])."""
    lead = text[: len(text) - len(text.lstrip())]
    return lead, [(m.group(1), m.group(2)) for m in _WORD.finditer(text)]


def diff_blocks(
    left: Sequence[tuple[str, str]], right: Sequence[tuple[str, str]]
) -> tuple[list[Block], list[Block]]:
    """Word-diff two sides, each a list of (role, text) blocks: the words of every block but
    titles are compared as one sequence, and each block comes back as pieces."""
    sides = [_Tokens(blocks) for blocks in (left, right)]
    matcher = difflib.SequenceMatcher(None, sides[0].words(), sides[1].words(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            sides[0].mark(range(i1, i2), REMOVED)
        if tag in ("insert", "replace"):
            sides[1].mark(range(j1, j2), ADDED)
    return sides[0].blocks(), sides[1].blocks()


class _Tokens:
    """One side's blocks as words, and the kind of each word once diffed."""

    def __init__(self, blocks: Sequence[tuple[str, str]]) -> None:
        self.roles = [role for role, _text in blocks]
        self.split = [_tokens(text) for _role, text in blocks]
        # The words compared, as (block, word) places: every block's but the titles'.
        self.places = [
            (b, w)
            for b, (role, (_lead, words)) in enumerate(zip(self.roles, self.split, strict=True))
            if role != "title"
            for w in range(len(words))
        ]
        self.kinds: dict[tuple[int, int], str] = {}

    def words(self) -> list[str]:
        return [self.split[b][1][w][0] for b, w in self.places]

    def mark(self, compared: range, kind: str) -> None:
        self.kinds.update((self.places[n], kind) for n in compared)

    def blocks(self) -> list[Block]:
        out = []
        for b, (role, (lead, words)) in enumerate(zip(self.roles, self.split, strict=True)):
            runs: list[tuple[str, list[str]]] = [(SAME, [lead])] if lead else []
            for w, (word, space) in enumerate(words):
                kind = self.kinds.get((b, w), SAME)
                if not runs or runs[-1][0] != kind:
                    runs.append((kind, []))
                runs[-1][1].extend((word, space))
            out.append(Block(role, tuple(Piece("".join(parts), kind) for kind, parts in runs)))
        return out


@dataclass(frozen=True, slots=True)
class WordDiff:
    left: tuple[Piece, ...]
    right: tuple[Piece, ...]

    @property
    def removed(self) -> list[str]:
        return [p.text.strip() for p in self.left if p.kind == REMOVED]

    @property
    def added(self) -> list[str]:
        return [p.text.strip() for p in self.right if p.kind == ADDED]

    @property
    def identical(self) -> bool:
        return not self.removed and not self.added


def word_diff(left: str, right: str) -> WordDiff:
    """The word diff of two texts (as given: cap them first)."""
    a, b = diff_blocks([("answer", left)], [("answer", right)])
    return WordDiff(a[0].pieces, b[0].pieces)


# ------------------------------------------------------------------ settings


@dataclass(frozen=True, slots=True)
class SettingDiff:
    name: str
    left: str
    right: str


def recorded_settings(index: Index, server: str, response_id: str) -> dict[str, Any]:
    """The settings a turn was made with: what `settings_of` reads (the request we sent, else
    the server's echo; echoed defaults count as unset), and `max_output_tokens`."""
    out = settings_of(index, server, response_id)
    if "max_output_tokens" not in out and index.get(server, response_id) is not None:
        body = index.load_body(server, response_id)
        source = body.get("request") or body.get("response") or {}
        if source.get("max_output_tokens") is not None:
            out["max_output_tokens"] = source["max_output_tokens"]
    return out


def show_setting(name: str, value: Any, width: int = VALUE_CHARS) -> str:
    """One setting's value as one safe line; `UNSET` when it is not set."""
    if value in (None, "", [], {}):
        return UNSET
    if name == "reasoning" and isinstance(value, dict):
        return reasoning_setting({"reasoning": value}) or UNSET
    if name == "text" and isinstance(value, dict):
        fmt = value.get("format")
        parts = []
        if isinstance(fmt, dict):
            kind = one_line(fmt.get("type") or "?", 30)
            name_of = fmt.get("name")
            parts.append(f"{kind} {one_line(name_of, 40)}" if name_of else kind)
        if value.get("verbosity"):
            parts.append(f"verbosity {one_line(value['verbosity'], 20)}")
        return ", ".join(parts) or UNSET
    if name == "tools":
        return one_line(", ".join(items.tool_names(value)), width) or UNSET
    if name == "max_output_tokens" and count(value) is not None:
        return f"{count(value):,}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return one_line(repr(value), width)
    return one_line(value, width)


def _around_difference(left: str, right: str, width: int) -> tuple[str, str]:
    """Two long texts that read the same for `width` characters: each shown from a little
    before the first character where they differ."""
    flat = [" ".join(sanitize(t).split()) for t in (left, right)]
    same = len(_common_prefix(flat[0], flat[1]))
    start = max(0, same - width // 3)
    return tuple("…" + one_line(t[start:], width - 1) for t in flat)  # type: ignore[return-value]


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def settings_diff(left: dict[str, Any], right: dict[str, Any]) -> list[SettingDiff]:
    """The settings that differ between two turns, in `SETTINGS` order."""
    out = []
    for key, name in SETTINGS:
        a, b = left.get(key), right.get(key)
        if a == b:
            continue
        shown_a, shown_b = show_setting(key, a), show_setting(key, b)
        if shown_a == shown_b and isinstance(a, str) and isinstance(b, str):
            shown_a, shown_b = _around_difference(a, b, VALUE_CHARS)
        if shown_a != shown_b:
            out.append(SettingDiff(name, shown_a, shown_b))
    return out


# ------------------------------------------------------------------ usage


def sum_usage(usages: Iterable[Usage]) -> Usage:
    """Tokens in and out over several turns (a figure no turn gave stays unknown)."""
    totals: dict[str, int | None] = dict.fromkeys(("input", "cached", "output", "reasoning"))
    for usage in usages:
        for name in totals:
            value = getattr(usage, name)
            if value is not None:
                totals[name] = (totals[name] or 0) + value
    total = None
    if totals["input"] is not None or totals["output"] is not None:
        total = (totals["input"] or 0) + (totals["output"] or 0)
    return Usage(totals["input"], totals["cached"], totals["output"], totals["reasoning"], total)


# ------------------------------------------------------------------ the tree


def common_ancestor(forest: Forest, a: Hashable, b: Hashable) -> Hashable | None:
    """The nearest turn both `a` and `b` descend from (either may be it); None when they are
    in different conversations."""
    return _split(forest, a, b)[0]


def _split(
    forest: Forest, a: Hashable, b: Hashable
) -> tuple[Hashable | None, list[Hashable], list[Hashable]]:
    """(common ancestor, the turns of `a`'s path below it, those of `b`'s path below it)."""
    path_a, path_b = forest.path_to_root(a), forest.path_to_root(b)
    shared = 0
    for x, y in zip(path_a, path_b, strict=False):
        if x != y:
            break
        shared += 1
    ancestor = path_a[shared - 1] if shared else None
    return ancestor, path_a[shared:], path_b[shared:]


def other_siblings(forest: Forest, key: Hashable) -> list[Hashable]:
    """The other versions of a turn: its parent's other replies, in order, starting after it
    (a conversation's first turn has none: other conversations are not versions of it)."""
    parent = forest.parent(key)
    if parent is None:
        return []
    siblings = forest.children(parent)
    at = siblings.index(key)
    return siblings[at + 1 :] + siblings[:at]


# ------------------------------------------------------------------ a comparison


@dataclass(frozen=True, slots=True)
class Side:
    keys: tuple[Key, ...]  # the turns shown (one for an answer, a branch's turns)
    blocks: tuple[Block, ...]
    usage: Usage
    notes: tuple[str, ...] = ()  # what was cut

    @property
    def usage_line(self) -> str:
        said = usage_text(self.usage) or "no usage recorded"
        turns = len(self.keys)
        return said if turns <= 1 else f"{said} over {turns} turns"


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Side
    right: Side
    settings: list[SettingDiff]
    ancestor: Key | None = None  # branches: the turn both descend from
    branches: bool = False
    notes: list[str] = field(default_factory=list)


def _cut_note(what: str, cut: Cut) -> str:
    return f"{what} cut at {len(cut.text):,} of {cut.chars:,} characters for the comparison"


def _answer(index: Index, key: Key) -> str:
    return items.response_text(index.load_body(*key)["response"])


def compare_answers(index: Index, left: Key, right: Key) -> Comparison:
    """Two turns' answers side by side, word-diffed, with their settings and usage."""
    cuts = [cap(_answer(index, key)) for key in (left, right)]
    a, b = diff_blocks([("answer", cuts[0].text)], [("answer", cuts[1].text)])
    sides = []
    for key, blocks, cut in zip((left, right), (a, b), cuts, strict=True):
        notes = (_cut_note("answer", cut),) if cut.capped else ()
        usage = response_usage(index.load_body(*key)["response"])
        sides.append(Side((key,), tuple(blocks), usage, notes))
    settings = settings_diff(recorded_settings(index, *left), recorded_settings(index, *right))
    return Comparison(sides[0], sides[1], settings)


def _branch_blocks(index: Index, keys: list[Key]) -> tuple[list[tuple[str, str]], list[str]]:
    """A branch's turns as blocks (title, input, answer each), cut to the limits."""
    blocks: list[tuple[str, str]] = []
    notes = []
    room = MAX_CHARS
    words = MAX_WORDS
    for number, key in enumerate(keys[:MAX_TURNS], start=1):
        body = index.load_body(*key)
        recorded = body.get("input")
        said = items.input_text(recorded) if recorded is not None else ""
        blocks.append(("title", f"turn {number} · {one_line(key[1], 40)}"))
        for role, text in (("input", said), ("answer", items.response_text(body["response"]))):
            cut = cap(text, max(0, room), max(0, words))
            room -= len(cut.text)
            words -= len(_WORD.findall(cut.text))
            blocks.append((role, cut.text))
            if cut.capped:
                notes.append(_cut_note(f"turn {number}'s {role}", cut))
                return blocks, notes
    if len(keys) > MAX_TURNS:
        notes.append(f"{len(keys) - MAX_TURNS} more turns below not compared")
    return blocks, notes


def compare_branches(index: Index, left: Key, right: Key) -> Comparison:
    """The paths to `left` and to `right` below their common ancestor, turn by turn (input
    and answer), word-diffed; the settings of the two last turns, and each branch's usage."""
    if left[0] == right[0]:
        ancestor, keys_a, keys_b = _split(index.forest(left[0]), left, right)
    else:  # two servers: two conversations
        ancestor = None
        keys_a = index.forest(left[0]).path_to_root(left)
        keys_b = index.forest(right[0]).path_to_root(right)
    (blocks_a, notes_a), (blocks_b, notes_b) = (
        _branch_blocks(index, keys_a),
        _branch_blocks(index, keys_b),
    )
    a, b = diff_blocks(blocks_a, blocks_b)
    sides = []
    for keys, blocks, notes in ((keys_a, a, notes_a), (keys_b, b, notes_b)):
        shown = keys[:MAX_TURNS]
        usage = sum_usage(response_usage(index.load_body(*k)["response"]) for k in shown)
        sides.append(Side(tuple(shown), tuple(blocks), usage, tuple(notes)))
    settings = settings_diff(recorded_settings(index, *left), recorded_settings(index, *right))
    said = []
    if ancestor is None:
        said.append("no common ancestor (different conversations): each whole path is shown")
    elif ancestor in (left, right):
        said.append("one turn is above the other: its side has no turns of its own")
    return Comparison(sides[0], sides[1], settings, ancestor, True, said)  # type: ignore[arg-type]


# ------------------------------------------------------------------ plain text (the CLI)


def unified(index: Index, left: Key, right: Key, max_chars: int = MAX_CHARS * 10) -> list[str]:
    """`responses-tui diff`: the differing settings, then a unified diff of the two answers,
    as safe lines (no escape sequence or control character)."""
    lines = []
    settings = settings_diff(recorded_settings(index, *left), recorded_settings(index, *right))
    a_name, b_name = one_line(left[1], 80), one_line(right[1], 80)
    if settings:
        width = max(len(s.name) for s in settings)
        lines.append("settings that differ:")
        lines += [f"  {s.name:<{width}}  {s.left}  →  {s.right}" for s in settings]
    else:
        lines.append("settings: the same")
    cuts = [cap(_answer(index, key), max_chars, max_chars) for key in (left, right)]
    for name, cut in zip((a_name, b_name), cuts, strict=True):
        if cut.capped:
            lines.append(f"note: {name}: {_cut_note('answer', cut)}")
    diff = list(
        difflib.unified_diff(
            cuts[0].text.splitlines(),
            cuts[1].text.splitlines(),
            fromfile=a_name,
            tofile=b_name,
            lineterm="",
        )
    )
    lines += diff  # each line already safe: `cap` sanitized the text, splitlines split it
    if not diff:
        lines.append("the answers are the same")
    return lines
