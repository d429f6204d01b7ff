"""JSON from servers and files, with a bound on nesting.

`json.loads` of a 100,000-level document raises RecursionError, and a document a few hundred
levels deep parses but breaks every recursive reader after it (copies, scrubbing, the index's
own encoder). `loads` turns the first into a ValueError that says what happened; `clip` cuts
what is nested deeper than `MAX_DEPTH` (a real response or JSON Schema nests a few dozen levels
at most), in place and without recursion, so a response the server did create can still be
recorded.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100
CLIPPED = "[nested too deeply: cut by responses-tui]"


class TooDeep(ValueError):
    """JSON nested beyond what the parser (or `MAX_DEPTH`) allows."""


def loads(text: str | bytes, what: str = "the JSON") -> Any:
    """`json.loads`, with too-deep nesting as TooDeep instead of RecursionError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise TooDeep(f"{what} is nested too deeply to read") from None


def depth(value: Any) -> int:
    """How deep `value` nests (a scalar is 0, `[]` is 1), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def clip(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Replace every container nested deeper than `max_depth` with `CLIPPED`, in place.
    True when something was cut."""
    if not isinstance(value, dict | list):
        return False
    cut = False
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in list(keys):
            child = node[key]
            if isinstance(child, dict | list):
                if level >= max_depth:
                    node[key] = CLIPPED
                    cut = True
                else:
                    stack.append((child, level + 1))
    return cut


def loads_clipped(text: str | bytes, what: str = "the JSON") -> Any:
    """Parse and clip: what every reader after this can walk safely."""
    value = loads(text, what)
    if isinstance(value, dict | list):
        clip(value)
    return value
