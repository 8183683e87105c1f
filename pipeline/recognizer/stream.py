"""The Ray Data stream of training lines: references, Parquet sources and font lines mixed by
weight, read and augmented in Ray Data tasks, and shaped by the model's own image processor.

Rows out: pixels (H, W float16: channel 0 of what the processor makes; lines are grey), text,
source, skip (why a line was left out, or "").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from pipeline.recognizer.images import LineImageError, augment, read_line
from pipeline.recognizer.sources import LineRef

STREAM_COLUMNS = ("source", "doc", "text", "uri", "box", "rotation", "page", "exif", "png")


def weighted(refs: list[LineRef], weight: float, seed: int = 0) -> list[LineRef]:
    """Each reference `weight` times on average per epoch: whole repeats, then a random share."""
    whole, part = int(weight), weight - int(weight)
    rng = random.Random(seed)
    return refs * whole + [r for r in refs if rng.random() < part]


def _clean(value):
    """Ray Data's numpy batches turn None into NaN and lists into arrays."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def _full_rows(batch: dict) -> list[dict]:
    n = len(batch["text"])
    return [{key: (_clean(batch[key][i]) if key in batch else None) for key in STREAM_COLUMNS} for i in range(n)]


class PrepareLines:
    """map_batches function: stream rows -> processor-shaped pixels; bad lines keep their row
    with the reason in `skip`, so the training loop can count them."""

    def __init__(self, image_processor, train: bool, seed: int = 0) -> None:
        self.image_processor = image_processor
        self.train = train
        self.seed = seed

    def __call__(self, batch: dict) -> dict:
        rng = np.random.default_rng([self.seed, random.getrandbits(32)] if self.train else [self.seed])
        rows = _full_rows(batch)
        height, width = self.image_processor.size["height"], self.image_processor.size["width"]
        pixels = np.zeros((len(rows), height, width), dtype=np.float16)
        skips, images, where = [], [], []
        for i, row in enumerate(rows):
            try:
                image = read_line(row)
                skips.append("")
            except LineImageError as exc:
                skips.append(str(exc))
                continue
            if self.train:
                image = augment(image, rng)
            images.append(image.convert("RGB"))
            where.append(i)
        if images:
            values = self.image_processor(images=images, return_tensors="np")["pixel_values"]
            pixels[where] = values[:, 0].astype(np.float16)
        return {"pixels": pixels, "text": np.array([r["text"] or "" for r in rows], dtype=object),
                "source": np.array([r["source"] or "" for r in rows], dtype=object),
                "skip": np.array(skips, dtype=object)}


@dataclass
class StreamPlan:
    """What one epoch of training reads."""

    refs: list[LineRef] = field(default_factory=list)  # already weighted
    parquet: list[tuple[str, float]] = field(default_factory=list)  # (uri, weight)
    font_lines: int = 0
    font_pool: list[str] = field(default_factory=list)


def build_stream(plan: StreamPlan, image_processor, train: bool, seed: int = 0, batch_size: int = 32):
    """One dataset of prepared lines; each source is prepared on its own (their row shapes
    differ) and the prepared parts, which share one shape, are mixed."""
    import ray

    from pipeline.recognizer.sources.synthetic import font_lines, read_synthetic

    parts = []
    if plan.refs:
        parts.append(ray.data.from_items(plan.refs, override_num_blocks=max(1, min(200, len(plan.refs) // 64))))
    for uri, weight in plan.parquet:
        ds = read_synthetic(uri)
        parts += [ds] * int(weight)
        if weight - int(weight) > 0:
            parts.append(ds.random_sample(weight - int(weight)))
    if plan.font_lines:
        parts.append(font_lines(plan.font_lines, plan.font_pool, seed))
    if not parts:
        raise ValueError("no training lines: give --lines, --xml, --gold, --synthetic or --font-lines")
    kwargs = {"image_processor": image_processor, "train": train, "seed": seed}
    prepared = [p.map_batches(_prepare, fn_kwargs=kwargs, batch_size=batch_size, batch_format="numpy") for p in parts]
    stream = prepared[0].union(*prepared[1:]) if len(prepared) > 1 else prepared[0]
    return stream.randomize_block_order() if train else stream


def _prepare(batch: dict, image_processor, train: bool, seed: int) -> dict:
    return PrepareLines(image_processor, train, seed)(batch)
