"""Run snapshot tests N times each in one process, comparing each screenshot with its stored
SVG (as pytest-textual-snapshot does): the check that no snapshot is flaky.

    cd tests && python ../scripts/snaploop.py 50 test_snapshots::test_layout_80x24 ...

Prints "passed/runs" per test and, for the first two failures of each, the rows that differ.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
for _var in ("NO_COLOR", "TEXTUAL_THEME"):
    os.environ.pop(_var, None)

from pytest_textual_snapshot import normalize_svg  # noqa: E402
from textual._doc import take_svg_screenshot  # noqa: E402


def rows(svg: str) -> list[str]:
    """The text of an SVG screenshot, one string per terminal row."""
    by_y: dict[float, list[tuple[float, str]]] = {}
    pattern = r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>'
    for match in re.finditer(pattern, svg, re.S):
        x, y, text = float(match[1]), float(match[2]), html.unescape(match[3])
        by_y.setdefault(y, []).append((x, text))
    return ["".join(t for _, t in sorted(by_y[y])).replace("\xa0", " ") for y in sorted(by_y)]


class Compare:
    """A stand-in for the `snap_compare` fixture: screenshot, normalise, compare."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        self.actual = ""

    def __call__(self, app, press=(), terminal_size=(80, 24), run_before=None) -> bool:
        svg = take_svg_screenshot(
            app=app, press=press, terminal_size=terminal_size, run_before=run_before
        )
        self.actual = normalize_svg(svg)
        return self.actual == self.expected


def main() -> int:
    runs, specs = int(sys.argv[1]), sys.argv[2:]
    failed = 0
    for spec in specs:
        module_name, name = spec.split("::")
        module = importlib.import_module(module_name)
        expected = Path(f"__snapshots__/{module_name}/{name}.svg").read_text()
        fails, started = 0, time.time()
        for n in range(runs):
            home = tempfile.mkdtemp()
            os.environ["RESPONSES_TUI_HOME"] = home + "/rtui-home"
            compare = Compare(expected)
            try:
                getattr(module, name)(compare, Path(home))
            except AssertionError:
                fails += 1
                if fails <= 2:
                    print(f"  {name} run {n}: differs")
                    pairs = zip(rows(compare.actual), rows(expected), strict=False)
                    for k, (got, want) in enumerate(pairs):
                        if got != want:
                            print(f"    row {k}\n     got: {got!r}\n     exp: {want!r}")
        failed += fails
        print(f"{spec}: {runs - fails}/{runs} passed ({time.time() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
