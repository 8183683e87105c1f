"""The rapidocr engine (PP-OCR's recognizer from the wheel) and the detector segmenter: real
models on generated pages; the reading order of detected line pieces."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline.engines import PageImage, engine_class
from pipeline.page.detected_lines import reading_order
from pipeline.engines.rapidocr import word_tokens
from pipeline.quality.metrics import cer
from pipeline.run.config import EngineConfig
from tests.line_data import line_image

pytest.importorskip("rapidocr")

TRUTH = ["The archive holds letters", "written in the year 1916", "and a register of births"]


def _page(lines: list[str], gap: int = 90, below: int = 0) -> np.ndarray:
    page = Image.new("L", (1200, 100 + gap * len(lines) + below), 250)
    for i, text in enumerate(lines):
        page.paste(line_image(text, height=56), (90, 60 + gap * i))
    return np.asarray(page.convert("RGB"))


@pytest.mark.parametrize("segmenter", ["tesseract", "detector"])
def test_a_printed_page_reads_in_order_with_word_boxes_on_the_page(segmenter):
    engine = engine_class("rapidocr").load(EngineConfig(name="rapidocr", segmenter=segmenter))
    rec = engine.recognize([PageImage(_page(TRUTH), 300)])[0]
    assert cer("\n".join(TRUTH), rec.text) < 0.08, rec.text
    assert rec.token_unit == "word" and 0.5 < rec.confidence <= 1.0
    lines = [b for b in rec.blocks if b.kind == "line"]
    assert len(lines) == 3
    position = 0
    for block in lines:  # every word box lies inside its line's box, in page pixels
        words = rec.tokens[position:position + len(block.text.split())]  # the tokens run line by line
        position += len(words)
        assert [t.text for t in words] == block.text.split()
        x0, y0, x1, y1 = block.bbox
        assert words and all(x0 - 1 <= t.bbox[0] < t.bbox[2] <= x1 + 1 and y0 - 1 <= t.bbox[1] < t.bbox[3] <= y1 + 1
                             for t in words)


def _iou(a: list[float], b: list[float]) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_rows_of_a_large_page_are_cut_as_on_the_whole_page_in_page_pixels():
    from pipeline.page.detected_lines import SEEN_MAX_SIDE, DetectedLineSegmenter

    page = Image.new("L", (2480, 3508), 250)  # A4 at 300 DPI: seen scaled down
    assert max(page.size) > SEEN_MAX_SIDE
    page.paste(line_image(TRUTH[0], height=56), (200, 300))
    truth = []
    for i, text in enumerate(TRUTH[1:]):  # the rows a note is in, further down
        line = line_image(text, height=80)
        page.paste(line, (260, 1500 + 170 * i))
        truth.append([260, 1500 + 170 * i, 260 + line.width, 1580 + 170 * i])
    pixels, segmenter = np.asarray(page), DetectedLineSegmenter()
    whole = [ln.bbox for r in segmenter.segment(pixels, 300)[0] for p in r.paragraphs for ln in p.lines]
    rows = [ln.bbox for r in segmenter.segment_rows(pixels, 1400, 1950, 300)[0] for p in r.paragraphs for ln in p.lines]
    assert len(rows) == 2 and len(whole) == 3
    assert all(1400 <= b[1] < b[3] <= 1950 and 0 <= b[0] < b[2] <= 2480 for b in rows)  # page pixels, in the rows
    for box, on_page, text_box in zip(rows, whole[1:], truth):
        assert _iou(box, on_page) > 0.7 and _iou(box, text_box) > 0.4


def test_a_page_of_large_print_is_detected_smaller_and_read_on_the_page():
    from pipeline.page.detected_lines import SEEN_CHARACTER, SEEN_MAX_SIDE, SEEN_MIN_SHORT_SIDE, detector_scale
    from pipeline.page.text_size import character_height

    page = Image.new("L", (2480, 3508), 250)  # A4 at 300 DPI, a title page's print
    for i, text in enumerate(TRUTH):
        page.paste(line_image(text, height=90), (200, 400 + 400 * i))
    pixels = np.asarray(page)
    height = character_height(pixels)[0]
    scale = detector_scale(pixels)
    assert scale < SEEN_MAX_SIDE / 3508  # seen smaller than the longest-side cap alone makes it
    assert scale * 2480 >= SEEN_MIN_SHORT_SIDE and abs(scale * height - SEEN_CHARACTER) <= 1.0
    line = np.asarray(line_image(TRUTH[0], height=130))  # a line's image, as large: seen as it is
    assert detector_scale(line) == 1.0
    small = Image.new("L", (2480, 3508), 250)  # the same page in smaller print: only the 2000 px cap
    for i, text in enumerate(TRUTH):
        small.paste(line_image(text, height=40), (200, 400 + 400 * i))
    assert 10 <= character_height(np.asarray(small))[0] < 2 * SEEN_CHARACTER
    assert detector_scale(np.asarray(small)) == SEEN_MAX_SIDE / 3508
    engine = engine_class("rapidocr").load(EngineConfig(name="rapidocr", segmenter="detector"))
    rec = engine.recognize([PageImage(np.repeat(pixels[:, :, None], 3, axis=2), 300)])[0]
    assert cer("\n".join(TRUTH), rec.text) < 0.08, rec.text
    lines = [b.bbox for b in rec.blocks if b.kind == "line"]
    tops = [400 + 400 * i for i in range(3)]  # where each line's image was pasted, in page pixels
    assert len(lines) == 3 and all(top <= b[1] < top + 30 and top + 50 < b[3] <= top + 90 and 200 <= b[0] < 230
                                   for top, b in zip(tops, lines))


def test_a_blank_page_gives_no_lines_and_no_error():
    engine = engine_class("rapidocr").load(EngineConfig(name="rapidocr", segmenter="detector"))
    rec = engine.recognize([PageImage(np.full((800, 600, 3), 250, np.uint8), 300)])[0]
    assert rec.text == "" and "no_lines" in rec.flags


def _small_digit(digit: str) -> np.ndarray:
    """A digit as the UCI digits are (8x8 grey levels), scaled up as digitize scales small text."""
    from PIL import ImageDraw, ImageFilter, ImageFont

    image = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(image).text((14, 2), digit, font=ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 54), fill=0)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(3)).resize((8, 8), Image.BOX).resize((28, 28), Image.BICUBIC))


@pytest.mark.parametrize("segmenter", ["tesseract", "detector"])
def test_a_character_cut_out_that_the_segmenter_finds_no_line_in_is_read_as_one_line(segmenter):
    from pipeline.page.segment import line_segmenter, whole_image_line
    from pipeline.run.config import DEFAULT_TESSDATA

    cfg = EngineConfig(name="rapidocr", segmenter=segmenter)
    finder = line_segmenter(segmenter, DEFAULT_TESSDATA)
    engine = engine_class("rapidocr").load(cfg)
    for digit in "467":
        pixels = _small_digit(digit)
        assert finder.segment(pixels, 300)[0] == []  # too small for the segmenter
        assert engine.recognize([PageImage(pixels, 300)])[0].text == digit  # it was read as empty
    faint = np.full((28, 28), 250, np.uint8)
    faint[10:14, 10:14] = 230  # a mark, no ink
    assert whole_image_line(faint) == [] and whole_image_line(_small_digit("4")) != []
    assert engine.recognize([PageImage(faint, 300)])[0].text == ""


def test_detected_pieces_read_in_rows_joined_and_split_into_paragraphs():
    boxes = [
        [600, 155, 900, 185],  # row 2, right piece, far: its own line
        [40, 100, 300, 130],   # row 1, left piece
        [330, 104, 520, 134],  # row 1, right piece, close: joined
        [40, 150, 400, 182],   # row 2, left piece
        [40, 400, 500, 430],   # after a wide gap: a new paragraph
        [10, 10, 13, 13],      # a speck
    ]
    regions, skipped = reading_order(boxes, 1000, 600)
    assert skipped == 1
    paragraphs = regions[0].paragraphs
    assert [len(p.lines) for p in paragraphs] == [3, 1]
    first = paragraphs[0].lines
    assert first[0].bbox[0] < 100 and first[0].bbox[2] > 480  # the two close pieces of row 1, one line
    assert first[1].bbox[2] < 420 and first[2].bbox[0] > 590  # row 2: left piece, then the far right piece
    assert all(ln.bbox[1] >= 0 and ln.bbox[3] <= 600 for p in paragraphs for ln in p.lines)
    narrow, _ = reading_order([[100, 100, 107, 160]], 1000, 600)  # a tall, narrow piece: shrunk, not inverted
    x0, y0, x1, y1 = narrow[0].paragraphs[0].lines[0].bbox
    assert 100 <= x0 < x1 <= 107 and 100 <= y0 < y1 <= 160


def test_word_tokens_take_their_characters_confidences_and_positions():
    tokens = word_tokens("ab cde", [0.9, 0.7, 0.0, 1.0, 0.4, 0.4], 0.5, [0, 0, 60, 20])
    assert [t.text for t in tokens] == ["ab", "cde"]
    assert tokens[0].confidence == pytest.approx(0.8) and tokens[1].confidence == pytest.approx(0.6)
    assert tokens[0].bbox == [0, 0, 20, 20] and tokens[1].bbox == [30, 0, 60, 20]
    fallback = word_tokens("ab cde", None, 0.5, [0, 0, 60, 20])
    assert [t.confidence for t in fallback] == [0.5, 0.5]


def test_a_sliver_line_reads_as_empty_not_an_error():
    engine = engine_class("rapidocr").load(EngineConfig(name="rapidocr"))
    sliver = Image.new("RGB", (3000, 6), (0, 0, 0))  # a ruling line cut as a text line
    results = engine.read_lines([sliver, line_image("still read", height=56).convert("RGB")])
    assert results[0].text == "" and results[0].tokens == []
    assert cer("still read", results[1].text) < 0.2


def test_segmenter_blla_reads_the_page_where_kraken_loads_and_is_one_clear_error_where_it_does_not():
    from pipeline.engines.base import EngineLoadError
    from pipeline.page.kraken_lines import SegmenterUnavailable, import_kraken

    cfg = EngineConfig(name="rapidocr", segmenter="blla")
    try:
        import_kraken()
    except SegmenterUnavailable:  # this project's CPU torch: kraken's torchvision does not load
        with pytest.raises(EngineLoadError, match="--segmenter blla needs kraken"):
            engine_class("rapidocr").preflight(cfg)
        return
    engine = engine_class("rapidocr").load(cfg)
    # a page, not a strip: blla scales its input to a page's working height, and a strip of
    # three lines scaled up that far falls apart into letters
    rec = engine.recognize([PageImage(_page(TRUTH, below=1000), 300)])[0]
    assert cer("\n".join(TRUTH), rec.text) < 0.08, rec.text


def test_pieces_drawn_across_a_white_channel_are_cut_and_the_columns_read_one_after_the_other():
    ink = np.zeros((700, 1900), bool)
    ink[50:80, 700:1200] = True  # a title across the channel
    rows = [200 + 40 * i for i in range(8)]
    for y in rows:
        ink[y + 5:y + 25, 100:900] = True  # left column
        ink[y + 5:y + 25, 1000:1800] = True  # right column
    # the detector's pieces: each row of both columns as one piece, the title as one
    boxes = [[700, 50, 1200, 80]] + [[100, y, 1800, y + 30] for y in rows]
    regions, _ = reading_order(boxes, 1900, 700, ink=ink)
    lines = [ln.bbox for p in regions[0].paragraphs for ln in p.lines]
    assert len(lines) == 1 + 2 * len(rows)
    assert lines[0][0] < 800 and lines[0][2] > 1100  # the title, whole
    left, right = lines[1:1 + len(rows)], lines[1 + len(rows):]
    assert all(b[2] <= 900 for b in left) and all(b[0] >= 1000 for b in right)  # column by column
    assert [b[1] for b in left] == sorted(b[1] for b in left)
    # the same rows with no white channel between the columns (one column of long lines): rows
    ink[:, 900:1000] = ink[:, 800:900]
    regions, _ = reading_order(boxes, 1900, 700, ink=ink)
    assert [ln.bbox[2] - ln.bbox[0] > 1500 for p in regions[0].paragraphs for ln in p.lines][1:] == [True] * len(rows)


@pytest.mark.parametrize("sigma", [0, 40])  # clean, and grainy: its channel seen through the specks
def test_a_two_column_page_read_on_the_detectors_lines_keeps_its_column_order(tmp_path, sigma):
    from tests.corpus import grainy_two_columns

    pixels, truth = grainy_two_columns(tmp_path, sigma)
    engine = engine_class("rapidocr").load(EngineConfig(name="rapidocr", segmenter="detector"))
    rec = engine.recognize([PageImage(pixels, 150.0)])[0]
    assert cer(truth, rec.text) < 0.1, rec.text  # strict CER: rows across both columns read over 0.6
