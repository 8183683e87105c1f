"""Few-shot style: learn one new style embedding from 3-10 line images of a writer.

The idea of DreamBooth/textual inversion on this small model: everything the UNet knows
about drawing letters stays frozen; only a new row of its style table is trained, so a
handful of lines cannot make it forget how to write. The result is a copy of the generator
folder with the style added, usable again with --style NAME.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from pipeline.run.devices import set_torch_threads
from pipeline.handwriting.model import GeneratorMeta, Style, load_unet, save_generator, training_scheduler
from pipeline.handwriting.training_data import load_line_folder, plain_stretch, real_pair, to_tensor_range

MIN_SAMPLES = 3


def _insert_style_row(unet, before: int) -> None:
    """Grow the style table by one row at `before` (the null style moves one down); the new
    row starts as the null ("any hand") embedding."""
    old = unet.class_embedding.weight.data
    new = torch.cat([old[:before], old[before:before + 1], old[before:]])
    unet.class_embedding = torch.nn.Embedding.from_pretrained(new.clone(), freeze=False)
    unet.register_to_config(num_class_embeds=new.shape[0])


def personalize(model_dir: str, style_dir: str, output: str, steps: int = 150, seed: int = 0,
                batch_size: int = 8, crop_width: int = 128) -> tuple[str, int]:
    """Write OUTPUT (the generator + the new style) and return (OUTPUT, new style id)."""
    samples = load_line_folder(style_dir)
    if len(samples) < MIN_SAMPLES:
        raise ValueError(f"{style_dir}: {len(samples)} line image(s); a style needs at least {MIN_SAMPLES}")
    meta = GeneratorMeta.load(model_dir)
    unet = load_unet(model_dir, "cpu", torch.float32)
    new_id = len(meta.styles)
    _insert_style_row(unet, new_id)
    for p in unet.parameters():
        p.requires_grad_(False)
    unet.class_embedding.weight.requires_grad_(True)
    optimizer = torch.optim.Adam([unet.class_embedding.weight], lr=5e-2)
    scheduler = training_scheduler()
    stretch = plain_stretch(samples)
    torch.manual_seed(seed)
    set_torch_threads()
    unet.train()
    for step in range(steps):
        rng = np.random.default_rng([seed, step])
        pairs = [real_pair(samples[rng.integers(len(samples))], rng, crop_width) for _ in range(batch_size)]
        cond = torch.from_numpy(to_tensor_range([c for c, _ in pairs]))
        x0 = torch.from_numpy(to_tensor_range([t for _, t in pairs]))
        noise = torch.randn_like(x0)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size,))
        noisy = scheduler.add_noise(x0, noise, t)
        labels = torch.full((batch_size,), new_id)
        pred = unet(torch.cat([noisy, cond], dim=1), t, class_labels=labels).sample
        loss = torch.nn.functional.mse_loss(pred, scheduler.get_velocity(x0, noise, t))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        keep = torch.zeros_like(unet.class_embedding.weight.grad)
        keep[new_id] = 1.0
        unet.class_embedding.weight.grad *= keep  # only the new style's row learns
        optimizer.step()
    unet.eval()
    chars = "".join(sorted(meta.charset))  # glyph boxes come from the plain font, which has them all
    name = Path(style_dir).resolve().name
    meta.styles.append(Style(name=name, font_file=None, stretch=stretch, charset=chars))
    meta.recipe = {**meta.recipe, "personalized": {"style": name, "samples": len(samples), "steps": steps}}
    out = Path(output)
    shutil.rmtree(out, ignore_errors=True)
    save_generator(out, unet, meta)
    return str(out), new_id
