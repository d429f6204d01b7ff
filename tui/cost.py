"""Token usage and cost, per turn and summed: over a path (root → turn) and over a subtree (a
turn and everything below it).

A turn's figures come from its recorded response (`tui.api.usage`, either naming scheme); a
turn whose response carries no usage is counted apart ("3 turns without usage"), never as
zero. The cost is the maintained price table of **genai-prices** (OpenAI, Fireworks and many
more), looked up by the model the server named and the server's address (the library's own
patterns tell which provider an API address is; an address it does not know, the offline
backend's or a local server's, has no price). Nothing is guessed: a turn whose price is not
known is "unpriced", and a total over turns some of which are unpriced says so ("≥ $0.0123,
2 turns unpriced").

genai-prices is imported lazily (~120 ms): `load_prices()` (the app runs it in a thread),
or the first `price()`. Its bundled table is used; its updater, which would fetch prices
from the network, is never started. Pure: no Textual, no I/O of ours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tui.api.profiles import LOCAL_BASE_URL
from tui.api.usage import Usage, response_usage
from tui.turn_meta import SEP, usage_text

Key = Hashable
LIMIT = 20_000  # turns read for one total; the rest are counted as not read
MODEL_CHARS = 200  # a model name longer than this is no model a price table knows
SERVER_CHARS = 300

_calc: Callable[..., Any] | None = None  # genai_prices.calc_price, once imported
_usage_type: Any = None


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """What one turn's cost is made of: its tokens, the model and server, and when."""

    usage: Usage
    model: str = ""
    server: str = ""
    created_at: float = 0.0


def turn_usage(response: Any, *, model: str, server: str, created_at: float) -> TurnUsage:
    """The figures of a turn from its recorded response (the summary's model, server, time)."""
    return TurnUsage(response_usage(response), model, server, created_at)


# ------------------------------------------------------------------ prices


def prices_loaded() -> bool:
    return _calc is not None


def load_prices() -> bool:
    """Import genai-prices (slow: run it off the UI thread). False when it is not installed."""
    global _calc, _usage_type
    if _calc is None:
        try:
            from genai_prices import Usage as PriceUsage
            from genai_prices import calc_price
        except ImportError:
            return False
        _usage_type, _calc = PriceUsage, calc_price
    return True


def priceable(server: str) -> bool:
    """Whether a server can have prices at all: the offline backend never has (and asking
    would load the price table for nothing)."""
    return server.rstrip("/") != LOCAL_BASE_URL and server.startswith(("https://", "http://"))


