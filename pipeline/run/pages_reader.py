"""Reading the page Parquet that jobs/digitize.py wrote (local or s3://): one place that checks
the schema version, so the review export, the import and the index refuse foreign data alike."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from connectors.filesystem import exists, filesystem, list_files
from schemas import PAGE_SCHEMA, SchemaVersionError, check_schema_version


def parquet_files(folder: str) -> tuple[pafs.FileSystem, list[str]]:
    """Every .parquet file under `folder` (OUT, OUT/pages or one run's folder), sorted.
    Given OUT, only OUT/pages is read (not the review copies)."""
    fs, path = filesystem(folder)
    if path.endswith(".parquet") and fs.get_file_info(path).type == pafs.FileType.File:
        return fs, [path]
    if exists(fs, path + "/pages"):
        path = path + "/pages"
    return fs, list_files(fs, path, ".parquet")


def check_files(fs: pafs.FileSystem, files: list[str]) -> None:
    for path in files:
        check_schema_version(pq.read_schema(path, filesystem=fs), path)


def open_pages(folder: str) -> pads.Dataset | None:
    """The page dataset under `folder`, version-checked; None when there is no page file."""
    fs, path = filesystem(folder)
    if not exists(fs, path):
        raise FileNotFoundError(f"{folder} does not exist")
    fs, files = parquet_files(folder)
    if not files:
        return None
    check_files(fs, files)
    return pads.dataset(files, format="parquet", schema=PAGE_SCHEMA, filesystem=fs)


def iter_pages(folder: str, columns: list[str] | None = None, where: pc.Expression | None = None,
               batch_size: int = 256) -> Iterator[dict]:
    """Rows as dicts, streamed batch by batch."""
    dataset = open_pages(folder)
    if dataset is None:
        return
    for batch in dataset.to_batches(columns=columns, filter=where, batch_size=batch_size):
        yield from pa.Table.from_batches([batch]).to_pylist()


__all__ = ["SchemaVersionError", "check_files", "iter_pages", "open_pages", "parquet_files"]
