"""Write the labelled pages the confidence calibration is fitted on (shipped as this recipe).

Generated pages with known text (tests/corpus.py), scanned with the faults that make OCR fail
on real archives, from mild to ruinous: low resolution, small print, blur, noise, skew, JPEG.
Laid out like ../shared/data/scans (NAME.png beside NAME.gt.txt), so jobs/evaluate.py reads it;
it shares nothing with ../shared/data's evaluation pages, which stay held apart.

With `--hand-lines FOLDER` (a line folder's labels.jsonl; only its training rows are used, so
the hands of its val split stay unseen), two more kinds of page, for the engines that read
handwriting (`auto`, `rapidocr`):
- mixed/: a typed letter with three handwritten lines under it (tests/corpus.py's mixed_page);
- handwritten/: one page of a will, its lines pasted back where they were on the page.

    python scripts/make_calibration_set.py OUT [--pages 60] [--max-severity 1.0] [--hand-lines DIR --hand-pages 30]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors import filesystem as cfs  # noqa: E402
from pipeline.recognizer.sources.line_folders import HELD_OUT_SPLITS, resolve_image  # noqa: E402
from tests.corpus import mixed_page, page_text, rasterize_pdf, write_born_digital_pdf  # noqa: E402

LANGS = ["eng", "fra", "deu"]


def degrade(image: Image.Image, rng: np.random.Generator, severity: float) -> tuple[Image.Image, int]:
    """Scan faults scaled by severity in [0, 1]; returns the page and its new DPI."""
    dpi = int(round(300 - 210 * severity * rng.uniform(0.5, 1.0)))
    page = image.resize((image.width * dpi // 300, image.height * dpi // 300), Image.Resampling.LANCZOS)
    angle = rng.uniform(-5, 5) * severity
    if abs(angle) > 0.2:
        page = page.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
    blur = rng.uniform(0, 2.0) * severity
    if blur > 0.2:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(page, dtype=np.float32)
    pixels = pixels + rng.normal(0, 60 * severity * rng.uniform(0.3, 1.0), pixels.shape)
    page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return page, dpi


def scan_page(i: int, max_severity: float = 1.0) -> tuple[Image.Image, int, str]:
    """The recipe's i-th printed scan: the page, its DPI and its truth."""
    rng = np.random.default_rng(i)
    fontsize = float(rng.choice([11, 9, 7]))
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / f"{i}.pdf"
        truth = write_born_digital_pdf(pdf, [page_text(LANGS[i % 3], i)], fontsize=fontsize)[0]
        clean = rasterize_pdf(pdf, dpi=300)[0]
    severity = max_severity * (i % 10) / 9  # an even spread from clean to ruined (at 1.0)
    page, dpi = degrade(clean, rng, severity)
    return page, dpi, truth


def make(out: Path, pages: int, max_severity: float = 1.0) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        page, dpi, truth = scan_page(i, max_severity)
        name = f"calib_{i:03d}"
        page.save(out / f"{name}.png", dpi=(dpi, dpi))
        (out / f"{name}.gt.txt").write_text(truth, encoding="utf-8")
    return pages


def will_page(rows: list[dict]) -> tuple[Image.Image, str]:
    """One page's line crops pasted back at their boxes on a paper-grey page; truth top to bottom."""
    width = max(r["bbox"][2] for r in rows) + 150
    height = max(r["bbox"][3] for r in rows) + 150
    page = Image.new("L", (width, height), 236)
    for row in rows:
        x0, y0, x1, y1 = row["bbox"]
        page.paste(Image.open(row["image"]).convert("L").resize((x1 - x0, y1 - y0)), (x0, y0))
    return page, "\n".join(r["text"] for r in sorted(rows, key=lambda r: r["bbox"][1]))


def make_hand(out: Path, lines: Path, pages: int) -> int:
    """`pages` mixed and `pages` handwritten pages from the train split of a line folder."""
    fs, base = cfs.filesystem(str(lines.resolve()))
    rows = [json.loads(x) for x in (lines / "labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    train = []
    for row in rows:  # the training rows, as train_recognizer takes them; images found as it finds them
        path = resolve_image(fs, base, row.get("image", "")) if row.get("level", "line") == "line" else None
        if path is not None and row.get("split") not in HELD_OUT_SPLITS:
            train.append({**row, "image": path})
    if not train:
        raise SystemExit(f"{lines}/labels.jsonl has no training lines")
    rng = random.Random(0)
    (out / "mixed").mkdir(parents=True, exist_ok=True)
    (out / "handwritten").mkdir(parents=True, exist_ok=True)
    notes = [r for r in train if len(r["text"]) > 15]
    for i in range(pages):
        page, truth = mixed_page(rng, notes)
        page.convert("L").save(out / "mixed" / f"mixed_{i:03d}.png", dpi=(300, 300))
        (out / "mixed" / f"mixed_{i:03d}.gt.txt").write_text("\n".join(t for t, _, _ in truth), encoding="utf-8")
    by_page: dict[tuple, list[dict]] = {}
    for r in train:
        if r.get("bbox"):
            by_page.setdefault((r["doc"], r["page"]), []).append(r)
    for i, key in enumerate(rng.sample(sorted(by_page), min(pages, len(by_page)))):
        page, truth = will_page(by_page[key])
        page.save(out / "handwritten" / f"will_{i:03d}.png", dpi=(300, 300))
        (out / "handwritten" / f"will_{i:03d}.gt.txt").write_text(truth, encoding="utf-8")
    return pages + min(pages, len(by_page))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("output")
    p.add_argument("--pages", type=int, default=60)
    p.add_argument("--max-severity", type=float, default=1.0,
                   help="the worst scan faults, 0-1 (Tesseract takes minutes a page on the ruinous end)")
    p.add_argument("--hand-lines", help="a line folder (labels.jsonl) whose train split makes mixed and handwritten pages")
    p.add_argument("--hand-pages", type=int, default=30, help="mixed pages, and handwritten pages, to make")
    a = p.parse_args()
    print(f"wrote {make(Path(a.output) / 'scans', a.pages, a.max_severity)} labelled pages to {a.output}/scans")
    if a.hand_lines:
        print(f"wrote {make_hand(Path(a.output), Path(a.hand_lines), a.hand_pages)} labelled pages to {a.output}/mixed and /handwritten")
