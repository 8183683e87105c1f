"""Grainy pages: Tesseract's default binarization (Otsu over the whole page) against what the
engine does (pipeline/page/grain.py: Sauvola on a page whose paper Otsu turns into specks), side
by side on one generated sparse A4 page at 300 DPI with Gaussian noise of increasing strength;
`--engine auto` (the default) beside them.

Then the grainy pages among the calibration recipe's printed scans of other seeds than the fit
set's (scripts/make_calibration_set.py scan_page, seeds 1000 on: low DPI, blur, skew, noise),
read by the Tesseract engine, by auto's line reader on its own page path (detector and
recognizer), and by auto, which reads a grainy page both ways and keeps the likelier reading.

    python bench/bench_grain.py                 # about 7 minutes: Otsu takes a minute or more a grainy page
    python bench/bench_grain.py --sigmas 0,30 --recipe-seeds 20   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pipeline.engines.auto import AutoEngine  # noqa: E402
from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.engines.tesseract import TesseractEngine  # noqa: E402
from pipeline.page.grain import grainy, speck_density  # noqa: E402
from pipeline.quality.metrics import cer, char_edits  # noqa: E402
from pipeline.run.config import EngineConfig  # noqa: E402
from tests.corpus import grainy_page  # noqa: E402

DPI = 300
FIRST_SEED = 1000  # the recipe's fit set is seeds 0-59: these pages are not in it


def otsu_reading(pixels: np.ndarray, tessdata: str) -> str:
    """Tesseract as it binarizes by default, the page as it is: the baseline."""
    import tesserocr
    from PIL import Image

    with tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang="eng", psm=tesserocr.PSM.AUTO,
                                 oem=tesserocr.OEM.LSTM_ONLY) as api:
        api.SetImage(Image.fromarray(pixels))
        api.SetSourceResolution(DPI)
        return api.GetUTF8Text()


def warm_up(auto: AutoEngine) -> None:
    """onnxruntime readies its sessions on first use: a cost per actor, not per page."""
    warm = PageImage(np.full((600, 600), 255, np.uint8), float(DPI))
    auto.recognize([warm]), auto.hand.recognize([warm])


def timed(read, page: PageImage):
    start = time.perf_counter()
    rec = read([page])[0]
    return rec, time.perf_counter() - start


def sigma_pages(sigmas: list[float], engine: TesseractEngine, auto: AutoEngine, tessdata: str) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sigma in sigmas:
            pixels, truth = grainy_page(Path(tmp), sigma, dpi=DPI)
            start = time.perf_counter()
            plain = otsu_reading(pixels, tessdata)
            otsu_s = time.perf_counter() - start
            rec, engine_s = timed(engine.recognize, PageImage(pixels, float(DPI)))
            auto_rec, auto_s = timed(auto.recognize, PageImage(pixels, float(DPI)))
            row = {"sigma": sigma, "specks_per_mpx": round(speck_density(pixels)),
                   "otsu": {"seconds": round(otsu_s, 2), "cer": round(cer(truth, plain), 3)},
                   "engine": {"seconds": round(engine_s, 2), "cer": round(cer(truth, rec.text), 3), "flags": rec.flags},
                   "auto": {"seconds": round(auto_s, 2), "cer": round(cer(truth, auto_rec.text), 3), "flags": auto_rec.flags},
                   "speedup": round(otsu_s / engine_s, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def recipe_pages(seeds: int) -> dict:
    """Micro CER and seconds of each reader over the grainy pages among `seeds` recipe scans, in
    English, French and German: read as digitize reads by default, with --languages auto."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_calibration_set import scan_page

    engine, auto = TesseractEngine.load(EngineConfig()), AutoEngine.load(EngineConfig(name="auto"))
    warm_up(auto)

    readers = {"tesseract": engine.recognize, "line_reader_page_path": auto.hand.recognize, "auto": auto.recognize}
    totals = {name: {"edits": 0, "chars": 0, "seconds": 0.0} for name in readers}
    kept_page_path, pages = 0, 0
    for seed in range(FIRST_SEED, FIRST_SEED + seeds):
        image, dpi, truth = scan_page(seed)
        pixels = np.asarray(image.convert("L"))
        if not grainy(pixels):
            continue
        pages += 1
        line = {"seed": seed}
        for name, read in readers.items():
            rec, seconds = timed(read, PageImage(pixels, float(dpi), document=f"recipe_{seed}"))  # each its own probe
            count = char_edits(truth, rec.text)
            t = totals[name]
            t["edits"], t["chars"], t["seconds"] = t["edits"] + count.edits, t["chars"] + count.length, t["seconds"] + seconds
            line[name] = round(count.edits / max(count.length, 1), 3)
            if name == "auto":
                kept_page_path += f"read_by_{auto.hand.name}" in rec.flags
        print(json.dumps(line), flush=True)
    out = {"seeds": f"{FIRST_SEED}-{FIRST_SEED + seeds - 1}", "grainy_pages": pages, "auto_kept_page_path": kept_page_path}
    for name, t in totals.items():
        out[name] = {"cer": round(t["edits"] / max(t["chars"], 1), 4), "seconds_per_page": round(t["seconds"] / max(pages, 1), 2)}
    print(json.dumps(out), flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sigmas", default="0,30,40,50", help="noise standard deviations, grey levels")
    p.add_argument("--recipe-seeds", type=int, default=100, help="recipe scans made, from seed 1000; the grainy ones are read")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "grain.json"))
    args = p.parse_args()
    cfg = EngineConfig(languages=("eng",))
    engine = TesseractEngine.load(cfg)
    auto = AutoEngine.load(EngineConfig(name="auto", languages=("eng",)))
    warm_up(auto)
    rows = sigma_pages([float(s) for s in args.sigmas.split(",")], engine, auto, cfg.tessdata)
    recipe = recipe_pages(args.recipe_seeds) if args.recipe_seeds else None
    Path(args.output).write_text(json.dumps({"dpi": DPI, "pages": rows, "recipe": recipe}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
