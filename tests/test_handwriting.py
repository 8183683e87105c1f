"""Synthetic handwriting side stage: a tiny UNet trained here, really sampled, really written."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from safetensors.numpy import load_file

from pipeline.handwriting.fonts import PLAIN_FONT, discover_fonts, font_charset
from pipeline.handwriting.generate import GenerateConfig, GenerateLines, plan_samples
from pipeline.handwriting.model import SHIPPED_MODEL, GeneratorMeta, Style, UNetShape, layout_for
from pipeline.handwriting.render import (BODY_SHARE, LINE_HEIGHT, MAX_BODY_SHARE, MIN_X_HEIGHT, NO_AUGMENT, SUPERSAMPLE,
                                         Augment, LineLayout, _extent, _font, _span, _x_height, baseline_offsets, glyph_boxes,
                                         render_condition, render_handwriting)
from pipeline.handwriting.texts import read_texts, split_long
from pipeline.handwriting.train import TrainConfig, train, training_set
from schemas.page import PAGE_SCHEMA
from schemas.synthetic import SYNTHETIC_SCHEMA
from tests.conftest import ROOT, ensure_ray

TINY = dict(batch_size=2, crop_width=64, warmup_steps=2, shape=UNetShape(channels=(16, 32), attention_head_dim=8))
FONTS = discover_fonts()
pytestmark = pytest.mark.skipif(len(FONTS) < 2, reason="handwriting fonts not installed (scripts/setup.sh installs them)")


def _weights(folder: Path) -> dict[str, np.ndarray]:
    return load_file(str(folder / "unet" / "diffusion_pytorch_model.safetensors"))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-generator")
    train(TrainConfig(output=str(out), steps=4, checkpoint_every=100, fonts=[f.path for f in FONTS[:3]], **TINY))
    return out


def test_fonts_report_only_glyphs_they_have():
    for font in FONTS:
        assert set("abcdefghijklmnopqrstuvwxyz") <= font.charset
    plain = font_charset(PLAIN_FONT)
    lacking = [f for f in FONTS if not f.charset >= plain]
    assert lacking, "some handwriting fonts lack accents; coverage must say which"
    from fontTools.ttLib import TTFont

    font = lacking[0]
    missing = sorted(plain - font.charset)[0]
    assert ord(missing) not in TTFont(font.path).getBestCmap()


def test_conditioning_glyphs_sit_in_the_target_hand_boxes():
    """The plain-font glyph i is drawn inside box i of the hand's advances: ink in each box."""
    font = FONTS[0]
    layout = LineLayout(font.path)
    text = "Wim lol"
    cond = render_condition(text, layout)
    boxes = glyph_boxes(text, layout) / 2  # supersampled -> output pixels
    for ch, left, right in zip(text, boxes[:-1], boxes[1:]):
        ink = (cond[:, int(left):int(np.ceil(right))] < 128).sum()
        assert (ink > 0) == (not ch.isspace()), ch
    hand = render_handwriting(text, font, np.random.default_rng(0), NO_AUGMENT, width=cond.shape[1])
    assert hand.shape == cond.shape and (hand < 128).any()


def test_every_hand_fits_the_line_and_small_bodied_hands_are_drawn_larger():
    """No ascender or descender is cut off; a hand whose lower case would be tiny at the common
    size (a school cursive's tall loops) grows until its x-height is readable or the line is full."""
    canvas = LINE_HEIGHT * SUPERSAMPLE
    grown = 0
    for f in FONTS:
        font, baseline = _font(f.path)
        top, bottom = _extent(font)
        assert baseline + top >= 0 and baseline + bottom <= canvas, f.name
        if bottom - top > BODY_SHARE * canvas:  # larger than the common size: only to reach MIN_X_HEIGHT
            grown += 1
            assert _x_height(font.font_variant(size=font.size - 1)) < MIN_X_HEIGHT * SUPERSAMPLE, f.name
            assert bottom - top <= MAX_BODY_SHARE * canvas
        else:
            assert _x_height(font) >= MIN_X_HEIGHT * SUPERSAMPLE, f.name
    if any(f.name == "Ecolier-court" for f in FONTS):
        assert grown  # its x-height is 4.5 px at the common size


