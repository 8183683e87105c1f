"""TrOCR engine on a tiny model built from the real config classes (tests/tiny_models.py).

The tiny model is taught to write "the committee" and stop, so stopping, confidence routing
and line assembly are exercised; everything runs the real VisionEncoderDecoderModel.generate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from jobs.digitize import main
from pipeline.run.config import EngineConfig, RenderConfig
from pipeline.page.documents import RenderSpec, open_document
from pipeline.engines import EngineLoadError, PageImage
from pipeline.engines.trocr import TrOCREngine
from tests.corpus import write_born_digital_pdf
from tests.tiny_models import build_tiny_trocr
from tests.conftest import ensure_ray

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_trocr(tmp_path_factory) -> Path:
    return build_tiny_trocr(tmp_path_factory.mktemp("tiny_trocr"))


@pytest.fixture(scope="module")
def engine(tiny_trocr) -> TrOCREngine:
    return TrOCREngine.load(EngineConfig(name="trocr", model=str(tiny_trocr), dtype="float32", max_new_tokens=16, batch_size=4))


@pytest.fixture(scope="module")
def lined_page(tmp_path_factory):
    """A page with a heading and exactly 5 body lines, rendered at 300 dpi."""
    path = tmp_path_factory.mktemp("lines") / "lines.pdf"
    body = ["The first line of the letter is here.", "A second line follows it closely.", "Then comes the third line of text.",
            "The fourth line is a little longer than the rest.", "And the fifth line closes the letter."]
    doc = __import__("pymupdf").open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 80), "Heading", fontsize=20)
    for i, line in enumerate(body):
        page.insert_text((72, 140 + i * 22), line, fontsize=12)
    doc.save(path)
    rendered = open_document(path.read_bytes(), RenderConfig()).render(0, RenderConfig(), RenderSpec("RGB"))
    return path, rendered, 1 + len(body)


def test_lines_are_found_and_assembled_in_reading_order(engine, lined_page):
    _, rendered, n_lines = lined_page
    rec = engine.recognize([PageImage(rendered.pixels, rendered.dpi)])[0]
    lines = [b for b in rec.blocks if b.kind == "line"]
    assert len(lines) == n_lines
    tops = [b.bbox[1] for b in lines]
    assert tops == sorted(tops)  # top to bottom in one column
    assert rec.text.count("the committee") == n_lines
    assert rec.token_unit == "subword" and rec.tokens
    assert 0.0 <= rec.confidence <= 1.0


def test_confidences_are_the_exponentiated_transition_scores(engine, lined_page):
    _, rendered, _ = lined_page
    from PIL import Image

    image = Image.fromarray(rendered.pixels)
    crops = [image.crop((60, 120, 500, 150)), image.crop((60, 140, 420, 170))]
    results = engine.read_lines(crops)
    inputs = engine.processor(images=crops, return_tensors="pt").pixel_values
    out = engine.model.generate(inputs, max_new_tokens=16, do_sample=False, output_logits=True, return_dict_in_generate=True)
    expected = torch.exp(engine.model.compute_transition_scores(out.sequences, out.logits, normalize_logits=True))
    for j, res in enumerate(results):
        tokens = [p for p in expected[j].tolist()]
        n = len(res.tokens)
        assert [t.confidence for t in res.tokens] == pytest.approx(tokens[:n], abs=1e-6)
        # the one rule for every engine: a line scores by the tokens that carry its text, not the EOS step
        assert res.confidence == pytest.approx(float(np.mean(tokens[:n])), abs=1e-6)


def test_batched_and_one_by_one_greedy_give_the_same_lines(engine, lined_page):
    _, rendered, _ = lined_page
    from PIL import Image

    image = Image.fromarray(rendered.pixels)
    crops = [image.crop((60, 110 + 22 * i, 300 + 40 * i, 150 + 22 * i)) for i in range(5)]
    batched = engine.read_lines(crops)
    single = [engine.read_lines([c])[0] for c in crops]
    assert [r.text for r in batched] == [r.text for r in single]
    for a, b in zip(batched, single):
        assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_blank_page_has_no_lines_and_no_error(engine):
    rec = engine.recognize([PageImage(np.full((800, 600, 3), 255, dtype=np.uint8), 300)])[0]
    assert rec.text == "" and "no_lines" in rec.flags


def test_max_new_tokens_is_flagged(tiny_trocr, lined_page):
    short = TrOCREngine.load(EngineConfig(name="trocr", model=str(tiny_trocr), dtype="float32", max_new_tokens=2))
    _, rendered, _ = lined_page
    rec = short.recognize([PageImage(rendered.pixels, rendered.dpi)])[0]
    assert "max_new_tokens" in rec.flags


def test_max_new_tokens_past_the_decoder_positions_is_clamped(tmp_path, lined_page):
    """A checkpoint whose decoder has 128 positions, asked for 512 new tokens, by a model that
    never stops: every line is read to the decoder's end and flagged, no IndexError."""
    untaught = build_tiny_trocr(tmp_path / "untaught", teach=None)
    engine = TrOCREngine.load(EngineConfig(name="trocr", model=str(untaught), dtype="float32", max_new_tokens=512))
    assert engine.max_new_tokens == 127
    _, rendered, n_lines = lined_page
    rec = engine.recognize([PageImage(rendered.pixels, rendered.dpi)])[0]
    assert "max_new_tokens" in rec.flags
    assert len([b for b in rec.blocks if b.kind == "line"]) == n_lines
    assert all(0.0 <= t.confidence <= 1.0 for t in rec.tokens) and len(rec.tokens) >= 100


