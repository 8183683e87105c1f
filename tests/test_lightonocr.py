"""LightOnOCR engine on a tiny model built from the real config classes (2-layer Pixtral at
112 px, 2-layer Qwen3), taught to write a short Markdown page; runs the real generate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jobs.digitize import main
from pipeline.run.config import EngineConfig
from pipeline.engines import EngineLoadError, PageImage
from pipeline.engines.lightonocr import LightOnOCREngine
from tests.corpus import write_born_digital_pdf
from tests.tiny_models import build_tiny_lightonocr, build_tiny_trocr
from tests.conftest import ensure_ray

TAUGHT = "# Minutes\n\nthe committee met"


@pytest.fixture(scope="module")
def tiny_lighton(tmp_path_factory) -> Path:
    return build_tiny_lightonocr(tmp_path_factory.mktemp("tiny_lighton"), teach=TAUGHT)


@pytest.fixture(scope="module")
def engine(tiny_lighton) -> LightOnOCREngine:
    return LightOnOCREngine.load(EngineConfig(name="lightonocr", model=str(tiny_lighton), dtype="float32", max_new_tokens=24, batch_size=2))


def _page(width: int, height: int, seed: int) -> PageImage:
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width, 3), 255, dtype=np.uint8)
    pixels[20:40, 10 : width - 10] = rng.integers(0, 80, size=(20, width - 20, 3))
    return PageImage(pixels, 150)


def test_page_to_markdown_text_and_blocks(engine):
    rec = engine.recognize([_page(200, 280, 0)])[0]
    assert rec.markdown == TAUGHT
    assert rec.text == "Minutes\n\nthe committee met"
    assert [b.kind for b in rec.blocks] == ["heading", "paragraph"]
    assert all(0 < b.confidence <= 1 for b in rec.blocks)
    assert rec.token_unit == "subword" and 0 < rec.confidence <= 1 and not rec.flags


def test_confidences_are_the_exponentiated_transition_scores(engine):
    from PIL import Image

    pages = [_page(200, 280, 1), _page(300, 180, 2)]
    recs = engine.recognize(pages)
    output, prompt_len = engine.generate([Image.fromarray(p.pixels) for p in pages])
    expected = torch.exp(engine.model.compute_transition_scores(output.sequences, output.logits, normalize_logits=True))
    for j, rec in enumerate(recs):
        n = len(rec.tokens)
        assert n > 0
        assert [t.confidence for t in rec.tokens] == pytest.approx(expected[j][:n].tolist(), abs=1e-6)


def test_batched_pages_of_different_sizes_match_one_by_one(engine):
    pages = [_page(200, 280, 3), _page(112, 112, 4), _page(300, 150, 5)]
    batched = engine.recognize(pages)
    single = [engine.recognize([p])[0] for p in pages]
    assert [r.markdown for r in batched] == [r.markdown for r in single]
    for a, b in zip(batched, single):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-4)


def test_max_new_tokens_is_flagged(tiny_lighton):
    short = LightOnOCREngine.load(EngineConfig(name="lightonocr", model=str(tiny_lighton), dtype="float32", max_new_tokens=3))
    assert "max_new_tokens" in short.recognize([_page(200, 280, 6)])[0].flags


def test_wrong_architecture_is_one_clear_error(tmp_path):
    trocr = build_tiny_trocr(tmp_path / "trocr", teach=None)
    with pytest.raises(EngineLoadError, match="vision-encoder-decoder"):
        LightOnOCREngine.preflight(EngineConfig(name="lightonocr", model=str(trocr)))


def test_pipeline_with_lightonocr(tiny_lighton, tmp_path):
    import pyarrow.dataset as pads

    ensure_ray()
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_born_digital_pdf(inputs / "doc.pdf", [("Title", ["A paragraph of text."]), ("Other", ["More text."]), ("Third", ["End."])])
    code = main(["--input", str(inputs), "--output", str(tmp_path / "out"), "--engine", "lightonocr", "--model", str(tiny_lighton),
                 "--text-layer", "ocr", "--dtype", "float32", "--max-new-tokens", "24", "--batch-size", "2", "--run-id", "vlm"])
    assert code == 0
    rows = pads.dataset(tmp_path / "out" / "pages" / "run_id=vlm", format="parquet").to_table().to_pylist()
    assert sorted(r["page"] for r in rows) == [1, 2, 3]
    for r in rows:
        assert r["engine"] == "lightonocr" and r["status"] == "ok" and r["markdown"] == TAUGHT
        assert max(r["width"], r["height"]) <= 1541  # rendered at the model card's longest side


def test_a_long_thin_strip_does_not_break_the_vision_tower(engine):
    rec = engine.recognize([PageImage(np.full((20, 1000, 3), 255, dtype=np.uint8), 150)])[0]
    assert isinstance(rec.markdown, str)
