"""How well engine auto's table-page rule finds the pages a --vlm-model should read: the share of
a page's words that Tesseract's layout analysis puts in table regions, against a page-level
label (is the page mostly table?), on the pages of ../shared/data rendered as digitize renders
them (born-digital PDFs forced to OCR; scans, table images and handwritten pages as they are,
small text scaled up). Up to four pages per document.

The label is the page's content as seen by eye, named in TABLE_PAGES: the table folders and
the born-digital table PDFs, plus the table pages of other documents. Pages that mix prose and
a table (a Google Docs export, a Portuguese order form, the last page of a Danish contract) are
labelled not mostly table: the rule should not take them, and where it does the count says so.

What the VLM then reads is not measured here: that needs the real LightOnOCR weights and a GPU.

    python bench/bench_table_pages.py [--out bench/results/table_pages.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.engines.auto import Arbitration, table_share  # noqa: E402
from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.engines.tesseract import TesseractEngine  # noqa: E402
from pipeline.page.documents import DocumentError, RenderSpec, open_document  # noqa: E402
from pipeline.run.config import EngineConfig, RenderConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("born_digital", "scans", "tables", "handwriting/iam_paragraphs", "handwriting/pages_no_gt",
        "handwriting_lines/testaments_de_poilus/pages")
SKIP = ("uw3_lines_train", "ocropy_lines")  # line images, not pages
EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
PAGES_PER_DOC = 4
# folder (under ../shared/data): the pages that are mostly table ("all", or page numbers)
TABLE_PAGES: dict[str, object] = {
    "tables/pubtabnet": "all", "tables/img2table": "all", "tables/scanned_tables_no_gt": "all",
    "born_digital/ca_warn_report_table": "all", "born_digital/chinese_table_336": "all",
    "born_digital/dotted_gridlines_table": "all", "born_digital/la_precinct_bulletin_table": "all",
    "born_digital/senate_expenditures_table": "all", "born_digital/styled_table": "all",
    "born_digital/kmd_dpa_holbaek_da": {1, 2, 3}, "born_digital/multicolumn_latex": {3},
}


def documents() -> list[Path]:
    found = []
    for name in SETS:
        folder = DATA / name
        found += [p for p in sorted(folder.rglob("*")) if p.suffix.lower() in EXTENSIONS and not p.name.endswith(".bin.tif")
                  and not any(s in str(p) for s in SKIP)]
    return found


def is_table(folder: str, page: int) -> bool:
    pages = TABLE_PAGES.get(folder)
    return pages == "all" or (isinstance(pages, set) and page in pages)


def scores(rows: list[dict], threshold: float) -> dict:
    hits = sum(r["table"] and r["share"] >= threshold for r in rows)
    taken = sum(r["share"] >= threshold for r in rows)
    tables = sum(r["table"] for r in rows)
    return {"threshold": threshold, "table_pages_taken": f"{hits} of {tables}",
            "other_pages_taken": f"{taken - hits} of {len(rows) - tables}",
            "precision": round(hits / taken, 3) if taken else None, "recall": round(hits / tables, 3) if tables else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "table_pages.json"))
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} not found: this bench reads ../shared/data beside the checkout")
    engine = TesseractEngine.load(EngineConfig(name="tesseract"))  # --languages auto, as engine auto reads
    render, spec = RenderConfig(), RenderSpec(mode="L")
    rows, started = [], time.perf_counter()
    for path in documents():
        folder = str(path.parent.relative_to(DATA))
        try:
            doc = open_document(path.read_bytes(), render)
        except DocumentError as exc:
            print(f"skip {path.name}: {exc}", file=sys.stderr)
            continue
        for index in range(min(doc.page_count, PAGES_PER_DOC)):
            page = doc.render(index, render, spec)
            reading = engine.read_regions(PageImage(page.pixels, page.dpi, document=str(path)))
            words = sum(len(ln.tokens) for r in reading.regions for p in r.paragraphs for ln in p.lines)
            rows.append({"page": f"{folder}/{path.name}:{index + 1}", "table": is_table(folder, index + 1),
                         "share": round(table_share(reading.regions), 3), "words": words})
            print(f"{'T' if rows[-1]['table'] else '-'} {rows[-1]['share']:.2f} {words:5d}  {rows[-1]['page']}", flush=True)
    default = Arbitration().table_page
    result = {"pages": len(rows), "seconds": round(time.perf_counter() - started, 1), "rule": scores(rows, default),
              "sweep": [scores(rows, t) for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)],
              "table_pages_missed": [r for r in rows if r["table"] and r["share"] < default],
              "other_pages_taken": [r for r in rows if not r["table"] and r["share"] >= default], "rows": rows}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("pages", "rule", "sweep", "table_pages_missed", "other_pages_taken")}, indent=1))


if __name__ == "__main__":
    main()
