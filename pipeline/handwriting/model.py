"""The generator on disk: a diffusers UNet + scheduler folder, plus what the styles are.

Folder layout (diffusers' own, so any checkpoint of this architecture loads):
  unet/             UNet2DModel (input: noisy line + conditioning image; class label = style)
  scheduler/        the noise schedule it was trained with
  handwriting.json  styles (name, font file, advance stretch, charset), line height, recipe
  README.md         model card
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, UNet2DModel

from pipeline.handwriting.fonts import PLAIN_FONT
from pipeline.handwriting.render import LINE_HEIGHT, LineLayout

META_FILE = "handwriting.json"
SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "handwriting-small"


@dataclass(frozen=True)
class Style:
    name: str
    font_file: str | None  # basename of the font whose advances lay out the glyph boxes
    stretch: float  # advance multiplier (on font_file, or on the plain font when it is missing)
    charset: str


@dataclass
class GeneratorMeta:
    styles: list[Style]
    line_height: int = LINE_HEIGHT
    recipe: dict = field(default_factory=dict)

    @property
    def null_style(self) -> int:
        """Class label meaning "any hand": dropped style during training, guidance baseline."""
        return len(self.styles)

    @property
    def min_x_height(self) -> float:
        """The sizing rule the generator was trained with; one from before the rule was
        recorded never grew a hand (0)."""
        return float(self.recipe.get("sizing", {}).get("min_x_height", 0.0))

    @property
    def charset(self) -> frozenset[str]:
        return frozenset("".join(s.charset for s in self.styles))

    def save(self, folder: str | os.PathLike) -> None:
        Path(folder, META_FILE).write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "GeneratorMeta":
        raw = json.loads(Path(folder, META_FILE).read_text(encoding="utf-8"))
        return cls(styles=[Style(**s) for s in raw["styles"]], line_height=raw["line_height"],
                   recipe=raw.get("recipe", {}))


def layout_for(style: Style, font_dirs: dict[str, str], min_x_height: float) -> LineLayout:
    """Glyph boxes of a style: its own font when installed (sized by the generator's rule, see
    GeneratorMeta.min_x_height), else the plain font stretched."""
    path = font_dirs.get(style.font_file or "")
    if path:
        return LineLayout(path, min_x_height=min_x_height)
    return LineLayout(PLAIN_FONT, style.stretch)


@dataclass(frozen=True)
class UNetShape:
    """Size of the UNet; the default is what the shipped model uses (about 8 MB in fp16)."""

    channels: tuple[int, ...] = (48, 96, 192)
    layers_per_block: int = 1
    attention_head_dim: int = 32


def build_unet(num_styles: int, shape: UNetShape = UNetShape()) -> UNet2DModel:
    """A small UNet over (noisy line, conditioning image); one class label per style + null."""
    attn_last = ("DownBlock2D",) * (len(shape.channels) - 1) + ("AttnDownBlock2D",)
    return UNet2DModel(
        sample_size=(LINE_HEIGHT, 256),
        in_channels=2,
        out_channels=1,
        block_out_channels=shape.channels,
        layers_per_block=shape.layers_per_block,
        down_block_types=attn_last,
        up_block_types=("AttnUpBlock2D",) + ("UpBlock2D",) * (len(shape.channels) - 1),
        norm_num_groups=16,
        attention_head_dim=shape.attention_head_dim,
        num_class_embeds=num_styles + 1,
    )


def training_scheduler() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                         prediction_type="v_prediction", clip_sample=False)


SAMPLERS = {"ddim": DDIMScheduler, "dpm": DPMSolverMultistepScheduler}


def sampling_scheduler(folder: str | os.PathLike, sampler: str):
    """The few-step sampler, built from the saved training schedule."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
    return SAMPLERS[sampler].from_pretrained(folder, subfolder="scheduler")


def check_model_folder(folder: str | os.PathLike) -> Path:
    """A clear error for a --model that is not a generator folder."""
    path = Path(folder)
    if not (path / "unet" / "config.json").exists():
        raise FileNotFoundError(f"{folder}: not a handwriting generator (no unet/config.json); "
                                f"train one with `python jobs/augment.py train` or use {SHIPPED_MODEL}")
    if not (path / "scheduler").exists():
        raise FileNotFoundError(f"{folder}: no scheduler/ folder beside unet/")
    return path


def load_unet(folder: str | os.PathLike, device: str, dtype: torch.dtype) -> UNet2DModel:
    unet = UNet2DModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype)
    return unet.to(device).eval()


def save_generator(folder: str | os.PathLike, unet: UNet2DModel, meta: GeneratorMeta,
                   dtype: torch.dtype = torch.float16) -> None:
    """Write unet/, scheduler/ and handwriting.json (weights in fp16: half the size, same output)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    unet.to(dtype).save_pretrained(folder / "unet")
    unet.to(torch.float32)
    training_scheduler().save_pretrained(folder / "scheduler")
    meta.save(folder)
