"""Line images: the plain-font conditioning image and augmented handwriting-font targets.

The generator is told what to write by an image of the text in a plain font whose glyphs sit
in the boxes the target hand will use (its advance widths). The UNet then only has to restyle
each box, not re-align a whole line, which is what lets a small model learn it on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pipeline.handwriting.fonts import PLAIN_FONT, HandwritingFont

LINE_HEIGHT = 32  # pixels of a generated line
SUPERSAMPLE = 2  # glyphs are drawn at twice the size, then reduced (anti-aliasing)
WIDTH_MULTIPLE = 8  # the UNet halves the width three times
MARGIN = 6  # blank pixels left and right of the text
BODY_SHARE = 0.78  # share of the line height from the tallest ascender to the lowest descender
# A hand whose x-height would be under MIN_X_HEIGHT output pixels at BODY_SHARE (a school
# cursive's tall loops, as in Ecolier-court) is drawn larger, up to MAX_BODY_SHARE: smaller, the
# generator blurs hairline letters into an unreadable band (figures: the model card).
MIN_X_HEIGHT = 6.0
MAX_BODY_SHARE = 0.97
_PROBE = "ÁÉHbdfghjklpqyÇ|"


@dataclass(frozen=True)
class LineLayout:
    """Where the glyphs of a hand go: the font whose advances it uses, scaled by `stretch`."""

    font_path: str
    stretch: float = 1.0
    # the hand is grown to this x-height (see MIN_X_HEIGHT); a generator lays out its lines by
    # the rule it was trained with, and 0 (never grown) is the rule before growth existed
    min_x_height: float = MIN_X_HEIGHT


def _extent(font: ImageFont.FreeTypeFont) -> tuple[int, int]:
    """Top and bottom of the tallest ascender and lowest descender, relative to the baseline."""
    top, bottom = font.getbbox(_PROBE, anchor="ls")[1::2]
    return top, bottom


def _span(font: ImageFont.FreeTypeFont) -> int:
    top, bottom = _extent(font)
    return bottom - top


def _x_height(font: ImageFont.FreeTypeFont) -> int:
    return -font.getbbox("x", anchor="ls")[1]


@lru_cache(maxsize=64)
def _font(path: str, min_x_height: float = MIN_X_HEIGHT) -> tuple[ImageFont.FreeTypeFont, int]:
    """The font at the size that fills BODY_SHARE of a supersampled line (more for a hand whose
    x-height is under `min_x_height`, see MIN_X_HEIGHT), and its baseline."""
    canvas = LINE_HEIGHT * SUPERSAMPLE
    size = canvas
    font = ImageFont.truetype(path, size)
    while size > 4 and _span(font) > BODY_SHARE * canvas:
        size -= 1
        font = ImageFont.truetype(path, size)
    while _x_height(font) < min_x_height * SUPERSAMPLE:
        larger = ImageFont.truetype(path, size + 1)
        if _span(larger) > MAX_BODY_SHARE * canvas:
            break
        size, font = size + 1, larger
    top, bottom = _extent(font)
    baseline = round((canvas - (bottom - top)) / 2 - top)
    return font, baseline


def sizing() -> dict[str, float]:
    """The rule that sizes each hand in the line, for a generator's recipe (it changed once)."""
    return {"line_height": LINE_HEIGHT, "body_share": BODY_SHARE, "min_x_height": MIN_X_HEIGHT,
            "max_body_share": MAX_BODY_SHARE}


def padded_width(width: float) -> int:
    return max(WIDTH_MULTIPLE, math.ceil(width / WIDTH_MULTIPLE) * WIDTH_MULTIPLE)


def glyph_boxes(text: str, layout: LineLayout) -> np.ndarray:
    """x of each glyph boundary (len(text) + 1 values) in supersampled pixels."""
    font, _ = _font(layout.font_path, layout.min_x_height)
    advances = [font.getlength(text[:i]) for i in range(len(text) + 1)]
    return MARGIN * SUPERSAMPLE + np.asarray(advances) * layout.stretch


def line_width(text: str, layout: LineLayout) -> int:
    """Width in output pixels of the line that writes `text` with this layout."""
    return padded_width(glyph_boxes(text, layout)[-1] / SUPERSAMPLE + MARGIN)


def _reduce(image: Image.Image, width: int) -> np.ndarray:
    small = image.resize((width, LINE_HEIGHT), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8)


