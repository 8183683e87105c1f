"""Handwritten pages end to end: page CER of the line engines with each segmenter, beside
plain Tesseract, on the Testaments de Poilus val pages (12 page images, hands never trained on).

Each reader runs the real engine class (segmentation, line crops, reading order, assembly) in
one process, one thread, on the same pages. Reported per reader: micro CER (all edits over all
truth characters), bag-of-words F1 (order-tolerant), lines found vs truth lines, seconds/page.
The truth covers the testator's text only (clerks' notes and printed forms are not transcribed),
so text read there counts as insertions: compare readers with each other, not with zero.

    python bench/bench_handwritten_pages.py [--model FOLDER] [--pages N]

--model adds the trocr engine with that model (the shipped one if present) on both segmenters.
Figures go to bench/results/handwritten_pages.json.
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

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.engines import PageImage, engine_class  # noqa: E402
from pipeline.quality.metrics import bow_f1, char_edits  # noqa: E402
from pipeline.run.config import EngineConfig  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "handwriting_lines" / "testaments_de_poilus" / "pages"
SHIPPED = ROOT / "models" / "handwriting-lines"
DPI = 150  # the page images carry no DPI; a 1600 px will page is about this


def readers(model: Path | None) -> dict[str, EngineConfig]:
    out = {"tesseract_fra": EngineConfig(name="tesseract", languages=("fra",))}
    for seg in ("tesseract", "detector"):
        out[f"rapidocr/{seg}"] = EngineConfig(name="rapidocr", segmenter=seg)
        if model is not None:
            out[f"trocr/{seg}"] = EngineConfig(name="trocr", model=str(model), segmenter=seg, dtype="float32")
    return out


def main() -> int:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED) if SHIPPED.exists() else None)
    p.add_argument("--pages", type=int, default=None)
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "handwritten_pages.json"))
    args = p.parse_args()
    files = sorted(PAGES.glob("*.jpg"))[: args.pages]
    if not files:
        raise SystemExit(f"no page images in {PAGES}")
    truths = [f.with_suffix(".txt").read_text() for f in files]
    results = {"pages": len(files), "dpi_assumed": DPI, "readers": {}}
    for name, cfg in readers(Path(args.model) if args.model else None).items():
        engine = engine_class(cfg.name).load(cfg)
        mode = engine.render_spec(cfg).mode
        edits = chars = 0
        f1s, found, start = [], [], time.perf_counter()
        for file, truth in zip(files, truths):
            pixels = np.asarray(Image.open(file).convert(mode))
            rec = engine.recognize([PageImage(pixels, DPI)])[0]
            count = char_edits(truth, rec.text)
            edits, chars = edits + count.edits, chars + count.length
            f1s.append(bow_f1(truth, rec.text))
            found.append(sum(b.kind == "line" for b in rec.blocks))
        seconds = time.perf_counter() - start
        results["readers"][name] = {
            "cer": round(edits / max(chars, 1), 4), "bow_f1": round(float(np.mean(f1s)), 4),
            "lines_found": int(sum(found)), "truth_lines": sum(len(t.splitlines()) for t in truths),
            "seconds_per_page": round(seconds / len(files), 2),
        }
        print(name, results["readers"][name], flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
