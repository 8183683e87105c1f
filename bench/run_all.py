"""Run every benchmark, one after another; each prints its ratios measured side by side.

The benches on real documents run when ../shared/data is beside the checkout; bench_finetune,
a training run of its own, runs alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["bench_pipeline.py", "bench_ocrmypdf.py", "bench_trocr.py", "bench_lightonocr.py", "bench_index.py",
           "bench_s3_incremental.py", "bench_augmentation.py", "bench_handwriting.py", "bench_grain.py"]
ON_SHARED_DATA = ["bench_export.py", "bench_small_text.py", "bench_languages.py", "bench_mixed_pages.py",
                  "bench_handwritten_pages.py", "bench_recognizer.py", "bench_recognizer_pair.py",
                  "bench_line_arbitration.py", "bench_table_pages.py"]
SHARED_DATA = HERE.parents[1] / "shared" / "data"

if __name__ == "__main__":
    failed = 0
    benches = BENCHES + (ON_SHARED_DATA if SHARED_DATA.is_dir() else [])
    if not SHARED_DATA.is_dir():
        print(f"no {SHARED_DATA}: the benches on real documents are left out ({', '.join(ON_SHARED_DATA)})")
    for name in benches:
        print(f"== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / name)])
    sys.exit(failed)
