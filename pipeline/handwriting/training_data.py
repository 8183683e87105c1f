"""Training pairs (conditioning image, target line) from handwriting fonts or real line images.

Fonts give unlimited pairs with exact glyph boxes; a folder of real lines (labels.jsonl with
image and text, as in ../shared/data) gives a few pairs whose boxes are the plain font's,
stretched to the line's width. Both end as fixed-width crops for batching.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from pipeline.handwriting.fonts import PLAIN_FONT, HandwritingFont
from pipeline.handwriting.render import LINE_HEIGHT, LineLayout, line_width, render_condition, render_handwriting
from pipeline.page.documents import eight_bit

PHRASES = (Path(__file__).with_name("phrases.txt")).read_text(encoding="utf-8").splitlines()
_WORDS = sorted({w for line in PHRASES for w in line.split()})
_SYMBOLS = "0123456789.,;:!?'\"()-/&%+=*#@"


def sample_text(rng: np.random.Generator, charset: frozenset[str], length: int = 24) -> str:
    """A training text the font can write: a phrase window, shuffled words or random symbols.

    Phrases teach ordinary letter sequences in eight languages; random strings make sure every
    character of the font's charset (accents, digits, capitals) is seen.
    """
    mode = rng.random()
    if mode < 0.6:
        line = PHRASES[rng.integers(len(PHRASES))]
        start = int(rng.integers(max(1, len(line) - length)))
        text = line[start:start + length]
    elif mode < 0.9:
        text = " ".join(rng.choice(_WORDS, size=8))[:length]
    else:
        pool = sorted(charset - {" "})
        text = "".join(" " if rng.random() < 0.15 else pool[rng.integers(len(pool))] for _ in range(length))
    text = "".join(ch for ch in text if ch in charset).strip()
    return text or "abc"


@dataclass(frozen=True)
class LineSample:
    """A real line image and its text, for fine-tuning a style or training on real lines."""

    image: np.ndarray  # uint8, LINE_HEIGHT rows
    text: str


def load_line_folder(folder: str | Path) -> list[LineSample]:
    """Line images with their texts: labels.jsonl ({"image"|"file", "text"}) or NAME.txt beside NAME.png."""
    folder = Path(folder)
    pairs: list[tuple[Path, str]] = []
    labels = folder / "labels.jsonl"
    if labels.exists():
        for raw in labels.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                item = json.loads(raw)
                pairs.append((folder / (item.get("image") or item["file"]), item["text"]))
    else:
        for image in sorted(folder.iterdir()):
            sidecar = image.with_suffix(".txt")
            if image.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff"} and sidecar.exists():
                pairs.append((image, sidecar.read_text(encoding="utf-8").strip()))
    if not pairs:
        raise FileNotFoundError(f"{folder}: no line images with texts (labels.jsonl, or NAME.txt beside NAME.png)")
    samples = []
    for path, text in pairs:
        with Image.open(path) as im:
            gray = eight_bit(ImageOps.exif_transpose(im)).convert("L")
        width = max(8, round(gray.width * LINE_HEIGHT / gray.height))
        samples.append(LineSample(np.asarray(gray.resize((width, LINE_HEIGHT), Image.Resampling.LANCZOS)), text))
    return samples


def plain_stretch(samples: list[LineSample]) -> float:
    """How much wider than the plain font this hand writes (median over its lines)."""
    ratios = [s.image.shape[1] / line_width(s.text, LineLayout(PLAIN_FONT)) for s in samples if s.text]
    return float(np.median(ratios)) if ratios else 1.0


def _fit(image: np.ndarray, width: int) -> np.ndarray:
    if image.shape[1] >= width:
        return image[:, :width]
    return np.pad(image, ((0, 0), (0, width - image.shape[1])), constant_values=255)


def crop_pair(cond: np.ndarray, target: np.ndarray, width: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same random window of both images (white-padded when the line is short)."""
    full = max(cond.shape[1], target.shape[1])
    start = int(rng.integers(0, full - width + 1)) if full > width else 0
    return _fit(cond[:, start:], width), _fit(target[:, start:], width)


def font_pair(font: HandwritingFont, rng: np.random.Generator, width: int) -> tuple[np.ndarray, np.ndarray]:
    text = sample_text(rng, font.charset)
    layout = LineLayout(font.path)
    full = line_width(text, layout)
    return crop_pair(render_condition(text, layout, full), render_handwriting(text, font, rng, width=full), width, rng)


def real_pair(sample: LineSample, rng: np.random.Generator, width: int) -> tuple[np.ndarray, np.ndarray]:
    """A real line and its conditioning image, the plain font stretched to the line's own width."""
    plain = line_width(sample.text, LineLayout(PLAIN_FONT))
    layout = LineLayout(PLAIN_FONT, sample.image.shape[1] / max(1, plain))
    cond = render_condition(sample.text, layout, max(sample.image.shape[1], line_width(sample.text, layout)))
    return crop_pair(cond, sample.image, width, rng)


def to_tensor_range(images: list[np.ndarray]) -> np.ndarray:
    """uint8 lines -> float32 in [-1, 1], ink = +1 (blank paper is the -1 background)."""
    batch = np.stack(images).astype(np.float32)
    return (1.0 - batch / 127.5)[:, None]


def from_tensor_range(batch: np.ndarray) -> np.ndarray:
    return np.clip((1.0 - batch[:, 0]) * 127.5, 0, 255).round().astype(np.uint8)

