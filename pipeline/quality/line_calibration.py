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
    if calibration is None or engine not in calibration.engines:
        return None
    weights = [len(text.strip()) for text, _ in lines]
    if not sum(weights):
        return None
    return sum(w * calibration.p_right(engine, c) for w, (_, c) in zip(weights, lines)) / sum(weights)


def likelier_reading(calibration: "LineCalibration | None", engine: str, lines: list[tuple[str, float | None]],
                     raw: float | None, other: str, other_lines: list[tuple[str, float | None]],
                     other_raw: float | None, margin: float = 0.0) -> bool:
    """Whether the other engine's reading (of a line, or of a page) is likelier to be right than
    this engine's: by calibrated line confidence where both engines have a fit and both
    readings hold text, else by raw confidence."""
    ours, theirs = reading_right(calibration, engine, lines), reading_right(calibration, other, other_lines)
    if ours is None or theirs is None:
        ours, theirs = raw or 0.0, other_raw or 0.0
    return theirs > ours + margin


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
