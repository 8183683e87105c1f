"""After the page write: the review queue, the page accounting and the run summary.

Everything here reads the Parquet that was written, so the summary reports what is on
disk, not what the driver believes it sent.
"""

from __future__ import annotations

import collections
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from connectors.filesystem import filesystem, join, write_bytes
from pipeline.run.config import DigitizeConfig
from pipeline.run.isolation import ISOLATION_ERRORS
from pipeline.run.pages_reader import open_pages
from schemas import PAGE_SCHEMA, REVIEW_COLUMNS, REVIEW_SCHEMA

ACCOUNT_COLUMNS = ["source_uri", "page", "page_count", "status", "error_kind", "route", "needs_review"]


@dataclass
class RunSummary:
    run_id: str
    engine: str
    documents: int
    pages_in: int
    rows_out: int
    pages_ok: int
    pages_error: int
    pages_skipped: int
    errors_by_kind: dict[str, int]
    routes: dict[str, int]
    review_pages: int
    missing_documents: list[str] = field(default_factory=list)
    duplicate_rows: int = 0
    page_gaps: int = 0
    wall_s: float = 0.0
    pages_per_s: float = 0.0
    output: str = ""

    @property
    def complete(self) -> bool:
        return not self.missing_documents and not self.duplicate_rows and not self.page_gaps and self.pages_in == self.rows_out


def _dataset(folder: str) -> pads.Dataset | None:
    """The run's pages, version-checked like every reader's; None before any page is written."""
    try:
        return open_pages(folder)
    except FileNotFoundError:
        return None


def _read(folder: str, columns: list[str]) -> pa.Table:
    dataset = _dataset(folder)
    if dataset is None:
        return pa.table({c: pa.array([], type=PAGE_SCHEMA.field(c).type) for c in columns})
    return dataset.to_table(columns=columns)


def write_review(config: DigitizeConfig, pages_folder: str) -> str:
    """OUT/review/run_id=RUN/review.parquet: the flagged and low-confidence pages, slim view."""
    target = join(config.output, "review", f"run_id={config.run_id}", "review.parquet")
    fs, path = filesystem(target)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    dataset = _dataset(pages_folder)
    with pq.ParquetWriter(path, REVIEW_SCHEMA, compression="zstd", filesystem=fs) as writer:
        if dataset is not None:
            for batch in dataset.to_batches(columns=REVIEW_COLUMNS, filter=pc.field("needs_review"), batch_size=256):
                writer.write_table(pa.Table.from_batches([batch]).cast(REVIEW_SCHEMA))
    return target


def isolation_errors(pages_folder: str) -> dict[str, int]:
    """source_uri -> pages whose worker crashed, hung or ran out of memory in the run."""
    table = _read(pages_folder, ["source_uri", "error_kind"])
    counts: dict[str, int] = collections.Counter(
        uri for uri, kind in zip(table.column("source_uri").to_pylist(), table.column("error_kind").to_pylist())
        if kind in ISOLATION_ERRORS)
    return dict(counts)


def doc_ids(pages_folder: str) -> dict[str, str]:
    """source_uri -> doc_id for every document with a row in the run."""
    table = _read(pages_folder, ["source_uri", "doc_id"])
    return dict(zip(table.column("source_uri").to_pylist(), table.column("doc_id").to_pylist()))


def summarize(config: DigitizeConfig, documents: list[str], pages_folder: str, wall_s: float) -> RunSummary:
    table = _read(pages_folder, ACCOUNT_COLUMNS)
    rows = table.to_pylist()
    per_doc: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        per_doc[r["source_uri"]].append(r)
    pages_in = duplicates = gaps = 0
    for doc_rows in per_doc.values():
        claimed = max(r["page_count"] or 0 for r in doc_rows)
        pages = [r["page"] for r in doc_rows]
        expected = set(range(1, claimed + 1)) if claimed else {0}
        pages_in += len(expected)
        duplicates += len(pages) - len(set(pages))
        gaps += len(expected - set(pages))
    status = collections.Counter(r["status"] for r in rows)
    return RunSummary(
        run_id=config.run_id,
        engine=config.engine.name,
        documents=len(documents),
        pages_in=pages_in + sum(1 for d in documents if d not in per_doc),
        rows_out=len(rows),
        pages_ok=status.get("ok", 0),
        pages_error=status.get("error", 0),
        pages_skipped=status.get("skipped", 0),
        errors_by_kind=dict(collections.Counter(r["error_kind"] for r in rows if r["status"] == "error")),
        routes=dict(collections.Counter(r["route"] or "none" for r in rows if r["status"] != "error")),
        review_pages=sum(1 for r in rows if r["needs_review"]),
        missing_documents=sorted(d for d in documents if d not in per_doc),
        duplicate_rows=duplicates,
        page_gaps=gaps,
        wall_s=round(wall_s, 3),
        pages_per_s=round(len(rows) / wall_s, 3) if wall_s > 0 else 0.0,
        output=config.output,
    )


def write_summary(config: DigitizeConfig, summary: RunSummary) -> str:
    target = join(config.output, "runs", f"{config.run_id}.json")
    fs, path = filesystem(target)
    payload = asdict(summary) | {"complete": summary.complete, "config": asdict(config)}  # no secrets: credentials never enter the config
    write_bytes(fs, path, json.dumps(payload, indent=2, sort_keys=True).encode())
    return target


def format_summary(s: RunSummary) -> str:
    lines = [
        f"run {s.run_id}: {s.documents} document(s), {s.pages_in} page(s) in, {s.rows_out} row(s) out"
        + ("" if s.complete else "  <-- INCOMPLETE"),
        f"  ok {s.pages_ok}, errors {s.pages_error}, skipped {s.pages_skipped}; to review {s.review_pages}",
        "  routes: " + (", ".join(f"{k} {v}" for k, v in sorted(s.routes.items())) or "none"),
    ]
    if s.errors_by_kind:
        lines.append("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(s.errors_by_kind.items())))
    if s.missing_documents:
        lines.append(f"  MISSING documents: {len(s.missing_documents)} (first: {s.missing_documents[0]})")
    if s.duplicate_rows or s.page_gaps:
        lines.append(f"  duplicate rows {s.duplicate_rows}, page gaps {s.page_gaps}")
    lines.append(f"  wall {s.wall_s:.1f} s, {s.pages_per_s:.2f} pages/s -> {s.output}")
    return "\n".join(lines)