def test_a_generator_lays_out_lines_by_the_sizing_rule_it_was_trained_with():
    """A generator from before the small-x-height growth gets its old, smaller glyph boxes (its
    conditioning images would otherwise be wider than anything it saw); a current one the grown."""
    grown = [f for f in FONTS if _x_height(_font(f.path, 0.0)[0]) < MIN_X_HEIGHT * SUPERSAMPLE]
    if not grown:
        pytest.skip("no installed hand has a small x-height")
    hand = grown[0]
    style = Style(hand.name, Path(hand.path).name, 1.0, "".join(sorted(hand.charset)))
    old, new = GeneratorMeta([style]), GeneratorMeta([style], recipe={"sizing": {"min_x_height": MIN_X_HEIGHT}})
    assert old.min_x_height == 0.0 and new.min_x_height == MIN_X_HEIGHT
    fonts = {style.font_file: hand.path}
    text = "minimum wages"
    old_boxes = glyph_boxes(text, layout_for(style, fonts, old.min_x_height))
    new_boxes = glyph_boxes(text, layout_for(style, fonts, new.min_x_height))
    assert old_boxes[-1] < new_boxes[-1]
    assert np.allclose(old_boxes, glyph_boxes(text, LineLayout(hand.path, min_x_height=0.0)))
    assert _span(_font(hand.path, 0.0)[0]) <= BODY_SHARE * LINE_HEIGHT * SUPERSAMPLE


def test_baseline_wanders_smoothly_so_cursive_joins_hold():
    """Neighbouring glyphs sit at nearly the same height (a slow wave), yet the line does move;
    independent per-glyph jumps (the old augmentation) tore the joins of cursive hands apart."""
    drift = dataclasses.replace(Augment(), baseline_drift=2.0, baseline_jitter=0.0)
    text = "minimum handwriting line with joins"
    lefts = glyph_boxes(text, LineLayout(FONTS[0].path))[:-1]
    for seed in range(5):
        offsets = np.asarray(baseline_offsets(text, lefts, drift, np.random.default_rng(seed)))
        inked = np.asarray([not ch.isspace() for ch in text])
        assert not offsets[~inked].any()
        assert np.abs(offsets).max() <= drift.baseline_drift * SUPERSAMPLE + 1e-9
        assert np.ptp(offsets[inked]) > 0.5 * SUPERSAMPLE  # the line does wander
        # |sin a - sin b| <= |a - b|: a step between neighbours is bounded by the wave's slope
        slope = 2 * np.pi * drift.baseline_drift / drift.drift_period[0]
        steps = np.abs(np.diff(offsets[inked]))
        assert (steps <= slope * np.diff(lefts[inked]) + 1e-9).all()
    assert not any(baseline_offsets(text, lefts, NO_AUGMENT, np.random.default_rng(0)))


