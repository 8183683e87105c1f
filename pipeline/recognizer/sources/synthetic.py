"""Synthetic handwriting from `jobs/augment.py generate` (Parquet with a PNG `image` struct and
`text`), streamed by Ray Data; and lines written in handwriting fonts on the fly."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from connectors import filesystem as cfs

PHRASES = Path(__file__).resolve().parents[2] / "handwriting" / "phrases.txt"


def synthetic_texts(uri: str) -> list[str]:
    """The texts alone (what the tokenizer and the coverage check need), not the images."""
    fs, path = cfs.filesystem(uri)
    return [str(t or "") for t in pq.read_table(path, filesystem=fs, columns=["text"]).column("text").to_pylist()]


def read_synthetic(uri: str, name: str = "synthetic"):
    """A Ray dataset of the generated lines in the stream's row shape."""
    import ray

    def to_rows(batch):
        images = batch["image"]
        n = len(batch["text"])
        return {
            "source": np.array([name] * n, dtype=object), "doc": np.array([""] * n, dtype=object),
            "text": batch["text"], "png": np.array([img["bytes"] for img in images], dtype=object),
        }

    return ray.data.read_parquet(uri, columns=["image", "text"]).map_batches(to_rows, batch_format="numpy")


def font_text_pool(texts: list[str], seed: int = 0) -> list[str]:
    """What font lines write: the phrases shipped with the generator and the training
    transcriptions, whole and as shuffled word windows (new lines in the collection's words)."""
    rng = random.Random(seed)
    pool = [line.strip() for line in PHRASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    pool += [t for t in texts if t.strip()]
    words = [w for t in pool for w in t.split()]
    for _ in range(len(pool)):
        pool.append(" ".join(rng.choice(words) for _ in range(rng.randint(2, 9))))
    return pool


def render_font_lines(batch, pool: list[str], seed: int = 0):
    """map_batches function: row ids -> lines in a random handwriting font with a random look."""
    from PIL import Image

    from pipeline.handwriting.render import render_handwriting

    fonts = _fonts()
    ids = batch["id"]
    rng = np.random.default_rng([seed, int(ids[0]), random.getrandbits(32)])  # new lines each epoch
    texts, pngs = [], []
    for _ in ids:
        text = pool[int(rng.integers(len(pool)))]
        usable = [f for f in fonts if set(text) <= f.charset]
        if not usable:
            continue
        pixels = render_handwriting(text, usable[int(rng.integers(len(usable)))], rng)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        texts.append(text)
        pngs.append(buffer.getvalue())
    n = len(texts)
    return {"source": np.array(["fonts"] * n, dtype=object), "doc": np.array([""] * n, dtype=object),
            "text": np.array(texts, dtype=object), "png": np.array(pngs, dtype=object)}


_FONTS: list = []


def _fonts() -> list:
    if not _FONTS:
        from pipeline.handwriting.fonts import discover_fonts

        _FONTS.extend(discover_fonts())
    return _FONTS


def font_lines(count: int, pool: list[str], seed: int = 0):
    import ray

    return ray.data.range(count).map_batches(render_font_lines, fn_kwargs={"pool": pool, "seed": seed},
                                             batch_size=64, batch_format="numpy")
