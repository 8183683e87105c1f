"""Engine auto's line arbitration on held-apart pages: which reading of a weak line to keep, by
raw confidence or by the shipped line calibration, beside keeping Tesseract's and beside an
oracle that always keeps the better reading.

Pages (none seen by the fit): typed letters with handwritten lines from the Testaments val hands
(bench_mixed_pages.py's set), the 12 Testaments val pages, and the printed born-digital pages of
bench_languages.py forced to OCR. Every line Tesseract reads there is also read by the
handwriting reader (scripts/fit_line_calibration.py's pairs); a line counts as re-read when its
Tesseract confidence is under Arbitration.weak_line, as in the engine. Reported per set: micro
CER over the lines for each rule, and for each engine the mean calibrated P(right) beside the
observed share of right lines (line CER <= 0.1), with the Brier score.

    python bench/bench_line_arbitration.py [--pages 12] [--pages-per-doc 4]

Figures go to bench/results/line_arbitration.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from bench_languages import DOCS, pages as printed_pages  # noqa: E402
from fit_line_calibration import page_pairs  # noqa: E402
from pipeline.engines.auto import AutoEngine, Arbitration  # noqa: E402
from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.quality.line_calibration import LinePair, likelier, line_cer, shipped  # noqa: E402
from pipeline.run.config import EngineConfig  # noqa: E402
from tests.corpus import mixed_page  # noqa: E402

LINES = ROOT.parent / "shared" / "data" / "handwriting_lines" / "testaments_de_poilus"


def held_apart(pages: int, per_doc: int) -> dict[str, list[tuple[str, np.ndarray, float, str]]]:
    rows = [json.loads(x) for x in (LINES / "labels.jsonl").read_text().splitlines()]
    hand_rows = [{**r, "image": str(LINES.parent.parent / r["image"])} for r in rows
                 if r["split"] == "val" and r["level"] == "line" and len(r["text"]) > 15]
    rng = random.Random(0)
    mixed = [mixed_page(rng, hand_rows) for _ in range(pages)]
    return {
        "mixed": [(f"mixed{i}", np.asarray(img.convert("L")), 300.0, "\n".join(t for t, _, _ in truth))
                  for i, (img, truth) in enumerate(mixed)],
        "testaments_pages": [(f.stem, np.asarray(Image.open(f).convert("L")), 150.0, f.with_suffix(".txt").read_text())
                             for f in sorted((LINES / "pages").glob("*.jpg"))],
        "printed": [(f"{name}{i}", px, 300.0, truth) for name in DOCS for i, (px, truth) in enumerate(printed_pages(name, per_doc))],
    }


def kept_edits(pairs: list[LinePair], weak: float, keep_second) -> int:
    return sum(p.second_edits if (p.first_confidence or 0.0) < weak and p.second_text and keep_second(p) else p.first_edits
               for p in pairs)


def reliability(pairs: list[LinePair], side: str, calibration) -> dict:
    """Does the calibration hold on these lines: predicted against observed right, and Brier."""
    engine = getattr(pairs[0], side)
    predicted = np.array([calibration.p_right(engine, getattr(p, f"{side}_confidence")) for p in pairs])
    right = np.array([line_cer(getattr(p, f"{side}_edits"), p.length) <= calibration.right_line_cer for p in pairs])
    return {"predicted_right": round(float(predicted.mean()), 3), "observed_right": round(float(right.mean()), 3),
            "brier": round(float(np.mean((predicted - right) ** 2)), 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=12, help="mixed pages to make")
    p.add_argument("--pages-per-doc", type=int, default=4)
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "line_arbitration.json"))
    args = p.parse_args()
    engine = AutoEngine.load(EngineConfig(name="auto"))
    calibration = shipped(AutoEngine.name)
    if calibration is None:
        raise SystemExit("no shipped line calibration: run scripts/fit_line_calibration.py first")
    weak = Arbitration().weak_line
    results: dict = {"weak_line": weak, "fit": calibration.fitted_on, "sets": {}}
    every: list[LinePair] = []
    for name, items in held_apart(args.pages, args.pages_per_doc).items():
        pairs = [x for doc, px, dpi, truth in items for x in page_pairs(engine, PageImage(px, dpi, document=doc), truth)]
        every.extend(pairs)
        results["sets"][name] = summary(pairs, weak, calibration)
        print(name, results["sets"][name], flush=True)
    results["all"] = summary(every, weak, calibration)
    print("all", results["all"])
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


def summary(pairs: list[LinePair], weak: float, calibration) -> dict:
    chars = max(1, sum(p.length for p in pairs))
    rules = {
        "tesseract_only": lambda p: False,
        "raw_confidence": lambda p: likelier(None, p.first, p.first_text, p.first_confidence,
                                             p.second, p.second_text, p.second_confidence),
        "calibrated": lambda p: likelier(calibration, p.first, p.first_text, p.first_confidence,
                                         p.second, p.second_text, p.second_confidence),
        "oracle": lambda p: p.second_edits < p.first_edits,
    }
    return {"lines": len(pairs), "re_read": sum((p.first_confidence or 0.0) < weak for p in pairs),
            "cer": {rule: round(kept_edits(pairs, weak, keep) / chars, 4) for rule, keep in rules.items()},
            "line_calibration": {getattr(pairs[0], side): reliability(pairs, side, calibration)
                                 for side in ("first", "second")} if pairs else {}}


if __name__ == "__main__":
    sys.exit(main())
