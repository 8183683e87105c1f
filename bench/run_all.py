"""Run every benchmark, one after another; each prints its ratios measured side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_pipeline.py", "bench_ocrmypdf.py", "bench_trocr.py", "bench_lightonocr.py", "bench_index.py",
           "bench_s3_incremental.py", "bench_augmentation.py", "bench_handwriting.py"]

if __name__ == "__main__":
    failed = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / name)])
    sys.exit(failed)
