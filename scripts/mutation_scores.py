"""Mutation score per core module, from the results `mutmut run` left in `mutants/`.

    python scripts/mutation_scores.py            # the table (Markdown), worst module first
    python scripts/mutation_scores.py --survivors tui/api/sse.py   # the mutants that lived

A mutant counts as caught when a test failed on it or it ran past its time limit; it lives
when every test it reached passed ("survived") or no test reached it ("no tests"). A mutant
listed in EQUIVALENT (below) cannot be told apart from the original by any test and is left
out of the score, with the reason beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"

# The modules the README's score table is about (issue 12): a package counts as one.
MODULES = (
    "tui/api",
    "tui/store",
    "tui/ops",
    "tui/forest.py",
    "tui/tools.py",
    "tui/search.py",
    "tui/text.py",
)

CAUGHT = {1, 3, 36, 24, -24, 152, 255}  # killed, pytest internal error, timeout
LIVED = {0, 5, 33}  # survived, no tests collected, no test reached it

# Mutants no test can catch, because the program behaves the same with them: one file per
# area, each line `mutmut-name  reason`. A name that no longer exists or that a test now
# catches is reported, so the list cannot go stale quietly.
EQUIVALENT_DIR = ROOT / "scripts" / "equivalent_mutants"


def _equivalent() -> dict[str, str]:
    found: dict[str, str] = {}
    for listing in sorted(EQUIVALENT_DIR.glob("*.txt")):
        for line in listing.read_text("utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            if not reason.strip():
                raise SystemExit(f"{listing.name}: {name} is listed with no reason")
            found[name] = reason.strip()
    return found


EQUIVALENT = _equivalent()


def _results() -> dict[str, dict[str, int | None]]:
    """Exit code of every mutant, by source file (relative to the repository)."""
    found: dict[str, dict[str, int | None]] = {}
    for meta in sorted(MUTANTS.glob("tui/**/*.py.meta")):
        source = meta.relative_to(MUTANTS).as_posix()[: -len(".meta")]
        data = json.loads(meta.read_text("utf-8"))
        found[source] = data.get("exit_code_by_key", {})
    return found


def _module_of(source: str) -> str | None:
    for module in MODULES:
        if source == module or source.startswith(module + "/"):
            return module
    return None


def _tally(codes: dict[str, int | None]) -> tuple[int, int, int, int]:
    """(caught, lived, equivalent, unchecked) over one file's mutants."""
    caught = lived = equivalent = unchecked = 0
    for name, code in codes.items():
        if name in EQUIVALENT:
            equivalent += 1
        elif code is None:
            unchecked += 1
        elif code in CAUGHT:
            caught += 1
        elif code in LIVED:
            lived += 1
        else:  # suspicious, segfault, interrupted: not a catch
            lived += 1
    return caught, lived, equivalent, unchecked


def table(results: dict[str, dict[str, int | None]]) -> tuple[str, bool]:
    """The Markdown table and whether every module reached 90%."""
    per_module: dict[str, list[int]] = {module: [0, 0, 0, 0] for module in MODULES}
    for source, codes in results.items():
        module = _module_of(source)
        if module is None:
            continue
        for i, value in enumerate(_tally(codes)):
            per_module[module][i] += value
    lines = [
        "| module | mutants | caught | lived | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    met = True
    for module in MODULES:
        caught, lived, equivalent, unchecked = per_module[module]
        judged = caught + lived
        score = 100.0 * caught / judged if judged else 0.0
        met = met and judged > 0 and score >= 90.0 and unchecked == 0
        total = judged + equivalent + unchecked
        note = f" ({unchecked} not run)" if unchecked else ""
        lines.append(
            f"| `{module}` | {total} | {caught} | {lived} | {equivalent} | {score:.1f}%{note} |"
        )
    return "\n".join(lines), met


def survivors(results: dict[str, dict[str, int | None]], source: str) -> list[str]:
    codes = results.get(source, {})
    return [
        name
        for name, code in codes.items()
        if code is not None and code not in CAUGHT and name not in EQUIVALENT
    ]


def stale(results: dict[str, dict[str, int | None]]) -> list[str]:
    """Listed equivalents that do not exist (renumbered) or that a test catches."""
    codes = {name: code for per_file in results.values() for name, code in per_file.items()}
    return [
        f"{name}: {'no such mutant' if name not in codes else 'caught by a test'}"
        for name in EQUIVALENT
        if name not in codes or codes[name] in CAUGHT
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--survivors", metavar="FILE", help="list the mutants of FILE that were not caught"
    )
    args = parser.parse_args(argv)
    results = _results()
    if not results:
        print("no results in mutants/: run `scripts/mutation` first", file=sys.stderr)
        return 2
    if args.survivors:
        for name in survivors(results, args.survivors):
            print(name)
        return 0
    text, met = table(results)
    print(text)
    problems = stale(results)
    for problem in problems:
        print(f"equivalent list is stale: {problem}", file=sys.stderr)
    return 0 if met and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
