"""Calibration: a logistic fit of page signals that turns a score into P(page is bad)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.quality.calibration import Calibration, default_path, fit, for_run, page_features, reliability, weak_lines


def _row(conf: float, chars: int, rng: np.random.Generator) -> dict:
    words = ["word"] * (chars // 5)
    return {"confidence": conf, "confidence_stats": {"mean": conf + 0.05, "p10": conf - 0.2, "low_share": 1 - conf,
                                                    "count": len(words)},
            "text": " ".join(words), "width": 2480, "height": 3508, "dpi": 300.0}


def test_fit_orders_pages_by_risk_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    rows, cers = [], []
    for _ in range(80):
        bad = rng.random() < 0.4
        conf = rng.uniform(0.3, 0.7) if bad else rng.uniform(0.6, 0.98)
        rows.append(_row(conf, int(rng.integers(200, 2000)), rng))
        cers.append(rng.uniform(0.1, 0.5) if bad else rng.uniform(0.0, 0.03))
    cal = fit(rows, cers, "tesseract", 0.05, "test")
    assert cal.bad_pages == sum(c > 0.05 for c in cers)
    assert cal.prob_bad(_row(0.35, 500, rng)) > 0.8 > 0.2 > cal.prob_bad(_row(0.97, 500, rng))
    cal.save(tmp_path / "c.json")
    again = Calibration.load(tmp_path / "c.json")
    assert again.confidence(rows[0]) == pytest.approx(cal.confidence(rows[0]))


def test_fit_refuses_one_class_and_empty_text_counts_as_worst():
    with pytest.raises(ValueError, match="both good and bad"):
        fit([_row(0.9, 100, None)] * 3, [0.0] * 3, "tesseract", 0.05, "test")
    empty = page_features({"confidence": None, "text": "", "confidence_stats": None})
    assert empty[0] == 0.0 and empty[3] == 1.0


def test_reliability_compares_predicted_and_observed_bad_shares():
    table = reliability([0.95, 0.9, 0.1, 0.15], [False, True, True, True], bins=2)
    assert table == [
        {"confidence": "0.0-0.5", "pages": 2, "predicted_bad_share": 0.875, "observed_bad_share": 1.0},
        {"confidence": "0.5-1.0", "pages": 2, "predicted_bad_share": 0.075, "observed_bad_share": 0.5},
    ]


def test_shipped_tesseract_calibration_loads():
    cal = Calibration.load(default_path("tesseract"))
    assert cal.pages >= 40 and 0 < cal.bad_pages < cal.pages
    assert cal.confidence(_row(0.95, 1500, None)) > cal.confidence(_row(0.4, 1500, None))


def test_auto_calibration_reads_the_weakest_lines_and_holds_for_its_own_readers_only():
    from pipeline.run.config import EngineConfig

    shipped = for_run("auto", EngineConfig(name="auto"))
    assert shipped is not None and "weak_lines" in shipped.features
    # a --handwriting-model is another reader than the one the fit saw: the raw score stays
    assert for_run("auto", EngineConfig(name="auto", handwriting_model="some/trocr-model")) is None

    def line(confidence: float) -> dict:
        return {"kind": "line", "confidence": confidence}

    clean = {"confidence_raw": 0.9, "text": "x", "blocks": [line(0.9)] * 8}
    # a typed letter whose three handwritten lines are read poorly: the same page score
    mixed = {"confidence_raw": 0.9, "text": "x", "blocks": [line(0.97)] * 5 + [line(0.55)] * 3}
    assert weak_lines(mixed["blocks"]) == 0.55 and weak_lines([]) == 0.0
    assert shipped.confidence(mixed) < 0.5 * shipped.confidence(clean)  # its weak lines halve its chance, at least


def test_the_recipe_makes_mixed_and_handwritten_pages_from_training_hands_only(tmp_path):
    import json
    import sys
    from pathlib import Path

    from tests.line_data import line_image

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_calibration_set import make_hand

    lines = tmp_path / "lines"
    (lines / "crops").mkdir(parents=True)
    train = {"A": ["je soussigné Jean Martin", "lègue tous mes biens", "à ma femme Marie Martin"],
             "B": ["fait à Paris le deux mai", "mil neuf cent quinze ici"]}
    held = ["ceci est une main de validation"]
    rows = []
    for doc, texts in [*train.items(), ("V", held)]:
        for i, text in enumerate(texts):
            name = f"crops/{doc}_{i}.png"  # the images sit below the labels file, as in ../shared/data
            line_image(text).save(lines / name)
            rows.append({"image": name, "text": text, "level": "line", "doc": doc, "page": 0,
                         "split": "val" if doc == "V" else "train", "bbox": [100, 400 - 120 * i, 900, 464 - 120 * i]})
    (lines / "labels.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    assert make_hand(tmp_path / "out", lines, pages=3) == 5  # 3 mixed; a will page for each training page only
    mixed = sorted((tmp_path / "out" / "mixed").glob("*.gt.txt"))
    wills = sorted((tmp_path / "out" / "handwritten").glob("*.gt.txt"))
    assert len(mixed) == 3 and len(wills) == 2
    written = [p.read_text() for p in mixed + wills]
    assert not any(held[0] in text for text in written)  # the val hand never enters the fit set
    # a will page: one page's lines, top to bottom (the rows were listed bottom to top)
    assert {p.read_text() for p in wills} == {"\n".join(reversed(texts)) for texts in train.values()}
