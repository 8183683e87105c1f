"""Handwritten pages end to end: page CER of the line engines with each segmenter, beside
plain Tesseract, on the Testaments de Poilus val pages (12 page images, hands never trained on).

Each reader runs the real engine class (segmentation, line crops, reading order, assembly) in
one process, one thread, on the same pages. Reported per reader: micro CER (all edits over all
truth characters), bag-of-words F1 (order-tolerant), lines found vs truth lines, seconds/page.
The truth covers the testator's text only (clerks' notes and printed forms are not transcribed),
so text read there counts as insertions: compare readers with each other, not with zero.

    python bench/bench_handwritten_pages.py [--model FOLDER] [--pages N] [--kraken-lines FILE]
        [--rapidocr-model wheel]

--model adds the trocr engine with that model (the shipped one if present) on both segmenters;
--rapidocr-model the rapidocr engine with that recognizer beside the default one.
--kraken-lines adds RapidOCR on kraken blla's lines (boxes made by bench/blla_lines.py in a venv
of its own), read and assembled as the detector's lines are. Figures go to
bench/results/handwritten_pages.json.
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
from pipeline.page.assembly import Line, Paragraph, Region  # noqa: E402
from pipeline.quality.metrics import bow_f1, char_edits  # noqa: E402
from pipeline.run.config import EngineConfig, recognizer_list, recognizers_name  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "handwriting_lines" / "testaments_de_poilus" / "pages"
SHIPPED = ROOT / "models" / "handwriting-lines"
DPI = 150  # the page images carry no DPI; a 1600 px will page is about this


def readers(model: Path | None, rapidocr_model: str | None = None) -> dict[str, EngineConfig]:
    out = {"tesseract_fra": EngineConfig(name="tesseract", languages=("fra",))}
    for seg in ("tesseract", "detector"):
        out[f"rapidocr/{seg}"] = EngineConfig(name="rapidocr", segmenter=seg)
        if rapidocr_model:
            out[f"rapidocr@{recognizers_name(rapidocr_model)}/{seg}"] = EngineConfig(name="rapidocr", segmenter=seg, rapidocr_models=recognizer_list(rapidocr_model))
        if model is not None:
            out[f"trocr/{seg}"] = EngineConfig(name="trocr", model=str(model), segmenter=seg, dtype="float32")
    return out


class GivenLines:
    """A segmenter that gives the lines another tool found for the current page, one paragraph,
    in that tool's reading order."""

    def __init__(self, boxes: dict[str, list[list[float]]]):
        self.boxes, self.page = boxes, ""

    def segment(self, pixels: np.ndarray, dpi: float) -> tuple[list[Region], int]:
        lines = [Line(bbox=[float(v) for v in box], tokens=[]) for box in self.boxes[self.page]]
        return ([Region(kind="text", paragraphs=[Paragraph(lines=lines)])] if lines else []), 0


def main() -> int:
    import torch

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED) if SHIPPED.exists() else None)
    p.add_argument("--pages", type=int, default=None)
    p.add_argument("--rapidocr-model", help="another RapidOCR recognizer (a folder or .onnx, or 'wheel'), read beside the default")
    p.add_argument("--kraken-lines", help="JSON of line boxes per page image, from bench/blla_lines.py")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "handwritten_pages.json"))
    args = p.parse_args()
    files = sorted(PAGES.glob("*.jpg"))[: args.pages]
    if not files:
        raise SystemExit(f"no page images in {PAGES}")
    truths = [f.with_suffix(".txt").read_text() for f in files]
    results = {"pages": len(files), "dpi_assumed": DPI, "readers": {}}
    configs = readers(Path(args.model) if args.model else None, args.rapidocr_model)
    kraken = json.loads(Path(args.kraken_lines).read_text()) if args.kraken_lines else None
    if kraken is not None:
        configs["rapidocr/kraken_blla"] = EngineConfig(name="rapidocr")
        if args.rapidocr_model:
            configs[f"rapidocr@{recognizers_name(args.rapidocr_model)}/kraken_blla"] = EngineConfig(name="rapidocr", rapidocr_models=recognizer_list(args.rapidocr_model))
    for name, cfg in configs.items():
        engine = engine_class(cfg.name).load(cfg)
        if name.endswith("kraken_blla"):
            engine.segmenter = GivenLines({f: v["boxes"] for f, v in kraken.items()})
        mode = engine.render_spec(cfg).mode
        edits = chars = 0
        f1s, found, start = [], [], time.perf_counter()
        for file, truth in zip(files, truths):
            pixels = np.asarray(Image.open(file).convert(mode))
            if isinstance(getattr(engine, "segmenter", None), GivenLines):
                engine.segmenter.page = file.name
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
        if name.endswith("kraken_blla"):  # its segmentation ran in its own venv: add its time
            results["readers"][name]["seconds_per_page"] = round(
                (seconds + sum(kraken[f.name]["seconds"] for f in files)) / len(files), 2)
        print(name, results["readers"][name], flush=True)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
