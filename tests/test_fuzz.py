"""A short fuzzing campaign through the real job: mutated real documents (truncated, bit-flipped,
broken cross-references, huge declared sizes, deep nesting) must each end as rows that account
for every page they claim, with the job exiting 0. scripts/fuzz_corpus.py runs longer campaigns."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import fuzz_corpus  # noqa: E402


def test_mutants_are_each_accounted_for(tmp_path):
    code = fuzz_corpus.main(["--output", str(tmp_path), "--count", "12", "--seed", "7", "--page-timeout", "60",
                             "--time-limit", "600"])
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0 and report["job_exit_code"] == 0, report
    assert report["files_tried"] == 12 and report["lost_pages"] == 0 and not report["files_failing_accounting"]
    assert report["rows"] >= 12 and report["errors_by_kind"], report  # mutants do break: each said so in its row


def test_every_mutation_changes_its_input():
    import random

    data = (ROOT / "samples" / "real" / "google-doc-document.pdf").read_bytes()
    for mutation in fuzz_corpus.MUTATIONS:
        assert mutation(data, random.Random(1)) != data, mutation.__name__
