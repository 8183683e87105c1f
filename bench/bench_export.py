"""Exports: their speed, what --emit pdf costs a run, how faithful the searchable PDF is, and
digitize + PDF against `ocrmypdf --output-type pdf` on the same scanned pages.

1. run cost: `digitize` on N scanned pages (300 DPI) with and without `--emit pdf`, whole commands.
2. side by side: `ocrmypdf --jobs 2 --output-type pdf` on the same pages: pages/s and bytes per page.
3. export speed per format on a 2,000-page Parquet: the N-page run's rows over 2000/N copies of
   the source (real OCR rows, real files).
4. fidelity on ../shared/data/scans (when present): text read back from our PDF with PyMuPDF
   against the row's text (1 - CER), and the distance of the PDF's word boxes from the OCR boxes.

    python bench/bench_export.py [--pages 200] [--export-pages 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pymupdf  # noqa: E402

from bench.bench_ocrmypdf import DPI, LANGS, ocrmypdf  # noqa: E402
from pipeline.downstream.export.write import FORMATS, ExportConfig, export  # noqa: E402
from pipeline.quality.metrics import bow_f1, cer  # noqa: E402
from pipeline.run.pages_reader import iter_pages, open_pages  # noqa: E402
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf, write_scanned_pdf  # noqa: E402

SHARED_SCANS = ROOT.parent / "shared" / "data" / "scans"


def digitize(inputs: Path, out: Path, extra: list[str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(inputs), "--output", str(out),
                    "--run-id", "b", "--languages", ",".join(LANGS), "--dpi", str(DPI), "--text-layer", "ocr", *extra],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_cost(scan: Path, n: int, tmp: Path) -> dict:
    plain = digitize(scan, tmp / "plain", [])
    emitted = digitize(scan, tmp / "emit", ["--emit", "pdf"])
    theirs = ocrmypdf(scan, tmp / "ocrmypdf.pdf", [])
    ours_pdf = next((tmp / "emit" / "exports" / "run_id=b").glob("*.pdf"))
    report = {
        "pages": n, "digitize_s": round(plain, 1), "digitize_emit_pdf_s": round(emitted, 1),
        "emit_pdf_cost": round(emitted / plain, 3),
        "digitize_emit_pdf_pages_per_s": round(n / emitted, 3), "ocrmypdf_pages_per_s": round(n / theirs, 3),
        "speed_ratio_vs_ocrmypdf": round(theirs / emitted, 2),
        "bytes_per_page_ours": int(ours_pdf.stat().st_size / n),
        "bytes_per_page_ocrmypdf": int((tmp / "ocrmypdf.pdf").stat().st_size / n),
        "bytes_per_page_source": int(scan.stat().st_size / n),
    }
    print(f"run cost: {n} pages, digitize {plain:.1f} s, with --emit pdf {emitted:.1f} s ({emitted / plain:.2f}x); "
          f"OCR + PDF {n / emitted:.2f} pages/s vs ocrmypdf {n / theirs:.2f} pages/s ({theirs / emitted:.2f}x); bytes/page "
          f"ours {report['bytes_per_page_ours']:,}, ocrmypdf {report['bytes_per_page_ocrmypdf']:,}, source "
          f"{report['bytes_per_page_source']:,}", flush=True)
    return report


def big_parquet(run: Path, scan: Path, copies: int, tmp: Path) -> Path:
    """The run's rows over `copies` copies of its source: a Parquet of copies x N real pages."""
    rows = list(iter_pages(str(run / "pages")))
    folder = tmp / "big"
    (folder / "src").mkdir(parents=True)
    table = open_pages(str(run / "pages")).to_table()
    schema = table.schema
    out = []
    for i in range(copies):
        copy = folder / "src" / f"scan{i:03d}.pdf"
        shutil.copy(scan, copy)
        out.extend({**r, "source_uri": str(copy), "doc_id": f"{r['doc_id'][:56]}{i:08d}"} for r in rows)
    (folder / "pages").mkdir()
    pq.write_table(pa.Table.from_pylist(out, schema=schema), folder / "pages" / "part.parquet", compression="zstd")
    return folder / "pages"


def export_speed(pages: Path, n: int, tmp: Path) -> dict:
    speeds = {}
    for fmt in FORMATS:
        started = time.perf_counter()
        result = export(ExportConfig(pages=str(pages), output=str(tmp / f"x-{fmt}"), formats=(fmt,)))
        seconds = time.perf_counter() - started
        assert result.pages == n, (fmt, result.pages, n)
        speeds[fmt] = round(n / seconds, 1)
        print(f"export {fmt}: {n} pages in {seconds:.1f} s, {n / seconds:.1f} pages/s", flush=True)
    return speeds


def fidelity(tmp: Path) -> dict | None:
    if not SHARED_SCANS.exists():
        print("fidelity: ../shared/data/scans not here, skipped", flush=True)
        return None
    out = tmp / "shared"
    digitize(SHARED_SCANS, out, ["--emit", "pdf", "--text-layer", "auto"])
    exported = out / "exports" / "run_id=b"
    agreements, bags, offsets = [], [], []
    for row in iter_pages(str(out / "pages")):
        if row["status"] != "ok" or row["route"] != "ocr" or not (row["text"] or "").strip():
            continue
        pdf = exported / f"{Path(row['source_uri']).stem}.pdf"
        if not pdf.exists():
            continue
        page = pymupdf.open(pdf)[row["page"] - 1]
        agreements.append(1 - cer(row["text"], page.get_text()))
        bags.append(bow_f1(row["text"], page.get_text()))  # the same words, whatever order extraction reads them in
        scale = row["dpi"] / 72.0
        tokens = [t for t in row["tokens"] if t["text"].strip() and t.get("bbox")]
        for word, token in zip(page.get_text("words"), tokens):
            if word[4] == token["text"]:
                offsets.append(max(abs(word[0] * scale - token["bbox"][0]), abs(word[2] * scale - token["bbox"][2])))
    report = {"pages": len(agreements), "agreement_mean": round(statistics.fmean(agreements), 4),
              "agreement_min": round(min(agreements), 4), "pages_at_0_99": sum(a >= 0.99 for a in agreements),
              "bag_of_words_f1_mean": round(statistics.fmean(bags), 4), "bag_of_words_f1_min": round(min(bags), 4),
              "word_box_x_offset_px_median": round(statistics.median(offsets), 2),
              "word_box_x_offset_px_p95": round(sorted(offsets)[int(0.95 * (len(offsets) - 1))], 2)}
    print(f"fidelity on ../shared/data/scans: {report}", flush=True)
    return report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=200)
    p.add_argument("--export-pages", type=int, default=2000)
    a = p.parse_args()
    report: dict = {"cores": os.cpu_count(), "dpi": DPI, "languages": LANGS}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        born = tmp / "born.pdf"
        write_born_digital_pdf(born, [page_text(LANGS[i % 3], i) for i in range(a.pages)])
        (tmp / "in").mkdir()
        scan = tmp / "in" / "scan.pdf"
        write_scanned_pdf(scan, rasterize_pdf(born, dpi=DPI), dpi=DPI)
        report["run_cost"] = run_cost(scan, a.pages, tmp)
        copies = max(1, a.export_pages // a.pages)
        report["export_pages_per_s"] = export_speed(big_parquet(tmp / "plain", scan, copies, tmp), copies * a.pages, tmp)
        report["export_pages"] = copies * a.pages
        report["fidelity_shared_scans"] = fidelity(tmp)
    (ROOT / "bench" / "results" / "export.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
