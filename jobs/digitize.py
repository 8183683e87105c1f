"""Digitize PDFs and scans into Parquet: one row per input page, with a review queue.

    python jobs/digitize.py --input IN --output OUT [--engine tesseract] [--languages eng,fra]
        [--dpi 300] [--text-layer auto|ocr|only] [--review-threshold 0.80] [--batch-size N]
        [--workers N] [--run-id ID] [--limit N]

Without RAY_ADDRESS (or --address) it starts a local Ray; under `ray job submit` it joins
the cluster the job runs on.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from typing import get_args

# A local single-node Ray (no cluster address) stays on loopback: Ray would otherwise bind
# its services to the machine's network address.
if not os.environ.get("RAY_ADDRESS"):
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from connectors import S3AccessError, configure_s3, discover, is_remote
from pipeline.run.config import DigitizeConfig, EngineConfig, GpuMode, RenderConfig, TextLayerConfig, TextLayerMode, recognizer_list
from pipeline.quality.calibration import for_run as calibration_for_run
from jobs.export import parse_formats
from pipeline.engines import ENGINES, EngineLoadError, engine_class
from pipeline.page.segment import SEGMENTERS

log = logging.getLogger("digitize")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--input", required=True, help="folder (recursive), file, glob, or a .txt list of paths")
    p.add_argument("--output", required=True, help="output folder: pages/, review/ and runs/ are written inside")
    p.add_argument("--engine", default=EngineConfig.name,
                   help=f"one of {', '.join(sorted(ENGINES))}, or your own as package.module:Class")
    p.add_argument("--model", default=None, help="hub id or local folder, for model engines")
    p.add_argument("--handwriting-model", default=None,
                   help="--engine auto: a trocr model (hub id or folder) for handwritten lines (default: RapidOCR)")
    p.add_argument("--vlm-model", default=None,
                   help="--engine auto on GPU actors: a LightOnOCR model (hub id or folder, e.g. "
                        "lightonai/LightOnOCR-1B-1025) that reads the pages Tesseract finds mostly table, as Markdown "
                        "tables; without a GPU those pages are read as any other")
    p.add_argument("--rapidocr-model", default=",".join(EngineConfig.rapidocr_models),
                   help="RapidOCR's recognizers (engines rapidocr and auto), comma-separated, in the order they read: "
                        "the first reads every line, the next re-reads the lines the reading so far is unsure of and "
                        "the likelier reading is kept. Each is 'wheel' (the rapidocr wheel's own), a model in models/ by "
                        "name (ppocr-testaments: fine-tuned here on French WWI hands), an ONNX file, or a folder holding "
                        "model.onnx (jobs/train_recognizer.py --init-from rapidocr makes one)")
    p.add_argument("--segmenter", choices=SEGMENTERS, default=EngineConfig.segmenter,
                   help="how line engines (trocr, rapidocr) find lines: Tesseract's layout analysis, PP-OCR's text "
                        "detector (better on handwriting), or kraken's blla (better still; needs kraken installed)")
    p.add_argument("--languages", default=",".join(EngineConfig.languages),
                   help="auto (found per page, read with its pack; auto:deu starts each new document's probe, and a "
                        "page too small to probe, from German rather than English), or comma-separated Tesseract "
                        "language codes")
    p.add_argument("--dpi", type=int, default=RenderConfig.dpi)
    p.add_argument("--text-layer", default=TextLayerConfig.mode, choices=list(get_args(TextLayerMode)))
    p.add_argument("--review-threshold", type=float, default=DigitizeConfig.review_threshold)
    p.add_argument("--batch-size", type=int, default=EngineConfig.batch_size, help="pages (or lines, for TrOCR) per engine call")
    p.add_argument("--workers", type=int, default=None, help="recognizer actors (default: from the cluster)")
    p.add_argument("--run-id", default=None, help="default: UTC timestamp; re-using one replaces that run")
    p.add_argument("--limit", type=int, default=None, help="process only the first N documents")
    p.add_argument("--max-pixels", type=int, default=RenderConfig.max_pixels)
    p.add_argument("--keep-small-text", action="store_true",
                   help="do not scale up image pages whose text is small (screenshots, screen-resolution crops)")
    p.add_argument("--num-beams", type=int, default=EngineConfig.num_beams)
    p.add_argument("--max-new-tokens", type=int, default=EngineConfig.max_new_tokens)
    p.add_argument("--quantize", choices=["int8"], default=None, help="dynamic int8 quantization for CPU-only sites")
    p.add_argument("--sampling", action="store_true", help="sample as the LightOnOCR model card says (temperature 0.2, top-p 0.9); default greedy")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None, help="model dtype (default: by hardware)")
    p.add_argument("--emit-embeddings", action="store_true", help="pooled encoder embeddings per line and page")
    p.add_argument("--gpu", choices=list(get_args(GpuMode)), default=DigitizeConfig.gpu,
                   help="model engines: auto uses GPUs the cluster has now; always asks for them (autoscaling clusters)")
    p.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--s3-endpoint", default=None, help="S3-compatible endpoint URL (default: AWS_ENDPOINT_URL); credentials come from the AWS chain")
    p.add_argument("--incremental", action="store_true", help="process only documents new or changed since the ledger's last run")
    p.add_argument("--calibration", default=DigitizeConfig.calibration,
                   help="page confidence calibration: auto (the engine's shipped fit: confidence = P(CER <= 5 %%)), none (the "
                        "engine's raw score), or a JSON from jobs/evaluate.py --fit-calibration")
    p.add_argument("--page-timeout", type=float, default=DigitizeConfig.page_timeout,
                   help="seconds a page may take before it ends as a `timeout` error row and its worker is replaced "
                        "(default: the engine's: 180 for Tesseract, minutes for models on a CPU)")
    p.add_argument("--max-page-retries", type=int, default=DigitizeConfig.max_page_retries,
                   help="more tries, alone, for a page whose worker process crashed; then a `worker_crashed` error row")
    p.add_argument("--worker-memory-mb", type=int, default=DigitizeConfig.worker_memory_mb,
                   help="a worker process growing past this on a page is replaced and the page is an `out_of_memory` "
                        "error row (default: half the machine's memory)")
    p.add_argument("--retry-errors", action="store_true",
                   help="with --incremental or a resumed --run-id: read again the pages that ended as worker_crashed, "
                        "timeout or out_of_memory error rows (by default they are recorded and left alone)")
    p.add_argument("--emit", default="", type=lambda v: parse_formats(v) if v else (),
                   help="also write these exports of the run into OUT/exports/run_id=RUN: pdf or pdfa, alto, hocr, txt, md")
    p.add_argument("--rows-per-file", type=int, default=DigitizeConfig.rows_per_file, help="pages per Parquet file (also the most a killed run redoes per file)")
    return p.parse_args(argv)


def _resolve(path: str) -> str:
    return path if is_remote(path) else os.path.abspath(os.path.expanduser(path))


def _under_job_submission() -> bool:
    return "job_submission_id" in os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR", "")


def build_config(args: argparse.Namespace) -> DigitizeConfig:
    if _under_job_submission() and not os.path.isabs(args.output) and not is_remote(args.output):
        raise SystemExit(
            f"--output {args.output!r} is relative: under `ray job submit --working-dir` the job runs in a "
            "temporary copy of the working dir, so the output would be lost. Pass an absolute path."
        )
    given = [flag for flag, value in (("--handwriting-model", args.handwriting_model), ("--vlm-model", args.vlm_model)) if value]
    if given and args.engine != "auto":
        raise SystemExit(f"{' and '.join(given)} name readers of --engine auto, not of --engine {args.engine}")
    run_id = args.run_id or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return DigitizeConfig(
        input=_resolve(args.input),
        output=_resolve(args.output),
        engine=EngineConfig(
            name=args.engine,
            model=args.model,
            languages=tuple(x.strip() for x in args.languages.split(",") if x.strip()),
            batch_size=args.batch_size,
            num_beams=args.num_beams,
            max_new_tokens=args.max_new_tokens,
            quantize=args.quantize,
            dtype=args.dtype,
            sampling=args.sampling,
            emit_embeddings=args.emit_embeddings,
            segmenter=args.segmenter,
            handwriting_model=args.handwriting_model,
            vlm_model=args.vlm_model,
            rapidocr_models=recognizer_list(args.rapidocr_model),
        ),
        render=RenderConfig(dpi=args.dpi, max_pixels=args.max_pixels, upscale_small_text=not args.keep_small_text),
        text_layer=TextLayerConfig(mode=args.text_layer),
        review_threshold=args.review_threshold,
        workers=args.workers,
        gpu=args.gpu,
        run_id=run_id,
        limit=args.limit,
        rows_per_file=args.rows_per_file,
        s3_endpoint=args.s3_endpoint or os.environ.get("AWS_ENDPOINT_URL"),
        incremental=args.incremental,
        calibration=args.calibration,
        page_timeout=args.page_timeout,
        max_page_retries=args.max_page_retries,
        worker_memory_mb=args.worker_memory_mb,
        retry_errors=args.retry_errors,
        emit=tuple(args.emit),
    )


def init_ray(address: str | None, dashboard: bool = False) -> None:
    """Connect to the Ray at `address` (or RAY_ADDRESS), else start a local one (with its
    dashboard when `dashboard`: the training jobs need its state API)."""
    import ray

    from pipeline.run.ray_job import start_local_ray

    address = address or os.environ.get("RAY_ADDRESS")
    if ray.is_initialized():  # embedded use (tests, notebooks): keep the caller's Ray
        return
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        start_local_ray(dashboard=dashboard)


@contextlib.contextmanager
def _stop_on_sigterm():
    """SIGTERM (a scheduler, `kill`, `ray job stop`) stops the run as Ctrl-C does."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, stop) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stopped(config: DigitizeConfig, why: str) -> int:
    """End the run's Ray workers (a local Ray with them), then say what was written and how to resume."""
    import ray

    from connectors.filesystem import exists, filesystem
    from pipeline.run.ray_job import pages_dir
    from pipeline.run.resume import completed_pages

    ray.shutdown()
    fs, path = filesystem(pages_dir(config))
    written = len(completed_pages(fs, path)) if exists(fs, path) else 0
    print(f"digitize: stopped by {why}: {written} page(s) written to {pages_dir(config)}. To finish the run, start the "
          f"same command with --run-id {config.run_id}: pages already written are skipped.", flush=True)
    return 128 + (signal.SIGTERM if why == "SIGTERM" else signal.SIGINT)


