"""Reading the page Parquet that jobs/digitize.py wrote: one place that checks the schema
version, so the review export, the import and the index all refuse foreign data the same way."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from schemas import PAGE_SCHEMA, SchemaVersionError, check_schema_version


def parquet_files(folder: str) -> list[str]:
    """Every .parquet file under `folder` (OUT, OUT/pages or one run's folder), sorted."""
    if os.path.isfile(folder) and folder.endswith(".parquet"):
        return [folder]
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".parquet"))
    if os.path.isdir(os.path.join(folder, "pages")):
        found = [f for f in found if os.sep + "pages" + os.sep in f]
    return found


def check_files(files: list[str]) -> None:
    for path in files:
        check_schema_version(pq.read_schema(path), path)


def open_pages(folder: str) -> pads.Dataset | None:
    """The page dataset under `folder`, version-checked; None when there is no page file."""
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{folder} does not exist")
    files = parquet_files(folder)
    if not files:
        return None
    check_files(files)
    return pads.dataset(files, format="parquet", schema=PAGE_SCHEMA)


def iter_pages(folder: str, columns: list[str] | None = None, where: pc.Expression | None = None,
               batch_size: int = 256) -> Iterator[dict]:
    """Rows as dicts, streamed batch by batch."""
    dataset = open_pages(folder)
    if dataset is None:
        return
    for batch in dataset.to_batches(columns=columns, filter=where, batch_size=batch_size):
        yield from pa.Table.from_batches([batch]).to_pylist()


__all__ = ["SchemaVersionError", "check_files", "iter_pages", "open_pages", "parquet_files"]
