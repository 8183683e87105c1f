"""The cluster path: `ray start --head`, then `ray job submit ... -- python jobs/digitize.py`.

The head runs on loopback with Ray's default token authentication left on; the client
uses RAY_AUTH_MODE=token and the token `ray start` wrote, as the README says.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
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
    """One head for the module's jobs: each `ray start` and `ray stop` costs seconds."""
    import ray

    ray.shutdown()  # one Ray per machine at a time: `ray stop` below would take it down anyway
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    env.pop("RAY_ADDRESS", None)
    gcs, dashboard = _free_port(), _free_port()
    subprocess.run(
        [str(bin_dir / "ray"), "start", "--head", "--num-cpus", "2", "--port", str(gcs), "--dashboard-host", "127.0.0.1",
         "--dashboard-port", str(dashboard), "--disable-usage-stats"],
        env=env, check=True, capture_output=True, timeout=120,
    )
    try:
        yield env, f"http://127.0.0.1:{dashboard}"
    finally:
        subprocess.run([str(bin_dir / "ray"), "stop", "--force"], env=env, capture_output=True, timeout=120)


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
