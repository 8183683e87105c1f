"""Stages `route` and render: a page reference in, either finished text-layer text or pixels out.

A reference may cover a run of pages (see pipeline.run.split); each page becomes its own row.
Pages of one document in a batch share one open of that document.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

import connectors
from pipeline.run.config import DigitizeConfig
from pipeline.page.documents import Document, DocumentError, PdfDocument, RenderSpec, open_document, scaled_dpi
from pipeline.run.records import WORK_SCHEMA, new_row, to_table
from pipeline.page.text_layer import extract as extract_text_layer


class RoutePages:
    """Callable over a batch of page references; see the module docstring."""

    def __init__(self, config: DigitizeConfig, spec: RenderSpec):
        self.config = config
        self.spec = spec
        # The last document opened stays open across batches: the pages of one PDF arrive
        # in order, a few per batch, and re-reading it for each batch is wasted I/O.
        self._uri: str | None = None
        self._doc: Document | None = None
        self._error: DocumentError | None = None

    def _open(self, uri: str) -> Document | DocumentError:
        if uri != self._uri:
            if self._doc is not None:
                self._doc.close()
            self._uri, self._doc, self._error = uri, None, None
            try:
                self._doc = open_document(connectors.read_bytes(uri), self.config.render)
            except DocumentError as exc:
                self._error = exc
            except OSError as exc:
                self._error = DocumentError("read_error", f"the file cannot be read: {exc}")
        return self._doc if self._doc is not None else self._error  # type: ignore[return-value]

    def __call__(self, batch: pa.Table) -> pa.Table:
        return to_table(self.route_rows(batch.to_pylist()), WORK_SCHEMA)

    def route_rows(self, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Page reference rows to work rows (text-layer text, or pixels to recognize)."""
        connectors.configure_s3(self.config.s3_endpoint)  # runs in the worker, not where this was built
        out: list[dict[str, Any]] = []
        for ref in refs:
            ref = dict(ref)
            first, last = ref["page"], ref.pop("page_last", None) or ref["page"]
            for number in range(first, last + 1):
                row = new_row(**{**ref, "page": number})
                if ref["status"] == "ok":
                    doc = self._open(ref["source_uri"])
                    if isinstance(doc, DocumentError):
                        row.update(status="error", error_kind=doc.kind, error=str(doc))
                    else:
                        self._route_page(doc, row)
                out.append(row)
        return out

    def _route_page(self, doc: Document, row: dict[str, Any]) -> None:
        mode = self.config.text_layer.mode
        index = row["page"] - 1
        started = time.perf_counter()
        try:
            if isinstance(doc, PdfDocument) and mode != "ocr":
                page = doc.page(index)
                # the page's geometry as it would render: a huge declared page size is capped like a render
                dpi, cap_flags = scaled_dpi(page.rect.width, page.rect.height, self.config.render.dpi, RenderSpec(),
                                            self.config.render)
                scale = dpi / 72.0
                layer = extract_text_layer(page, scale, self.config.text_layer)
                verdict = layer.verdict
                if verdict.good or mode == "only":
                    row.update(
                        route="text_layer" if verdict.good else "none",
                        status="ok" if verdict.good else "skipped",
                        engine="text_layer",
                        model="pymupdf",
                        text=layer.text,
                        markdown=layer.markdown,
                        blocks=[vars(b) for b in layer.blocks],
                        tables=[{"index": i, "rows": rows} for i, rows in enumerate(layer.tables)],
                        confidence=round(verdict.valid_ratio, 4) if verdict.good else None,
                        confidence_raw=round(verdict.valid_ratio, 4) if verdict.good else None,
                        width=int(round(page.rect.width * scale)),
                        height=int(round(page.rect.height * scale)),
                        dpi=float(round(dpi, 2)),
                        timings={"render_s": time.perf_counter() - started, "recognize_s": 0.0},
                    )
                    row["flags"].extend([verdict.reason, *cap_flags])
                    return
                row["flags"].append(verdict.reason)
            elif mode == "only":
                row.update(status="skipped", route="none", engine="text_layer")
                row["flags"].append("no_text_layer")
                return
            rendered = doc.render(index, self.config.render, self.spec)
        except DocumentError as exc:
            row.update(status="error", error_kind=exc.kind, error=str(exc))
            return
        except Exception as exc:  # a page-level failure never takes its neighbours down
            row.update(status="error", error_kind="render_failed", error=f"page {row['page']} failed: {exc}")
            return
        row.update(
            route="ocr",
            image=rendered.tobytes(),
            image_mode=self.spec.mode,
            width=rendered.width,
            height=rendered.height,
            dpi=rendered.dpi,
            timings={"render_s": time.perf_counter() - started, "recognize_s": 0.0},
        )
        row["flags"].extend(rendered.flags)
