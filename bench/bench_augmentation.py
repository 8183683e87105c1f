"""How legible the generator's training targets are: Tesseract on the handwriting fonts drawn
clean, with the first training augmentation, and with today's (`Augment()`).

The generator imitates its targets closely, so their legibility bounds its fidelity
(bench_handwriting.py). Same held-out texts, recognizer and scale as that bench; no model.

    python bench/bench_augmentation.py [--texts 16] [--draws 3]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from bench_handwriting import TEXTS, line_reader, recognize  # noqa: E402
from pipeline.handwriting.fonts import discover_fonts  # noqa: E402
from pipeline.handwriting.render import NO_AUGMENT, Augment, render_handwriting  # noqa: E402
from pipeline.quality.metrics import cer  # noqa: E402

# legs 0-3 of models/handwriting-small drew their targets with this
FIRST = Augment(baseline_drift=0.0, baseline_jitter=1.2, stroke=(0, 0, 1), ink=(0, 90), paper=(215, 255),
                noise=(0.0, 8.0))
VARIANTS = {"clean": NO_AUGMENT, "first augmentation": FIRST, "current augmentation": Augment()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--texts", type=int, default=16)
    p.add_argument("--draws", type=int, default=3, help="augmented draws of every (text, font)")
    args = p.parse_args()
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fonts = discover_fonts()
    texts = TEXTS[: args.texts]
    overall = {}
    with line_reader() as api:
        for name, augment in VARIANTS.items():
            rng = np.random.default_rng(0)
            draws = 1 if augment == NO_AUGMENT else args.draws
            per_font = {f.name: float(np.mean([cer(t, recognize(api, render_handwriting(t, f, rng, augment)))
                                               for t in texts if set(t) <= f.charset for _ in range(draws)]))
                        for f in fonts}
            overall[name] = float(np.mean(list(per_font.values())))
            print(f"{name:21s} CER {overall[name]:.3f}  " + " ".join(f"{k}={v:.2f}" for k, v in per_font.items()),
                  flush=True)
    for name in list(VARIANTS)[1:]:
        print(f"{name} / clean = {overall[name] / max(overall['clean'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
