"""Review exports: the pages a person should check, as Label Studio tasks, CSV or a static HTML page.

Label Studio tasks follow its documented import format for OCR: one task per page image, the
machine text as a prediction with, per line (or block), a rectangle and a per-region
transcription sharing one region id, with the engine's score, so a reviewer corrects text in
place. The labeling config to create the project with is written beside the tasks.
"""

from __future__ import annotations

import csv
import html
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow.compute as pc

import connectors
from pipeline.run.config import RenderConfig
from pipeline.page.documents import DocumentError, RenderSpec, open_document
from pipeline.run.pages_reader import iter_pages
from pipeline.page.scoring import needs_review

ExportFormat = Literal["labelstudio", "csv", "html"]

LABEL_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Rectangle name="bbox" toName="image" strokeWidth="2"/>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true" required="false"
            maxSubmissions="1" rows="2" placeholder="Corrected text" displayMode="region-list"/>
</View>
"""
COLUMNS = ["doc_id", "source_uri", "page", "page_count", "status", "error_kind", "error", "engine", "model", "text",
           "blocks", "tokens", "confidence", "flags", "width", "height", "route", "run_id"]
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class ReviewExportConfig:
    pages: str
    output: str
    format: ExportFormat = "labelstudio"
    threshold: float | None = None  # None: the pages the run marked needs_review
    max_pages: int | None = None
    order: Literal["confidence", "source"] = "confidence"
    image_dpi: int = 150


@dataclass
class ExportResult:
    selected: int
    exported: int
    without_image: int
    path: str


def select_pages(cfg: ReviewExportConfig) -> list[dict[str, Any]]:
    where = pc.field("needs_review") if cfg.threshold is None else None
    rows = []
    for row in iter_pages(cfg.pages, columns=COLUMNS + ["needs_review"], where=where):
        if cfg.threshold is None or needs_review(row["status"], row["confidence"], row["flags"] or [], cfg.threshold):
            rows.append(row)
    if cfg.order == "confidence":
        rows.sort(key=lambda r: (r["confidence"] if r["confidence"] is not None else -1.0, r["source_uri"], r["page"]))
    else:
        rows.sort(key=lambda r: (r["source_uri"], r["page"]))
    return rows[: cfg.max_pages] if cfg.max_pages is not None else rows


def _image_name(row: dict[str, Any]) -> str:
    return f"{row['doc_id'][:16]}_p{row['page']:04d}.png"


def write_page_image(row: dict[str, Any], folder: str, dpi: int) -> str | None:
    """Render the page for the reviewer; None when the source cannot give one (broken file)."""
    if row["page"] < 1:
        return None
    try:
        doc = open_document(connectors.read_bytes(row["source_uri"]), RenderConfig(dpi=dpi))
        page = doc.render(row["page"] - 1, RenderConfig(dpi=dpi), RenderSpec(mode="RGB"))
    except (DocumentError, OSError):
        return None
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    name = _image_name(row)
    Image.fromarray(page.pixels).save(os.path.join(folder, name), optimize=True)
    return name


def _regions(row: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = row["blocks"] or []
    lines = [b for b in blocks if b["kind"] in ("line", "table_row") and b["bbox"]]
    return lines or [b for b in blocks if b["bbox"]]


def labelstudio_task(row: dict[str, Any], image_ref: str) -> dict[str, Any]:
    """One Label Studio task with the machine text as a prediction, per region."""
    width, height = row["width"] or 1, row["height"] or 1
    results = []
    for block in _regions(row):
        x0, y0, x1, y1 = block["bbox"]
        region_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{row['doc_id']}/{row['page']}/{x0},{y0},{x1},{y1}").hex[:10]
        geometry = {
            "x": 100.0 * x0 / width,
            "y": 100.0 * y0 / height,
            "width": 100.0 * (x1 - x0) / width,
            "height": 100.0 * (y1 - y0) / height,
            "rotation": 0,
        }
        common = {"id": region_id, "to_name": "image", "original_width": width, "original_height": height, "image_rotation": 0}
        results.append({**common, "from_name": "bbox", "type": "rectangle", "value": dict(geometry)})
        results.append({**common, "from_name": "transcription", "type": "textarea",
                        "value": {**geometry, "text": [block["text"]]}, "score": block["confidence"]})
    return {
        "data": {
            "image": image_ref,
            "doc_id": row["doc_id"],
            "page": row["page"],
            "source_uri": row["source_uri"],
            "machine_text": row["text"] or "",
            "confidence": row["confidence"],
            "flags": ", ".join(row["flags"] or []),
        },
        "predictions": [{"model_version": f"{row['engine']}:{row['model']}", "score": row["confidence"], "result": results}],
    }


def _highlighted(row: dict[str, Any]) -> str:
    tokens = row["tokens"] or []
    if not tokens:
        return html.escape(row["text"] or row["error"] or "")
    text = row["text"] or ""
    out, pos = [], 0
    for token in tokens:  # tokens appear in the text in order; highlight the weak ones in place
        piece = token["text"]
        idx = text.find(piece, pos) if piece else -1
        if idx < 0:
            continue
        out.append(html.escape(text[pos:idx]))
        escaped = html.escape(piece)
        if token["confidence"] < LOW_CONFIDENCE:
            escaped = f'<mark class="low" title="{token["confidence"]:.2f}">{escaped}</mark>'
        out.append(escaped)
        pos = idx + len(piece)
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _engines(row: dict) -> str:
    """Which engine read which lines, for pages where engines were mixed (--engine auto)."""
    lines = [b for b in row.get("blocks") or [] if b["kind"] in ("line", "table_row") and b.get("engine")]
    if not lines:
        return ""
    counts: dict[str, int] = {}
    for block in lines:
        counts[block["engine"]] = counts.get(block["engine"], 0) + 1
    items = "".join(f"<li>{html.escape(b['engine'])}: {html.escape(b['text'] or '')}</li>" for b in lines)
    summary = ", ".join(f"{html.escape(k)} {v}" for k, v in counts.items())
    return f'<details class="engines"><summary>lines by engine: {summary}</summary><ul>{items}</ul></details>'


HTML_HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>Review queue</title>
<style>body{font-family:sans-serif;margin:1em}section{display:flex;gap:1em;border-top:1px solid #ccc;padding:1em 0}
img{max-width:48vw;border:1px solid #999}pre{white-space:pre-wrap;max-width:48vw}mark.low{background:#fbb}
.meta{color:#555;font-size:90%}</style></head><body>
"""


