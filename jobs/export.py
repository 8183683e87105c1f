"""Export a run's Parquet as the files archives use: searchable PDF, ALTO XML, hOCR, text, Markdown.

    digitize-export --pages OUT --output DIR --format pdf|pdfa,alto,hocr,txt,md [--run-id RUN] [--min-confidence X] [--volumes]

One output per source document, pages in order (ALTO and hOCR: one file per page in a folder
per document); with --volumes, one per folder of page images. Local folders or s3:// URIs; an interrupted export resumes where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from connectors import configure_s3
from pipeline.downstream.export.write import FORMATS, ExportConfig, export
from schemas import SchemaVersionError


def parse_formats(value: str) -> tuple[str, ...]:
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"unknown format {', '.join(unknown) or value!r}; choose from {', '.join(FORMATS)}")
    if {"pdf", "pdfa"} <= set(formats):
        raise argparse.ArgumentTypeError("pdf and pdfa both write NAME.pdf: choose one")
    return formats


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", required=True, help="digitize's OUT folder (or OUT/pages, or one run's folder)")
    p.add_argument("--output", required=True)
    p.add_argument("--format", default="pdf", type=parse_formats, help=f"comma-separated: {', '.join(FORMATS)}")
    p.add_argument("--run-id", default=None, help="only this run's pages (default: every run, the latest row of a page)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="pages under this confidence get no text (PDF: image only; ALTO: flagged as missing)")
    p.add_argument("--overwrite", action="store_true", help="write again documents whose outputs exist")
    p.add_argument("--volumes", action="store_true",
                   help="the image files of one folder are one document (a book or box scanned page by page): one "
                        "PDF, text and ALTO set per folder, pages in the files' natural order; PDFs stay their own")
    p.add_argument("--s3-endpoint", default=None, help="S3-compatible endpoint URL (default: AWS_ENDPOINT_URL)")
    a = p.parse_args(argv)
    configure_s3(a.s3_endpoint or os.environ.get("AWS_ENDPOINT_URL"))
    try:
        result = export(ExportConfig(pages=a.pages, output=a.output, formats=a.format, run_id=a.run_id,
                                     min_confidence=a.min_confidence, overwrite=a.overwrite, volumes=a.volumes),
                        progress=lambda r: print(f"export: {r.documents} document(s), {r.pages} page(s)...", flush=True))
    except (FileNotFoundError, SchemaVersionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"export: {result.documents} document(s), {result.pages} page(s), {result.files} file(s) -> {a.output} in "
          f"{result.seconds:.1f} s" + (f"; {result.skipped_existing} already exported" if result.skipped_existing else ""),
          flush=True)
    for line in result.errors:
        print(f"export: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