def test_training_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    fonts = [f.path for f in FONTS[:2]]
    whole = tmp_path / "whole"
    train(TrainConfig(output=str(whole), steps=12, checkpoint_every=3, fonts=fonts, **TINY))
    cut = tmp_path / "cut"
    script = (f"from pipeline.handwriting.train import *; from pipeline.handwriting.model import UNetShape;"
              f"train(TrainConfig(output={str(cut)!r}, steps=12, checkpoint_every=3, fonts={fonts!r}, batch_size=2,"
              f" crop_width=64, warmup_steps=2, shape=UNetShape(channels=(16, 32), attention_head_dim=8)))")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    deadline = time.time() + 180
    while not list((cut / "checkpoints").glob("step-*[0-9]")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()  # interrupted mid-run, as a preempted node would be
    proc.wait()
    assert list((cut / "checkpoints").glob("step-*[0-9]")), "the run never wrote a checkpoint"
    assert not (cut / "unet").exists(), "the run finished before it could be interrupted"
    train(TrainConfig(output=str(cut), steps=12, checkpoint_every=3, fonts=fonts, resume=True, **TINY))
    a, b = _weights(whole), _weights(cut)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_training_continues_from_a_generator_and_refuses_other_fonts(tiny_model, tmp_path):
    fonts = [f.path for f in FONTS[:3]]
    start = _weights(tiny_model)
    # learning rate 0: the continued run must hold exactly the weights it started from
    train(TrainConfig(output=str(tmp_path / "same"), steps=1, fonts=fonts, init_from=str(tiny_model), **{**TINY, "learning_rate": 0.0}))
    same = _weights(tmp_path / "same")
    assert all(np.array_equal(start[k], same[k]) for k in start)
    assert GeneratorMeta.load(tmp_path / "same").recipe["continued_from"]["recipe"]["steps"] == 4
    recipe = GeneratorMeta.load(tmp_path / "same").recipe
    assert recipe["augment"] == json.loads(json.dumps(dataclasses.asdict(Augment())))
    assert recipe["sizing"]["min_x_height"] == MIN_X_HEIGHT and recipe["sizing"]["body_share"] == BODY_SHARE
    train(TrainConfig(output=str(tmp_path / "more"), steps=2, fonts=fonts, init_from=str(tiny_model), **TINY))
    assert any(not np.array_equal(start[k], v) for k, v in _weights(tmp_path / "more").items())
    with pytest.raises(ValueError, match="trained on styles"):
        train(TrainConfig(output=str(tmp_path / "other"), steps=1, fonts=fonts[:2], init_from=str(tiny_model), **TINY))


def test_style_weights_draw_the_weighted_hand_more_often_and_are_recorded(tmp_path):
    fonts = [f.path for f in FONTS[:3]]
    heavy = FONTS[1].name
    data = training_set(TrainConfig(output=str(tmp_path), fonts=fonts, style_weights={heavy: 4.0}))
    rng = np.random.default_rng(0)
    labels = np.concatenate([data.batch(rng, 16, 64)[2] for _ in range(20)])
    counts = np.bincount(labels, minlength=3)
    assert counts[1] > 1.5 * max(counts[0], counts[2]), counts  # expected 4:1:1
    assert counts[0] and counts[2], "the other hands must still be drawn"
    with pytest.raises(ValueError, match="not styles of this data"):
        training_set(TrainConfig(output=str(tmp_path), fonts=fonts, style_weights={"No Such Hand": 2.0}))
    with pytest.raises(ValueError, match="positive numbers"):
        training_set(TrainConfig(output=str(tmp_path), fonts=fonts, style_weights={heavy: float("nan")}))
    train(TrainConfig(output=str(tmp_path / "weighted"), steps=1, fonts=fonts, style_weights={heavy: 4.0}, **TINY))
    assert GeneratorMeta.load(tmp_path / "weighted").recipe["style_weights"] == {heavy: 4.0}


def test_same_seed_same_line_and_other_seeds_differ(tiny_model):
    gen = GenerateLines(GenerateConfig(texts="", output="", steps=3, batch_size=4), str(tiny_model))
    alone = gen.lines(["Dear Sir"], [0], [7])[0]
    batched = gen.lines(["Dear Sir", "Dear Sir", "Köln, 3 März 1921", "ab"], [0, 0, 1, 2], [7, 8, 9, 10])
    assert alone.dtype == np.uint8 and alone.shape[0] == 32
    assert np.array_equal(alone, batched[0]), "a line must not depend on what else is in its batch"
    assert not np.array_equal(batched[0], batched[1]), "two seeds of one text must differ"
    assert batched[2].shape[1] > batched[3].shape[1], "width follows the text"


def test_plan_skips_empty_and_reports_untrained_characters(tiny_model):
    meta = GeneratorMeta.load(tiny_model)
    texts = ["hello", "", "price 5 €", "ok ✓ €"]
    plan = plan_samples(texts, meta, GenerateConfig(texts="", output="", count=4, seed=3), None)
    assert plan.empty == 1 and plan.unsupported_lines == 2
    assert dict(plan.unsupported) == {"€": 2, "✓": 1}
    assert [r["text"] for r in plan.rows] == ["hello"] * 4
    assert [r["seed"] for r in plan.rows] == [3, 4, 5, 6]
    assert all(set("hello") <= set(meta.styles[r["style_id"]].charset) for r in plan.rows)


def test_texts_from_a_digitize_parquet_are_its_confident_lines(tmp_path):
    def page(status, review, lines):
        blank = {name: None for name in PAGE_SCHEMA.names}
        blocks = [{"kind": "line", "bbox": None, "text": t, "confidence": c} for t, c in lines]
        return {**blank, "status": status, "needs_review": review, "blocks": blocks}

    rows = [page("ok", False, [("kept line", 0.95), ("shaky line", 0.5)]), page("ok", True, [("review page", 0.99)]),
            page("error", False, [])]
    pq.write_table(pa.Table.from_pylist(rows, schema=PAGE_SCHEMA), tmp_path / "pages.parquet")
    assert read_texts(str(tmp_path / "pages.parquet"), min_confidence=0.9) == ["kept line"]
    assert split_long("a " * 60, limit=40)[0] == ("a " * 20).strip()


def test_generate_job_writes_a_training_dataset(tiny_model, tmp_path):
    from jobs.augment import main

    texts = tmp_path / "texts.txt"
    texts.write_text("Dear Sir\n\nGrüße aus Köln\nCost: 5 €\n", encoding="utf-8")
    out = tmp_path / "synthetic"
    ensure_ray()
    code = main(["generate", "--texts", str(texts), "--output", str(out), "--model", str(tiny_model),
                 "--count", "5", "--steps", "2", "--seed", "11"])
    assert code == 0
    table = pq.read_table(out)
    assert table.num_rows == 5
    assert table.schema.remove_metadata().equals(SYNTHETIC_SCHEMA.remove_metadata())
    assert sorted(table.column("index").to_pylist()) == [0, 1, 2, 3, 4]
    assert sorted(table.column("seed").to_pylist()) == [11, 12, 13, 14, 15]
    summary = json.loads((out / "_generation.json").read_text(encoding="utf-8"))
    assert summary["empty_skipped"] == 1 and summary["unsupported_characters"] == {"€": 1}
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=sorted(str(p) for p in out.glob("*.parquet")), split="train")
    row = ds[0]
    assert isinstance(row["image"], Image.Image) and row["image"].size[1] == 32
    assert row["text"] in {"Dear Sir", "Grüße aus Köln"}


