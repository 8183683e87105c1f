"""Resuming a killed run: the pages already in OUT/pages/run_id=RUN are the ledger.

Each Parquet file is written whole by one write task; a run killed mid-write can leave a file
without its footer. On restart, every readable file's (source_uri, page) keys are done, any
unreadable file is deleted (its pages are simply done again), and the run processes only the
pages that are missing. Every page then ends exactly once.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from connectors.filesystem import list_files
from pipeline.run.isolation import ISOLATION_ERRORS

log = logging.getLogger("digitize")


def completed_pages(fs: pafs.FileSystem, folder: str, retry_errors: bool = False) -> set[tuple[str, int]]:
    """(source_uri, page) of every page already written. With `retry_errors`, the rows of pages
    whose worker crashed, hung or ran out of memory are first removed from their files, so
    those pages are read again."""
    done: set[tuple[str, int]] = set()
    for path in list_files(fs, folder, ".parquet"):
        try:
            table = pq.read_table(path, filesystem=fs, columns=["source_uri", "page", "error_kind"])
        except Exception as exc:  # no footer, truncated: written by a task that was killed
            log.warning("resume: removing incomplete file %s (%s)", path, exc)
            fs.delete_file(path)
            continue
        if retry_errors:
            table = _drop_isolation_errors(fs, path, table)
        done.update(zip(table.column("source_uri").to_pylist(), table.column("page").to_pylist()))
    return done


def _drop_isolation_errors(fs: pafs.FileSystem, path: str, keys: pa.Table) -> pa.Table:
    failed = pc.is_in(keys.column("error_kind"), pa.array(sorted(ISOLATION_ERRORS)))
    failed = pc.fill_null(failed, False)
    if not pc.any(failed).as_py():
        return keys
    whole = pq.read_table(path, filesystem=fs)
    kept = whole.filter(pc.invert(failed))
    log.warning("resume: %d page(s) in %s will be read again (--retry-errors)", len(whole) - len(kept), path)
    if len(kept):
        pq.write_table(kept, path + ".tmp", filesystem=fs, compression="zstd")
        fs.move(path + ".tmp", path)
    else:
        fs.delete_file(path)
    return keys.filter(pc.invert(failed))
