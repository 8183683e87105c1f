"""Small text found by itself: an image page whose characters are a few pixels high is scaled
up before OCR (flagged with the scale), a page of ordinary text is left as it is."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.engines.base import PageImage
from pipeline.engines.tesseract import TesseractEngine
from pipeline.page.documents import RenderSpec, open_document
from pipeline.page.text_size import character_height, upscale_factor
from pipeline.quality.metrics import cer
from pipeline.run.config import EngineConfig, RenderConfig
from tests.line_data import FONT

ROWS = ["Region    Cases    Rate", "North     1204     3.5", "South     877      2.9", "Coastal   3310     7.1"]


def _table_png(size: int) -> bytes:
    """A screen-resolution table crop: no DPI in the file, text `size` px high."""
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (int(size * 16), int(size * 1.8 * len(ROWS) + size)), 255)
    draw = ImageDraw.Draw(image)
    for i, row in enumerate(ROWS):
        draw.text((size // 2, size // 2 + i * size * 1.8), row, font=font, fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_character_height_follows_the_font_size():
    small = character_height(np.asarray(Image.open(io.BytesIO(_table_png(9)))))[0]
    large = character_height(np.asarray(Image.open(io.BytesIO(_table_png(36)))))[0]
    assert 4 <= small <= 10 and 22 <= large <= 40 and large > 3 * small
    assert upscale_factor(np.asarray(Image.open(io.BytesIO(_table_png(36))))) == 1.0
    assert character_height(np.full((50, 50), 255, np.uint8)) == (None, 0)  # blank: no guess


def test_a_small_text_image_is_scaled_up_flagged_and_read_better():
    data = _table_png(9)
    spec = RenderSpec(mode="L")
    scaled = open_document(data, RenderConfig()).render(0, RenderConfig(), spec)
    kept = open_document(data, RenderConfig(upscale_small_text=False)).render(0, RenderConfig(upscale_small_text=False), spec)
    flag = [f for f in scaled.flags if f.startswith("text_upscaled_x")]
    assert flag and float(flag[0].removeprefix("text_upscaled_x")) > 2.0
    assert scaled.pixels.shape[0] > 2 * kept.pixels.shape[0] and scaled.dpi > 2 * kept.dpi
    engine = TesseractEngine.load(EngineConfig())
    truth = "\n".join(ROWS)
    better = cer(truth, engine.recognize([PageImage(scaled.pixels, scaled.dpi)])[0].text)
    worse = cer(truth, engine.recognize([PageImage(kept.pixels, kept.dpi)])[0].text)
    assert better < 0.15 and better < worse - 0.1, (better, worse)


def test_an_ordinary_page_is_not_rescaled():
    page = open_document(_table_png(40), RenderConfig()).render(0, RenderConfig(), RenderSpec(mode="L"))
    assert not any(f.startswith("text_upscaled") for f in page.flags)


def test_scan_noise_and_paper_grain_are_not_taken_for_tiny_text():
    rng = np.random.default_rng(0)
    page = Image.new("L", (1700, 2200), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 34)
    for i in range(12):  # ordinary 34 px print...
        draw.text((120, 200 + i * 110), "The committee met on the third of May to review", font=font, fill=20)
    noisy = np.clip(np.asarray(page, dtype=np.float32) + rng.normal(0, 55, (2200, 1700)), 0, 255).astype(np.uint8)
    # ...under noise whose specks, thousands of them, are a few pixels high: not small text to scale up
    assert upscale_factor(noisy) == 1.0
    grain = np.where(rng.random((900, 1600)) < 0.12, 150, 215).astype(np.uint8)  # a textured ground, no writing
    assert character_height(grain)[0] is None and upscale_factor(grain) == 1.0


def test_ink_components_are_the_8_connected_blobs_measured_at_full_resolution():
    from scipy import ndimage

    from pipeline.page.text_size import Component, components

    mask = np.zeros((12, 20), bool)
    mask[1:5, 1:5] = True  # a square
    mask[np.arange(6, 11), np.arange(2, 7)] = True  # a diagonal stroke: one component, 8-connected
    mask[2:4, 12:19] = True  # a bar
    found = sorted(components(mask), key=lambda c: (c.top, c.left))
    assert found == [Component(4, 4, 16, 1, 1), Component(2, 7, 14, 2, 12), Component(5, 5, 5, 6, 2)]
    assert components(np.zeros((0, 8), bool)) == [] and components(np.zeros((8, 8), bool)) == []
    # every step: the same boxes and sizes as scipy's labelling of the sampled mask, scaled back
    noisy = np.random.default_rng(0).random((90, 70)) < 0.35
    for step in (1, 2):
        labels, _ = ndimage.label(noisy[::step, ::step], structure=np.ones((3, 3), bool))
        sizes = np.bincount(labels.ravel())
        expected = sorted((step * b[0].start, step * b[1].start, step * (b[0].stop - b[0].start),
                           step * (b[1].stop - b[1].start), step * step * int(sizes[i]))
                          for i, b in enumerate(ndimage.find_objects(labels), start=1))
        assert sorted((c.top, c.left, c.height, c.width, c.pixels) for c in components(noisy, step)) == expected
