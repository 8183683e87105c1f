"""Fit engine auto's line calibration (shipped as this recipe): on the labelled pages of
scripts/make_calibration_set.py (generated scans, typed letters with handwritten lines and will
pages from the Testaments train hands), each line Tesseract reads is read again by the
handwriting reader, both readings are scored against the page's truth line they match best, and
each engine's raw line confidence is fitted to P(line CER <= 0.1).

    python scripts/make_calibration_set.py out/calib60 --hand-lines DIR --hand-pages 20
    python scripts/fit_line_calibration.py out/calib60 [--output pipeline/quality/calibrations/auto_lines.json] [--pairs PAIRS.jsonl]

bench/bench_line_arbitration.py measures the fit on held-apart pages (val hands, real print).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.engines.auto import AutoEngine  # noqa: E402
from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.quality.items import discover_items  # noqa: E402
from pipeline.quality.line_calibration import LinePair, fit_lines, shipped_path  # noqa: E402
from pipeline.quality.metrics import char_edits  # noqa: E402
from pipeline.run.config import EngineConfig  # noqa: E402


def page_pairs(engine: AutoEngine, page: PageImage, truth: str) -> list[LinePair]:
    """Both readings of each line of the page, scored against the truth line either matches
    best (the lines' boxes are not known for every labelled page; a line read as garbage by
    both is wrong whichever truth line it is held to)."""
    truths = [t for t in truth.splitlines() if t.strip()]
    pairs = []
    for line, result in engine.both_readings(page) if truths else []:
        scored = []
        for t in truths:
            a, b = char_edits(t, line.text), char_edits(t, result.text)
            scored.append((min(a.edits, b.edits) / max(1, a.length), t, a, b))
        _, t, a, b = min(scored, key=lambda s: s[0])
        pairs.append(LinePair(truth=t, first=line.engine or "", first_text=line.text, first_confidence=line.confidence,
                              first_edits=a.edits, second=engine.hand.name, second_text=result.text,
                              second_confidence=result.confidence, second_edits=b.edits, length=a.length))
    return pairs


def folder_pairs(engine: AutoEngine, root: Path) -> list[LinePair]:
    pairs = []
    for item in discover_items(root):
        with Image.open(item.path) as image:
            dpi = float(image.info.get("dpi", (300, 300))[0])
            pixels = np.asarray(image.convert("L"))
        found = page_pairs(engine, PageImage(pixels, dpi, document=item.path), item.truth)
        print(f"{item.group}/{Path(item.path).name}: {len(found)} lines", flush=True)
        pairs.extend(found)
    return pairs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="a folder of labelled pages (scripts/make_calibration_set.py)")
    p.add_argument("--output", default=str(shipped_path(AutoEngine.name)))
    p.add_argument("--pairs", help="also write the scored line pairs here (JSONL)")
    args = p.parse_args()
    engine = AutoEngine.load(EngineConfig(name="auto"))
    pairs = folder_pairs(engine, Path(args.data))
    if args.pairs:
        Path(args.pairs).write_text("".join(json.dumps(asdict(x)) + "\n" for x in pairs))
    fit = fit_lines(pairs, fitted_on=f"scripts/fit_line_calibration.py {args.data} (lines of "
                                     "scripts/make_calibration_set.py's pages: generated scans, typed letters "
                                     "with handwritten lines and will pages from the Testaments train hands)")
    fit.save(args.output)
    print(f"{len(pairs)} lines; fit {fit.engines} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
