"""How tall a page's text is, in pixels, from its connected components, and the scale that
brings small text to the size OCR engines read best.

An image with no DPI in its metadata is assumed 300 DPI; a screenshot or a screen-resolution
table crop then has text 7 to 12 px high, which Tesseract reads as garbage, and an 8 x 8 digit
as nothing. The character height is the median height of the ink components shaped like
characters (not rules, borders or specks).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

import numpy as np

from pipeline.run.devices import thread_limit


LARGE_PAGE = 1_000_000  # pixels
BASELINE_CROWD = 3.0  # a baseline row ends this many times the components of the rows around it
LETTER_SHARE = 0.25  # of the character-shaped components, the share on baselines that says "text"


@dataclass(frozen=True)
class TextSizeRules:
    small: float = 16.0  # px: text below this median character height is scaled up
    target: float = 28.0  # px: the character height it is scaled to (bench/README.md: Tesseract's best)
    max_scale: float = 8.0
    min_components: int = 1


def grey_of(pixels: np.ndarray) -> np.ndarray:
    """A page's pixels as grey (through PIL: numpy's mean over an RGB page costs 0.4 s at 300 DPI)."""
    if pixels.ndim == 2:
        return pixels
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).convert("L"))


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Ink mask by Otsu's threshold; light text on a dark ground counts as ink too."""
    from PIL import Image

    grey = np.ascontiguousarray(grey)  # PIL copies a strided view slowly
    hist = np.asarray(Image.fromarray(grey).histogram(), dtype=np.float64)  # a third of numpy's bincount's time
    total = hist.sum()
    levels = np.arange(256)
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * levels)
    between = (mean[-1] * weight / total - mean) ** 2 / np.maximum(weight * (total - weight), 1e-9)
    threshold = int(np.argmax(between))
    ink = grey <= threshold
    return ~ink if 2 * np.count_nonzero(ink) > ink.size else ink


@dataclass(frozen=True)
class Component:
    height: int  # px, at the mask's full resolution
    width: int
    pixels: int
    top: int  # px from the page's top-left, at the mask's full resolution
    left: int


def components(ink: np.ndarray, step: int = 1, min_height: int = 0) -> list[Component]:
    """The 8-connected components of an ink mask at least `min_height` px high, measured on every
    `step`-th pixel (a quarter of the labelling at step 2) and given back in full-resolution
    pixels."""
    mask = np.ascontiguousarray(ink[::step, ::step], dtype=np.uint8)
    if not mask.size:
        return []  # OpenCV crashes the process on an empty image
    cv2 = opencv()
    # OpenCV's labelling gives each component's box and size in one pass
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:count]
    # dropped before they become objects: a grainy page has a hundred thousand specks
    stats = stats[step * stats[:, 3] >= min_height] if min_height else stats
    return [Component(step * h, step * w, step * step * n, step * top, step * left)
            for left, top, w, h, n in stats.tolist()]


@lru_cache(maxsize=1)
def opencv() -> ModuleType:
    """OpenCV, on the thread budget of a reader."""
    import cv2

    cv2.setNumThreads(thread_limit())  # one reader, one thread, as Tesseract and onnxruntime
    return cv2


def character_height(grey: np.ndarray) -> tuple[float | None, int]:
    """(median character height in px, or None when no character-like ink; components counted)."""
    grey = grey_of(grey)
    if grey.size == 0 or int(grey.max()) - int(grey.min()) < 32:
        return None, 0
    # a large page is measured at half resolution: text small enough to matter (under `small`
    # px) is still 3 px or more there
    step = 2 if grey.size > LARGE_PAGE else 1
    page_height = grey.shape[0]
    tallest = page_height if page_height < 64 else page_height / 4
    shaped = [c for c in components(ink_mask(grey), step, min_height=3) if c.height <= tallest and c.width <= 4 * c.height]
    aligned = on_baselines(shaped, page_height)
    if len(aligned) < LETTER_SHARE * len(shaped):  # mostly specks or grain: no text size to tell
        return None, 0
    heights = [c.height for c in aligned]
    if not heights:
        return None, 0
    return float(np.median(heights)), len(heights)


def on_baselines(found: list[Component], page_height: int) -> list[Component]:
    """The components whose bottoms line up with many others: the letters of a line end on one
    row, a peak among the rows around it; scan noise and paper grain end on every row alike
    (they would read as tiny text)."""
    from scipy.ndimage import uniform_filter1d

    if not found:
        return []
    bottoms = np.array([min(c.top + c.height, page_height) for c in found])
    counts = np.bincount(bottoms, minlength=page_height + 1).astype(float)
    near = 3 * uniform_filter1d(counts, 3, mode="constant")  # a baseline row, ±1 row
    window = 2 * int(2 * np.median([c.height for c in found])) + 9  # a few line heights around it
    around = uniform_filter1d(near, window, mode="constant")
    busy = near >= BASELINE_CROWD * np.maximum(around, 1.0 / window)
    return [c for c, bottom in zip(found, bottoms) if busy[bottom]]


def upscale_factor(grey: np.ndarray, rules: TextSizeRules = TextSizeRules()) -> float:
    """1.0, or the factor that brings the page's small text to `rules.target` px."""
    height, count = character_height(grey)
    if height is None or count < rules.min_components or height >= rules.small:
        return 1.0
    return float(min(rules.max_scale, rules.target / height))
