"""--engine auto with --vlm-model: a page Tesseract's layout analysis finds mostly table is read by
the LightOnOCR model (here a tiny one built from the real config classes, taught one answer),
other pages are not; the route is used on GPU actors only, and a VLM page keeps its raw score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pymupdf
import pytest

from pipeline.engines import EngineLoadError, PageImage
from pipeline.engines.auto import VLM_NOT_KEPT, AutoEngine
from pipeline.engines.lightonocr import LightOnOCREngine
from pipeline.page.scoring import READ_BY_VLM
from pipeline.run.config import EngineConfig
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf
from tests.tiny_models import build_tiny_lightonocr

pytest.importorskip("rapidocr")
TAUGHT = "| Parish | Births |\n|---|---|\n| Saint Anne | 100 |"
NAMES = ["Anne", "Paul", "Marc", "Jean", "Luc", "Rose", "Clair", "Denis", "Remy", "Yves"]


def _table_page(folder: Path) -> PageImage:
    """A parish register's ruled table, as a scan at 200 DPI."""
    doc = pymupdf.open()
    page = doc.new_page()
    rows = [["Parish", "Births", "Deaths", "Marriages"]] + [[f"Saint {n}", str(100 + 7 * i), str(40 + 3 * i), str(12 + i)]
                                                          for i, n in enumerate(NAMES)]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            rect = pymupdf.Rect(60 + 120 * c, 80 + 26 * r, 180 + 120 * c, 106 + 26 * r)
            page.draw_rect(rect, color=(0, 0, 0), width=0.8)
            page.insert_text((rect.x0 + 6, rect.y1 - 8), cell, fontsize=11)
    doc.save(folder / "table.pdf")
    return PageImage(np.asarray(rasterize_pdf(folder / "table.pdf", dpi=200)[0].convert("L")), 200)


def _prose_page(folder: Path) -> PageImage:
    write_born_digital_pdf(folder / "prose.pdf", [page_text("eng", 0)])
    return PageImage(np.asarray(rasterize_pdf(folder / "prose.pdf", dpi=200)[0].convert("L")), 200)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> Path:
    return build_tiny_lightonocr(tmp_path_factory.mktemp("tiny_vlm"), teach=TAUGHT)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> tuple[PageImage, PageImage]:
    folder = tmp_path_factory.mktemp("vlm_pages")
    return _table_page(folder), _prose_page(folder)


def _auto_with_vlm(model: Path, max_new_tokens: int) -> AutoEngine:
    """Engine auto as a GPU actor loads it, with the tiny model on the CPU in the GPU's place."""
    cfg = EngineConfig(name="auto", vlm_model=str(model), dtype="float32", max_new_tokens=max_new_tokens)
    base = AutoEngine.load(cfg, "cpu")
    vlm = LightOnOCREngine.load(EngineConfig(name="lightonocr", model=str(model), dtype="float32", max_new_tokens=max_new_tokens))
    return AutoEngine(base.printed, base.hand, cfg, line_calibration=base.line_calibration, vlm=vlm)


def test_a_table_page_is_read_by_the_vlm_and_a_prose_page_is_not(tiny_vlm, pages):
    table, prose = pages
    engine = _auto_with_vlm(tiny_vlm, max_new_tokens=96)
    read = engine.recognize([table, prose])
    assert read[0].markdown == TAUGHT and READ_BY_VLM in read[0].flags
    assert read[0].tables == [[["Parish", "Births"], ["Saint Anne", "100"]]]
    assert read[0].blocks and {b.engine for b in read[0].blocks} == {"lightonocr"}
    assert READ_BY_VLM not in read[1].flags and "committee met" in read[1].text
    assert {b.engine for b in read[1].blocks if b.kind == "line"} == {"tesseract"}
    assert engine.model_id.endswith("+" + str(tiny_vlm))


def test_a_vlm_reading_cut_off_by_its_token_limit_leaves_tesseracts_reading(tiny_vlm, pages):
    table, _ = pages
    rec = _auto_with_vlm(tiny_vlm, max_new_tokens=4).recognize([table])[0]
    assert VLM_NOT_KEPT in rec.flags and READ_BY_VLM not in rec.flags
    assert all(f"Saint {n}" in rec.text for n in NAMES)  # every row, as Tesseract read it


def test_the_vlm_is_loaded_on_gpu_actors_only_and_checked_before_any_page(tiny_vlm, tmp_path):
    cfg = EngineConfig(name="auto", vlm_model=str(tiny_vlm), dtype="float32")
    assert AutoEngine.uses_gpu(cfg) and not AutoEngine.uses_gpu(EngineConfig(name="auto"))
    assert AutoEngine.load(cfg, "cpu").vlm is None  # a 1B model on the CPU takes minutes a page
    AutoEngine.preflight(cfg)
    with pytest.raises(EngineLoadError, match="--vlm-model: .*no_such_model"):
        AutoEngine.preflight(EngineConfig(name="auto", vlm_model=str(tmp_path / "no_such_model")))


def test_a_vlm_page_keeps_its_raw_score_where_auto_pages_are_calibrated():
    from pipeline.quality.calibration import default_path, Calibration
    from pipeline.run.recognize import _apply_ocr
    from pipeline.run.records import Recognition, Token, new_row

    calibration = Calibration.load(default_path("auto"))
    confidences = []
    for flags in ([], [READ_BY_VLM]):
        row = new_row(width=800, height=1000, dpi=200)
        rec = Recognition(text="Parish Births", markdown="Parish Births", confidence=0.6, flags=list(flags),
                          tokens=[Token("Parish", 0.6), Token("Births", 0.6)])
        _apply_ocr(row, rec, np.zeros((10, 10), np.uint8), calibration)
        confidences.append(row["confidence"])
    assert confidences[1] == 0.6 and confidences[0] != pytest.approx(0.6, abs=1e-3)


def test_reader_options_of_engine_auto_are_refused_for_another_engine():
    from jobs.digitize import build_config, parse_args

    with pytest.raises(SystemExit, match="--vlm-model name readers of --engine auto"):
        build_config(parse_args(["--input", "in", "--output", "out", "--engine", "tesseract", "--vlm-model", "x"]))
    assert build_config(parse_args(["--input", "in", "--output", "out", "--vlm-model", "x"])).engine.vlm_model == "x"
