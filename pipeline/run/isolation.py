"""Page work in a child process the actor can replace, so that a page which kills, hangs or
bloats the process reading it costs one error row, not the run.

Ray restarts a dead actor and retries its task without end, and a hung task blocks its block
for ever; the good pages that shared the block are never written. Here the actor stays alive:
its pages are read by a child process (pipeline.run.worker_process). When the child dies, runs
past the page timeout or grows past the memory limit, the actor kills it, starts a new one and
tries the batch's pages one at a time, so the page that did it is found and its neighbours are
written. A page that crashed its worker is tried again a bounded number of times; a page that
timed out or ran out of memory is not (it would again).
"""

from __future__ import annotations

import logging
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from typing import Any

import psutil

from pipeline.engines.base import EngineLoadError

log = logging.getLogger("digitize")

Row = dict[str, Any]
# what a failed worker leaves: recorded, and read again only when asked (--retry-errors)
ISOLATION_ERRORS = frozenset({"worker_crashed", "timeout", "out_of_memory"})
WATCH_INTERVAL_S = 0.1
START_TIMEOUT_S = 900.0  # a child builds its handler (loads a model) within this


class WorkerFailure(Exception):
    """The child process failed on a batch: kind is an error_kind of the page schema."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerProcess:
    """One child process running `factory()`'s handler on batches; replaced after a failure."""

    def __init__(self, factory: Callable[[], Callable[[list[Row]], list[Row]]], memory_limit: int | None):
        self.factory = factory
        self.memory_limit = memory_limit
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.starts = 0

    def start(self) -> None:
        parent, child = Pipe(duplex=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.run.worker_process", str(child.fileno())],
                                     pass_fds=(child.fileno(),))
        child.close()
        self.conn = parent
        self.starts += 1
        parent.send(self.factory)
        status, payload = self._receive(START_TIMEOUT_S, starting=True)
        if status == "load_error":
            self.stop()
            raise EngineLoadError(payload)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn = None, None

    def run(self, batch: list[Row], timeout: float) -> list[Row]:
        if self.proc is None:
            self.start()
        assert self.conn is not None
        self.conn.send(batch)
        status, payload = self._receive(timeout)
        if status == "error":
            raise WorkerFailure("recognize_failed", payload)
        return payload

    def _receive(self, timeout: float, starting: bool = False) -> tuple[str, Any]:
        """The child's answer; WorkerFailure (and the child replaced) if it dies, hangs or bloats."""
        assert self.proc is not None and self.conn is not None
        deadline = time.monotonic() + timeout
        watched = psutil.Process(self.proc.pid)
        while True:
            try:
                if self.conn.poll(WATCH_INTERVAL_S):
                    return self.conn.recv()
            except (EOFError, OSError, pickle.UnpicklingError):
                pass  # the child died mid-answer: its exit code says how
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise WorkerFailure("worker_crashed", f"the worker process reading this page {_exit_reason(code)}")
            if time.monotonic() > deadline:
                self.stop()
                what = "start" if starting else "read the page"
                raise WorkerFailure("timeout", f"the worker process did not {what} within {timeout:.0f} s; it was replaced")
            if self.memory_limit and _rss(watched) > self.memory_limit:
                used = _rss(watched)
                self.stop()
                raise WorkerFailure("out_of_memory", f"the worker process grew to {used / 2**20:.0f} MB, over the "
                                    f"{self.memory_limit / 2**20:.0f} MB limit, on this page; it was replaced")


def _rss(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


def default_memory_limit() -> int:
    """Half the machine: no single page has a right to more, and the rest of the node survives."""
    return psutil.virtual_memory().total // 2


@dataclass(frozen=True)
class IsolationPolicy:
    page_timeout: float  # seconds a page may take; a batch gets this per page
    max_page_retries: int  # more tries alone for a page that crashed its worker
    memory_limit: int | None  # bytes; None: no limit


def pages_in(rows: list[Row]) -> int:
    """Pages a batch covers; a row without page numbers (a line to generate) is one unit."""
    return sum((r.get("page_last") or r["page"]) - r["page"] + 1 if "page" in r else 1 for r in rows)


def one_page_rows(rows: list[Row]) -> list[list[Row]]:
    """Each page of the batch as a batch of its own (a reference covering a run of pages is cut up)."""
    out = []
    for row in rows:
        if "page" not in row:
            out.append([row])
            continue
        last = row.get("page_last") or row["page"]
        for page in range(row["page"], last + 1):
            out.append([{**row, "page": page, **({"page_last": page} if "page_last" in row else {})}])
    return out


class IsolatedStage:
    """A page stage (rows in, page rows out) run in a replaceable child with the policy above.

    `failed_row(row, failure)` turns a page's input row into its error row (None: no row, for
    stages whose output has no place for errors; the caller counts what is missing).
    """

    def __init__(self, factory: Callable[[], Callable[[list[Row]], list[Row]]], policy: IsolationPolicy,
                 failed_row: Callable[[Row, WorkerFailure], Row | None]):
        self.policy = policy
        self.failed_row = failed_row
        self.worker = WorkerProcess(factory, policy.memory_limit)
        self.worker.start()  # load errors surface when the actor is created, not on its first page

    def __call__(self, rows: list[Row]) -> list[Row]:
        if not rows:
            return []
        try:
            return self._run(rows)
        except WorkerFailure as failure:
            if pages_in(rows) == 1:
                return self._alone(rows, failure)
            log.warning("isolation: a batch of %d pages failed (%s: %s); trying its pages one at a time",
                        pages_in(rows), failure.kind, failure.detail)
            return [out for single in one_page_rows(rows) for out in self._alone(single, None)]

    def _run(self, rows: list[Row]) -> list[Row]:
        return self.worker.run(rows, self.policy.page_timeout * max(1, pages_in(rows)))

    def _alone(self, rows: list[Row], failure: WorkerFailure | None) -> list[Row]:
        crashes = 0 if failure is None else 1
        while True:
            if failure is not None:
                if failure.kind != "worker_crashed" or crashes > self.policy.max_page_retries:
                    tries = crashes if failure.kind == "worker_crashed" else 1
                    failure = WorkerFailure(failure.kind, f"{failure.detail} (tried {tries} time(s) alone)")
                    where = f"{rows[0]['source_uri']} page {rows[0]['page']}" if "page" in rows[0] else str(rows[0])[:120]
                    log.warning("isolation: %s: %s", where, failure.detail)
                    return [out for r in rows if (out := self.failed_row(r, failure)) is not None]
            try:
                return self._run(rows)
            except WorkerFailure as exc:
                failure = exc
                crashes += exc.kind == "worker_crashed"

    def close(self) -> None:
        self.worker.stop()
