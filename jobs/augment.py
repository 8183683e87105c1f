"""Synthetic handwriting: train the generator, or write (image, text) Parquet for training.

    python jobs/augment.py generate --texts TEXTS --output OUT/synthetic [--model MODEL]
        [--count N] [--style NAME|DIR] [--steps 20] [--guidance-scale 2.0] [--seed 0]
    python jobs/augment.py train --output MODEL [--data fonts|DIR] [--steps 2000] [--resume] [--init-from MODEL]

TEXTS is a text file (one line per sample) or a Parquet folder from jobs/digitize.py (its
confident lines) or jobs/review_import.py (reviewed text). The default MODEL is the small
generator shipped in models/handwriting-small. A side stage: run it beside the main job.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict

from connectors import is_remote
from connectors.filesystem import filesystem, join
from jobs.digitize import init_ray  # importing it sets the loopback default for a local Ray
from pipeline.handwriting.generate import GenerateConfig
from pipeline.handwriting.model import SAMPLERS, SHIPPED_MODEL
from pipeline.handwriting.train import TrainConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write synthetic lines as Parquet", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g.add_argument("--texts", required=True, help="text file (one line per sample) or a digitize/review Parquet")
    g.add_argument("--output", required=True, help="folder for the Parquet shards (local or s3://)")
    g.add_argument("--model", default=str(SHIPPED_MODEL), help="generator folder (unet/, scheduler/, handwriting.json)")
    g.add_argument("--count", type=int, default=None, help="samples in all (default: one per text line)")
    g.add_argument("--style", default=None, help="a style name of the model, or a folder of 3-10 line images with texts")
    g.add_argument("--steps", type=int, default=GenerateConfig.steps, help="sampler steps")
    g.add_argument("--guidance-scale", type=float, default=GenerateConfig.guidance_scale)
    g.add_argument("--sampler", choices=sorted(SAMPLERS), default=GenerateConfig.sampler)
    g.add_argument("--seed", type=int, default=0, help="row i uses seed + i: the same seed gives the same images")
    g.add_argument("--batch-size", type=int, default=GenerateConfig.batch_size)
    g.add_argument("--min-confidence", type=float, default=GenerateConfig.min_confidence,
                   help="for a digitize Parquet: lowest line confidence taken")
    g.add_argument("--workers", type=int, default=None)
    g.add_argument("--gpu", choices=["auto", "always", "never"], default="auto")
    g.add_argument("--address", default=None, help="Ray address (default: RAY_ADDRESS, else a local Ray)")
    t = sub.add_parser("train", help="train a generator with diffusers", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--output", required=True, help="generator folder; checkpoints/ inside")
    t.add_argument("--data", default="fonts", help='"fonts" (installed handwriting fonts) or a folder of line images with labels.jsonl')
    t.add_argument("--steps", type=int, default=TrainConfig.steps)
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    t.add_argument("--checkpoint-every", type=int, default=TrainConfig.checkpoint_every)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT/checkpoints")
    t.add_argument("--init-from", default=None, help="start from this generator's weights (same fonts), e.g. to train longer")
    t.add_argument("--warmup-steps", type=int, default=TrainConfig.warmup_steps)
    t.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    t.add_argument("--style-weight", action="append", default=[], metavar="NAME=W",
                   help="draw style NAME W times as often as the others (repeatable), e.g. for the hands "
                        "bench/bench_handwriting.py finds least legible")
    return p.parse_args(argv)


def _quiet_libraries() -> None:
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()


def parse_style_weights(items: list[str]) -> dict[str, float]:
    """["Kristi=3", ...] -> {"Kristi": 3.0}; a clear error for anything else."""
    weights = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise ValueError(f"--style-weight {item!r}: expected NAME=WEIGHT, e.g. Kristi=3")
    return weights


def run_train(args: argparse.Namespace) -> int:
    from pipeline.handwriting.train import train

    config = TrainConfig(output=args.output, data=args.data, steps=args.steps, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, checkpoint_every=args.checkpoint_every, seed=args.seed,
                         resume=args.resume, device=args.device, init_from=args.init_from,
                         warmup_steps=args.warmup_steps)
    try:
        config.style_weights = parse_style_weights(args.style_weight)
        train(config)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def resolve_style(config: GenerateConfig, model_dir: str) -> tuple[str, int | None]:
    """(generator folder, style id): a style name of the model, or a folder learnt few-shot."""
    from pipeline.handwriting.model import GeneratorMeta

    if config.style is None:
        return model_dir, None
    if os.path.isdir(config.style):
        from pipeline.handwriting.personalize import personalize

        print(f"augment: learning the style of {config.style} ({config.style_steps} steps)", flush=True)
        return personalize(model_dir, config.style, os.path.join("out", "styles", os.path.basename(
                           os.path.normpath(config.style))),
                           steps=config.style_steps, seed=config.seed)
    names = [s.name for s in GeneratorMeta.load(model_dir).styles]
    if config.style not in names:
        raise ValueError(f"--style {config.style!r}: not a folder, nor a style of {model_dir} ({', '.join(names)})")
    return model_dir, names.index(config.style)


def run_generate(args: argparse.Namespace) -> int:
    from pipeline.handwriting.generate import plan_samples
    from pipeline.handwriting.model import GeneratorMeta, check_model_folder
    from pipeline.handwriting.texts import read_texts

    output = args.output if is_remote(args.output) else os.path.abspath(args.output)
    config = GenerateConfig(texts=args.texts, output=output, model=args.model, count=args.count,
                            style=args.style, steps=args.steps, guidance_scale=args.guidance_scale,
                            sampler=args.sampler, seed=args.seed, batch_size=args.batch_size,
                            min_confidence=args.min_confidence, workers=args.workers, gpu=args.gpu)
    started = time.perf_counter()
    try:
        check_model_folder(config.model)
        texts = read_texts(config.texts, config.min_confidence)
        model_dir, style_id = resolve_style(config, config.model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    plan = plan_samples(texts, GeneratorMeta.load(model_dir), config, style_id)
    if plan.unsupported:
        listed = " ".join(f"{ch!r}×{n}" for ch, n in plan.unsupported.most_common())
        print(f"augment: {plan.unsupported_lines} line(s) skipped: characters the generator was not trained on: {listed}",
              flush=True)
    if plan.empty:
        print(f"augment: {plan.empty} empty line(s) skipped", flush=True)
    if not plan.rows:
        print("augment: nothing to generate", flush=True)
        return 0
    print(f"augment: generating {len(plan.rows)} line(s) from {len(texts)} text line(s), model {model_dir}", flush=True)
    from pipeline.handwriting.ray_job import run_generate as generate_on_ray

    init_ray(args.address)
    written = generate_on_ray(config, plan.rows, model_dir)
    elapsed = time.perf_counter() - started
    if written != len(plan.rows):
        print(f"augment: {len(plan.rows) - written} line(s) lost to a generator worker that crashed, hung or ran out "
              "of memory (see the log)", flush=True)
    summary = {"config": asdict(config), "model_dir": model_dir, "lines": written, "planned": len(plan.rows),
               "lost_to_worker_failures": len(plan.rows) - written, "empty_skipped": plan.empty,
               "unsupported_lines_skipped": plan.unsupported_lines, "unsupported_characters": dict(plan.unsupported),
               "seconds": round(elapsed, 1), "lines_per_s": round(len(plan.rows) / elapsed, 3)}
    fs, path = filesystem(join(config.output, "_generation.json"))
    with fs.open_output_stream(path) as fh:
        fh.write(json.dumps(summary, indent=1, ensure_ascii=False).encode())
    print(f"augment: wrote {written} line(s) to {config.output} in {elapsed:.1f} s "
          f"({written / elapsed:.2f} lines/s)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv)
    _quiet_libraries()
    return run_train(args) if args.command == "train" else run_generate(args)


if __name__ == "__main__":
    sys.exit(main())
