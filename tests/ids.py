"""Test ids that can be named on the command line.

pytest escapes the backslashes of an id made by an `ids=` function again each time it collects
in the same process, and mutmut's fork server collects before every run it forks: an id like
`'lab\\x1b'` is then no longer found and the mutant's run stops with a usage error
(scripts/mutation). `plain` writes a value's `ascii()` with `~` for each backslash.
"""

from __future__ import annotations


def plain(value: object, width: int | None = None) -> str:
    text = ascii(value).replace("\\", "~")
    return text if width is None else text[:width]
