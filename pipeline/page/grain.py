"""Whether a page is grainy: noise dense enough that a threshold over the whole page turns the
paper itself into ink.

Tesseract binarizes with Otsu's global threshold by default. On a page with sensor-like noise
(a grey-level scan or a photo taken in poor light) part of the paper falls under that threshold
as tens of thousands of specks per megapixel; Tesseract then lays out the specks for a minute or
more and reads nothing. A local (Sauvola) threshold reads such a page in a fraction of a second.
The measurements that set the threshold are in docs/accuracy.md (grainy pages).
"""

from __future__ import annotations

import numpy as np

from pipeline.page.text_size import grey_of, ink_mask, opencv

SAMPLE_STEP = 2  # every 2nd pixel: noise stays specks, a letter stays a component of several pixels
SPECK_PIXELS = 2  # a component this small in the sample is a speck, not a letter or a dot
GRAINY_SPECKS = 15_000  # specks per megapixel of the sample from which a page is grainy
# Tesseract's thresholding_method values: Otsu over the whole page (its default, and the faster
# on a clean page) and tiled Sauvola
OTSU, SAUVOLA = "0", "2"
SMOOTHING = 1.0  # px: the Gaussian that averages grain out before Otsu's threshold; strokes stay ink


def speck_density(pixels: np.ndarray) -> float:
    """Specks (components of at most SPECK_PIXELS under Otsu's threshold) per megapixel of the
    page sampled at every SAMPLE_STEP-th pixel."""
    sample = np.ascontiguousarray(grey_of(pixels)[::SAMPLE_STEP, ::SAMPLE_STEP])
    if not sample.size:
        return 0.0
    ink = ink_mask(sample)
    # OpenCV's labelling gives every component's size in one pass (a Python object per speck
    # would cost more than the labelling)
    count, _, stats, _ = opencv().connectedComponentsWithStats(ink.view(np.uint8), connectivity=8)
    specks = int(np.count_nonzero(stats[1:count, 4] <= SPECK_PIXELS))
    return specks / (sample.size / 1e6)


def grainy(pixels: np.ndarray) -> bool:
    return speck_density(pixels) >= GRAINY_SPECKS


def tesseract_thresholding(pixels: np.ndarray) -> str:
    """The thresholding_method Tesseract binarizes this page with: Sauvola for a grainy page."""
    return SAUVOLA if grainy(pixels) else OTSU


def ink(grey: np.ndarray, grainy_page: bool) -> np.ndarray:
    """The ink mask of a page or a part of it, by Otsu's threshold; on a grainy page after
    smoothing, so that its paper does not count as ink."""
    if grainy_page:
        grey = opencv().GaussianBlur(np.ascontiguousarray(grey), (0, 0), SMOOTHING)
    return ink_mask(grey)
