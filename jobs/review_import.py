"""Turn corrected Label Studio tasks into a Parquet of gold text.

    python jobs/review_import.py --tasks EXPORTED_AND_CORRECTED.json --output GOLD
"""

from __future__ import annotations

import argparse
import sys

from pipeline.downstream.review_import import import_tasks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", required=True, help="Label Studio JSON export of the reviewed tasks")
    p.add_argument("--output", required=True)
    a = p.parse_args(argv)
    try:
        path, pages, changed = import_tasks(a.tasks, a.output)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot read {a.tasks}: {exc}", file=sys.stderr)
        return 1
    print(f"review import: {pages} page(s), {changed} corrected line(s) -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
