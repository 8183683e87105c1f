"""The embedded CPU engine, run for real on rendered pages with known text.

CER bounds, measured on this machine (Tesseract 5.5.4, eng+fra+deu, 300 dpi):
generated born-digital pages 0.000 (bound 0.02 leaves room for another Tesseract build's
rendering of a stray glyph); the real two-column LaTeX sample (multicolumn.pdf) 0.0006 to
0.0097 per page (bound 0.03: three times the worst page); the Google Docs export 0.027
(bound 0.06: it has a bullet list whose glyphs Tesseract reads as other symbols).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.run.config import EngineConfig, RenderConfig
from pipeline.page.documents import RenderSpec, open_document
from pipeline.engines import EngineLoadError, PageImage
from pipeline.engines.tesseract import TesseractEngine
from pipeline.quality.metrics import cer
from tests.conftest import SAMPLES
from tests.corpus import grainy_page


@pytest.fixture(scope="module")
def engine() -> TesseractEngine:
    return TesseractEngine.load(EngineConfig(languages=("eng", "fra", "deu")))


def _ocr(engine: TesseractEngine, path: Path, index: int):
    page = open_document(path.read_bytes(), RenderConfig()).render(index, RenderConfig(), RenderSpec())
    return engine.recognize([PageImage(page.pixels, page.dpi)])[0]


def test_generated_born_digital_pages_read_back_exactly(engine, corpus):
    folder, truth, _ = corpus
    for i, expected in enumerate(truth["born_digital.pdf"]):
        rec = _ocr(engine, folder / "good" / "born_digital.pdf", i)
        assert cer(expected, rec.text) <= 0.02, (i, rec.text)


@pytest.mark.parametrize("name, bound", [("multicolumn", 0.03), ("google-doc-document", 0.06)])
def test_real_born_digital_pages_under_measured_cer(engine, name, bound):
    truth = (SAMPLES / "truth" / f"{name}.txt").read_text(encoding="utf-8").split("\f")
    rec = _ocr(engine, SAMPLES / "real" / f"{name}.pdf", 0)
    assert cer(truth[0], rec.text) <= bound


def test_words_carry_boxes_and_confidences_and_paragraphs_stay_apart(engine, corpus):
    folder, _, _ = corpus
    rec = _ocr(engine, folder / "good" / "born_digital.pdf", 0)
    assert rec.tokens and all(0.0 <= t.confidence <= 1.0 and t.bbox is not None for t in rec.tokens)
    assert "\n\n" in rec.text  # heading and body are separate paragraphs
    assert rec.markdown.startswith("## Report 1")  # the large heading becomes a Markdown heading
    kinds = {b.kind for b in rec.blocks}
    assert {"line", "paragraph"} <= kinds


def test_two_columns_are_read_column_by_column(engine):
    rec = _ocr(engine, SAMPLES / "real" / "multicolumn.pdf", 0)
    truth = (SAMPLES / "truth" / "multicolumn.txt").read_text(encoding="utf-8").split("\f")[0]
    # strict CER is order-sensitive: a row-by-row reading of two columns would be far above this
    assert cer(truth, rec.text) < 0.03


def test_blank_page_gives_no_text_not_an_error(engine):
    import numpy as np

    rec = engine.recognize([PageImage(np.full((1000, 800), 255, dtype=np.uint8), 300)])[0]
    assert rec.text == "" and rec.tokens == []


def test_missing_language_is_one_clear_error():
    with pytest.raises(EngineLoadError, match="klingon|tlh"):
        TesseractEngine.preflight(EngineConfig(languages=("eng", "tlh")))


def test_a_grainy_page_is_read_with_a_local_threshold_and_flagged(tmp_path):
    """Otsu's threshold over a sparse page with strong noise turns its paper into specks:
    Tesseract then lays them out for a minute or more and reads nothing."""
    engine = TesseractEngine.load(EngineConfig(languages=("eng",)))
    for sigma, grainy in ((0, False), (20, False), (35, True)):  # at 20 Otsu still separates ink and paper
        pixels, truth = grainy_page(tmp_path, sigma)
        rec = engine.recognize([PageImage(pixels, 150.0)])[0]
        assert ("adaptive_threshold" in rec.flags) == grainy, sigma
        assert cer(truth, rec.text) < 0.1, (sigma, rec.text)


def test_the_line_segmenter_finds_the_lines_of_a_grainy_page(tmp_path):
    """Tesseract's layout analysis for the line engines (--segmenter tesseract) binarizes as the
    engine does: on Otsu's specks it found no line at all."""
    from pipeline.page.segment import LineSegmenter

    segmenter = LineSegmenter(EngineConfig().tessdata)
    counts = []
    for sigma in (0, 35):
        pixels, truth = grainy_page(tmp_path, sigma)
        regions, _ = segmenter.segment(pixels, 150.0)
        counts.append(sum(len(p.lines) for r in regions for p in r.paragraphs))
    assert counts == [len(truth.splitlines())] * 2
