"""Resuming a killed run: the pages already in OUT/pages/run_id=RUN are the ledger.

Each Parquet file is written whole by one write task; a run killed mid-write can leave a file
without its footer. On restart, every readable file's (source_uri, page) keys are done, any
unreadable file is deleted (its pages are simply done again), and the run processes only the
pages that are missing. Every page then ends exactly once.
"""

from __future__ import annotations

import logging

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from connectors.filesystem import list_files

log = logging.getLogger("digitize")


def completed_pages(fs: pafs.FileSystem, folder: str) -> set[tuple[str, int]]:
    done: set[tuple[str, int]] = set()
    for path in list_files(fs, folder, ".parquet"):
        try:
            table = pq.read_table(path, filesystem=fs, columns=["source_uri", "page"])
        except Exception as exc:  # no footer, truncated: written by a task that was killed
            log.warning("resume: removing incomplete file %s (%s)", path, exc)
            fs.delete_file(path)
            continue
        done.update(zip(table.column("source_uri").to_pylist(), table.column("page").to_pylist()))
    return done
