"""The practices' files rendered in this process against in worker processes.

    python benchmarks/practice_files.py HOME [--month 2026-01] [--rounds 3]

Builds the month's practice lists from HOME's warehouse (as publishing does, writing
nothing), then, in turns, renders every list's risk_list.csv, .xlsx and .html in this
process alone and shared with a worker process (`lists.outbox.render_practice_files`), and checks
both give the same bytes. The shared time includes starting the worker.

Then it times the HTML pages alone, in turns, with the template's rows as namespaces
(`lists.rendering.render_practice_html`) and as dicts, as they were until session 10
(the same function with `SimpleNamespace` swapped for `dict`), and checks the pages match.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.revisions import in_turns  # noqa: E402
from lists import rendering  # noqa: E402
from lists.outbox import render_practice_files  # noqa: E402
from lists.practice_lists import build_practice_lists  # noqa: E402
from warehouse.connection import connect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--month", default="2026-01")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    with connect(arguments.home / "warehouse.duckdb") as connection:
        lists, _ = build_practice_lists(
            connection, arguments.month, models_dir=arguments.home / "models"
        )
    rows = sum(len(item.rows) for item in lists)
    print(f"{len(lists)} practice lists, {rows:,} people listed")
    ways = {
        "this process": lambda: render_practice_files(lists, parallel=False),
        "with a worker": lambda: render_practice_files(lists, parallel=True),
    }
    rendered = in_turns(arguments.rounds, ways)
    same = rendered["this process"] == rendered["with a worker"]
    print("same bytes" if same else "DIFFERENT bytes")

    def pages() -> list[str]:
        return [rendering.render_practice_html(item) for item in lists]

    def pages_from_dicts() -> list[str]:
        namespace = rendering.SimpleNamespace
        rendering.SimpleNamespace = dict  # type: ignore[misc,assignment]
        try:
            return pages()
        finally:
            rendering.SimpleNamespace = namespace  # type: ignore[misc]

    print("HTML pages alone:")
    html = in_turns(
        arguments.rounds, {"rows as namespaces": pages, "rows as dicts": pages_from_dicts}, "  "
    )
    same_pages = html["rows as namespaces"] == html["rows as dicts"]
    print("  same pages" if same_pages else "  DIFFERENT pages")
    sys.exit(0 if same and same_pages else 1)


if __name__ == "__main__":
    main()
