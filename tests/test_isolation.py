"""Failure isolation with real faults: a page that kills its worker process with SIGSEGV, one
that hangs past the page timeout and one that grows past the memory limit, among good pages
of the same document, blocks and batches. The run ends, exits 0 and accounts for every page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.run.isolation import IsolatedStage, IsolationPolicy
from pipeline.run.pages_reader import iter_pages
from tests.corpus import rasterize_pdf, write_born_digital_pdf, write_scanned_pdf

ROOT = Path(__file__).resolve().parents[1]
FAULTS = {2: "SEGFAULT", 3: "HANGUP", 6: "BALLOON"}
PAGES = 8


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("faults")
    pages = [(f"Register page {i}", [f"The clerk wrote entry {i} in the book.", f"This page says {FAULTS.get(i, 'nothing')} today."])
             for i in range(1, PAGES + 1)]
    write_born_digital_pdf(folder / "src.pdf", pages, fontsize=14)
    (folder / "in").mkdir()
    write_scanned_pdf(folder / "in" / "register.pdf", rasterize_pdf(folder / "src.pdf", dpi=200), dpi=200)
    return folder


def _digitize(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "jobs" / "digitize.py"), *args], env=env, capture_output=True,
                          text=True, **kwargs)


def test_crash_hang_and_memory_cost_one_error_row_each(register):
    out = register / "out"
    started = time.monotonic()
    done = _digitize(["--input", str(register / "in"), "--output", str(out), "--run-id", "faults",
                      "--engine", "tests.faulty_engine:FaultyEngine", "--page-timeout", "15", "--max-page-retries", "1",
                      "--worker-memory-mb", "1200", "--workers", "1"], timeout=600)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["page"]: r for r in iter_pages(str(out / "pages"))}
    assert sorted(rows) == list(range(1, PAGES + 1))
    kinds = {p: r["error_kind"] for p, r in rows.items() if r["status"] == "error"}
    assert kinds == {2: "worker_crashed", 3: "timeout", 6: "out_of_memory"}
    assert "SIGSEGV" in rows[2]["error"] and "tried 2 time(s)" in rows[2]["error"]
    for page in set(rows) - set(FAULTS):  # the pages that shared the faulty pages' batches
        assert rows[page]["status"] == "ok" and f"entry {page}" in rows[page]["text"]
    summary = json.loads((out / "runs" / "faults.json").read_text())
    assert summary["complete"] and summary["errors_by_kind"] == {"worker_crashed": 1, "timeout": 1, "out_of_memory": 1}
    review = pq.read_table(out / "review" / "run_id=faults" / "review.parquet").to_pylist()
    assert {r["page"] for r in review} >= set(FAULTS)
    # two batches of 4, one hang at 15 s, two crashes, one memory kill, worker restarts: well under this
    assert wall < 240, f"the run took {wall:.0f} s"


def test_a_resumed_run_does_not_read_the_failed_pages_again_unless_asked(register):
    out = register / "out"
    again = _digitize(["--input", str(register / "in"), "--output", str(out), "--run-id", "faults",
                       "--engine", "tests.faulty_engine:FaultyEngine", "--page-timeout", "15"], timeout=300)
    assert again.returncode == 0 and "8 page(s) already written" in again.stdout, again.stdout[-2000:]


def _echo_or_die(rows):
    if any(r.get("die") for r in rows):
        os._exit(3)
    return [{**r, "done": True} for r in rows]


def _factory():
    return _echo_or_die


def test_a_worker_that_exits_is_replaced_and_its_page_retried_a_bounded_number_of_times():
    stage = IsolatedStage(_factory, IsolationPolicy(page_timeout=30, max_page_retries=2, memory_limit=None),
                          lambda row, failure: {**row, "failed": failure.kind, "detail": failure.detail})
    try:
        first = stage.worker.proc.pid
        rows = [{"source_uri": "x", "page": p, **({"die": True} if p == 2 else {})} for p in (1, 2, 3)]
        out = stage(rows)
        assert [r.get("done") or r.get("failed") for r in out] == [True, "worker_crashed", True]
        assert "exited with code 3" in out[1]["detail"] and "tried 3 time(s)" in out[1]["detail"]
        assert stage.worker.proc.pid != first and stage.worker.starts == 5  # first, after the batch, three tries
    finally:
        stage.close()


def test_a_worker_that_cannot_build_its_handler_fails_at_once():
    from pipeline.engines.base import EngineLoadError

    with pytest.raises(EngineLoadError, match="ZeroDivisionError"):
        IsolatedStage(_bad_factory, IsolationPolicy(30, 0, None), lambda r, f: r)


def _bad_factory():
    return 1 / 0
