"""Corrected lines from `jobs/review_import.py` (gold.parquet): each line's box on its page, in
percent of the page image, and the reviewer's text. The page is rendered again from its source
document when the line is read."""

from __future__ import annotations

import pyarrow.parquet as pq

from connectors import filesystem as cfs
from pipeline.recognizer.sources import LineRef, Skipped, line_ref


def read_gold(uri: str, name: str = "gold", skipped: Skipped | None = None) -> list[LineRef]:
    """References to every reviewed line (line >= 0) with a box; boxes as fractions of the page."""
    skipped = skipped if skipped is not None else Skipped()
    fs, path = cfs.filesystem(uri)
    table = pq.read_table(path, filesystem=fs, columns=["doc_id", "page", "line", "bbox_pct", "gold_text", "source_uri"])
    refs: list[LineRef] = []
    for row in table.to_pylist():
        if row["line"] < 0:
            continue  # the page-level row repeats its lines
        if not row["bbox_pct"] or not row["source_uri"]:
            skipped.add("gold line without a box or source", f"{row['doc_id']} p{row['page']} l{row['line']}")
            continue
        x, y, w, h = row["bbox_pct"]
        refs.append(line_ref(name, row["doc_id"], row["gold_text"] or "", row["source_uri"],
                             box=[x / 100, y / 100, (x + w) / 100, (y + h) / 100], page=row["page"]))
    refs.sort(key=lambda r: (r["uri"], r["page"]))  # lines of a page are read together, one render each
    return refs
