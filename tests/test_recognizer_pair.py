"""RapidOCR's recognizers reading in turn (--rapidocr-model wheel,ppocr-testaments, the default):
a line the first reads under RECHECK_BELOW is read by the next, the likelier reading kept. Real
models: the wheel's recognizer and the fine-tune shipped in models/."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.engines.base import EngineLoadError
from pipeline.run.config import EngineConfig

pytest.importorskip("rapidocr")

from pipeline.engines.rapidocr import RECHECK_BELOW, RapidOCREngine  # noqa: E402
from pipeline.handwriting.fonts import discover_fonts  # noqa: E402
from tests.line_data import line_image  # noqa: E402

TUNED = "ppocr-testaments"  # by its name in models/, as the default names it


def _font_line(text: str, path: str, height: int = 56) -> Image.Image:
    font = ImageFont.truetype(path, int(height * 0.6))
    image = Image.new("L", (int(font.getlength(text)) + 16, height), 250)
    ImageDraw.Draw(image).text((8, height * 0.15), text, font=font, fill=20)
    return image


def _crops() -> list[Image.Image]:
    crops = [line_image("The archive holds letters", height=56), line_image("written in the year 1916", height=56)]
    for font in discover_fonts()[:6]:  # handwriting fonts: lines the wheel reads less surely
        crops.append(_font_line("Je soussigné lègue à ma femme", font.path))
    return [c.convert("RGB") for c in crops]


def _alone(model: str) -> RapidOCREngine:
    return RapidOCREngine.load(EngineConfig(name="rapidocr", rapidocr_models=(model,)))


@pytest.mark.parametrize("order", [("wheel", TUNED), (TUNED, "wheel")])
def test_a_line_the_first_reads_unsurely_keeps_the_likelier_of_the_two_readings(order):
    crops = _crops()
    first, second = (_alone(m).read_lines(crops) for m in order)
    pair = RapidOCREngine.load(EngineConfig(name="rapidocr", rapidocr_models=order))
    both = pair.read_lines(crops)
    cases = set()
    for a, b, kept in zip(first, second, both):
        if (a.confidence or 0.0) >= RECHECK_BELOW:
            expected, case = a, "sure"
        elif b.text and (b.confidence or 0.0) > (a.confidence or 0.0):
            expected, case = b, "replaced"
        else:
            expected, case = a, "kept"
        cases.add(case)
        assert (kept.text, kept.confidence) == (expected.text, expected.confidence)
    # the crops hold lines of each kind, so each branch of the rule was taken: the wheel reads
    # print surely and some hands unsurely; the fine-tune reads print unsurely, and worse
    assert "sure" in cases and cases & {"kept", "replaced"}
    if order[0] == TUNED:
        assert "replaced" in cases
    assert pair.model_id.endswith("+".join("PP-OCR-rec" if m == "wheel" else m for m in order))


def test_the_default_pair_resolves_the_shipped_model_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a Ray worker runs in another folder: the name resolves beside the code
    cfg = EngineConfig(name="rapidocr")
    assert cfg.rapidocr_models == ("wheel", TUNED)
    RapidOCREngine.preflight(cfg)
    engine = RapidOCREngine.load(cfg)
    assert len(engine.readers) == 2 and engine.readers[0] is not engine.readers[1]
    with pytest.raises(EngineLoadError, match="no recognizer"):
        RapidOCREngine.preflight(EngineConfig(name="rapidocr", rapidocr_models=("wheel", "no-such-model")))


def test_auto_reads_weak_printed_lines_again_with_the_first_recognizer_only():
    from pipeline.engines.auto import AutoEngine

    engine = AutoEngine.load(EngineConfig(name="auto"))
    assert len(engine.hand.readers) == 2  # the detector's lines (handwriting) are read by the pair
    assert engine.rereader.readers == engine.hand.readers[:1]
    assert engine.rereader.model_id.endswith(":PP-OCR-rec")
