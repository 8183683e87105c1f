"""Stage `split`: one listed document in, one row per page it claims out (no pixels yet).

A document that cannot be read or opened yields exactly one row (page 0) with the reason.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow as pa

import connectors
from pipeline.config import DigitizeConfig
from pipeline.documents import DocumentError, open_document
from pipeline.records import REF_SCHEMA, new_row, to_table


def _error_row(uri: str, doc_id: str, kind: str, message: str, run_id: str) -> dict[str, Any]:
    return new_row(doc_id=doc_id, source_uri=uri, page=0, page_count=0, status="error", error_kind=kind, error=message, run_id=run_id)


def expand_document(uri: str, config: DigitizeConfig) -> list[dict[str, Any]]:
    """Page reference rows for one document."""
    uri_id = "uri:" + hashlib.sha256(uri.encode()).hexdigest()
    try:
        data = connectors.read_bytes(uri)
    except FileNotFoundError:
        return [_error_row(uri, uri_id, "not_found", "the file does not exist (deleted or moved after listing?)", config.run_id)]
    except OSError as exc:
        return [_error_row(uri, uri_id, "read_error", f"the file cannot be read: {exc}", config.run_id)]
    doc_id = hashlib.sha256(data).hexdigest()
    try:
        doc = open_document(data, config.render)
    except DocumentError as exc:
        return [_error_row(uri, doc_id, exc.kind, str(exc), config.run_id)]
    count = doc.page_count
    doc.close()
    return [
        new_row(doc_id=doc_id, source_uri=uri, page=i + 1, page_count=count, status="ok", run_id=config.run_id)
        for i in range(count)
    ]


def expand_documents(batch: pa.Table, config: DigitizeConfig, done: set[tuple[str, int]] | None = None) -> pa.Table:
    """Batch form for Ray Data: a table of listed documents (column `uri`) to page references,
    less the pages a resumed run has already written (`done`: (source_uri, page) keys)."""
    connectors.configure_s3(config.s3_endpoint)
    rows: list[dict[str, Any]] = []
    for uri in batch.column("uri").to_pylist():
        rows.extend(r for r in expand_document(uri, config) if not done or (uri, r["page"]) not in done)
    return to_table(rows, REF_SCHEMA)
