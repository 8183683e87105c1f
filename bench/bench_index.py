"""Full-text index: build rate (pages/s) and query latency (median, p95) on synthetic pages of
realistic length (about 2,000 characters, nine languages), written in the page schema.

    python bench/bench_index.py [--pages 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402

from pipeline.downstream import search_index  # noqa: E402
from pipeline.run.records import new_row, to_table  # noqa: E402
from schemas import PAGE_SCHEMA  # noqa: E402
from tests.corpus import PARAGRAPHS  # noqa: E402

LANGS = {"eng": "en", "fra": "fr", "deu": "de"}


def vocabulary() -> dict[str, list[str]]:
    return {LANGS[k]: " ".join(v).replace(".", "").replace(",", "").split() for k, v in PARAGRAPHS.items()}


def write_pages(folder: Path, pages: int, rows_per_file: int = 10_000) -> None:
    rng = random.Random(0)
    vocab = vocabulary()
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, pages, rows_per_file):
        rows = []
        for i in range(start, min(pages, start + rows_per_file)):
            lang = rng.choice(list(vocab))
            words = [rng.choice(vocab[lang]) for _ in range(300)] + [f"ref{i:06d}"]
            rows.append(new_row(doc_id=f"doc{i // 10:06d}", source_uri=f"s3://archive/box{i // 1000}/doc{i // 10}.pdf", page=i % 10 + 1,
                                page_count=10, status="ok", route="ocr", text=" ".join(words), confidence=rng.random(),
                                language=lang, run_id="bench"))
        pq.write_table(to_table(rows, PAGE_SCHEMA), folder / f"part-{start // rows_per_file:04d}.parquet", compression="zstd")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-index-"))
    write_pages(tmp / "pages", args.pages)
    started = time.perf_counter()
    result = search_index.build(str(tmp / "pages"), str(tmp / "index"))
    build_s = time.perf_counter() - started
    rng = random.Random(1)
    vocab = vocabulary()
    queries = []
    for i in range(args.queries):
        lang = rng.choice(list(vocab))
        kind = i % 3
        if kind == 0:
            queries.append((rng.choice(vocab[lang]), None))
        elif kind == 1:
            queries.append((f'"{rng.choice(vocab[lang])} {rng.choice(vocab[lang])}"', None))
        else:
            queries.append((f"ref{rng.randrange(args.pages):06d}", lang))
    search_index.search(str(tmp / "index"), "committee")  # open and warm the index
    latencies = []
    for query, lang in queries:
        t0 = time.perf_counter()
        search_index.search(str(tmp / "index"), query, limit=10, language=lang)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    out = {
        "pages": args.pages,
        "build_s": build_s,
        "build_pages_per_s": result.pages_indexed / build_s,
        "query_median_ms": statistics.median(latencies),
        "query_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
    }
    print(f"index: {args.pages} pages built in {build_s:.1f} s ({out['build_pages_per_s']:.0f} pages/s); "
          f"{len(queries)} queries: median {out['query_median_ms']:.1f} ms, p95 {out['query_p95_ms']:.1f} ms "
          "(each query opens the index, as `jobs/index.py search` does)", flush=True)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "index.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
