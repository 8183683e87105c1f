"""Stage `split`: one listed document in, page references out (no pixels yet).

A reference covers pages `page`..`page_last` of one document. Pages to OCR get one reference
each, so a long scanned PDF spreads over every actor; a PDF whose sampled pages carry a good
text layer gets references of TEXT_LAYER_PAGES_PER_REF pages, since reading such a page costs
far less than the Ray task that carries it. A wrong guess only moves load, never changes a row.
A document that cannot be read or opened yields exactly one row (page 0) with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

import connectors
from pipeline.run.config import DigitizeConfig
from pipeline.page.documents import Document, DocumentError, PdfDocument, open_document
from pipeline.run.records import REF_SCHEMA, new_row, to_table
from pipeline.page.text_layer import has_good_text_layer

TEXT_LAYER_PAGES_PER_REF = 8
PROBE_PAGES = 3  # first, middle and last page


def _error_row(uri: str, doc_id: str, kind: str, message: str, run_id: str) -> dict[str, Any]:
    return new_row(doc_id=doc_id, source_uri=uri, page=0, page_count=0, status="error", error_kind=kind, error=message, run_id=run_id)


def pages_per_ref(doc: Document, config: DigitizeConfig) -> int:
    """TEXT_LAYER_PAGES_PER_REF when the text-layer route will likely take the document's pages, else 1."""
    if config.text_layer.mode == "ocr" or not isinstance(doc, PdfDocument) or doc.page_count < 2:
        return 1
    count = doc.page_count
    probes = sorted({0, count // 2, count - 1})[:PROBE_PAGES]
    try:
        likely = all(has_good_text_layer(doc.page(i), config.text_layer) for i in probes)
    except Exception:  # a page that fails here fails again, with its row, where it is read
        likely = False
    return TEXT_LAYER_PAGES_PER_REF if likely else 1


def _ranges(pages: list[int], size: int) -> list[tuple[int, int]]:
    """Runs of consecutive page numbers, cut every `size` pages: [(first, last), ...]."""
    out: list[tuple[int, int]] = []
    for p in pages:
        if out and p == out[-1][1] + 1 and p - out[-1][0] < size:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def split_document(uri: str, config: DigitizeConfig, done: set[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
    """Page references for one document, less the pages a resumed run has already written
    (`done`: (source_uri, page) keys)."""
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
    pages = [p for p in range(1, count + 1) if not done or (uri, p) not in done]
    size = pages_per_ref(doc, config) if pages else 1
    doc.close()
    return [
        new_row(doc_id=doc_id, source_uri=uri, page=first, page_last=last, page_count=count, status="ok", run_id=config.run_id)
        for first, last in _ranges(pages, size)
    ]


class SplitDocuments:
    """Listed documents (rows with `uri`) to page references, in one process."""

    def __init__(self, config: DigitizeConfig, done: set[tuple[str, int]] | None = None):
        self.config = config
        self.done = done or set()
        connectors.configure_s3(config.s3_endpoint)

    def __call__(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for uri in (d["uri"] for d in documents):
            with _crash_marker(uri, self.config.run_id) as crashed_before:
                if crashed_before:  # this task is Ray's retry after opening the document killed it
                    if (uri, 0) not in self.done:
                        rows.append(_error_row(uri, "uri:" + hashlib.sha256(uri.encode()).hexdigest(), "worker_crashed",
                                               "opening the document killed the process reading it", self.config.run_id))
                    continue
                refs = split_document(uri, self.config, self.done)
            # a document-level error row (page 0) a resumed run already wrote is not repeated
            rows.extend(r for r in refs if r["page"] or (uri, 0) not in self.done)
        return rows


def _job() -> str:
    """This Ray job's id: a marker left by an earlier, killed run of the same run id is not a crash here."""
    try:
        import ray

        return ray.get_runtime_context().get_job_id() if ray.is_initialized() else "local"
    except Exception:
        return "local"


@contextlib.contextmanager
def _crash_marker(uri: str, run_id: str):
    """A file that exists while a document is being opened: a split task killed by a native crash
    (MuPDF on a hostile file) leaves it, and Ray's retry of the task on this node finds it and
    writes the document's error row instead of crashing again. The page stages have worker
    processes for this (pipeline.run.isolation); a split task is too small to carry one."""
    marker = Path(tempfile.gettempdir()) / "digitize-split" / f"{_job()}-{run_id}-{hashlib.sha256(uri.encode()).hexdigest()[:24]}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    crashed_before = marker.exists()
    marker.touch()
    try:
        yield crashed_before
    finally:
        marker.unlink(missing_ok=True)


def split_documents(batch: pa.Table, config: DigitizeConfig, done: set[tuple[str, int]] | None = None) -> pa.Table:
    """Batch form: a table of listed documents (column `uri`) to page references."""
    return to_table(SplitDocuments(config, done)(batch.to_pylist()), REF_SCHEMA)
