"""Metric code on hand-made pairs, the page score and the review decision."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.quality.metrics import bow_f1, cer, normalize, wer
from pipeline.run.records import Token
from pipeline.page.scoring import ink_ratio, needs_review, page_score


def test_cer_and_wer_on_known_pairs():
    assert cer("abcd", "abcd") == 0.0
    assert cer("abcd", "abxd") == pytest.approx(0.25)
    assert cer("abcd", "abc") == pytest.approx(0.25)
    assert wer("the cat sat", "the dog sat") == pytest.approx(1 / 3)
    assert wer("a b c d", "a c d") == pytest.approx(0.25)


def test_normalisation_rules():
    assert normalize("ﬁne  \n text") == "fine text"
    assert normalize("docu-\nment") == "document"
    assert normalize("e\u0301") == "\u00e9"  # NFC


def test_bag_of_words_ignores_order():
    assert bow_f1("alpha beta gamma", "gamma alpha beta") == 1.0
    assert bow_f1("alpha beta", "alpha delta") == pytest.approx(0.5)


def _tokens(probs, text="word"):
    return [Token(text=text, confidence=p) for p in probs]


def test_page_score_falls_with_weak_and_garbage_tokens():
    clean = page_score(_tokens([0.95] * 20))
    weak = page_score(_tokens([0.95] * 15 + [0.3] * 5))
    garbage = page_score(_tokens([0.95] * 15) + _tokens([0.95] * 5, text="~#%&"))
    assert clean == pytest.approx(0.95)
    assert weak < clean and garbage < clean
    assert 0.0 <= min(weak, garbage)
    assert page_score([]) is None


def test_review_follows_threshold_flags_and_errors():
    assert needs_review("ok", 0.79, [], 0.80)
    assert not needs_review("ok", 0.81, [], 0.80)
    assert needs_review("ok", 0.99, ["empty"], 0.80)
    assert not needs_review("ok", 0.99, ["rotated_exif"], 0.80)
    assert needs_review("error", None, [], 0.80)
    assert not needs_review("skipped", None, [], 0.80)


def test_ink_ratio_sees_a_small_image_whole_and_a_page_by_sample():
    digit = np.full((8, 8), 255, np.uint8)
    digit[2:6, 3] = 0  # a one-stroke "1", 4 of 64 pixels: a step-4 sample would miss it
    assert ink_ratio(digit) == pytest.approx(4 / 64)
    page = np.full((3508, 2480, 3), 255, np.uint8)
    assert ink_ratio(page) == 0.0
    page[1000:1100, :, :] = 0  # a black band: 100 of 3,508 rows
    assert ink_ratio(page) == pytest.approx(100 / 3508, rel=0.1)


def test_an_empty_reference_scores_alike_for_a_page_and_for_a_folder():
    """One rule for an empty reference: the evaluation's page CER is metrics.cer's."""
    from pipeline.quality.items import Item
    from pipeline.quality.scored import aggregate, score

    empty = Item("f.png", 1, "scans", "scans/x", "")
    for hypothesis in ("", "stray marks"):
        scored = score(empty, hypothesis, None, "ok", [])
        assert scored.cer == cer("", hypothesis) and scored.wer == wer("", hypothesis)
        assert aggregate([scored])["cer"] == cer("", hypothesis)


def test_the_review_export_selects_exactly_what_needs_review(tmp_path):
    """A re-threshold in the export selects through scoring.needs_review: a skipped page carrying
    a review flag is not sent to a person, as the run itself decides."""
    import pyarrow.parquet as pq

    from pipeline.downstream.review_export import ReviewExportConfig, select_pages
    from pipeline.run.records import new_row, to_table
    from schemas import PAGE_SCHEMA

    cases = [("ok", 0.95, []), ("ok", 0.5, []), ("ok", 0.95, ["repetition"]), ("error", None, []),
             ("skipped", None, ["empty"]), ("skipped", None, ["no_text_layer"]), ("ok", None, [])]
    rows = [new_row(doc_id=f"d{i}", source_uri=f"/x/{i}.pdf", page=1, page_count=1, status=status, confidence=conf,
                    flags=flags, run_id="r") for i, (status, conf, flags) in enumerate(cases)]
    pq.write_table(to_table(rows, PAGE_SCHEMA), tmp_path / "part.parquet")
    selected = select_pages(ReviewExportConfig(pages=str(tmp_path), output=str(tmp_path / "x"), threshold=0.8))
    expected = {r["doc_id"] for r in rows if needs_review(r["status"], r["confidence"], r["flags"], 0.8)}
    assert {r["doc_id"] for r in selected} == expected == {"d1", "d2", "d3"}
