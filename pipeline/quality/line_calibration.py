"""Line confidence calibration: an engine's raw line confidence -> the probability that the line
is read right (at most `right_line_cer` wrong characters).

Engine auto reads a weak Tesseract line again with the handwriting reader and keeps one of the
two readings. Raw scores do not compare across engines: RapidOCR's character probabilities run
higher than Tesseract's word confidences for the same quality of reading. A Platt fit per engine
(monotone, so each engine's own ranking is kept), on lines both engines read on labelled pages
(scripts/fit_line_calibration.py), puts both on one scale: the arbitration keeps the reading
more likely to be right.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.quality.calibration import CALIBRATIONS

RIGHT_LINE_CER = 0.1


@dataclass(frozen=True)
class LinePair:
    """One line as both engines read it, against its truth."""

    truth: str
    first: str  # engine names
    first_text: str
    first_confidence: float | None
    first_edits: int
    second: str
    second_text: str
    second_confidence: float | None
    second_edits: int
    length: int  # truth characters


@dataclass(frozen=True)
class LineCalibration:
    right_line_cer: float
    engines: dict[str, list[float]]  # engine -> [coef, intercept] of the logistic fit on raw confidence
    fitted_on: str
    lines: int

    def p_right(self, engine: str, confidence: float | None) -> float | None:
        """The chance that a line this engine read at `confidence` is right; None for an engine
        without a fit (a --handwriting-model), whose readings keep their raw score."""
        if engine not in self.engines:
            return None
        coef, intercept = self.engines[engine]
        return 1.0 / (1.0 + math.exp(-(coef * (confidence or 0.0) + intercept)))

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "LineCalibration":
        return cls(**json.loads(Path(path).read_text()))


def reading_right(calibration: "LineCalibration | None", engine: str, lines: list[tuple[str, float | None]]) -> float | None:
    """The chance that a character of a reading lies in a right line: its lines' (text,
    confidence) P(right), weighted by their characters. None without a fit for the engine or
    without text."""
    return lines_right(calibration, [(engine, text, confidence) for text, confidence in lines])


def lines_right(calibration: "LineCalibration | None", lines: list[tuple[str, str, float | None]]) -> float | None:
    """reading_right for a reading whose lines several engines read: (engine, text, confidence)
    each. None without text, or where a line with text was read by an engine without a fit."""
    weighed = [(len(text.strip()), engine, confidence) for engine, text, confidence in lines if text.strip()]
    if calibration is None or not weighed or any(engine not in calibration.engines for _, engine, _ in weighed):
        return None
    return sum(w * calibration.p_right(engine, c) for w, engine, c in weighed) / sum(w for w, _, _ in weighed)


def likelier_lines(calibration: "LineCalibration | None", lines: list[tuple[str, str, float | None]], raw: float | None,
                   other_lines: list[tuple[str, str, float | None]], other_raw: float | None, margin: float = 0.0) -> bool:
    """Whether the other reading is likelier to be right than this one, each given as its lines
    (engine, text, confidence) and its raw page score: by calibrated line confidence where every
    engine has a fit and both readings hold text, else by raw confidence."""
    ours, theirs = lines_right(calibration, lines), lines_right(calibration, other_lines)
    if ours is None or theirs is None:
        ours, theirs = raw or 0.0, other_raw or 0.0
    return theirs > ours + margin


def likelier_reading(calibration: "LineCalibration | None", engine: str, lines: list[tuple[str, float | None]],
                     raw: float | None, other: str, other_lines: list[tuple[str, float | None]],
                     other_raw: float | None, margin: float = 0.0) -> bool:
    """likelier_lines for two readings, each by one engine (of a line, or of a page)."""
    return likelier_lines(calibration, [(engine, t, c) for t, c in lines], raw,
                          [(other, t, c) for t, c in other_lines], other_raw, margin)


def likelier(calibration: "LineCalibration | None", engine: str, text: str, confidence: float | None, other: str,
             other_text: str, other_confidence: float | None, margin: float = 0.0) -> bool:
    """likelier_reading for one line read by two engines."""
    return likelier_reading(calibration, engine, [(text, confidence)], confidence,
                            other, [(other_text, other_confidence)], other_confidence, margin)


def shipped_path(engine: str) -> Path:
    return CALIBRATIONS / f"{engine}_lines.json"


def shipped(engine: str) -> LineCalibration | None:
    """The line calibration shipped for an engine that arbitrates between readers, if any."""
    path = shipped_path(engine)
    return LineCalibration.load(path) if path.exists() else None


def line_cer(edits: int, length: int) -> float:
    return min(1.0, edits / max(1, length))


def fit_lines(pairs: list[LinePair], fitted_on: str, right_line_cer: float = RIGHT_LINE_CER) -> LineCalibration:
    """A logistic fit of (line CER <= right_line_cer) on raw line confidence, for each engine."""
    from sklearn.linear_model import LogisticRegression

    if not pairs:
        raise ValueError("a line calibration needs read lines; got none")
    engines = {}
    for side in ("first", "second"):
        name = getattr(pairs[0], side)
        x = np.array([[getattr(p, f"{side}_confidence") or 0.0] for p in pairs])
        y = np.array([line_cer(getattr(p, f"{side}_edits"), p.length) <= right_line_cer for p in pairs])
        if y.all() or not y.any():
            raise ValueError(f"{name}: a line calibration needs right and wrong lines; got {int(y.sum())} right of {len(y)}")
        model = LogisticRegression(C=1.0).fit(x, y)
        engines[name] = [float(model.coef_[0][0]), float(model.intercept_[0])]
    return LineCalibration(right_line_cer=right_line_cer, engines=engines, fitted_on=fitted_on, lines=len(pairs))
