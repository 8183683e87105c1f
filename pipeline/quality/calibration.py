"""Confidence calibration: raw page signals -> probability that the page is bad.

An engine's raw page score ranks pages but its value means nothing in particular. A logistic
fit on labelled pages (scripts/make_calibration_set.py: generated pages with real scan faults,
held apart from ../shared/data) turns several signals of a page into P(CER > 5 %), so that
calibrated confidence = 1 - P(bad) and a review threshold of 0.9 reads "send every page with
more than a 10 % chance of having over 5 % wrong characters".

Tesseract's shipped fit uses the raw page score alone (Platt scaling: monotone, so the ranking,
and its AUROC, stay the engine's). A fit on the eight signals before `weak_lines` ranked the
generated fit set better but did far worse on real pages (text density and token counts of
generated pages do not transfer; docs/accuracy.md), so it is available (`features=...`) but not
the default. Engine auto's fit adds `weak_lines`, the confidence of a page's weakest lines: a
typed letter with poorly read handwritten lines has the page score of a clean one
(docs/mixed_archives.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.page.scoring import READ_BY_VLM
from pipeline.run.config import EngineConfig

CALIBRATIONS = Path(__file__).with_name("calibrations")
FEATURES = ["raw_confidence", "token_mean", "token_p10", "low_share", "log_tokens", "log_chars_per_sq_inch",
            "symbol_share", "short_word_share", "weak_lines"]
WEAK_SHARE = 5  # weak_lines: the mean confidence of the weakest fifth of a page's lines


def weak_lines(blocks: list[dict] | None) -> float:
    """The mean confidence of the weakest fifth of the page's line blocks (at least one), 0 for a
    page without any: three handwritten lines under five typed ones pull it down where the page's
    token score barely moves."""
    confidences = sorted(b["confidence"] for b in blocks or []
                         if b.get("kind") == "line" and b.get("confidence") is not None)
    return float(np.mean(confidences[:max(1, len(confidences) // WEAK_SHARE)])) if confidences else 0.0


DEFAULT_FEATURES = ["raw_confidence"]


def page_features(row: dict) -> list[float]:
    """The signals of one page row (a PAGE_SCHEMA dict); missing values count as worst."""
    stats = row.get("confidence_stats") or {}
    text = row.get("text") or ""
    words = text.split()
    raw = row.get("confidence_raw") if row.get("confidence_raw") is not None else row.get("confidence")
    dpi = row.get("dpi") or 300.0
    area = max(1e-6, (row.get("width") or 0) / dpi * (row.get("height") or 0) / dpi)
    visible = [ch for ch in text if not ch.isspace()]
    return [
        raw if raw is not None else 0.0,
        stats.get("mean") if stats.get("mean") is not None else 0.0,
        stats.get("p10") if stats.get("p10") is not None else 0.0,
        stats.get("low_share") if stats.get("low_share") is not None else 1.0,
        math.log1p(stats.get("count") or 0),
        math.log1p(len(visible) / area) if area > 1e-5 else 0.0,
        sum(not ch.isalnum() for ch in visible) / max(1, len(visible)),
        sum(len(w) == 1 for w in words) / max(1, len(words)),
        weak_lines(row.get("blocks")),
    ]


@dataclass
class Calibration:
    engine: str
    bad_page_cer: float
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    fitted_on: str
    pages: int
    bad_pages: int

    def prob_bad(self, row: dict) -> float:
        x = (np.asarray(_select(page_features(row), self.features)) - self.mean) / self.scale
        return float(1.0 / (1.0 + math.exp(-(float(np.dot(self.coef, x)) + self.intercept))))

    def confidence(self, row: dict) -> float:
        """Calibrated confidence: the probability that the page has at most bad_page_cer errors."""
        return 1.0 - self.prob_bad(row)

    @staticmethod
    def holds_for(row: dict) -> bool:
        """Whether the fit holds for the page: not for one that engine auto's --vlm-model read, a
        reader no shipped fit has seen; it keeps its raw score, as engine lightonocr's pages do."""
        return READ_BY_VLM not in (row.get("flags") or [])

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        return cls(**json.loads(Path(path).read_text()))


def default_path(engine: str) -> Path:
    return CALIBRATIONS / f"{engine}.json"


def for_run(setting: str, engine_config: EngineConfig) -> Calibration | None:
    """The calibration a run applies: "auto" is the engine's shipped fit when there is one,
    "none" is none, anything else a JSON file (a clear error if it is not one for this engine).
    A shipped fit holds for the readers it was fitted with: a run of auto that swaps a
    --handwriting-model in keeps its raw score."""
    engine = engine_config.name
    if setting == "none":
        return None
    if setting == "auto":
        path = default_path(engine)
        return Calibration.load(path) if path.exists() and not engine_config.handwriting_model else None
    try:
        calibration = Calibration.load(setting)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"--calibration {setting}: not a calibration file ({exc}); "
                         "make one with jobs/evaluate.py --fit-calibration") from exc
    if calibration.engine != engine:
        raise ValueError(f"--calibration {setting} was fitted for engine {calibration.engine!r}, not {engine!r}")
    return calibration


def _select(values: list[float], names: list[str]) -> list[float]:
    return [values[FEATURES.index(n)] for n in names]


def fit(rows: list[dict], cers: list[float], engine: str, bad_page_cer: float, fitted_on: str,
        features: list[str] = DEFAULT_FEATURES) -> Calibration:
    """Logistic regression of (CER > bad_page_cer) on the chosen page features, standardised."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray([_select(page_features(r), features) for r in rows], dtype=float)
    y = np.asarray(cers) > bad_page_cer
    if y.all() or not y.any():
        raise ValueError(f"calibration needs both good and bad pages; got {int(y.sum())} bad of {len(y)}")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, y)
    return Calibration(engine=engine, bad_page_cer=bad_page_cer, features=list(features), mean=mean.tolist(),
                       scale=scale.tolist(), coef=model.coef_[0].tolist(), intercept=float(model.intercept_[0]),
                       fitted_on=fitted_on, pages=len(y), bad_pages=int(y.sum()))


def reliability(confidence: list[float], bad: list[bool], bins: int = 5) -> list[dict]:
    """Per confidence bin: what share of pages was predicted bad (1 - mean confidence) and was bad."""
    conf, bad_arr = np.asarray(confidence, dtype=float), np.asarray(bad, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))
        if inside.any():
            table.append({"confidence": f"{lo:.1f}-{hi:.1f}", "pages": int(inside.sum()),
                          "predicted_bad_share": round(float(1 - conf[inside].mean()), 3),
                          "observed_bad_share": round(float(bad_arr[inside].mean()), 3)})
    return table
