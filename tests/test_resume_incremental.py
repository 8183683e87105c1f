"""Unattended runs: a run killed with SIGKILL finishes on restart with every page exactly once;
--incremental converts only what is new or changed, and nothing when nothing changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.dataset as pads

from jobs.digitize import main as digitize
from tests.conftest import ROOT, ensure_ray
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf, write_scanned_pdf


def _rows(out: Path, run_id: str) -> list[dict]:
    return pads.dataset(out / "pages" / f"run_id={run_id}", format="parquet").to_table(columns=["source_uri", "page"]).to_pylist()


def test_killed_run_resumes_with_every_page_exactly_once(tmp_path):
    import ray

    ray.shutdown()  # the job below starts its own local Ray in a separate process tree
    inputs = tmp_path / "in"
    inputs.mkdir()
    src = tmp_path / "src.pdf"
    write_born_digital_pdf(src, [page_text("eng", i) for i in range(16)])
    write_scanned_pdf(inputs / "scan16.pdf", rasterize_pdf(src, dpi=150), dpi=150)
    write_born_digital_pdf(inputs / "text3.pdf", [page_text("fra", i) for i in range(3)])
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(inputs), "--output", str(out),
           "--run-id", "night", "--rows-per-file", "2", "--workers", "1"]
    env = dict(os.environ, RAY_DATA_DISABLE_PROGRESS_BARS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    run_dir = out / "pages" / "run_id=night"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(run_dir.glob("*.parquet"))) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started, mid-run
    proc.wait()
    written_before = len(_rows(out, "night")) if list(run_dir.glob("*.parquet")) else 0
    assert 0 < written_before < 19, "the kill must land mid-run for this test to mean anything"
    time.sleep(2)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "already written are skipped" in result.stdout
    counts = Counter((Path(r["source_uri"]).name, r["page"]) for r in _rows(out, "night"))
    expected = {("scan16.pdf", p) for p in range(1, 17)} | {("text3.pdf", p) for p in range(1, 4)}
    assert set(counts) == expected and set(counts.values()) == {1}
    summary = json.loads((out / "runs" / "night.json").read_text())
    assert summary["complete"] and summary["rows_out"] == 19


def test_incremental_runs_convert_only_new_or_changed_documents(tmp_path, capsys):
    ensure_ray()
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_born_digital_pdf(inputs / "a.pdf", [page_text("eng", 0)])
    write_born_digital_pdf(inputs / "b.pdf", [page_text("deu", 1), page_text("deu", 2)])
    out = tmp_path / "out"
    base = ["--input", str(inputs), "--output", str(out), "--incremental"]
    assert digitize(base + ["--run-id", "n1"]) == 0
    assert len(_rows(out, "n1")) == 3
    capsys.readouterr()

    started = time.perf_counter()
    assert digitize(base + ["--run-id", "n2"]) == 0
    assert "nothing to do: all 2 document(s) unchanged" in capsys.readouterr().out
    assert time.perf_counter() - started < 5 and not (out / "pages" / "run_id=n2").exists()

    write_born_digital_pdf(inputs / "b.pdf", [page_text("deu", 1)])  # b changed: now one page
    write_born_digital_pdf(inputs / "c.pdf", [page_text("fra", 0)])  # c is new
    assert digitize(base + ["--run-id", "n3"]) == 0
    assert "2 of 3 document(s) new or changed" in capsys.readouterr().out
    assert sorted(Path(r["source_uri"]).name for r in _rows(out, "n3")) == ["b.pdf", "c.pdf"]

    assert digitize(base + ["--run-id", "n4", "--dpi", "200"]) == 0  # other settings: everything again
    assert len(_rows(out, "n4")) == 3
