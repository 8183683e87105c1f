"""Failure isolation with real faults: a page that kills its worker process with SIGSEGV, one
that hangs past the page timeout and one that grows past the memory limit, among good pages
of the same document, blocks and batches. The run ends, exits 0 and accounts for every page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
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


def _digitize(args: list[str], env_extra: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run([sys.executable, str(ROOT / "jobs" / "digitize.py"), *args], env=env, capture_output=True,
                          text=True, **kwargs)


def test_crash_hang_and_memory_cost_one_error_row_each(register):
    out = register / "out"
    started = time.monotonic()
    done = _digitize(["--input", str(register / "in"), "--output", str(out), "--run-id", "faults",
                      "--engine", "tests.faulty_engine:FaultyEngine", "--page-timeout", "20", "--max-page-retries", "1",
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
    # two batches of 4, one hang at 20 s, two crashes, one memory kill, worker restarts: well under this.
    # A page alone takes about a second, and its fresh worker's first page more; in a loaded suite a
    # tighter timeout caught the memory page before it grew
    assert wall < 240, f"the run took {wall:.0f} s"


def test_failed_pages_are_left_alone_on_resume_and_read_again_when_asked(register):
    out, args = register / "out", ["--input", str(register / "in"), "--output", str(register / "out"), "--run-id", "faults",
                                   "--engine", "tests.faulty_engine:FaultyEngine", "--page-timeout", "15"]
    again = _digitize(args, timeout=300)
    assert again.returncode == 0 and "8 page(s) already written" in again.stdout, again.stdout[-2000:]
    fixed = _digitize(args + ["--retry-errors"], timeout=300, env_extra={"FAULTY_ENGINE_OFF": "1"})
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    rows = list(iter_pages(str(out / "pages")))
    assert sorted(r["page"] for r in rows) == list(range(1, PAGES + 1))  # read again, not duplicated
    assert all(r["status"] == "ok" for r in rows)


def test_sigterm_stops_the_run_and_every_process_it_started(register):
    args = ["--input", str(register / "in"), "--output", str(register / "stopped"), "--run-id", "stop",
            "--engine", "tests.faulty_engine:FaultyEngine", "--page-timeout", "600", "--workers", "1"]
    proc = subprocess.Popen([sys.executable, str(ROOT / "jobs" / "digitize.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until a page worker reads pages
            tree = psutil.Process(proc.pid).children(recursive=True)
            if any("pipeline.run.worker_process" in " ".join(_cmdline(p)) for p in tree):
                break
            time.sleep(0.5)
        else:
            pytest.fail("no page worker started")
        time.sleep(3)
        tree = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "stopped by SIGTERM" in output and "--run-id stop" in output
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert not alive, [(p.pid, _cmdline(p)) for p in alive]
    resumed = _digitize(args[:-4] + ["--page-timeout", "60"], timeout=300, env_extra={"FAULTY_ENGINE_OFF": "1"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert sorted(r["page"] for r in iter_pages(str(register / "stopped" / "pages"))) == list(range(1, PAGES + 1))


def test_a_recognizer_actor_killed_mid_run_is_restarted_and_its_pages_read_once(register):
    """SIGKILL of the Ray actor itself (not of its page worker): a lost node or the OOM killer.
    Ray restarts the actor and retries its batch; every page ends exactly once."""
    reading = register / "actor_killed_reading"
    args = [sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(register / "in"), "--output",
            str(register / "actor_killed"), "--run-id", "killed", "--engine", "tests.faulty_engine:FaultyEngine",
            "--workers", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "FAULTY_ENGINE_OFF": "1",
                                 "FAULTY_ENGINE_READING": str(reading)})
    try:
        actor = _wait_for(proc, "ray::MapWorker", with_child="pipeline.run.worker_process")
        # the page worker starts with the actor, before any batch: strike once it reads one
        deadline = time.monotonic() + 120
        while not reading.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no batch was read"
            time.sleep(0.1)
        actor.kill()
        output, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output[-3000:]
    assert "will be retried" in output  # the kill landed while the actor held a batch
    rows = list(iter_pages(str(register / "actor_killed" / "pages")))
    assert sorted(r["page"] for r in rows) == list(range(1, PAGES + 1))
    assert all(r["status"] == "ok" for r in rows)


def _wait_for(proc: subprocess.Popen, name: str, with_child: str, seconds: float = 120) -> psutil.Process:
    """The process under `proc` whose command line holds `name`, once it has a child whose
    command line holds `with_child`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended first"
        for p in psutil.Process(proc.pid).children(recursive=True):
            if name in " ".join(_cmdline(p)) and any(with_child in " ".join(_cmdline(c)) for c in _children(p)):
                return p
        time.sleep(0.3)
    pytest.fail(f"no {name} with a {with_child} child within {seconds:.0f} s")


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children()
    except psutil.Error:
        return []


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


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
