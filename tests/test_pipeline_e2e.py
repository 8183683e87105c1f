"""The whole job on a real local Ray: page accounting, routes, review queue, summary."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from jobs.digitize import main
from pipeline.quality.metrics import cer
from schemas import PAGE_SCHEMA, REVIEW_SCHEMA
from tests.conftest import ensure_ray


def _pages(out: Path, run_id: str) -> list[dict]:
    return pads.dataset(out / "pages" / f"run_id={run_id}", format="parquet", schema=PAGE_SCHEMA).to_table().to_pylist()


def _run(args: list[str]) -> int:
    return main(args)


@pytest.fixture(scope="module")
def mixed_run(corpus, tmp_path_factory):
    ensure_ray()
    folder, truth, bad = corpus
    out = tmp_path_factory.mktemp("out")
    code = _run(["--input", str(folder), "--output", str(out), "--run-id", "mixed", "--languages", "eng,fra,deu"])
    return code, out, truth, bad, _pages(out, "mixed")


def test_every_page_is_exactly_one_row_and_the_job_exits_zero(mixed_run):
    code, out, truth, bad, rows = mixed_run
    assert code == 0
    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        by_doc.setdefault(Path(r["source_uri"]).name, []).append(r)
    for name, pages in truth.items():
        assert sorted(r["page"] for r in by_doc[name]) == list(range(1, len(pages) + 1)), name
    for name in bad:
        assert len(by_doc[name]) == 1
    summary = json.loads((out / "runs" / "mixed.json").read_text())
    assert summary["complete"] and summary["rows_out"] == summary["pages_in"] == len(rows)
    assert summary["missing_documents"] == [] and summary["duplicate_rows"] == 0


def test_broken_files_are_error_rows_with_reasons(mixed_run):
    _, _, _, bad, rows = mixed_run
    errors = {Path(r["source_uri"]).name: r for r in rows if r["status"] == "error"}
    for name, kind in bad.items():
        assert errors[name]["error_kind"] == kind and errors[name]["error"]
    assert errors["password-example.pdf"]["error_kind"] == "encrypted"
    assert errors["invalid.pdf"]["error_kind"] == "corrupt"
    assert all(r["needs_review"] for r in errors.values())


def test_routes_text_and_confidence(mixed_run):
    _, _, truth, _, rows = mixed_run
    by_key = {(Path(r["source_uri"]).name, r["page"]): r for r in rows}
    for page, expected in enumerate(truth["born_digital.pdf"], start=1):
        row = by_key[("born_digital.pdf", page)]
        assert row["route"] == "text_layer" and cer(expected, row["text"]) == 0.0
    for page, expected in enumerate(truth["scanned.pdf"], start=1):
        row = by_key[("scanned.pdf", page)]
        assert row["route"] == "ocr" and row["engine"] == "auto"  # the default engine
        assert {b["engine"] for b in row["blocks"] if b["kind"] == "line"} == {"tesseract"}  # clean print stays Tesseract's
        assert cer(expected, row["text"]) < 0.02
        assert 0.8 < row["confidence"] <= 1.0 and row["tokens"]
    assert cer(truth["rotated_exif.jpg"][0], by_key[("rotated_exif.jpg", 1)]["text"]) < 0.02
    blank = by_key[("multipage.tif", 3)]
    assert blank["status"] == "ok" and blank["text"] == "" and "blank" in blank["flags"]


def test_ocr_confidence_is_the_shipped_calibration_of_the_raw_score(mixed_run, corpus, tmp_path, capsys):
    from pipeline.quality.calibration import Calibration, default_path

    _, _, _, _, rows = mixed_run
    ocr = [r for r in rows if r["route"] == "ocr" and r["status"] == "ok" and r["text"]]
    assert ocr
    for r in ocr:  # the run's engine's shipped fit
        assert r["confidence"] == pytest.approx(Calibration.load(default_path(r["engine"])).confidence(r), abs=1e-6)
        assert r["confidence"] != pytest.approx(r["confidence_raw"], abs=1e-3)
    for r in rows:
        if r["route"] == "text_layer":
            assert r["confidence"] == r["confidence_raw"]
    folder, _, _ = corpus
    scan = folder / "good" / "scanned.pdf"
    assert _run(["--input", str(scan), "--output", str(tmp_path), "--run-id", "raw", "--calibration", "none"]) == 0
    raw = {r["page"]: r for r in _pages(tmp_path, "raw")}
    calibrated = {r["page"]: r for r in rows if r["source_uri"] == str(scan)}
    assert all(raw[p]["confidence"] == raw[p]["confidence_raw"] == pytest.approx(calibrated[p]["confidence_raw"], abs=1e-6)
               for p in raw)
    assert _run(["--input", str(scan), "--output", str(tmp_path), "--calibration", str(scan)]) == 1
    assert "not a calibration file" in capsys.readouterr().err


def test_review_queue_holds_exactly_the_pages_that_need_review(mixed_run):
    _, out, _, _, rows = mixed_run
    review = pq.read_table(out / "review" / "run_id=mixed" / "review.parquet")
    assert review.schema.names == REVIEW_SCHEMA.names
    expected = {(r["source_uri"], r["page"]) for r in rows if r["needs_review"]}
    assert {(r["source_uri"], r["page"]) for r in review.to_pylist()} == expected
    assert expected  # the broken files are there


def test_text_layer_modes(corpus, tmp_path):
    ensure_ray()
    folder, _, _ = corpus
    good = folder / "good"
    assert _run(["--input", str(good / "born_digital.pdf"), "--output", str(tmp_path), "--run-id", "ocr", "--text-layer", "ocr"]) == 0
    assert {r["route"] for r in _pages(tmp_path, "ocr")} == {"ocr"}
    assert _run(["--input", str(good / "scanned.pdf"), "--output", str(tmp_path), "--run-id", "only", "--text-layer", "only"]) == 0
    only = _pages(tmp_path, "only")
    assert [r["status"] for r in only] == ["skipped", "skipped"] and all(r["route"] == "none" for r in only)


def test_review_threshold_moves_pages_into_review(corpus, tmp_path, recwarn):
    ensure_ray()
    folder, _, _ = corpus
    scan = folder / "good" / "scanned.pdf"
    assert _run(["--input", str(scan), "--output", str(tmp_path), "--run-id", "lax", "--review-threshold", "0.1"]) == 0
    # a run of fewer page blocks than actors: Ray Data's advice to set override_num_blocks is for
    # the code that builds the dataset, not for the user of the command
    assert not [str(w.message) for w in recwarn if "override_num_blocks" in str(w.message)]
    assert _run(["--input", str(scan), "--output", str(tmp_path), "--run-id", "strict", "--review-threshold", "0.999"]) == 0
    assert not any(r["needs_review"] for r in _pages(tmp_path, "lax"))
    assert all(r["needs_review"] for r in _pages(tmp_path, "strict"))


def test_empty_input_folder_completes_with_zero_pages(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    assert _run(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--run-id", "none"]) == 0
    summary = json.loads((tmp_path / "out" / "runs" / "none.json").read_text())
    assert summary["pages_in"] == summary["rows_out"] == 0
    assert "nothing to do" in capsys.readouterr().out


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    assert _run(["--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out")]) == 1
    assert "is not a file, a folder, a glob or a list file" in capsys.readouterr().err


def test_render_tasks_layout_gives_the_same_rows(mixed_run, tmp_path):
    """GPU actors get their pages from CPU render tasks instead of rendering them; on this
    CPU-only machine that layout is forced, and it must produce the very same rows."""
    from jobs.digitize import build_config, parse_args
    from connectors import discover
    from pipeline.run.ray_job import PoolPlan, build_dataset

    _, _, _, _, fused = mixed_run
    folder = Path(fused[0]["source_uri"]).parents[1]
    config = build_config(parse_args(["--input", str(folder), "--output", str(tmp_path), "--run-id", "tasks",
                                      "--languages", "eng,fra,deu"]))
    plan = PoolPlan(workers=2, num_cpus=0.8, num_gpus=0.0, render_in_actor=False)
    build_dataset(config, discover(config.input), plan).write_parquet(str(tmp_path / "pages"))
    split = pads.dataset(tmp_path / "pages", format="parquet", schema=PAGE_SCHEMA).to_table().to_pylist()

    def key(rows):
        return {(r["source_uri"], r["page"]): (r["status"], r["error_kind"], r["route"], r["text"]) for r in rows}

    assert len(split) == len(fused) and key(split) == key(fused)


def test_local_ray_workers_get_the_pipeline_and_one_openmp_thread():
    """start_local_ray hands its settings to the workers through the node's environment (no
    runtime_env, so prestarted workers serve the first pages)."""
    import ray

    ensure_ray()

    @ray.remote(num_cpus=0.1)
    def worker_view() -> tuple[str | None, bool]:
        import importlib.util
        import os

        return os.environ.get("OMP_THREAD_LIMIT"), importlib.util.find_spec("pipeline.run.recognize") is not None

    assert ray.get(worker_view.remote()) == ("1", True)


def test_a_local_rays_workers_find_their_own_cluster_when_a_later_ray_runs_beside_it():
    """Ray code in a worker that looks its cluster up by itself finds its own, not the last Ray
    started on the machine. Ray Train's placement-group cleaner asks the state API this way
    whether the run's controller lives; told "no" by another cluster, it removed the training
    run's placement group and the run lost its workers."""
    import ray

    from pipeline.run.ray_job import start_local_ray
    from tests.ray_head import ray_head

    ray.shutdown()
    start_local_ray(num_cpus=2, dashboard=True)  # as the training jobs start theirs
    try:
        with ray_head(num_cpus=1):  # started after it, and recorded as the machine's current cluster

            @ray.remote(num_cpus=0.1)
            class Probe:
                def lives(self, actor_id: str) -> bool:
                    from ray.util.state import get_actor

                    state = get_actor(actor_id, timeout=30)
                    return state is not None and state.state == "ALIVE"

            probe = Probe.remote()
            assert ray.get(probe.lives.remote(probe._actor_id.hex()), timeout=120)
    finally:
        ray.shutdown()
