"""Small print found by itself: Tesseract on screen-resolution images, with and without the
render stage's small-text scaling (pipeline/page/text_size.py), side by side in one run.

Sets: the 13 PubTabNet table images (text 5 to 10 px high, no DPI; truth = the cells' text, so
CER counts the table's reading order too: bag-of-words F1 beside it), the 40 UCI 8 x 8 digits,
and phototest.tif (ordinary 12 pt text: must not change).

    python bench/bench_small_text.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.engines.tesseract import TesseractEngine  # noqa: E402
from pipeline.page.documents import RenderSpec, open_document  # noqa: E402
from pipeline.quality.metrics import bow_f1, cer  # noqa: E402
from pipeline.run.config import EngineConfig, RenderConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def sets() -> dict[str, list[tuple[Path, str]]]:
    tables = [(DATA / "tables" / "pubtabnet" / r["filename"], " ".join(r["cell_texts"]))
              for r in map(json.loads, (DATA / "tables" / "pubtabnet" / "annotations.jsonl").read_text().splitlines())]
    digits = [(DATA / r["image"], r["text"])
              for r in map(json.loads, (DATA / "handwriting" / "handwriting_labels.jsonl").read_text().splitlines())
              if "uci_digits" in r["image"]]
    photo = [(DATA / "scans" / "phototest" / "phototest.tif", (DATA / "scans" / "phototest" / "phototest.gold.txt").read_text())]
    return {"pubtabnet_tables": tables, "uci_digits": digits, "phototest": photo}


def measure(engine: TesseractEngine, items: list[tuple[Path, str]], upscale: bool) -> dict:
    cfg = RenderConfig(upscale_small_text=upscale)
    cers, f1s, empty, scaled = [], [], 0, 0
    for path, truth in items:
        page = open_document(path.read_bytes(), cfg).render(0, cfg, RenderSpec(mode="L"))
        text = engine.recognize([PageImage(page.pixels, page.dpi)])[0].text
        scaled += any(f.startswith("text_upscaled") for f in page.flags)
        empty += not text.strip()
        cers.append(cer(truth, text))
        f1s.append(bow_f1(truth, text))
    return {"cer": round(float(np.mean(cers)), 4), "bow_f1": round(float(np.mean(f1s)), 4),
            "empty": empty, "scaled": scaled, "images": len(items)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "small_text.json"))
    args = p.parse_args()
    engine = TesseractEngine.load(EngineConfig(languages=("eng",)))
    results = {}
    for name, items in sets().items():
        results[name] = {"as_given": measure(engine, items, False), "scaled": measure(engine, items, True)}
        print(name, results[name], flush=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
