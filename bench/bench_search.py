"""Benchmark full-text search (issue 5 target: under 50 ms per keystroke on 10,000 responses).

python bench/bench_search.py [--responses 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import SERVER, corpus  # noqa: E402

from tui.search import SearchIndex  # noqa: E402
from tui.store.index import Index  # noqa: E402

QUERIES = ["f", "fo", "fox", "question 4", "question 42", "question 4242", "zzz-not-there"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Index.open(Path(tmp) / "index") as index:
        index.add_many(corpus(args.responses, 500), server=SERVER, profile="bench")
        searcher = SearchIndex(index)
        started = time.perf_counter()
        searcher.build()
        build = time.perf_counter() - started
        worst = 0.0
        rows = []
        for query in QUERIES:  # as if typed one keystroke at a time
            best = min(_timed(searcher.filter_keys, query) for _ in range(3))
            worst = max(worst, best)
            rows.append((query, best))
    print("| measurement | figure |")
    print("|---|---|")
    print(f"| build the search index ({args.responses:,} responses) | {build * 1000:.0f} ms |")
    for query, seconds in rows:
        print(f"| filter as you type: {query!r} | {seconds * 1000:.1f} ms |")
    print(f"| worst keystroke | {worst * 1000:.1f} ms |")


def _timed(func, query: str) -> float:
    started = time.perf_counter()
    func(query)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
