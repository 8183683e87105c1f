"""--engine auto on pages that mix print and handwriting, and on the handwritten and printed sets,
beside each single engine, side by side in one run (one process, one thread).

Mixed pages are made here, with their truth and routing truth: a typed letter (French lines set
in DejaVu Serif at 300 DPI size) with real handwritten lines pasted under it, a note and a
signature line cut from the Testaments de Poilus val crops (hands never trained on). A page's
truth is its lines top to bottom. Routing: each truth line is matched to the block that covers
its box; a typed line kept by the handwriting reader, or a handwritten line kept by Tesseract,
counts as wrong.

    python bench/bench_mixed_pages.py [--pages 12] [--calibrations bench/results/calibration_fits]
        [--rapidocr-model wheel]

Also the Testaments val pages (bench_handwritten_pages.py's set). For each engine with a shipped
calibration (or one in `--calibrations DIR`): the mean calibrated confidence (the predicted share of pages with at most 5 %
wrong characters) beside the observed share, and the Brier score. Figures go to
bench/results/mixed_pages.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.engines import PageImage, engine_class  # noqa: E402
from pipeline.page.scoring import token_stats  # noqa: E402
from pipeline.quality.calibration import for_run as calibration_for  # noqa: E402
from pipeline.quality.metrics import char_edits  # noqa: E402
from pipeline.run.config import DigitizeConfig, EngineConfig, recognizer_list, recognizers_name  # noqa: E402
from pipeline.run.recognize import raw_confidence  # noqa: E402
from tests.corpus import mixed_page  # noqa: E402

LINES = ROOT.parent / "shared" / "data" / "handwriting_lines" / "testaments_de_poilus"
def page_row(rec, pixels: np.ndarray, dpi: float) -> dict:
    """The page-row fields a calibration reads."""
    return {"confidence_raw": raw_confidence(rec), "text": rec.text, "dpi": dpi, "height": pixels.shape[0],
            "width": pixels.shape[1], "confidence_stats": token_stats(rec.tokens).as_dict(),
            "blocks": [asdict(b) for b in rec.blocks]}


def covering(blocks, box) -> str | None:
    best, best_area = None, 0.0
    for b in blocks:
        if b.kind != "line" or not b.bbox:
            continue
        w = min(b.bbox[2], box[2]) - max(b.bbox[0], box[0])
        h = min(b.bbox[3], box[3]) - max(b.bbox[1], box[1])
        if w > 0 and h > 0 and w * h > best_area:
            best, best_area = b.engine, w * h
    return best


REVIEW = DigitizeConfig.review_threshold


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=12)
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "mixed_pages.json"))
    p.add_argument("--calibrations", help="a folder of ENGINE.json fits to apply instead of the shipped ones "
                                          "(bench/results/calibration_fits holds the fits measured and not shipped)")
    p.add_argument("--rapidocr-model", help="another RapidOCR recognizer (a folder or .onnx, or 'wheel'): its rapidocr and "
                                            "auto readers are added beside the default ones")
    args = p.parse_args()
    rows = [json.loads(x) for x in (LINES / "labels.jsonl").read_text().splitlines()]
    hand_rows = [{**r, "image": str(LINES.parent.parent / r["image"])} for r in rows
                 if r["split"] == "val" and r["level"] == "line" and len(r["text"]) > 15]
    rng = random.Random(0)
    mixed = [mixed_page(rng, hand_rows) for _ in range(args.pages)]
    will_pages = sorted((LINES / "pages").glob("*.jpg"))
    sets = {
        "mixed": [(np.asarray(img), "\n".join(t for t, _, _ in truth), truth, 300) for img, truth in mixed],
        "testaments_pages": [(np.asarray(Image.open(f).convert("RGB")), f.with_suffix(".txt").read_text(), None, 150)
                             for f in will_pages],
    }
    readers = {"tesseract": EngineConfig(name="tesseract"), "rapidocr_detector": EngineConfig(name="rapidocr", segmenter="detector"),
               "auto": EngineConfig(name="auto")}
    if args.rapidocr_model:
        other = recognizers_name(args.rapidocr_model)
        readers[f"rapidocr_detector@{other}"] = EngineConfig(name="rapidocr", segmenter="detector", rapidocr_models=recognizer_list(args.rapidocr_model))
        readers[f"auto@{other}"] = EngineConfig(name="auto", rapidocr_models=recognizer_list(args.rapidocr_model))
    results: dict = {}
    for set_name, items in sets.items():
        results[set_name] = {}
        for name, cfg in readers.items():
            engine = engine_class(cfg.name).load(cfg)
            fit = Path(args.calibrations or "") / f"{cfg.name}.json"
            # the engine's shipped fit, as a run applies it, or the one given
            calibration = calibration_for(str(fit) if args.calibrations and fit.exists() else "auto", cfg)
            confidences, good = [], []
            edits = chars = 0
            routed: dict[str, int] = {}
            wrong = 0
            start = time.perf_counter()
            for pixels, truth_text, truth_lines, dpi in items:
                rec = engine.recognize([PageImage(pixels, dpi)])[0]
                count = char_edits(truth_text, rec.text)
                edits, chars = edits + count.edits, chars + count.length
                if calibration is not None:
                    confidences.append(calibration.confidence(page_row(rec, pixels, dpi)))
                    good.append(count.edits <= calibration.bad_page_cer * count.length)
                if truth_lines is not None and name.startswith("auto"):
                    for _, kind, box in truth_lines:
                        got = covering(rec.blocks, box) or "none"
                        routed[f"{kind}->{got}"] = routed.get(f"{kind}->{got}", 0) + 1
                        wrong += (kind == "typed" and got != "tesseract") or (kind == "hand" and got == "tesseract")
            entry = {"cer": round(edits / max(chars, 1), 4), "seconds_per_page": round((time.perf_counter() - start) / len(items), 2)}
            if confidences:  # calibrated confidence = the chance of a good page; does it hold here?
                entry["calibrated"] = {"predicted_good": round(float(np.mean(confidences)), 3),
                                       "observed_good": round(float(np.mean(good)), 3),
                                       "brier": round(float(np.mean((np.array(confidences) - np.array(good)) ** 2)), 3),
                                       # what a run does with them: a bad page over the threshold skips review
                                       "bad_passing_review": sum(c >= REVIEW and not g for c, g in zip(confidences, good)),
                                       "good_sent_to_review": sum(c < REVIEW and g for c, g in zip(confidences, good))}
            if routed:
                entry.update(routing=routed, wrong=wrong, lines=sum(routed.values()))
            results[set_name][name] = entry
            print(set_name, name, entry, flush=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
