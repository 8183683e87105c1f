"""Engine auto's line arbitration by calibrated line confidence: raw scores of two engines do not
compare, a fit per engine puts them on one scale (pipeline/quality/line_calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.quality.line_calibration import (LineCalibration, LinePair, fit_lines, likelier, likelier_lines,
                                               likelier_reading, lines_right, reading_right, shipped)


def _pairs(n: int = 400, seed: int = 0) -> list[LinePair]:
    """Lines where the second engine's raw score runs high: at 0.9 it is right half the time,
    while the first engine at 0.6 is right four times in five."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b = rng.uniform(0.2, 1.0), rng.uniform(0.6, 1.0)
        right_a = rng.random() < min(1.0, max(0.0, 0.8 + 1.5 * (a - 0.6)))
        right_b = rng.random() < min(1.0, max(0.0, 0.5 + 2.5 * (b - 0.9)))
        out.append(LinePair(truth="x" * 20, first="tesseract", first_text="t", first_confidence=a,
                            first_edits=0 if right_a else 10, second="rapidocr", second_text="r",
                            second_confidence=b, second_edits=0 if right_b else 10, length=20))
    return out


def test_the_reading_likelier_right_wins_not_the_higher_raw_score():
    fit = fit_lines(_pairs(), fitted_on="test")
    assert fit.p_right("tesseract", 0.4) < fit.p_right("tesseract", 0.6) < fit.p_right("tesseract", 0.9)
    assert fit.p_right("tesseract", 0.6) == pytest.approx(0.8, abs=0.1)
    assert fit.p_right("rapidocr", 0.9) == pytest.approx(0.5, abs=0.12)
    # raw, the second engine's 0.9 beats 0.6; calibrated, the first engine's reading is kept
    assert likelier(None, "tesseract", "t", 0.6, "rapidocr", "r", 0.9)
    assert not likelier(fit, "tesseract", "t", 0.6, "rapidocr", "r", 0.9)
    assert likelier(fit, "tesseract", "t", 0.3, "rapidocr", "r", 0.9)  # a poor Tesseract line still gives way


def test_a_reader_without_a_fit_is_compared_by_raw_score(tmp_path):
    fit = fit_lines(_pairs(), fitted_on="test")
    assert fit.p_right("trocr", 0.9) is None
    assert likelier(fit, "tesseract", "t", 0.6, "trocr", "r", 0.9)
    assert not likelier(fit, "tesseract", "t", 0.6, "trocr", "r", 0.5)
    fit.save(tmp_path / "lines.json")
    assert LineCalibration.load(tmp_path / "lines.json") == fit


def test_a_page_reading_is_judged_by_its_lines_weighted_by_their_characters():
    fit = fit_lines(_pairs(), fitted_on="test")
    long_good, short_bad = ("x" * 90, 0.95), ("y" * 10, 0.2)
    expected = (90 * fit.p_right("tesseract", 0.95) + 10 * fit.p_right("tesseract", 0.2)) / 100
    assert reading_right(fit, "tesseract", [long_good, short_bad]) == pytest.approx(expected)
    assert reading_right(fit, "tesseract", [("", 0.9)]) is None  # no text: no chance to weigh
    # Tesseract's page: mostly a well-read line; the other reading: all lines at raw 0.9, which
    # the raw page scores (0.4 against 0.9) would prefer
    assert not likelier_reading(fit, "tesseract", [long_good, short_bad], 0.4, "rapidocr", [("z" * 100, 0.9)], 0.9)
    assert likelier_reading(None, "tesseract", [long_good, short_bad], 0.4, "rapidocr", [("z" * 100, 0.9)], 0.9)
    # a page Tesseract found no text on gives way to any reading with text, as by raw score
    assert likelier_reading(fit, "tesseract", [], 0.0, "rapidocr", [("z" * 10, 0.3)], 0.3)


def test_a_reading_of_lines_by_two_engines_weighs_each_line_by_its_own_engines_fit():
    fit = fit_lines(_pairs(), fitted_on="test")
    mixed = [("tesseract", "x" * 60, 0.6), ("rapidocr", "y" * 40, 0.9)]
    expected = (60 * fit.p_right("tesseract", 0.6) + 40 * fit.p_right("rapidocr", 0.9)) / 100
    assert lines_right(fit, mixed) == pytest.approx(expected)
    assert lines_right(fit, mixed + [("trocr", "z", 0.9)]) is None  # a line no fit can weigh
    assert lines_right(fit, mixed + [("trocr", " ", 0.9)]) == pytest.approx(expected)  # nor needs to
    # one reader's page reading at raw 0.9 throughout: likelier than the mix by raw score, not calibrated
    other = [("rapidocr", "w" * 100, 0.9)]
    assert fit.p_right("rapidocr", 0.9) < expected
    assert likelier_lines(None, mixed, 0.72, other, 0.9)
    assert not likelier_lines(fit, mixed, 0.72, other, 0.9)


def test_a_fit_needs_right_and_wrong_lines():
    pairs = [LinePair("ab", "tesseract", "ab", 0.9, 0, "rapidocr", "ab", 0.9, 0, 2)] * 5
    with pytest.raises(ValueError, match="right and wrong lines"):
        fit_lines(pairs, fitted_on="test")


def test_engine_auto_arbitrates_with_the_shipped_line_fit():
    from pipeline.engines.auto import AutoEngine
    from pipeline.engines.line_pages import LineResult
    from pipeline.page.assembly import Line
    from pipeline.run.config import EngineConfig
    from pipeline.run.records import Token

    fit = shipped("auto")
    assert fit is not None and {"tesseract", "rapidocr"} <= set(fit.engines)

    class Reader:
        name = "rapidocr"

    engine = AutoEngine(None, Reader(), EngineConfig(name="auto"), line_calibration=fit)
    box = [0.0, 0.0, 100.0, 30.0]

    def line(confidence: float) -> Line:
        return Line(bbox=box, tokens=[Token(text="x", confidence=confidence, bbox=box)], engine="tesseract")

    # the engine asks the fit, whatever its values: equal chances never replace a line, and the
    # reading the fit calls likelier right is the one kept
    for ours, theirs in [(0.3, 0.95), (0.55, 0.7), (0.59, 0.99), (0.1, 0.2)]:
        result = LineResult(text="y", tokens=[], confidence=theirs)
        assert engine._likelier(line(ours), result) == (fit.p_right("rapidocr", theirs) > fit.p_right("tesseract", ours))
    assert not engine._likelier(line(0.1), LineResult(text="", tokens=[], confidence=0.99))  # read as nothing