def test_few_shot_style_adds_one_trained_style(tiny_model, tmp_path):
    from pipeline.handwriting.personalize import personalize

    style_dir = tmp_path / "writer"
    style_dir.mkdir()
    labels = []
    for i, text in enumerate(["the first line", "another line", "third one here"]):
        img = render_handwriting(text, FONTS[-1], np.random.default_rng(i))
        Image.fromarray(img).save(style_dir / f"{i}.png")
        labels.append(json.dumps({"image": f"{i}.png", "text": text}))
    (style_dir / "labels.jsonl").write_text("\n".join(labels), encoding="utf-8")
    before = GeneratorMeta.load(tiny_model)
    folder, style_id = personalize(str(tiny_model), str(style_dir), str(tmp_path / "styled"), steps=3)
    after = GeneratorMeta.load(folder)
    assert style_id == len(before.styles) and len(after.styles) == style_id + 1 and after.styles[-1].name == "writer"
    old, new = _weights(tiny_model)["class_embedding.weight"], _weights(Path(folder))["class_embedding.weight"]
    assert new.shape[0] == old.shape[0] + 1
    assert np.array_equal(old[:style_id], new[:style_id]) and np.array_equal(old[-1], new[-1])  # styles and null kept
    assert not np.array_equal(new[style_id], old[-1])  # the new row moved off its null start
    gen = GenerateLines(GenerateConfig(texts="", output="", steps=2), folder)
    assert gen.lines(["hello"], [style_id], [0])[0].shape[0] == 32


@pytest.mark.skipif(not (SHIPPED_MODEL / "unet").exists(), reason="shipped generator not built yet")
def test_shipped_generator_writes_offline():
    meta = GeneratorMeta.load(SHIPPED_MODEL)
    assert len(meta.styles) >= 5 and set("abcdefghijklmnopqrstuvwxyzäöüéèàç") <= meta.charset
    size = sum(p.stat().st_size for p in SHIPPED_MODEL.rglob("*") if p.is_file())
    assert size < 20 * 2**20
    gen = GenerateLines(GenerateConfig(texts="", output="", steps=4), str(SHIPPED_MODEL))
    line = gen.lines(["Archive"], [0], [1])[0]
    assert line.shape[0] == 32 and (line < 128).sum() > 30  # ink on the page
