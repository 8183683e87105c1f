"""The cluster path: `ray start --head`, then `ray job submit ... -- python jobs/digitize.py`.

The head runs on loopback with Ray's default token authentication left on; the client
uses RAY_AUTH_MODE=token and the token `ray start` wrote, as the README says.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.ray_head import ray_head

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def head():
    """One head for the module's jobs: each `ray start` costs seconds."""
    with ray_head() as running:
        yield running


def test_job_submit_digitizes_into_an_absolute_output(head, tmp_path, corpus):
    env, address = head
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


def test_relative_output_under_job_submit_is_refused(head, tmp_path):
    env, address = head
    env = dict(env, RAY_AUTH_MODE="token")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ray"), "job", "submit", "--address", address, "--working-dir", str(ROOT), "--",
         "python", "jobs/digitize.py", "--input", "samples/real", "--output", "out/rel"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode != 0
    assert "Pass an absolute path" in result.stdout + result.stderr
