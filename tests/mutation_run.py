"""How the tests run for one mutant of a mutation run (scripts/mutation, README "Testing"):
in what order, and for how long at most.

mutmut runs, for each mutant, every test that reached the mutated function, stopping at the
first failure (`-x`); it passes them in no useful order. A caught mutant costs the tests run
before the one that catches it, so the order is what makes a run take minutes or an hour
(one `text.sanitize` mutant: 0.5 s or 30 s). The order here:

1. the tests that caught an earlier mutant of the same function (most recent first): mutants
   of one function are mostly caught by the same few tests;
2. the tests of the mutated module's own test files (`tests/test_unit_atomic.py` for
   `tui.store.atomic`), which are small and aimed at it;
3. the rest, quickest first (durations from mutmut's own stats).

A test that runs far longer than it did on the real code (a mutant that loops forever) is
stopped and fails: mutmut would stop the whole run only after thirty times the time of every
test, minutes for the widely reached functions. Nothing here changes what a test checks.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

KILLERS_DIR = "mutmut-killers"  # under mutants/, one file per function
_MUTANT = re.compile(r"^(?P<function>(?P<module>[\w.]+?)\.x[_ǁ].*)__mutmut_\d+$")


def active_mutant() -> str | None:
    """The mutant this process runs the tests of, or None outside a mutant's run."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return name if _MUTANT.match(name) else None


def function_of(mutant: str) -> str:
    match = _MUTANT.match(mutant)
    return match["function"] if match else mutant


def module_stem(mutant: str) -> str:
    """`atomic` for a mutant of `tui.store.atomic`."""
    match = _MUTANT.match(mutant)
    return match["module"].rsplit(".", 1)[-1] if match else ""


def _killers_file(root: Path, mutant: str) -> Path:
    safe = re.sub(r"[^\w.-]", "_", function_of(mutant))
    return root / KILLERS_DIR / safe


def killers(root: Path, mutant: str) -> list[str]:
    """Tests that caught a mutant of the same function, most recent first, each once."""
    try:
        lines = _killers_file(root, mutant).read_text("utf-8").splitlines()
    except OSError:
        return []
    return list(dict.fromkeys(reversed(lines)))


def record_kill(root: Path, mutant: str, nodeid: str) -> None:
    path = _killers_file(root, mutant)
    path.parent.mkdir(exist_ok=True)
    # One short line appended at once: two workers writing the same file do not interleave.
    with path.open("a", encoding="utf-8") as file:
        file.write(nodeid + "\n")


@cache
def _durations(root: Path) -> dict[str, float]:
    try:
        stats = json.loads((root / "mutmut-stats.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    durations = stats.get("duration_by_test", {})
    return durations if isinstance(durations, dict) else {}


def order(nodeids: list[str], mutant: str, root: Path) -> list[str]:
    """`nodeids` in the order to run them for `mutant`."""
    first = {nodeid: rank for rank, nodeid in enumerate(killers(root, mutant))}
    stem = module_stem(mutant)
    own = re.compile(rf"^tests/test_(unit_)?{re.escape(stem)}(_\w+)?\.py::") if stem else None
    durations = _durations(root)

    def key(nodeid: str) -> tuple[int, float, float]:
        if nodeid in first:
            return (0, first[nodeid], 0.0)
        group = 1 if own is not None and own.match(nodeid) else 2
        return (group, 0.0, durations.get(nodeid, 1.0))

    return sorted(nodeids, key=key)


class MutantTimeout(Exception):
    """A test ran past its time limit in a mutant's run: the mutant counts as caught."""


def time_limit(nodeid: str, root: Path) -> float:
    """Seconds a test may take in a mutant's run: twenty times its time on the real code (from
    mutmut's stats, measured with every function behind a trampoline), and at least 3."""
    return max(3.0, 20.0 * _durations(root).get(nodeid, 1.0))


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise MutantTimeout in the main thread once `seconds` (wall clock) have passed."""

    def expire(signum: int, frame: object) -> None:
        raise MutantTimeout(f"the test ran past {seconds:.1f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
