"""The documents of a run's Parquet and their page rows, in page order, a few documents at a
time (never the whole run in memory). Where a page has rows from several runs, the latest
run's row is the page's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.run.pages_reader import open_pages

COLUMNS = ["doc_id", "source_uri", "page", "page_count", "status", "error_kind", "error", "route", "engine", "model",
           "text", "markdown", "blocks", "tokens", "language", "confidence", "flags", "width", "height", "dpi", "run_id"]
DOCUMENTS_PER_READ = 64


@dataclass
class Document:
    source_uri: str
    doc_id: str
    name: str  # output file stem, unique in the export
    rows: list[dict[str, Any]]  # one per page, in page order

    @property
    def is_pdf(self) -> bool:
        return self.source_uri.lower().endswith(".pdf") or any(r.get("route") == "text_layer" for r in self.rows)


def _names(uris: list[str]) -> dict[str, str]:
    """File stems: the source's own name, made unique with a short hash where two collide."""
    import hashlib

    stems: dict[str, list[str]] = {}
    for uri in uris:
        stems.setdefault(PurePosixPath(uri.rstrip("/")).stem or "document", []).append(uri)
    names = {}
    for stem, members in stems.items():
        for uri in members:
            names[uri] = stem if len(members) == 1 else f"{stem}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"
    return names


def documents(pages: str, run_id: str | None = None) -> Iterator[Document]:
    dataset = open_pages(pages)
    if dataset is None:
        return
    where = pc.field("run_id") == run_id if run_id else None
    keys = dataset.to_table(columns=["source_uri"], filter=where).column("source_uri")
    uris = sorted(set(keys.to_pylist()))
    names = _names(uris)
    for start in range(0, len(uris), DOCUMENTS_PER_READ):
        chunk = uris[start:start + DOCUMENTS_PER_READ]
        selection = pc.field("source_uri").isin(pa.array(chunk))
        table = dataset.to_table(columns=COLUMNS, filter=selection if where is None else selection & where)
        grouped: dict[str, dict[int, dict[str, Any]]] = {uri: {} for uri in chunk}
        for row in table.to_pylist():
            held = grouped[row["source_uri"]].get(row["page"])
            if held is None or (row["run_id"] or "") > (held["run_id"] or ""):
                grouped[row["source_uri"]][row["page"]] = row
        for uri in chunk:
            rows = [grouped[uri][p] for p in sorted(grouped[uri])]
            yield Document(uri, rows[0]["doc_id"], names[uri], rows)
