"""digitize vs OCRmyPDF on the same pages, both on this machine's 2 cores, side by side.

1. scanned pages (image-only PDF, 300 DPI): `jobs/digitize.py --engine tesseract` vs
   `ocrmypdf --jobs 2 --output-type pdf`, same languages, same Tesseract. Target >= 2.0.
2. born-digital pages: digitize's text-layer route vs `ocrmypdf --skip-text`. Target >= 5.
Both are whole command runs (start-up included), as a user would time them, at --pages and at
a corpus --scale times larger (the same pages repeated), since Ray's start-up weighs on small runs.

    python bench/bench_ocrmypdf.py [--pages 40] [--scale 10] [--born-scale 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow.dataset as pads  # noqa: E402

from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf, write_scanned_pdf  # noqa: E402

LANGS = ["eng", "fra", "deu"]
DPI = 300


def timed(cmd: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    if done.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def digitize(pdf: Path, out: Path, text_layer: str) -> float:
    shutil.rmtree(out, ignore_errors=True)
    seconds = timed([sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(pdf), "--output", str(out),
                     "--engine", "tesseract", "--languages", ",".join(LANGS), "--dpi", str(DPI),
                     "--text-layer", text_layer])
    rows = pads.dataset(out / "pages", format="parquet").count_rows()
    assert rows > 0
    return seconds


def ocrmypdf(pdf: Path, out: Path, extra: list[str]) -> float:
    exe = shutil.which("ocrmypdf") or str(Path(sys.executable).with_name("ocrmypdf"))
    return timed([exe, "--jobs", "2", "--output-type", "pdf", "-l", "+".join(LANGS), *extra, str(pdf), str(out)])


def repeat_pdf(src: Path, dst: Path, times: int) -> None:
    """The same pages `times` over: a corpus 10 times larger at no rasterising cost."""
    import pymupdf

    out = pymupdf.open()
    with pymupdf.open(src) as doc:
        for _ in range(times):
            out.insert_pdf(doc)
    out.save(dst)


def compare_ocr(scan: Path, n: int, tmp: Path) -> dict:
    ours = digitize(scan, tmp / "d-scan", "ocr")
    theirs = ocrmypdf(scan, tmp / "o-scan.pdf", [])
    print(f"OCR ({n} scanned pages, {DPI} DPI): digitize {n / ours:.2f} pages/s, ocrmypdf --jobs 2 "
          f"{n / theirs:.2f} pages/s -> ratio {theirs / ours:.2f} (target >= 2.0)", flush=True)
    return {"digitize_pages_per_s": round(n / ours, 3), "ocrmypdf_pages_per_s": round(n / theirs, 3),
            "ratio": round(theirs / ours, 2)}


def bare_get_text(pdf: Path) -> float:
    """The floor for reading a text layer at all: one process, PyMuPDF's plain get_text() per page."""
    return timed([sys.executable, "-c", "import sys, pymupdf\nfor page in pymupdf.open(sys.argv[1]): page.get_text()", str(pdf)])


def compare_born(born: Path, n: int, tmp: Path) -> dict:
    ours = digitize(born, tmp / "d-born", "auto")
    theirs = ocrmypdf(born, tmp / "o-born.pdf", ["--skip-text"])
    floor = bare_get_text(born)
    print(f"born-digital ({n} pages): digitize text-layer route {n / ours:.2f} pages/s, ocrmypdf --skip-text "
          f"{n / theirs:.2f} pages/s -> ratio {theirs / ours:.2f} (target >= 5); a bare PyMuPDF get_text() "
          f"loop {n / floor:.2f} pages/s: {theirs / floor:.2f} of ocrmypdf --skip-text", flush=True)
    return {"digitize_pages_per_s": round(n / ours, 3), "ocrmypdf_pages_per_s": round(n / theirs, 3),
            "ratio": round(theirs / ours, 2), "bare_get_text_pages_per_s": round(n / floor, 3),
            "bare_get_text_ratio": round(theirs / floor, 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=40)
    p.add_argument("--scale", type=int, default=10, help="also run a corpus this many times larger (1: skip)")
    p.add_argument("--born-scale", type=int, default=50,
                   help="also run born-digital pages alone at this many times --pages (1: skip); cheap, no OCR")
    args = p.parse_args()
    n = args.pages
    report: dict = {"pages": n, "dpi": DPI, "languages": LANGS, "cores": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        born = tmp / "born.pdf"
        write_born_digital_pdf(born, [page_text(LANGS[i % 3], i) for i in range(n)])
        scan = tmp / "scan.pdf"
        write_scanned_pdf(scan, rasterize_pdf(born, dpi=DPI), dpi=DPI)
        report["runs"].append({"pages": n, "ocr": compare_ocr(scan, n, tmp), "born_digital": compare_born(born, n, tmp)})
        if args.scale > 1:
            repeat_pdf(born, tmp / "born_x.pdf", args.scale)
            repeat_pdf(scan, tmp / "scan_x.pdf", args.scale)
            m = n * args.scale
            report["runs"].append({"pages": m, "ocr": compare_ocr(tmp / "scan_x.pdf", m, tmp),
                                   "born_digital": compare_born(tmp / "born_x.pdf", m, tmp)})
        if args.born_scale > 1:
            repeat_pdf(born, tmp / "born_xx.pdf", args.born_scale)
            m = n * args.born_scale
            report["runs"].append({"pages": m, "born_digital": compare_born(tmp / "born_xx.pdf", m, tmp)})
    out = ROOT / "bench" / "results" / "ocrmypdf.json"
    out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
