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


def likelier(calibration: "LineCalibration | None", engine: str, confidence: float | None, other: str,
             other_confidence: float | None, margin: float = 0.0) -> bool:
    """Whether the other engine's reading of a line is likelier to be right than this engine's:
    by calibrated confidence where both engines have a fit, else by raw confidence."""
    ours = calibration.p_right(engine, confidence) if calibration else None
    theirs = calibration.p_right(other, other_confidence) if calibration else None
    if ours is None or theirs is None:
        ours, theirs = confidence or 0.0, other_confidence or 0.0
    return theirs > ours + margin


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
