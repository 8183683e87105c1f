"""kraken's baseline segmenter `blla` on page images, through the pipeline's own
`--segmenter blla` class (pipeline/page/kraken_lines.py): each line's box, in kraken's reading
order, to JSON, for bench_handwritten_pages.py --kraken-lines.

kraken needs a torchvision built for the installed torch, and PyPI's does not load against this
project's CPU torch 2.13.0, so this runs in a venv of its own (docs/mixed_archives.md):

    python3.11 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 kraken pyarrow
    /tmp/kvenv/bin/python bench/blla_lines.py ../shared/data/handwriting_lines/testaments_de_poilus/pages out/blla_lines.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline.page.kraken_lines import KrakenLineSegmenter  # noqa: E402


def main(pages: Path, output: Path) -> int:
    torch.set_num_threads(1)  # as the other readers of the bench: one thread
    segmenter = KrakenLineSegmenter()
    out = {}
    for file in sorted(pages.glob("*.jpg")):
        start = time.perf_counter()
        regions, _ = segmenter.segment(np.asarray(Image.open(file).convert("RGB")), 150)
        boxes = [ln.bbox for r in regions for p in r.paragraphs for ln in p.lines]
        out[file.name] = {"boxes": boxes, "seconds": round(time.perf_counter() - start, 2)}
        print(file.name, len(boxes), "lines", out[file.name]["seconds"], "s", flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