def test_embeddings_per_line_and_page(tiny_trocr, lined_page):
    emb = TrOCREngine.load(EngineConfig(name="trocr", model=str(tiny_trocr), dtype="float32", emit_embeddings=True))
    _, rendered, n_lines = lined_page
    rec = emb.recognize([PageImage(rendered.pixels, rendered.dpi)])[0]
    assert len(rec.line_embeddings) == n_lines and len(rec.embedding) == 32


def test_missing_or_wrong_model_is_one_clear_error(tmp_path, corpus):
    with pytest.raises(EngineLoadError, match="needs --model"):
        TrOCREngine.preflight(EngineConfig(name="trocr"))
    with pytest.raises(EngineLoadError, match="does not exist"):
        TrOCREngine.preflight(EngineConfig(name="trocr", model=str(tmp_path / "nope")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineLoadError, match="config.json"):
        TrOCREngine.preflight(EngineConfig(name="trocr", model=str(tmp_path / "empty")))
    folder, _, _ = corpus
    code = main(["--input", str(folder / "good"), "--output", str(tmp_path / "o"), "--engine", "trocr", "--model", str(tmp_path / "nope")])
    assert code == 1 and not (tmp_path / "o").exists()  # stopped before any page was read


def test_pipeline_with_trocr_rows_and_review_threshold(tiny_trocr, lined_page, tmp_path):
    import pyarrow.dataset as pads

    ensure_ray()
    path, _, n_lines = lined_page
    scan_dir = tmp_path / "in"
    scan_dir.mkdir()
    (scan_dir / "lines.pdf").write_bytes(path.read_bytes())
    write_born_digital_pdf(scan_dir / "two.pdf", [("Title", ["One short paragraph of text."]), ("Other", ["Another paragraph."])])
    common = ["--input", str(scan_dir), "--output", str(tmp_path / "out"), "--engine", "trocr", "--model", str(tiny_trocr),
              "--text-layer", "ocr", "--dtype", "float32", "--max-new-tokens", "16"]
    assert main(common + ["--run-id", "lax", "--review-threshold", "0.5"]) == 0
    assert main(common + ["--run-id", "strict", "--review-threshold", "0.9999"]) == 0
    lax = pads.dataset(tmp_path / "out" / "pages" / "run_id=lax", format="parquet").to_table().to_pylist()
    strict = pads.dataset(tmp_path / "out" / "pages" / "run_id=strict", format="parquet").to_table().to_pylist()
    assert len(lax) == len(strict) == 3  # one row per page
    assert all(r["engine"] == "trocr" and r["model"] == str(tiny_trocr) and r["status"] == "ok" for r in lax)
    lines_row = next(r for r in lax if r["source_uri"].endswith("lines.pdf"))
    assert sum(1 for b in lines_row["blocks"] if b["kind"] == "line") == n_lines
    assert all(0.5 < r["confidence"] < 0.9999 for r in lax)  # the taught model is confident, not certain
    assert not any(r["needs_review"] for r in lax)
    assert all(r["needs_review"] for r in strict)
