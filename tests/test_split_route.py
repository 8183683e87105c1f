"""Page references: every page covered exactly once, born-digital PDFs in runs of pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.run.config import DigitizeConfig, TextLayerConfig
from pipeline.run.split import TEXT_LAYER_PAGES_PER_REF, split_document
from pipeline.page.documents import RenderSpec
from pipeline.quality.metrics import cer
from pipeline.run.route import RoutePages
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf, write_scanned_pdf

PAGES = 20


@pytest.fixture(scope="module")
def born(tmp_path_factory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("split") / "born.pdf"
    truths = write_born_digital_pdf(path, [page_text(("eng", "fra", "deu")[i % 3], i) for i in range(PAGES)])
    return path, truths


def _covered(refs: list[dict]) -> list[int]:
    return [p for r in refs for p in range(r["page"], (r["page_last"] or r["page"]) + 1)]


def _config(path: Path, mode: str = "auto") -> DigitizeConfig:
    return DigitizeConfig(input=str(path), output="", run_id="t", text_layer=TextLayerConfig(mode=mode))


def test_born_digital_pdf_is_referenced_in_runs_of_pages(born):
    path, _ = born
    refs = split_document(str(path), _config(path))
    assert _covered(refs) == list(range(1, PAGES + 1))
    assert len(refs) == -(-PAGES // TEXT_LAYER_PAGES_PER_REF)
    assert all(r["page_count"] == PAGES and r["status"] == "ok" for r in refs)


def test_forced_ocr_and_scanned_pdfs_get_one_reference_per_page(born, tmp_path):
    path, _ = born
    assert [(r["page"], r["page_last"]) for r in split_document(str(path), _config(path, "ocr"))] == [(p, p) for p in range(1, PAGES + 1)]
    scan = tmp_path / "scan.pdf"
    write_scanned_pdf(scan, rasterize_pdf(path, dpi=50)[:3], dpi=50)
    assert [(r["page"], r["page_last"]) for r in split_document(str(scan), _config(scan))] == [(1, 1), (2, 2), (3, 3)]


def test_resumed_pages_are_left_out_and_runs_do_not_span_them(born):
    path, _ = born
    done = {(str(path), 3), (str(path), 4), (str(path), 20)}
    refs = split_document(str(path), _config(path), done)
    assert _covered(refs) == [p for p in range(1, PAGES + 1) if p not in (3, 4, 20)]
    assert all(r["page_last"] - r["page"] < TEXT_LAYER_PAGES_PER_REF for r in refs)


def test_a_run_reference_becomes_one_row_per_page_with_that_pages_text(born):
    path, truths = born
    config = _config(path)
    refs = split_document(str(path), config)
    rows = RoutePages(config, RenderSpec())
    out = rows.route_rows(refs)
    assert [r["page"] for r in out] == list(range(1, PAGES + 1))
    assert all(r["route"] == "text_layer" and "page_last" not in r for r in out)
    assert max(cer(truths[r["page"] - 1], r["text"]) for r in out) == 0.0
    single = rows.route_rows([_one_page(r, p) for r in refs for p in range(r["page"], r["page_last"] + 1)])
    assert [r["text"] for r in single] == [r["text"] for r in out]


def _one_page(ref: dict, page: int) -> dict:
    return {**ref, "page": page, "page_last": page}


def test_a_page_declaring_a_huge_size_gets_capped_geometry():
    """Found by scripts/fuzz_corpus.py: a text-layer page with a 2**31-point MediaBox gave a row
    width past int32, and the whole block (good pages with it) failed to write."""
    from pipeline.run.actors import storable_table
    from pipeline.run.records import WORK_SCHEMA
    from schemas import PAGE_SCHEMA

    path = Path(__file__).parent / "regressions" / "huge_mediabox_born_digital.pdf"
    config = _config(path)
    rows = RoutePages(config, RenderSpec()).route_rows(split_document(str(path), config))
    assert [r["page"] for r in rows] == [1, 2, 3]
    assert rows[0]["width"] * rows[0]["height"] <= 1.001 * config.render.max_pixels and "downscaled_pixel_cap" in rows[0]["flags"]
    assert storable_table(rows, WORK_SCHEMA, config).num_rows == 3
    broken = [{**rows[1], "width": 2**40}, rows[2]]  # the safety net: a row that still does not fit is its page's error row
    table = storable_table(broken, PAGE_SCHEMA, config).to_pylist()
    assert [(r["page"], r["status"], r["error_kind"]) for r in table] == [(2, "error", "invalid_row"), (3, "ok", None)]


def test_a_document_that_kills_the_split_process_is_one_error_row_on_the_retry(tmp_path):
    """Ray retries a split task whose process died; the retry finds the document it died on and
    writes its error row instead of opening it again. The first attempt is killed for real."""
    import subprocess
    import sys

    import ray

    from pipeline.run.split import SplitDocuments

    # the marker is kept per Ray job: the killed attempt below runs with no Ray, so the retry here
    # must too, whichever test of this process started one before (the suite runs in two processes)
    ray.shutdown()
    path = tmp_path / "poison.pdf"
    write_born_digital_pdf(path, [page_text("eng", 0)])
    config = DigitizeConfig(input=str(path), output="", run_id=f"crash-{tmp_path.name}")
    killer = ("import os, signal, sys\nimport pipeline.run.split as split\n"
              "split.split_document = lambda *a, **k: os.kill(os.getpid(), signal.SIGSEGV)\n"
              "from pipeline.run.config import DigitizeConfig\n"
              f"split.SplitDocuments(DigitizeConfig(input='', output='', run_id={config.run_id!r}))([{{'uri': {str(path)!r}}}])\n")
    first = subprocess.run([sys.executable, "-c", killer], cwd=Path(__file__).parents[1])
    assert first.returncode == -11  # SIGSEGV, in the middle of opening the document
    retry = SplitDocuments(config)([{"uri": str(path)}])
    assert [(r["page"], r["status"], r["error_kind"]) for r in retry] == [(0, "error", "worker_crashed")]
    again = SplitDocuments(config)([{"uri": str(path)}])  # the marker is gone: a later attempt reads it
    assert [r["page"] for r in again] == [1]
