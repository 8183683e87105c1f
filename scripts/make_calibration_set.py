"""Write the labelled pages the confidence calibration is fitted on (shipped as this recipe).

Generated pages with known text (tests/corpus.py), scanned with the faults that make OCR fail
on real archives, from mild to ruinous: low resolution, small print, blur, noise, skew, JPEG.
Laid out like ../shared/data/scans (NAME.png beside NAME.gt.txt), so jobs/evaluate.py reads it;
it shares nothing with ../shared/data, which stays the held-apart evaluation set.

    python scripts/make_calibration_set.py OUT [--pages 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf  # noqa: E402

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


def make(out: Path, pages: int) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pages):
            rng = np.random.default_rng(i)
            fontsize = float(rng.choice([11, 9, 7]))
            pdf = Path(tmp) / f"{i}.pdf"
            truth = write_born_digital_pdf(pdf, [page_text(LANGS[i % 3], i)], fontsize=fontsize)[0]
            clean = rasterize_pdf(pdf, dpi=300)[0]
            severity = (i % 10) / 9  # an even spread from clean to ruined
            page, dpi = degrade(clean, rng, severity)
            name = f"calib_{i:03d}"
            page.save(out / f"{name}.png", dpi=(dpi, dpi))
            (out / f"{name}.gt.txt").write_text(truth, encoding="utf-8")
    return pages


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("output")
    p.add_argument("--pages", type=int, default=60)
    a = p.parse_args()
    print(f"wrote {make(Path(a.output) / 'scans', a.pages)} labelled pages to {a.output}/scans")
