"""Unattended-run benchmarks.

1. pages/s reading the same born-digital corpus (text-layer route) from a local S3 server
   (SeaweedFS on 127.0.0.1) vs from local disk, in one Ray session.
2. wall time of a no-op `jobs/digitize.py --incremental` on 10,000 already-converted documents
   (a whole process: interpreter start, listing, ledger, decision).

    python bench/bench_s3_incremental.py [--docs 40] [--noop-docs 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from connectors import discover  # noqa: E402
from pipeline.run import ledger  # noqa: E402
from pipeline.run.config import DigitizeConfig  # noqa: E402
from tests.corpus import page_text, write_born_digital_pdf  # noqa: E402
from tests.s3_server import seaweed  # noqa: E402


def bench_s3_vs_local(tmp: Path, docs: int) -> dict:
    import ray

    from pipeline.run.ray_job import run_pipeline, start_local_ray

    local = tmp / "corpus"
    local.mkdir()
    for i in range(docs):
        write_born_digital_pdf(local / f"doc{i:03d}.pdf", [page_text(["eng", "fra", "deu"][(i + p) % 3], p) for p in range(5)])
    with seaweed(tmp / "seaweed") as (endpoint, client):
        client.create_bucket(Bucket="bench")
        for path in sorted(local.iterdir()):
            client.put_object(Bucket="bench", Key=f"corpus/{path.name}", Body=path.read_bytes())
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        start_local_ray(num_cpus=2)
        times = {}
        for name, source in (("warmup", str(local)), ("local", str(local)), ("s3", "s3://bench/corpus/")):
            config = DigitizeConfig(input=source, output=str(tmp / f"out_{name}"), run_id=name, s3_endpoint=endpoint)
            started = time.perf_counter()
            sources = discover(source)
            run_pipeline(config, sources)
            times[name] = time.perf_counter() - started
        ray.shutdown()
    pages = docs * 5
    return {"pages": pages, "local_pages_per_s": pages / times["local"], "s3_pages_per_s": pages / times["s3"],
            "ratio": times["local"] / times["s3"]}


def bench_noop_incremental(tmp: Path, docs: int) -> dict:
    archive = tmp / "archive"
    archive.mkdir()
    one = tmp / "one.pdf"
    write_born_digital_pdf(one, [page_text("eng", 0)])
    for i in range(docs):
        folder = archive / f"box{i // 500:03d}"
        folder.mkdir(exist_ok=True)
        shutil.copy(one, folder / f"doc{i:05d}.pdf")
    out = tmp / "out"
    config = DigitizeConfig(input=str(archive), output=str(out), run_id="seed", incremental=True)
    sources = discover(str(archive))
    ledger.record(config, sources, {s.uri: "x" for s in sources}, {})  # as if last night converted them all
    env = dict(os.environ)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(archive), "--output", str(out),
                             "--incremental", "--run-id", "noop"], capture_output=True, text=True, env=env)
    took = time.perf_counter() - started
    assert result.returncode == 0 and "nothing to do" in result.stdout, result.stdout + result.stderr
    return {"documents": docs, "noop_seconds": took}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=40)
    parser.add_argument("--noop-docs", type=int, default=10_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    results = {"s3_vs_local": bench_s3_vs_local(tmp, args.docs), "noop_incremental": bench_noop_incremental(tmp, args.noop_docs)}
    r = results["s3_vs_local"]
    print(f"s3 vs local: {r['pages']} text-layer pages: S3 {r['s3_pages_per_s']:.1f} p/s vs local disk {r['local_pages_per_s']:.1f} p/s "
          f"-> ratio {r['ratio']:.2f} (target >= 0.8)", flush=True)
    r = results["noop_incremental"]
    print(f"incremental no-op: {r['documents']} already-converted documents in {r['noop_seconds']:.1f} s (target < 10 s)", flush=True)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "s3_incremental.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