def render_condition(text: str, layout: LineLayout, width: int | None = None) -> np.ndarray:
    """The text in the plain font, each glyph centred (and narrowed if needed) in its box."""
    boxes = glyph_boxes(text, layout)
    width = width or line_width(text, layout)
    plain, baseline = _font(PLAIN_FONT)
    canvas = Image.new("L", (width * SUPERSAMPLE, LINE_HEIGHT * SUPERSAMPLE), 255)
    for ch, left, right in zip(text, boxes[:-1], boxes[1:]):
        if ch.isspace():
            continue
        glyph_w = max(1, math.ceil(plain.getlength(ch)))
        glyph = Image.new("L", (glyph_w, canvas.height), 255)
        ImageDraw.Draw(glyph).text((0, baseline), ch, font=plain, fill=0, anchor="ls")
        box_w = max(1, int(right - left))
        if glyph_w > box_w:
            glyph = glyph.resize((box_w, canvas.height), Image.Resampling.LANCZOS)
        canvas.paste(glyph, (int((left + right - glyph.width) / 2), 0))
    return _reduce(canvas, width)


@dataclass(frozen=True)
class Augment:
    """Ranges for the random look of a training line (what real pages vary in)."""

    slant: tuple[float, float] = (-0.12, 0.28)
    # A hand's baseline wanders slowly along the line (a wave of this amplitude, output pixels,
    # over `drift_period` pixels); each glyph then sits a little off it (std `baseline_jitter`).
    # Independent jumps of every glyph tear the joins of cursive hands apart, which no writer does.
    baseline_drift: float = 0.6
    drift_period: tuple[float, float] = (120.0, 400.0)
    baseline_jitter: float = 0.2
    # Every range below was narrowed after Tesseract read augmented font lines
    # (bench/bench_augmentation.py): a bolder stroke fills the counters of small-bodied hands, and
    # faint ink on dark paper with strong noise is a scan's trouble, which a recognizer's own
    # training adds cheaply; the generator's job is the hand.
    stroke: tuple[int, ...] = (0,)
    ink: tuple[int, int] = (0, 60)
    paper: tuple[int, int] = (225, 255)
    noise: tuple[float, float] = (0.0, 5.0)
    blur: tuple[float, float] = (0.0, 0.5)


NO_AUGMENT = Augment(slant=(0.0, 0.0), baseline_drift=0.0, baseline_jitter=0.0, stroke=(0,), ink=(0, 0),
                     paper=(255, 255), noise=(0.0, 0.0), blur=(0.0, 0.0))


def baseline_offsets(text: str, lefts: np.ndarray, augment: Augment, rng: np.random.Generator) -> list[float]:
    """Vertical offset of each glyph (supersampled pixels; `lefts` its left edges, same units):
    a slow wave along the line plus a little independent jitter; 0 for spaces."""
    period = rng.uniform(*augment.drift_period) * SUPERSAMPLE
    phase = rng.uniform(0.0, 2 * math.pi)
    offsets = []
    for ch, left in zip(text, lefts):
        dy = 0.0
        if not ch.isspace():
            dy = augment.baseline_drift * math.sin(2 * math.pi * left / period + phase) * SUPERSAMPLE
            if augment.baseline_jitter:
                dy += rng.normal(0.0, augment.baseline_jitter) * SUPERSAMPLE
        offsets.append(dy)
    return offsets


def render_handwriting(text: str, font: HandwritingFont, rng: np.random.Generator,
                       augment: Augment = Augment(), width: int | None = None) -> np.ndarray:
    """The text in a handwriting font with random slant, jitter, stroke, ink and paper."""
    layout = LineLayout(font.path)
    boxes = glyph_boxes(text, layout)
    width = width or line_width(text, layout)
    hand, baseline = _font(font.path)
    canvas = Image.new("L", (width * SUPERSAMPLE, LINE_HEIGHT * SUPERSAMPLE), 255)
    draw = ImageDraw.Draw(canvas)
    stroke = int(rng.choice(augment.stroke))
    for ch, left, dy in zip(text, boxes[:-1], baseline_offsets(text, boxes[:-1], augment, rng)):
        if ch.isspace():
            continue
        draw.text((float(left), baseline + dy), ch, font=hand, fill=0, anchor="ls",
                  stroke_width=stroke, stroke_fill=0)
    slant = rng.uniform(*augment.slant)
    if slant:
        # x' = x + slant * (y - centre): shear about the middle of the line.
        centre = canvas.height / 2
        canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, slant, -slant * centre, 0, 1, 0),
                                  resample=Image.Resampling.BILINEAR, fillcolor=255)
    ink = rng.uniform(*augment.ink)
    paper = rng.uniform(*augment.paper)
    line = _reduce(canvas, width).astype(np.float32) / 255.0  # 0 ink .. 1 paper
    line = ink + line * (paper - ink)
    noise = rng.uniform(*augment.noise)
    if noise:
        line = line + rng.normal(0.0, noise, line.shape)
    out = Image.fromarray(np.clip(line, 0, 255).astype(np.uint8))
    blur = rng.uniform(*augment.blur)
    if blur > 0.05:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(out, dtype=np.uint8)
