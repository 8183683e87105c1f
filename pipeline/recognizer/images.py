"""One training line's pixels: read or cut from its image or document, checked, augmented."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter, ImageOps

import connectors
from pipeline.page.documents import eight_bit


class LineImageError(ValueError):
    """A line whose pixels cannot be used; the message is the reason the training log counts."""


@lru_cache(maxsize=4)
def _page_image(uri: str, exif: bool) -> Image.Image:
    image = Image.open(io.BytesIO(connectors.read_bytes(uri)))
    image.load()
    return ImageOps.exif_transpose(image) if exif else image


@lru_cache(maxsize=2)
def _document_page(uri: str, page: int) -> Image.Image:
    from pipeline.page.documents import RenderSpec, open_document
    from pipeline.run.config import RenderConfig

    cfg = RenderConfig()
    document = open_document(connectors.read_bytes(uri), cfg)
    return Image.fromarray(document.render(page - 1, cfg, RenderSpec(mode="L")).pixels)


def read_line(row: dict) -> Image.Image:
    """The grey line image a stream row names: its PNG bytes, a whole image file, a box on a
    page image (EXIF-oriented when the XML said so), or a box on a rendered document page."""
    try:
        if row.get("png") is not None:
            image = Image.open(io.BytesIO(row["png"]))
        elif row.get("page"):
            page = _document_page(row["uri"], int(row["page"]))
            x0, y0, x1, y1 = row["box"]
            image = page.crop((int(x0 * page.width), int(y0 * page.height), int(x1 * page.width), int(y1 * page.height)))
        elif row.get("box") is not None:
            page = _page_image(row["uri"], bool(row.get("exif")))
            x0, y0, x1, y1 = (int(round(v)) for v in row["box"])
            image = page.crop((max(0, x0), max(0, y0), min(page.width, x1), min(page.height, y1)))
        else:
            image = Image.open(io.BytesIO(connectors.read_bytes(row["uri"])))
        image = eight_bit(image).convert("L")
    except (OSError, ValueError, SyntaxError) as exc:  # PIL raises all three for broken files
        raise LineImageError("corrupt image") from exc
    except Exception as exc:  # a document the renderer refuses
        raise LineImageError(f"unreadable source ({type(exc).__name__})") from exc
    if row.get("rotation"):
        image = image.rotate(-float(row["rotation"]), expand=True, fillcolor=255)
    if image.width < 4 or image.height < 4:
        raise LineImageError("empty line box")
    if not has_ink(np.asarray(image)):
        raise LineImageError("no ink")
    return image


def has_ink(gray: np.ndarray) -> bool:
    """Some pixels clearly darker than the paper: a blank or flat crop teaches nothing."""
    paper = float(np.percentile(gray, 90))
    return float(np.percentile(gray, 1)) < paper - 40


def augment(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """What differs between hands and scans that a few thousand lines cannot show: slant,
    stroke width, scale, contrast, blur, noise."""
    w, h = image.size
    shear = rng.uniform(-0.3, 0.3)
    scale = rng.uniform(0.85, 1.1)
    image = image.transform((int(w * scale + abs(shear) * h), int(h * scale)), Image.Transform.AFFINE,
                            (1 / scale, shear, -shear * h * scale if shear > 0 else 0, 0, 1 / scale, 0),
                            resample=Image.Resampling.BILINEAR, fillcolor=255)
    stroke = rng.random()
    if stroke < 0.2:
        image = image.filter(ImageFilter.MinFilter(3))  # bolder ink
    elif stroke < 0.35:
        image = image.filter(ImageFilter.MaxFilter(3))  # thinner ink
    pixels = np.asarray(image, dtype=np.float32)
    low, high = rng.uniform(0, 80), rng.uniform(170, 255)
    pixels = low + pixels / 255.0 * (high - low)
    pixels += rng.normal(0, rng.uniform(0, 8), pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pad = [int(v) for v in rng.integers(0, 12, 4)]  # loose and tight crops both occur
    return ImageOps.expand(image, border=(pad[0], pad[1] // 2, pad[2], pad[3] // 2), fill=int(high))
