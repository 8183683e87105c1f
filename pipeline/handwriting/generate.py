"""Generation: a plan of (text, style, seed) rows on the driver, and the batch callable that
turns them into PNG line images in an actor (GPU and fp16 when Ray gives it one)."""

from __future__ import annotations

import io
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pipeline.run.devices import actor_cpu_threads, actor_device, set_torch_threads
from pipeline.handwriting.fonts import discover_fonts
from pipeline.handwriting.model import (SHIPPED_MODEL, GeneratorMeta, check_model_folder, layout_for, load_unet,
                                        sampling_scheduler)
from pipeline.handwriting.render import LINE_HEIGHT, LineLayout, line_width, render_condition
from pipeline.handwriting.sampling import sample_lines
from pipeline.handwriting.training_data import from_tensor_range, to_tensor_range

WIDTH_BUCKET = 32  # lines are padded to a multiple of this, then batched only with equal widths


@dataclass
class GenerateConfig:
    texts: str
    output: str
    model: str = str(SHIPPED_MODEL)
    count: int | None = None  # None: one sample per text line
    style: str | None = None  # a style name of the model, or a folder of 3-10 line images
    steps: int = 20
    guidance_scale: float = 2.0
    sampler: str = "ddim"
    seed: int = 0
    batch_size: int = 16
    min_confidence: float = 0.9  # for texts read from a digitize Parquet
    workers: int | None = None
    gpu: str = "auto"  # auto | always | never
    style_steps: int = 150  # fine-tuning steps for a --style folder
    rows_per_file: int = 1000


@dataclass
class Plan:
    """What will be generated, and what was set aside (reported, never silently dropped)."""

    rows: list[dict]
    empty: int = 0
    unsupported: Counter = field(default_factory=Counter)  # character -> occurrences
    unsupported_lines: int = 0


def font_paths() -> dict[str, str]:
    return {Path(f.path).name: f.path for f in discover_fonts()}


def plan_samples(texts: list[str], meta: GeneratorMeta, config: GenerateConfig, style_id: int | None) -> Plan:
    """One row per sample: texts in order (repeated when --count asks for more), each with a
    style that has every glyph of the text, and seed = --seed + row index."""
    plan = Plan(rows=[])
    usable = []
    for text in texts:
        if not text.strip():
            plan.empty += 1
            continue
        missing = set(text) - meta.charset
        if missing:
            plan.unsupported.update(ch for ch in text if ch in missing)
            plan.unsupported_lines += 1
            continue
        usable.append(text)
    if not usable:
        return plan
    rng = np.random.default_rng(config.seed)
    count = config.count if config.count is not None else len(usable)
    for index in range(count):
        text = usable[index % len(usable)]
        if style_id is None:
            fits = [i for i, s in enumerate(meta.styles) if set(text) <= set(s.charset)]
            chosen = int(rng.choice(fits)) if fits else meta.null_style
        else:
            chosen = style_id
        plan.rows.append({"index": index, "text": text, "style_id": chosen, "seed": config.seed + index})
    return plan


def encode_png(line: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(line).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class GenerateLines:
    """Loads the generator once, turns batches of plan rows into SYNTHETIC_SCHEMA records
    (run by the side stage's actors in a worker process: pipeline.handwriting.ray_job)."""

    def __init__(self, config: GenerateConfig, model_dir: str) -> None:
        self.config = config
        self.device = actor_device()
        if self.device == "cpu":
            set_torch_threads(actor_cpu_threads())
        folder = check_model_folder(model_dir)
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.unet = load_unet(folder, self.device, dtype)
        self.scheduler = sampling_scheduler(folder, config.sampler)
        self.meta = GeneratorMeta.load(folder)
        self.fonts = font_paths()
        self.model_name = os.path.basename(os.path.normpath(config.model))

    def _layout(self, style_id: int) -> LineLayout:
        """Glyph boxes of a style ("any hand" uses the first style's)."""
        return layout_for(self.meta.styles[style_id % len(self.meta.styles)], self.fonts, self.meta.min_x_height)

    def _width(self, text: str, style_id: int) -> int:
        width = line_width(text, self._layout(style_id))
        return int(np.ceil(width / WIDTH_BUCKET) * WIDTH_BUCKET)

    def lines(self, texts: list[str], style_ids: list[int], seeds: list[int]) -> list[np.ndarray]:
        """Generated uint8 lines, batched by equal width (so each depends on its own seed only)."""
        widths = [self._width(t, s) for t, s in zip(texts, style_ids)]
        out: list[np.ndarray | None] = [None] * len(texts)
        for width in sorted(set(widths)):
            members = [i for i, w in enumerate(widths) if w == width]
            for start in range(0, len(members), self.config.batch_size):
                chunk = members[start:start + self.config.batch_size]
                conds = [render_condition(texts[i], self._layout(style_ids[i]), width) for i in chunk]
                cond = torch.from_numpy(to_tensor_range(conds)).to(self.device)
                styles = torch.tensor([style_ids[i] for i in chunk], device=self.device)
                images = sample_lines(self.unet, self.scheduler, cond, styles, [seeds[i] for i in chunk],
                                      self.config.steps, self.config.guidance_scale)
                for i, line in zip(chunk, from_tensor_range(images.cpu().numpy())):
                    out[i] = line
        return out  # type: ignore[return-value]

    def __call__(self, rows: list[dict]) -> list[dict]:
        """Plan rows to SYNTHETIC_SCHEMA records."""
        lines = self.lines([r["text"] for r in rows], [r["style_id"] for r in rows], [r["seed"] for r in rows])
        names = [s.name for s in self.meta.styles] + ["any"]
        records = [{
            "image": {"bytes": encode_png(line), "path": f"{row['index']:09d}.png"},
            "text": row["text"], "style_id": row["style_id"], "style": names[row["style_id"]],
            "model": self.model_name, "seed": row["seed"], "sampler": self.config.sampler,
            "steps": self.config.steps, "guidance_scale": self.config.guidance_scale,
            "width": int(line.shape[1]), "height": LINE_HEIGHT, "index": row["index"],
        } for row, line in zip(rows, lines)]
        return records