def price(turn: TurnUsage) -> Decimal | None:
    """What the turn cost in US dollars, or None when that is not known: no usage, an input
    or output count missing, a server or a model the price table does not know."""
    usage = turn.usage
    if usage.input is None or usage.output is None or not priceable(turn.server):
        return None
    if not turn.model or len(turn.model) > MODEL_CHARS or len(turn.server) > SERVER_CHARS:
        return None
    day = int(turn.created_at // 86400) if math.isfinite(turn.created_at) else 0
    return _price(turn.model, turn.server, usage.input, usage.cached or 0, usage.output, day)


@lru_cache(maxsize=65_536)
def _price(model: str, server: str, tokens_in: int, cached: int, out: int, day: int) -> Any:
    if _calc is None and not load_prices():  # (the CLI's first price: loaded here)
        return None
    when = datetime.fromtimestamp(day * 86400, UTC) if day > 0 else None
    try:
        calculation = _calc(
            _usage_type(input_tokens=tokens_in, cache_read_tokens=cached, output_tokens=out),
            model_ref=model,
            provider_api_url=server,
            genai_request_timestamp=when,
        )
        total = calculation.total_price
    except (LookupError, ValueError, TypeError, ArithmeticError):
        return None  # an unknown provider or model (LookupError), or a value it refuses
    return total if isinstance(total, Decimal) and total.is_finite() and total >= 0 else None


# ------------------------------------------------------------------ totals


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over some turns. `without_usage`: turns whose response carries no usage (not
    counted as zero tokens). `unpriced`: turns with usage whose price is not known (`cost`
    is then a lower bound). `priced`: False when no price was asked for (the table is still
    loading): the text then leaves the cost out. `unread`: turns beyond the limit."""

    turns: int = 0
    input: int = 0
    cached: int = 0
    output: int = 0
    reasoning: int = 0
    without_usage: int = 0
    cost: Decimal = Decimal(0)
    with_price: int = 0
    unpriced: int = 0
    priced: bool = True
    unread: int = 0

    @property
    def with_usage(self) -> int:
        return self.turns - self.without_usage


def total(
    turns: Iterable[TurnUsage | None],
    *,
    pricer: Callable[[TurnUsage], Decimal | None] | None = price,
    limit: int = LIMIT,
    more: int = 0,
) -> Totals:
    """The sums over `turns` (None: a turn whose figures are not known, e.g. no body). At
    most `limit` are read; `more` turns known to lie beyond them are counted as unread.
    `pricer` None: no cost (the price table is not loaded yet)."""
    count = tokens_in = cached = out = reasoning = without = with_price = unpriced = 0
    cost = Decimal(0)
    unread = more
    for n, turn in enumerate(turns):
        if n >= limit:
            unread += 1
            continue
        count += 1
        usage = turn.usage if turn is not None else None
        if usage is None or usage.empty:
            without += 1
            continue
        tokens_in += usage.input or 0
        cached += usage.cached or 0
        out += usage.output or 0
        reasoning += usage.reasoning or 0
        if pricer is None:
            continue
        amount = pricer(turn) if turn is not None else None
        if amount is None:
            unpriced += 1
        else:
            cost += amount
            with_price += 1
    return Totals(
        count,
        tokens_in,
        cached,
        out,
        reasoning,
        without,
        cost,
        with_price,
        unpriced,
        pricer is not None,
        unread,
    )


def path_total(
    keys: list[Key],
    figures: Callable[[Key], TurnUsage | None],
    *,
    pricer: Callable[[TurnUsage], Decimal | None] | None = price,
    limit: int = LIMIT,
) -> Totals:
    """The sums over a path (root first). Over `limit` turns, the last `limit` are read (the
    deepest turns re-read the most) and the rest counted as unread."""
    read = keys[-limit:] if limit > 0 else []
    skipped = len(keys) - len(read)
    return total((figures(k) for k in read), pricer=pricer, limit=limit, more=skipped)


def subtree_keys(children: Callable[[Key], list[Key]], key: Key, limit: int = LIMIT) -> tuple:
    """(`key` and the turns below it, pre-order, at most `limit`; how many more there are,
    at least: the walk stops counting once the limit is passed)."""
    found: list[Key] = []
    stack = [key]
    beyond = 0
    while stack:
        current = stack.pop()
        if len(found) >= limit:
            beyond += 1 + len(stack)  # what is still to walk: a lower bound of the rest
            break
        found.append(current)
        stack.extend(reversed(children(current)))
    return found, beyond


def subtree_total(
    children: Callable[[Key], list[Key]],
    key: Key,
    figures: Callable[[Key], TurnUsage | None],
    *,
    pricer: Callable[[TurnUsage], Decimal | None] | None = price,
    limit: int = LIMIT,
) -> Totals:
    """The sums over `key` and every turn below it."""
    keys, beyond = subtree_keys(children, key, limit)
    return total((figures(k) for k in keys), pricer=pricer, limit=limit, more=beyond)


# ------------------------------------------------------------------ text


def money(amount: Decimal) -> str:
    """ "$0.00725", "$0.0123", "$1.23", "$1,234.50": three significant digits below a
    dollar, cents above."""
    if amount <= 0:
        return "$0"
    if amount >= 1:
        return f"${amount:,.2f}"
    places = min(8, max(2, 2 - math.floor(math.log10(amount))))
    text = f"{amount:.{places}f}"
    if Decimal(text) == 0:
        return "< $0.00000001"
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents[:2]}{cents[2:].rstrip('0')}"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' if count != 1 else ''}"


def cost_text(totals: Totals) -> str:
    """ "$0.0123"; "≥ $0.0123, 2 turns unpriced"; "unknown price"; "" when no price was asked
    for or no turn has usage."""
    if not totals.priced or totals.with_usage == 0:
        return ""
    if totals.with_price == 0:
        return "unknown price"
    lower = totals.unpriced or totals.without_usage or totals.unread
    text = ("≥ " if lower else "") + money(totals.cost)
    if totals.unpriced:
        text += f", {plural(totals.unpriced, 'turn')} unpriced"
    return text


def totals_usage(totals: Totals) -> Usage:
    known = totals.with_usage > 0
    return Usage(
        totals.input if known else None,
        totals.cached or None,
        totals.output if known else None,
        totals.reasoning or None,
    )


def totals_text(totals: Totals, *, turns: bool = True) -> str:
    """ "4 turns · $0.0123 · in 1,234 (cached 1,000) · out 56 · 1 turn without usage": the
    cost early, so a narrow line keeps it."""
    parts = [plural(totals.turns, "turn")] if turns else []
    parts += [cost_text(totals), usage_text(totals_usage(totals))]
    if totals.without_usage:
        parts.append(f"{plural(totals.without_usage, 'turn')} without usage")
    if totals.unread:
        parts.append(f"{plural(totals.unread, 'more turn')} not counted")
    return SEP.join(p for p in parts if p)


def compact_text(totals: Totals) -> str:
    """A subtree's totals in a few cells, for a line of the graph: "≥ $0.0153 · 3,910 tokens",
    "unknown price · 110 tokens", "no usage"."""
    if not totals.with_usage:
        return "no usage"
    tokens = plural(totals.input + totals.output, "token")
    price = cost_text(totals).split(",", 1)[0]  # "≥ $0.0123" says it is a lower bound
    more = " +" if totals.unread else ""
    return SEP.join(p for p in (price, tokens + more) if p)


def turn_text(turn: TurnUsage | None, *, pricer: Callable | None = price) -> str:
    """One turn's figures: "in 1,234 · out 56 · $0.00725", "… · unknown price", "no usage"."""
    usage = turn.usage if turn is not None else None
    if turn is None or usage is None or usage.empty:
        return "no usage"
    amount = pricer(turn) if pricer is not None else None
    cost = "" if pricer is None else (money(amount) if amount is not None else "unknown price")
    return SEP.join(p for p in (usage_text(usage), cost) if p)


def billed_input(parent: TurnUsage | None) -> int | None:
    """The input a reply to `parent` is billed for, at least: what the parent read and wrote
    (its input and output tokens), re-read by the next turn. None when not recorded."""
    if parent is None or parent.usage.input is None or parent.usage.output is None:
        return None
    return parent.usage.input + parent.usage.output


def billed_text(tokens: int) -> str:
    return f"≈ {tokens:,} input tokens billed"
