"""The driver side of a training run: gather and check the data, make the starting model,
hand both to Ray Train's TorchTrainer, then write the model card."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time

from pipeline.recognizer.architecture import PRESETS, build_model, build_processor, set_generation_defaults
from pipeline.recognizer.card import TROCR_USE, plot_curve, write_card
from pipeline.recognizer.config import TrainConfig
from pipeline.recognizer.data import Gathered, TrainDataError, check_texts, gather, require_coverage
from pipeline.recognizer.ppocr.model import is_ppocr
from pipeline.recognizer.ppocr.start import ppocr_start
from pipeline.recognizer.stream import StreamPlan, build_stream, weighted
from pipeline.recognizer.sources.synthetic import font_text_pool
from pipeline.recognizer.tokenizer import build_char_tokenizer, coverage
from pipeline.recognizer.train_loop import START_FOLDER, train_loop


def _extra_alphabet() -> str:
    from pipeline.handwriting.fonts import CHARSET

    return CHARSET


def starting_model(cfg: TrainConfig, gathered: Gathered):
    """(model, processor) training starts from: --init-from as it is, or a new model whose
    tokenizer covers the training characters. Refuses a starting tokenizer that lacks most of them."""
    texts = gathered.train_texts()
    if cfg.init_from:
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel

        try:
            processor = TrOCRProcessor.from_pretrained(cfg.init_from)
            model = VisionEncoderDecoderModel.from_pretrained(cfg.init_from)
        except Exception as exc:
            raise TrainDataError(f"cannot load --init-from {cfg.init_from!r}: {exc}") from exc
        require_coverage(processor.tokenizer, texts, cfg)
        set_generation_defaults(model, processor.tokenizer)
        return model, processor
    if cfg.preset not in PRESETS:
        raise TrainDataError(f"unknown --preset {cfg.preset!r}: one of {', '.join(PRESETS)}")
    tokenizer = build_char_tokenizer(texts + font_text_pool([]), extra=_extra_alphabet())
    preset = PRESETS[cfg.preset]
    return build_model(preset, tokenizer), build_processor(preset, tokenizer)


def _transformers_start(cfg: TrainConfig, gathered: Gathered, start: str):
    """(tokenizer, image processor) of the transformers model training starts from, saved in
    `start`; a resumed run keeps the one it started with."""
    if os.path.isdir(start):
        from transformers import TrOCRProcessor

        processor = TrOCRProcessor.from_pretrained(start)
    else:
        model, processor = starting_model(cfg, gathered)
        model.save_pretrained(start, safe_serialization=True)
        processor.save_pretrained(start)
    return processor.tokenizer, processor.image_processor


def _announce(text: str) -> None:
    print(f"[train] {text}", file=sys.stderr, flush=True)


def run(cfg: TrainConfig, command: list[str] | None = None, card_notes: str = "") -> dict:
    """Train; returns the summary also written to OUTPUT/run.json."""
    from ray.train import CheckpointConfig, DataConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False  # the loop prints its own progress
    os.makedirs(cfg.output, exist_ok=True)
    gathered = gather(cfg)
    start = os.path.join(cfg.output, START_FOLDER)
    if is_ppocr(cfg.init_from):
        tokenizer, image_processor, loop, use = ppocr_start(cfg, gathered, start)
    else:
        tokenizer, image_processor = _transformers_start(cfg, gathered, start)
        loop, use = train_loop, TROCR_USE
    cover = coverage(tokenizer, gathered.train_texts())
    if cover.missing:
        listed = ", ".join(f"{ch!r} x{n}" for ch, n in cover.missing.most_common())
        _announce(f"characters the tokenizer lacks (their lines are left out): {listed}")
    plan = StreamPlan(font_lines=cfg.font_lines)
    sources = []
    for spec, refs in gathered.train:
        kept = check_texts(refs, tokenizer, gathered.skipped)
        plan.refs += weighted(kept, spec.weight, cfg.seed)
        sources.append({"uri": spec.uri, "kind": spec.kind, "weight": spec.weight, "lines": len(kept)})
    for spec, texts in gathered.synthetic:
        plan.parquet.append((spec.uri, spec.weight))
        sources.append({"uri": spec.uri, "kind": spec.kind, "weight": spec.weight, "lines": len(texts)})
    if cfg.font_lines:
        pool = font_text_pool([r["text"] for r in plan.refs], cfg.seed)
        plan.font_pool = [t for t in pool if not (set(t) - set(tokenizer.get_vocab()) - {" "})]
    val = check_texts(gathered.val, tokenizer, gathered.skipped)
    if not val:
        raise TrainDataError("no validation lines: give --val-lines/--val-xml, or documents to hold out (--val-share)")
    if not plan.refs and not plan.parquet and not plan.font_lines:
        raise TrainDataError("no training lines left after the checks (see the reasons above)")
    summary = {"sources": sources, "val_lines": len(val), "val_docs": len({r["doc"] for r in val}),
               "font_lines": cfg.font_lines, "skipped": gathered.skipped.as_dict(),
               "missing_chars": dict(cover.missing)}
    _announce(f"{sum(s['lines'] for s in sources)} training lines from {len(sources)} sources, "
              f"{len(val)} validation lines from {summary['val_docs']} documents held apart")
    for reason, entry in summary["skipped"].items():
        _announce(f"left out: {entry['count']} x {reason} (e.g. {entry['examples'][0]})")

    datasets = {"train": build_stream(plan, image_processor, train=True, seed=cfg.seed, batch_size=cfg.batch_size),
                "val": build_stream(StreamPlan(refs=val), image_processor, train=False, batch_size=32).materialize()}
    storage = cfg.checkpoints or os.path.abspath(os.path.join(cfg.output, "checkpoints"))
    use_gpu = cfg.gpus > 0
    threads = cfg.worker_threads()
    trainer = TorchTrainer(
        loop,
        train_loop_config={"cfg": cfg.as_dict()},
        scaling_config=ScalingConfig(num_workers=cfg.gpus if use_gpu else cfg.workers, use_gpu=use_gpu,
                                     resources_per_worker={"CPU": cfg.cpus_per_worker, **({"GPU": 1} if use_gpu else {})}),
        run_config=RunConfig(name=cfg.run_name, storage_path=storage,
                             # the page jobs cap OpenMP at one thread (Tesseract); a training worker
                             # owns its threads, and torch under a lower cap than it asks for crawls.
                             # The loop prints its own progress: no transformers bar at each checkpoint,
                             # and print left as print (Ray Train's patch logs each line and prints it too)
                             worker_runtime_env={"env_vars": {"OMP_THREAD_LIMIT": str(threads),
                                                              "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                                                              "RAY_TRAIN_ENABLE_PRINT_PATCH": "0"}},
                             checkpoint_config=CheckpointConfig(num_to_keep=2, checkpoint_score_attribute="best_val_cer",
                                                                checkpoint_score_order="min")),
        datasets=datasets,
        dataset_config=DataConfig(datasets_to_split=["train"]),
    )
    began = time.monotonic()
    from_step = _last_step(cfg.output)
    result = trainer.fit()
    minutes = round((time.monotonic() - began) / 60, 1)
    metrics = result.metrics or {}
    leg = {"event": "leg", "command": shlex.join(command or []), "from_step": from_step, "to_step": metrics.get("step"),
           "minutes": minutes, "best_val_cer": metrics.get("best_val_cer")}
    with open(os.path.join(cfg.output, "train_log.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(leg) + "\n")
    summary.update(leg)
    with open(os.path.join(cfg.output, "run.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1, ensure_ascii=False)
    plot_curve(cfg.output)
    write_card(cfg.output, summary, card_notes, use)
    return summary


def _last_step(output: str) -> int:
    from pipeline.recognizer.card import read_log

    steps = [r["step"] for r in read_log(output) if "step" in r and r.get("event") != "leg"]
    return max(steps) if steps else 0
