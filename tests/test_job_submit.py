"""The cluster path: `ray start --head`, then `ray job submit ... -- python jobs/digitize.py`.

The head runs on loopback with Ray's default token authentication left on; the client
uses RAY_AUTH_MODE=token and the token `ray start` wrote, as the README says.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head():
    """One head for the module's jobs: each `ray start` costs seconds. Started with --block in a
    session of its own and stopped by killing that session's processes: `ray stop` ends every Ray
    on the machine, and another test's local Ray may be running beside it (the suite runs in two
    processes)."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    env.pop("RAY_ADDRESS", None)
    dashboard = _free_port()
    # every port its own: a local Ray beside it holds the defaults (the job agent's 52365 among them)
    ports = [f"--{name}={_free_port()}" for name in ("port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port", "ray-client-server-port",
                                                     "node-manager-port", "object-manager-port")]
    head = subprocess.Popen(
        [str(bin_dir / "ray"), "start", "--head", "--block", "--num-cpus", "2", *ports, "--dashboard-host", "127.0.0.1",
         "--dashboard-port", str(dashboard), "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_until_serving(head, address)
        yield env, address
    finally:  # the head's process group: its GCS, raylet and their workers (a graceful stop takes 30 s)
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


def _wait_until_serving(head: subprocess.Popen, address: str, seconds: float = 120) -> None:
    """Until the head's job API answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert head.poll() is None, f"ray start --head exited with {head.returncode}"
        try:
            with urllib.request.urlopen(f"{address}/api/version", timeout=2):
                return
        except urllib.error.HTTPError:  # it answers, if only to ask for the token
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the head's dashboard did not answer within {seconds:.0f} s")


def test_job_submit_digitizes_into_an_absolute_output(ray_head, tmp_path, corpus):
    env, address = ray_head
    folder, truth, _ = corpus
    inputs = tmp_path / "in"
    shutil.copytree(folder / "good", inputs)
    out = tmp_path / "out"
    env = dict(env, RAY_AUTH_MODE="token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "job", "submit", "--address", address, "--working-dir", str(ROOT), "--",
         "python", "jobs/digitize.py", "--input", str(inputs), "--output", str(out), "--run-id", "cluster"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "succeeded" in result.stdout + result.stderr
    summary = json.loads((out / "runs" / "cluster.json").read_text())
    assert summary["complete"]
    assert summary["rows_out"] == sum(len(pages) for pages in truth.values())


def test_relative_output_under_job_submit_is_refused(ray_head, tmp_path):
    env, address = ray_head
    env = dict(env, RAY_AUTH_MODE="token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "job", "submit", "--address", address, "--working-dir", str(ROOT), "--",
         "python", "jobs/digitize.py", "--input", "samples/real", "--output", "out/rel"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode != 0
    assert "Pass an absolute path" in result.stdout + result.stderr