def export(cfg: ReviewExportConfig) -> ExportResult:
    rows = select_pages(cfg)
    os.makedirs(cfg.output, exist_ok=True)
    images_dir = os.path.join(cfg.output, "images")
    missing = 0
    if cfg.format == "csv":
        path = os.path.join(cfg.output, "review.csv")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["doc_id", "source_uri", "page", "status", "confidence", "flags", "error", "text"])
            for r in rows:
                writer.writerow([r["doc_id"], r["source_uri"], r["page"], r["status"], r["confidence"],
                                 ";".join(r["flags"] or []), r["error"] or "", r["text"] or ""])
        return ExportResult(len(rows), len(rows), 0, path)
    if cfg.format == "labelstudio":
        tasks = []
        for r in rows:
            name = write_page_image(r, images_dir, cfg.image_dpi)
            if name is None:
                missing += 1
                continue
            tasks.append(labelstudio_task(r, f"images/{name}"))
        path = os.path.join(cfg.output, "tasks.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(tasks, handle, ensure_ascii=False, indent=1)
        with open(os.path.join(cfg.output, "labeling_config.xml"), "w", encoding="utf-8") as handle:
            handle.write(LABEL_CONFIG)
        return ExportResult(len(rows), len(tasks), missing, path)
    path = os.path.join(cfg.output, "index.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HTML_HEAD)
        handle.write(f"<h1>Review queue: {len(rows)} page(s)</h1>\n")
        for r in rows:
            name = write_page_image(r, images_dir, cfg.image_dpi)
            missing += name is None
            image = f'<img src="images/{name}" alt="page {r["page"]}">' if name else "<p>(no image: the file cannot be rendered)</p>"
            conf = "n/a" if r["confidence"] is None else f"{r['confidence']:.2f}"
            handle.write(
                f'<section data-doc="{r["doc_id"]}" data-page="{r["page"]}">{image}<div>'
                f'<p class="meta">{html.escape(r["source_uri"])} page {r["page"]} | {r["status"]} | confidence {conf} | '
                f'{html.escape(r.get("model") or "")} | '
                f'{html.escape(", ".join(r["flags"] or []))}</p>{_engines(r)}<pre>{_highlighted(r)}</pre></div></section>\n'
            )
        handle.write("</body></html>\n")
    return ExportResult(len(rows), len(rows), missing, path)
