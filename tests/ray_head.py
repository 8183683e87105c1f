"""A Ray head of its own for a test, as `ray start --head` makes one on a cluster's head node.

Started with --block in a session of its own and stopped by killing that session's processes:
`ray stop` ends every Ray on the machine, and another test's local Ray may be running beside it
(the suite runs in two processes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.run.ray_job import free_local_port


@contextlib.contextmanager
def ray_head(num_cpus: int = 2) -> Iterator[tuple[dict[str, str], str]]:
    """A running head: (the environment for its CLI, its dashboard's address)."""
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    env.pop("RAY_ADDRESS", None)
    dashboard = free_local_port()
    # every port its own: a local Ray beside it holds the defaults (the job agent's 52365 among them)
    ports = [f"--{name}={free_local_port()}" for name in ("port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                    "runtime-env-agent-port", "metrics-export-port", "ray-client-server-port",
                                                    "node-manager-port", "object-manager-port")]
    head = subprocess.Popen(
        [str(bin_dir / "ray"), "start", "--head", "--block", "--num-cpus", str(num_cpus), *ports,
         "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard), "--disable-usage-stats"],
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
