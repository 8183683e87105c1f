"""The documents of a run's Parquet and their page rows, in page order, a few documents at a
time (never the whole run in memory). Where a page has rows from several runs, the latest
run's row is the page's.

With `volumes`, the image files of one folder are one document, as a book or a box scanned page
by page arrives: their pages in the files' natural order (page2 before page10). PDFs stay
documents of their own."""

from __future__ import annotations

import hashlib
import re
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
    source_uri: str  # the file; for a volume, its folder
    doc_id: str
    name: str  # output file stem, unique in the export
    rows: list[dict[str, Any]]  # one per page, in page order (a volume: file by file)
    volume: bool = False

    @property
    def is_pdf(self) -> bool:
        return not self.volume and (self.source_uri.lower().endswith(".pdf")
                                    or any(r.get("route") == "text_layer" for r in self.rows))

    def numbered(self) -> list[tuple[int, dict[str, Any]]]:
        """(page number in the export, row) for each page that exists: the file's own page
        number, or a volume's running count."""
        pages = [r for r in self.rows if r["page"] >= 1]
        return list(enumerate(pages, start=1)) if self.volume else [(r["page"], r) for r in pages]


def natural_key(uri: str) -> list[int | str]:
    """Sorts file names as people number pages: page2 before page10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", uri)]


def _folder(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[0] if "/" in uri else ""


def _groups(uris: list[str], volumes: bool) -> dict[str, list[str]]:
    """Document key -> its source files in reading order. A volume's key is its folder with a
    trailing slash, which no file's URI has."""
    groups: dict[str, list[str]] = {}
    for uri in uris:
        key = _folder(uri) + "/" if volumes and not uri.lower().endswith(".pdf") else uri
        groups.setdefault(key, []).append(uri)
    return {key: sorted(members, key=natural_key) for key, members in groups.items()}


def _names(keys: list[str]) -> dict[str, str]:
    """File stems: the source's own name (a volume's: its folder's), made unique with a short
    hash where two collide."""
    stems: dict[str, list[str]] = {}
    for key in keys:
        path = PurePosixPath(key.rstrip("/"))
        stems.setdefault((path.name if key.endswith("/") else path.stem) or "document", []).append(key)
    names = {}
    for stem, members in stems.items():
        for key in members:
            names[key] = stem if len(members) == 1 else f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    return names


def documents(pages: str, run_id: str | None = None, volumes: bool = False) -> Iterator[Document]:
    dataset = open_pages(pages)
    if dataset is None:
        return
    where = pc.field("run_id") == run_id if run_id else None
    keys = dataset.to_table(columns=["source_uri"], filter=where).column("source_uri")
    groups = _groups(sorted(set(keys.to_pylist())), volumes)
    names = _names(list(groups))
    ordered = sorted(groups)
    start = 0
    while start < len(ordered):
        chunk, files = [], 0
        while start < len(ordered) and (not chunk or files + len(groups[ordered[start]]) <= DOCUMENTS_PER_READ):
            chunk.append(ordered[start])
            files += len(groups[ordered[start]])
            start += 1
        uris = [uri for key in chunk for uri in groups[key]]
        selection = pc.field("source_uri").isin(pa.array(uris))
        table = dataset.to_table(columns=COLUMNS, filter=selection if where is None else selection & where)
        by_file: dict[str, dict[int, dict[str, Any]]] = {uri: {} for uri in uris}
        for row in table.to_pylist():
            held = by_file[row["source_uri"]].get(row["page"])
            if held is None or (row["run_id"] or "") > (held["run_id"] or ""):
                by_file[row["source_uri"]][row["page"]] = row
        for key in chunk:
            rows = [by_file[uri][p] for uri in groups[key] for p in sorted(by_file[uri])]
            volume = key.endswith("/")
            yield Document(key.rstrip("/") if volume else key, rows[0]["doc_id"], names[key], rows, volume)
