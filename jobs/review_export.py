"""Export the pages that need review: Label Studio tasks, CSV, or a static HTML page.

    python jobs/review_export.py --pages OUT --output DIR [--format labelstudio|csv|html]
        [--threshold X] [--max-pages N] [--order confidence|source]
"""

from __future__ import annotations

import argparse
import sys

from pipeline.downstream.review_export import ReviewExportConfig, export
from schemas import SchemaVersionError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", required=True, help="OUT of jobs/digitize.py, OUT/pages, or one run's folder")
    p.add_argument("--output", required=True)
    p.add_argument("--format", choices=["labelstudio", "csv", "html"], default="labelstudio")
    p.add_argument("--threshold", type=float, default=None, help="re-select: confidence under X (default: the run's review flag)")
    p.add_argument("--max-pages", type=int, default=None)
    p.add_argument("--order", choices=["confidence", "source"], default="confidence")
    p.add_argument("--image-dpi", type=int, default=150)
    a = p.parse_args(argv)
    cfg = ReviewExportConfig(pages=a.pages, output=a.output, format=a.format, threshold=a.threshold,
                             max_pages=a.max_pages, order=a.order, image_dpi=a.image_dpi)
    try:
        result = export(cfg)
    except (SchemaVersionError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result.selected == 0:
        print(f"review export: no pages need review in {a.pages}; wrote an empty export to {result.path}")
        return 0
    note = f" ({result.without_image} without an image: their files cannot be rendered)" if result.without_image else ""
    print(f"review export: {result.exported} of {result.selected} page(s) -> {result.path}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
