"""Full-text index over the page Parquet: build (incrementally) and search.

    python jobs/index.py build --pages OUT/pages --index DIR
    python jobs/index.py search --index DIR "query" [--json] [--min-confidence X] [--language L] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time

from pipeline.downstream import search_index
from schemas import SchemaVersionError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="index new Parquet files (a re-converted page replaces its entry)")
    b.add_argument("--pages", required=True)
    b.add_argument("--index", required=True)
    s = sub.add_parser("search", help="query the index")
    s.add_argument("--index", required=True)
    s.add_argument("query")
    s.add_argument("--json", action="store_true")
    s.add_argument("--min-confidence", type=float, default=None)
    s.add_argument("--language", default=None, help="ISO 639-1 code, e.g. fr")
    s.add_argument("--limit", type=int, default=10)
    a = p.parse_args(argv)
    try:
        if a.command == "build":
            started = time.perf_counter()
            result = search_index.build(a.pages, a.index)
            took = time.perf_counter() - started
            if result.files_read == 0:
                print(f"index: nothing new under {a.pages} ({took:.1f} s)")
            else:
                print(f"index: {result.pages_indexed} page(s) from {result.files_read} new file(s) in {took:.1f} s "
                      f"({result.pages_skipped} without text skipped) -> {a.index}")
            return 0
        hits = search_index.search(a.index, a.query, a.limit, a.min_confidence, a.language)
    except (SchemaVersionError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if a.json:
        print(json.dumps(hits, ensure_ascii=False, indent=1))
    else:
        for hit in hits:
            snippet = re.sub(r"</?b>", "*", hit["snippet"]).replace("\n", " ")
            print(f"{hit['score']:7.3f}  {hit['source_uri']} p.{hit['page']}  [{hit['language'] or '?'}, conf {hit['confidence']:.2f}]\n         {snippet}")
        if not hits:
            print("no match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
