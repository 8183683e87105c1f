"""Shared fixtures: generated corpora with known text, and one local Ray for the pipeline tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep a local Ray on loopback
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402

from tests.corpus import make_bad_files, make_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, list[str]], dict[str, str]]:
    """Good generated documents, broken generated files and the committed real malformed PDFs."""
    folder = tmp_path_factory.mktemp("corpus")
    truth = make_corpus(folder / "good")
    bad = make_bad_files(folder / "bad")
    shutil.copytree(SAMPLES / "malformed", folder / "malformed", ignore=shutil.ignore_patterns("*.jsonl"))
    return folder, truth, bad


def ensure_ray() -> None:
    """A local Ray for in-process pipeline runs: started on first use, and again after a test
    stopped it (the cluster, S3 and resume tests do)."""
    import ray

    if not ray.is_initialized():
        from pipeline.run.ray_job import start_local_ray

        start_local_ray(num_cpus=2)
