"""Grainy pages: Tesseract's default binarization (Otsu over the whole page) against what the
engine does (pipeline/page/grain.py: Sauvola on a page whose paper Otsu turns into specks), side
by side on one generated sparse A4 page at 300 DPI with Gaussian noise of increasing strength.

    python bench/bench_grain.py                 # about 3 minutes: Otsu takes a minute or more a grainy page
    python bench/bench_grain.py --sigmas 0,30   # a quicker look
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

from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.engines.tesseract import TesseractEngine  # noqa: E402
from pipeline.page.grain import speck_density  # noqa: E402
from pipeline.quality.metrics import cer  # noqa: E402
from pipeline.run.config import EngineConfig  # noqa: E402
from tests.corpus import grainy_page  # noqa: E402

DPI = 300


def otsu_reading(pixels: np.ndarray, tessdata: str) -> str:
    """Tesseract as it binarizes by default, the page as it is: the baseline."""
    import tesserocr
    from PIL import Image

    with tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang="eng", psm=tesserocr.PSM.AUTO,
                                 oem=tesserocr.OEM.LSTM_ONLY) as api:
        api.SetImage(Image.fromarray(pixels))
        api.SetSourceResolution(DPI)
        return api.GetUTF8Text()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sigmas", default="0,30,40,50", help="noise standard deviations, grey levels")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "grain.json"))
    args = p.parse_args()
    cfg = EngineConfig(languages=("eng",))
    engine = TesseractEngine.load(cfg)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for sigma in (float(s) for s in args.sigmas.split(",")):
            pixels, truth = grainy_page(Path(tmp), sigma, dpi=DPI)
            start = time.perf_counter()
            plain = otsu_reading(pixels, cfg.tessdata)
            otsu_s = time.perf_counter() - start
            start = time.perf_counter()
            rec = engine.recognize([PageImage(pixels, float(DPI))])[0]
            engine_s = time.perf_counter() - start
            row = {"sigma": sigma, "specks_per_mpx": round(speck_density(pixels)),
                   "otsu": {"seconds": round(otsu_s, 2), "cer": round(cer(truth, plain), 3)},
                   "engine": {"seconds": round(engine_s, 2), "cer": round(cer(truth, rec.text), 3), "flags": rec.flags},
                   "speedup": round(otsu_s / engine_s, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    Path(args.output).write_text(json.dumps({"dpi": DPI, "pages": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