def _emit(config: DigitizeConfig, pages: str) -> None:
    from connectors.filesystem import join
    from pipeline.downstream.export.write import ExportConfig, export

    target = join(config.output, "exports", f"run_id={config.run_id}")
    result = export(ExportConfig(pages=pages, output=target, formats=config.emit, run_id=config.run_id))
    print(f"digitize: exported {', '.join(config.emit)} for {result.documents} document(s) -> {target} "
          f"({result.seconds:.1f} s)", flush=True)
    for line in result.errors:
        print(f"digitize: export: {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    config = build_config(args)
    try:
        engine_class(config.engine.name).preflight(config.engine)
        calibration_for_run(config.calibration, config.engine)
    except (EngineLoadError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    configure_s3(config.s3_endpoint)
    started = time.perf_counter()
    try:
        if config.output.startswith("s3://"):
            from connectors.s3 import check_bucket

            check_bucket(config.output)
        sources = discover(config.input)
    except (FileNotFoundError, ValueError, S3AccessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if config.limit is not None:
        sources = sources[: config.limit]
    from pipeline.run import ledger

    known: dict[str, dict] = {}
    listed = len(sources)
    if config.incremental:
        known = ledger.load(config)
        sources = ledger.pending(sources, known, ledger.fingerprint(config), retry_errors=config.retry_errors)
        if not sources:
            print(f"digitize: nothing to do: all {listed} document(s) unchanged since their last conversion "
                  f"with these settings ({time.perf_counter() - started:.1f} s)", flush=True)
            return 0
        print(f"digitize: incremental: {len(sources)} of {listed} document(s) new or changed", flush=True)
    print(f"digitize: {len(sources)} document(s) from {config.input}, engine {config.engine.name}, run {config.run_id}", flush=True)

    from pipeline.run.outputs import doc_ids, format_summary, isolation_errors, summarize, write_review, write_summary
    from pipeline.run.ray_job import run_pipeline

    init_ray(args.address)
    try:
        with _stop_on_sigterm():
            pages = run_pipeline(config, sources)
    except KeyboardInterrupt as stop:
        return _stopped(config, str(stop) or "SIGINT")
    write_review(config, pages)
    if config.emit:
        _emit(config, pages)
    summary = summarize(config, [s.uri for s in sources], pages, time.perf_counter() - started)
    path = write_summary(config, summary)
    print(format_summary(summary), flush=True)
    print(f"summary: {path}", flush=True)
    if not sources:
        print("digitize: no supported documents (PDF, PNG, JPEG, TIFF) found; nothing to do", flush=True)
    if config.incremental and summary.complete:
        ledger.record(config, sources, doc_ids(pages), known, isolation_errors(pages))
    return 0 if summary.complete else 2


if __name__ == "__main__":
    sys.exit(main())
