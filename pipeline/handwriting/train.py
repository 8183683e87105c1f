"""The training recipe: v-prediction diffusion on (conditioning image, line) crops.

Classifier-free guidance is learned by blanking the conditioning image (and, separately, the
style) on a share of the steps. Every step draws its batch and noise from generators seeded by (seed, step), so the next
batch renders in a thread while the UNet trains, and a run resumed from a checkpoint (UNet,
EMA, optimizer) sees exactly the batches the uninterrupted run would have.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DModel
from diffusers.training_utils import EMAModel

from pipeline.run.devices import set_torch_threads
from pipeline.handwriting.fonts import PLAIN_FONT, HandwritingFont, discover_fonts, missing_fonts_hint
from pipeline.handwriting.model import (GeneratorMeta, Style, UNetShape, build_unet, check_model_folder, save_generator,
                                        training_scheduler)
from pipeline.handwriting.render import Augment, LineLayout, line_width, sizing
from pipeline.handwriting.training_data import LineSample, font_pair, load_line_folder, plain_stretch, real_pair, to_tensor_range

log = logging.getLogger("augment")
KEEP_CHECKPOINTS = 2


@dataclass
class TrainConfig:
    output: str
    data: str = "fonts"  # "fonts", or a folder of real line images with their texts
    steps: int = 3000
    batch_size: int = 16
    crop_width: int = 128
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    cond_dropout: float = 0.1  # share of steps with a blank conditioning image (for guidance)
    style_dropout: float = 0.1  # share of steps with the "any hand" style label
    ema_decay: float = 0.999
    checkpoint_every: int = 250
    seed: int = 0
    resume: bool = False
    shape: UNetShape = field(default_factory=UNetShape)
    device: str = "auto"
    fonts: list[str] | None = None  # font files; None = every installed handwriting font
    init_from: str | None = None  # a generator folder to start from (same styles), e.g. to train longer
    # style name -> how often it is drawn relative to the others (1.0): more steps for the hands
    # the generator writes worst, at the cost of those it already writes well
    style_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainingSet:
    """Where the batches come from: font styles first, then the real-line style if any."""

    fonts: list[HandwritingFont]
    real: list[LineSample]
    real_stretch: float = 1.0
    style_share: np.ndarray | None = None  # probability of each style; None = uniform

    def weigh(self, weights: dict[str, float]) -> None:
        """Draw the named styles `weight` times as often as the others."""
        names = [s.name for s in self.styles()]
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(f"style weights for {unknown}: not styles of this data ({', '.join(names)})")
        if not all(np.isfinite(w) and w > 0 for w in weights.values()):
            raise ValueError(f"style weights must be positive numbers: {weights}")
        if weights:
            raw = np.asarray([weights.get(name, 1.0) for name in names], dtype=np.float64)
            self.style_share = raw / raw.sum()

    @property
    def num_styles(self) -> int:
        return len(self.fonts) + (1 if self.real else 0)

    def styles(self) -> list[Style]:
        styles = [Style(f.name, Path(f.path).name, _font_stretch(f), "".join(sorted(f.charset))) for f in self.fonts]
        if self.real:
            chars = "".join(sorted({ch for s in self.real for ch in s.text} | {" "}))
            styles.append(Style("real-lines", None, self.real_stretch, chars))
        return styles

    def batch(self, rng: np.random.Generator, size: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        conds, targets, labels = [], [], []
        for _ in range(size):
            style = int(rng.integers(self.num_styles) if self.style_share is None
                        else rng.choice(self.num_styles, p=self.style_share))
            if style < len(self.fonts):
                cond, target = font_pair(self.fonts[style], rng, width)
            else:
                cond, target = real_pair(self.real[rng.integers(len(self.real))], rng, width)
            conds.append(cond)
            targets.append(target)
            labels.append(style)
        return to_tensor_range(conds), to_tensor_range(targets), np.asarray(labels)


def _font_stretch(font: HandwritingFont) -> float:
    """Width of this font relative to the plain font: the layout when the font is missing."""
    sample = "The quick brown fox jumps over the lazy dog"
    return line_width(sample, LineLayout(font.path)) / line_width(sample, LineLayout(PLAIN_FONT))


def training_set(config: TrainConfig) -> TrainingSet:
    fonts = discover_fonts(config.fonts)
    if config.data == "fonts":
        if not fonts:
            raise RuntimeError(missing_fonts_hint())
        data = TrainingSet(fonts, [])
    else:
        real = load_line_folder(config.data)
        data = TrainingSet(fonts, real, plain_stretch(real))
    data.weigh(config.style_weights)
    return data


def _device(choice: str) -> str:
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def _checkpoints(output: Path) -> list[Path]:
    return sorted((output / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))


def _save_checkpoint(output: Path, step: int, unet: UNet2DModel, ema: EMAModel, optimizer: torch.optim.Optimizer) -> None:
    final = output / "checkpoints" / f"step-{step}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    unet.save_pretrained(tmp / "unet")
    torch.save({"ema": ema.state_dict(), "optimizer": optimizer.state_dict()}, tmp / "state.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step}))
    tmp.rename(final)  # a checkpoint is complete or absent, never half-written
    for old in _checkpoints(output)[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)


def _initial_weights(folder: str, data: TrainingSet) -> UNet2DModel:
    """Start from a trained generator (its weights in float32): same styles, in the same order,
    or the style labels would mean other hands."""
    check_model_folder(folder)
    theirs = [s.name for s in GeneratorMeta.load(folder).styles]
    ours = [s.name for s in data.styles()]
    if theirs != ours:
        raise ValueError(f"--init-from {folder} was trained on styles {theirs}, this data has {ours}: "
                         "train from scratch, or install the same fonts")
    print(f"augment: starting from the weights of {folder}", flush=True)
    return UNet2DModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float32)


def train(config: TrainConfig) -> Path:
    """Train (or resume) and write the final generator folder to config.output; return it."""
    output = Path(config.output)
    data = training_set(config)
    device = _device(config.device)
    set_torch_threads()
    torch.manual_seed(config.seed)
    step = 0
    checkpoints = _checkpoints(output) if config.resume else []
    if checkpoints:
        last = checkpoints[-1]
        unet = UNet2DModel.from_pretrained(last / "unet")
    elif config.init_from:
        unet = _initial_weights(config.init_from, data)
    else:
        if config.resume:
            print(f"augment: no checkpoint under {output}/checkpoints; starting from step 0", flush=True)
        unet = build_unet(data.num_styles, config.shape)
    unet.to(device).train()
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.learning_rate, weight_decay=0.0)
    ema = EMAModel(unet.parameters(), decay=config.ema_decay, use_ema_warmup=True)
    if checkpoints:
        state = torch.load(last / "state.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        ema.load_state_dict(state["ema"])
        step = json.loads((last / "state.json").read_text())["step"]
        print(f"augment: resuming from {last} (step {step})", flush=True)
    ema.to(device)
    scheduler = training_scheduler()
    amp = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else None
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / config.warmup_steps) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / config.steps))),
        last_epoch=step - 1 if step else -1)
    if step:
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * schedule.lr_lambdas[0](step)
    started, losses = time.time(), []
    null = data.num_styles

    def batch_for(n: int):
        return data.batch(np.random.default_rng([config.seed, n]), config.batch_size, config.crop_width)

    prefetch = ThreadPoolExecutor(max_workers=1)
    upcoming = prefetch.submit(batch_for, step)
    while step < config.steps:
        cond, target, labels = upcoming.result()
        if step + 1 < config.steps:
            upcoming = prefetch.submit(batch_for, step + 1)
        gen = torch.Generator(device=device).manual_seed(config.seed * 1_000_003 + step)
        cond_t = torch.from_numpy(cond).to(device)
        x0 = torch.from_numpy(target).to(device)
        labels_t = torch.from_numpy(labels).to(device)
        blank = torch.rand(len(labels), device=device, generator=gen) < config.cond_dropout
        cond_t = torch.where(blank[:, None, None, None], torch.full_like(cond_t, -1.0), cond_t)
        labels_t = torch.where(torch.rand(len(labels), device=device, generator=gen) < config.style_dropout,
                               null, labels_t)
        noise = torch.randn(x0.shape, device=device, generator=gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(labels),), device=device, generator=gen)
        noisy = scheduler.add_noise(x0, noise, t)
        with torch.autocast(device_type="cuda", dtype=amp, enabled=amp is not None):
            pred = unet(torch.cat([noisy, cond_t], dim=1), t, class_labels=labels_t).sample
        loss = torch.nn.functional.mse_loss(pred.float(), scheduler.get_velocity(x0, noise, t))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        ema.step(unet.parameters())
        step += 1
        losses.append(loss.item())
        if step % 50 == 0 or step == config.steps:
            rate = (time.time() - started) / len(losses)
            print(f"augment: step {step}/{config.steps} loss {np.mean(losses[-50:]):.4f} "
                  f"{rate:.2f} s/step, about {rate * (config.steps - step) / 60:.0f} min left", flush=True)
        if step % config.checkpoint_every == 0 and step < config.steps:
            _save_checkpoint(output, step, unet, ema, optimizer)
    prefetch.shutdown()
    ema.copy_to(unet.parameters())
    recipe = {k: v for k, v in asdict(config).items() if k not in {"output", "resume", "device", "init_from"}}
    if config.init_from:  # the recipe says how the weights were made: all of it, not the last leg
        earlier = GeneratorMeta.load(config.init_from).recipe
        recipe["continued_from"] = {"folder": Path(config.init_from).name, "recipe": earlier}
    recipe["augment"] = asdict(Augment())  # what the font targets were drawn with (it has changed between legs)
    recipe["sizing"] = sizing()  # and at what size
    recipe["final_loss"] = float(np.mean(losses[-100:])) if losses else None
    save_generator(output, unet.cpu(), GeneratorMeta(styles=data.styles(), recipe=recipe))
    print(f"augment: generator written to {output}", flush=True)
    return output
