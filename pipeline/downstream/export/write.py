"""Export a run's Parquet to files, one output per source document, local or s3://.

    OUT/NAME.pdf                        searchable PDF (format pdf, or pdfa: PDF/A-2b)
    OUT/NAME/page-0001.alto.xml         ALTO 4, one file per page
    OUT/NAME/page-0001.hocr             hOCR, one file per page
    OUT/NAME.txt, OUT/NAME.md           text (pages split by form feed), Markdown

A document whose outputs all exist is skipped, so an interrupted export resumes. A document
whose source has moved or vanished still gets everything made from its rows (ALTO, hOCR, text),
and an error line for its PDF; nothing stops the export.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import pymupdf

import connectors
from connectors.filesystem import exists, filesystem, join, write_bytes
from pipeline.downstream.export.alto import page_alto
from pipeline.downstream.export.hocr import page_hocr
from pipeline.downstream.export.pdf import PdfExportError, searchable_pdf
from pipeline.downstream.export.pdfa import PdfaError, check_pdfa, to_pdfa
from pipeline.downstream.export.select import Document, documents
from pipeline.page.documents import DocumentError, sniff_kind

log = logging.getLogger("digitize")

Format = Literal["pdf", "pdfa", "alto", "hocr", "txt", "md"]
FORMATS: tuple[Format, ...] = ("pdf", "pdfa", "alto", "hocr", "txt", "md")
PAGE_BREAK_MD = "\n\n<!-- page {page} -->\n\n"


@dataclass(frozen=True)
class ExportConfig:
    pages: str  # OUT, OUT/pages or one run's folder
    output: str
    formats: tuple[Format, ...] = ("pdf",)
    run_id: str | None = None  # only this run's rows
    min_confidence: float | None = None  # pages under it get no text (PDF: image only; ALTO: flagged)
    overwrite: bool = False
    volumes: bool = False  # the image files of one folder are one document (pipeline.downstream.export.select)


@dataclass
class ExportResult:
    documents: int = 0
    pages: int = 0
    files: int = 0
    skipped_existing: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _missing(row: dict, min_confidence: float | None) -> str | None:
    """Why a page carries no text in the export, or None."""
    if row["status"] == "error":
        return f"error ({row.get('error_kind')}): {row.get('error') or ''}".strip()
    if row["status"] != "ok" or row["page"] < 1:
        return "not read (skipped)"
    if min_confidence is not None and row["route"] == "ocr" and (row.get("confidence") or 0.0) < min_confidence:
        return f"confidence {row.get('confidence') or 0.0:.2f} under the export's minimum {min_confidence:.2f}"
    return None


def _targets(cfg: ExportConfig, doc: Document) -> dict[str, str]:
    """format -> one file that exists once that format of the document is written."""
    last = max((n for n, _ in doc.numbered()), default=0)
    return {
        "pdf": join(cfg.output, f"{doc.name}.pdf"),
        "pdfa": join(cfg.output, f"{doc.name}.pdf"),
        "alto": join(cfg.output, doc.name, f"page-{last:04d}.alto.xml"),
        "hocr": join(cfg.output, doc.name, f"page-{last:04d}.hocr"),
        "txt": join(cfg.output, f"{doc.name}.txt"),
        "md": join(cfg.output, f"{doc.name}.md"),
    }


def export(cfg: ExportConfig, progress: Callable[[ExportResult], None] | None = None) -> ExportResult:
    started = time.perf_counter()
    result = ExportResult()
    for doc in documents(cfg.pages, cfg.run_id, cfg.volumes):
        result.documents += 1
        targets = _targets(cfg, doc)
        todo = [f for f in cfg.formats if cfg.overwrite or not exists(*filesystem(targets[f]))]
        if not todo:
            result.skipped_existing += 1
            continue
        for row in doc.rows:  # the run could not open the file: its one row says why, there is no page to export
            if row["page"] < 1:
                result.errors.append(f"{row['source_uri']}: not exported: {row.get('error_kind')}: {row.get('error')}")
        pages = sum(r["page"] >= 1 for r in doc.rows)
        if not pages:
            continue
        result.pages += pages
        try:
            result.files += _export_document(cfg, doc, todo, result.errors)
        except Exception as exc:  # one document's surprise never stops the export
            log.exception("export: %s failed", doc.source_uri)
            result.errors.append(f"{doc.source_uri}: export failed: {type(exc).__name__}: {exc}")
        if progress and result.documents % 50 == 0:
            progress(result)
    result.seconds = round(time.perf_counter() - started, 3)
    summary = asdict(result) | {"config": asdict(cfg)}
    fs, path = filesystem(join(cfg.output, "_export.json"))
    write_bytes(fs, path, json.dumps(summary, indent=1, ensure_ascii=False).encode())
    return result


def _put(cfg: ExportConfig, relative: str, data: bytes) -> None:
    fs, path = filesystem(join(cfg.output, relative))
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.create_dir(parent, recursive=True)
    write_bytes(fs, path, data)


def _export_document(cfg: ExportConfig, doc: Document, formats: list[str], errors: list[str]) -> int:
    written = 0
    numbered = doc.numbered()
    missing = {n: _missing(r, cfg.min_confidence) for n, r in numbered}
    hocr = {n: page_hocr(r, missing[n]) for n, r in numbered} if {"hocr", "pdf", "pdfa"} & set(formats) else {}
    if "alto" in formats:
        for n, r in numbered:
            _put(cfg, f"{doc.name}/page-{n:04d}.alto.xml", page_alto(r, doc.is_pdf, missing[n], number=n))
            written += 1
    if "hocr" in formats:
        for n, _ in numbered:
            _put(cfg, f"{doc.name}/page-{n:04d}.hocr", hocr[n])
            written += 1
    if "txt" in formats:
        _put(cfg, f"{doc.name}.txt", "\f".join((r["text"] or "") if not missing[n] else "" for n, r in numbered).encode())
        written += 1
    if "md" in formats:
        parts = [PAGE_BREAK_MD.format(page=n).lstrip() + ((r["markdown"] or r["text"] or "") if not missing[n] else "")
                 for n, r in numbered]
        _put(cfg, f"{doc.name}.md", "\n\n".join(parts).encode())
        written += 1
    if {"pdf", "pdfa"} & set(formats):
        try:
            pdf = _document_pdf(doc, numbered, missing, hocr)
            if "pdfa" in formats:
                try:
                    pdf = to_pdfa(pdf)
                    errors.extend(f"{doc.source_uri}: PDF/A: {problem}" for problem in check_pdfa(pdf))
                except PdfaError as exc:  # the access copy is still written, and the reason given
                    errors.append(f"{doc.source_uri}: written as a plain searchable PDF, not PDF/A: {exc}")
            _put(cfg, f"{doc.name}.pdf", pdf)
            written += 1
        except PdfExportError as exc:
            errors.append(f"{doc.source_uri}: no PDF: {exc}")
            log.warning("export: %s: no PDF: %s", doc.source_uri, exc)
    return written


def _document_pdf(doc: Document, numbered: list[tuple[int, dict]], missing: dict[int, str | None],
                  hocr: dict[int, bytes]) -> bytes:
    """The searchable PDF of each source file, one after the other for a volume. Text goes on
    OCRed pages only: text-layer pages keep their own, the rest stay image only."""
    files: dict[str, list[tuple[int, dict]]] = {}
    for n, r in numbered:
        files.setdefault(r["source_uri"], []).append((n, r))
    volume = pymupdf.open()
    for uri, members in files.items():
        rows = [r for _, r in members]
        with_text = {r["page"]: hocr[n] for n, r in members if not missing[n] and r["route"] == "ocr"}
        source = _read_source(uri)
        try:
            part = searchable_pdf(source, _is_pdf_bytes(source, doc), rows, with_text, rows[0]["run_id"])
        except PdfExportError as exc:
            raise PdfExportError(f"{uri}: {exc}" if doc.volume else str(exc)) from exc
        if len(files) == 1:
            return part
        with pymupdf.open(stream=part, filetype="pdf") as opened:  # each part joins as it is made: one in memory
            volume.insert_pdf(opened)
            if not volume.metadata.get("producer"):
                volume.set_metadata(opened.metadata)
    return volume.tobytes(garbage=1, deflate=True)


def _read_source(uri: str) -> bytes | None:
    try:
        return connectors.read_bytes(uri)
    except (FileNotFoundError, OSError):
        return None


def _is_pdf_bytes(source: bytes | None, doc: Document) -> bool:
    if not source:
        return doc.is_pdf
    try:
        return sniff_kind(source) == "pdf"
    except DocumentError:
        return False
