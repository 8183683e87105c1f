"""How well a page confidence finds bad pages: AUROC, rank correlation and the routing table
(what share of bad pages a review queue of a given size catches), for the raw score and for
a calibrated one side by side."""

from __future__ import annotations

from collections.abc import Callable
from statistics import fmean

import numpy as np

from pipeline.quality.calibration import Calibration, reliability
from pipeline.quality.scored import BAD_PAGE_CER, Scored

REVIEW_SHARES = (0.05, 0.10, 0.20, 0.30)
WORDS_RIGHT_BOW_F1 = 0.85  # a bad page by CER whose words are right: the reference's reading order differs


def confidence_report(scored: list[Scored], confidence_of: Callable[[Scored], float | None] = lambda s: s.confidence) -> dict:
    """AUROC of confidence as a detector of bad pages, Spearman against CER, and the routing table."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    usable = [s for s in scored if confidence_of(s) is not None]
    conf = np.array([confidence_of(s) for s in usable], dtype=float)
    cer = np.array([s.cer for s in usable], dtype=float)
    bad = np.array([s.bad for s in usable], dtype=bool)
    out: dict = {"pages": len(usable), "bad_pages": int(bad.sum()), "bad_page_cer": BAD_PAGE_CER}
    out["auroc"] = float(roc_auc_score(bad, -conf)) if 0 < bad.sum() < len(bad) else None
    # undefined where either side is constant (every page read perfectly): None, not a NaN in report.json
    varied = len(usable) > 2 and np.ptp(conf) > 0 and np.ptp(cer) > 0
    out["spearman_confidence_vs_cer"] = float(spearmanr(conf, cer).statistic) if varied else None
    routing = []
    for share in REVIEW_SHARES if usable else ():
        k = max(1, int(round(share * len(usable))))
        order = np.argsort(conf, kind="stable")[:k]  # the k least confident pages go to review
        caught = int(bad[order].sum())
        routing.append({"review_share": share, "pages_to_review": k, "threshold": float(conf[order].max()),
                        "bad_pages_caught": caught, "bad_share_caught": caught / bad.sum() if bad.sum() else None})
    out["routing"] = routing
    return out


def _brier(confidence: list[float], bad: list[bool]) -> float:
    return float(sum((1 - c - b) ** 2 for c, b in zip(confidence, bad)) / max(1, len(bad)))


def calibration_effect(calibration: Calibration, scored: list[Scored], page_rows: list[dict], path: str) -> dict:
    """The raw score and the calibrated one side by side: ranking (AUROC, routing) and whether
    the values mean what they say (reliability per bin, Brier score), overall and per category."""
    calibrated = {id(s): calibration.confidence(r) for s, r in zip(scored, page_rows) if s.confidence is not None}
    usable = [s for s in scored if id(s) in calibrated]
    bad = [s.cer > calibration.bad_page_cer for s in usable]
    raw = [min(1.0, max(0.0, s.confidence)) for s in usable]
    cal = [calibrated[id(s)] for s in usable]
    by_category = {}
    for category in sorted({s.item.category for s in usable}):
        inside = [i for i, s in enumerate(usable) if s.item.category == category]
        by_category[category] = {
            "pages": len(inside), "predicted_bad_share": fmean(1 - cal[i] for i in inside),
            "observed_bad_share": fmean(bad[i] for i in inside),
            "bad_with_words_right": sum(1 for i in inside if bad[i] and usable[i].bow_f1 >= WORDS_RIGHT_BOW_F1),
        }
    return {
        "file": path, "fitted_on": calibration.fitted_on, "fit_pages": calibration.pages, "by_category": by_category,
        "raw": {**confidence_report(usable), "brier": _brier(raw, bad), "reliability": reliability(raw, bad)},
        "calibrated": {**confidence_report(usable, confidence_of=lambda s: calibrated[id(s)]), "brier": _brier(cal, bad),
                       "reliability": reliability(cal, bad)},
    }
