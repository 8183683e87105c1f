"""Train a handwriting line recognizer for the trocr engine, or fine-tune one, on Ray Train.

    python jobs/train_recognizer.py --output MODEL --lines DIR [--xml DIR] [--gold gold.parquet]
        [--synthetic SYNTH.parquet] [--font-lines N] [--val-lines DIR] [--init-from HUB_ID|FOLDER]
        [--preset small] [--steps N] [--max-minutes M] [--workers N | --gpus N]

Sources take an optional weight, URI@WEIGHT (lines of that source per epoch, x WEIGHT).
Validation holds apart whole documents: --val-lines/--val-xml, or else --val-share of the
training documents. Running the same command again resumes from the last checkpoint.
MODEL then loads with `digitize --engine trocr --model MODEL` and with transformers alone.
"""

from __future__ import annotations

import argparse
import os
import sys

from jobs.digitize import init_ray  # importing it sets the loopback default for a local Ray
from pipeline.recognizer.config import SourceSpec, TrainConfig
from pipeline.recognizer.data import TrainDataError


def _spec(kind: str, value: str) -> SourceSpec:
    uri, weight = value, 1.0
    if "@" in value:
        head, tail = value.rsplit("@", 1)
        try:
            uri, weight = head, float(tail)
        except ValueError:
            pass
    if weight < 0:
        raise argparse.ArgumentTypeError(f"negative weight in {value!r}")
    return SourceSpec(kind=kind, uri=uri, weight=weight)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    d = TrainConfig(output="")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--output", required=True, help="model folder (the best model so far is always there)")
    p.add_argument("--lines", action="append", default=[], help="line folder with labels.jsonl (local or s3://), URI[@WEIGHT]")
    p.add_argument("--xml", action="append", default=[], help="folder of ALTO or PAGE XML with their page images, URI[@WEIGHT]")
    p.add_argument("--gold", action="append", default=[], help="gold.parquet from jobs/review_import.py, URI[@WEIGHT]")
    p.add_argument("--synthetic", action="append", default=[], help="Parquet from jobs/augment.py generate, URI[@WEIGHT]")
    p.add_argument("--font-lines", type=int, default=d.font_lines, help="lines written in handwriting fonts per epoch")
    p.add_argument("--val-lines", action="append", default=[], help="validation line folder (its split=val rows when split is given)")
    p.add_argument("--val-xml", action="append", default=[], help="validation ALTO/PAGE folder")
    p.add_argument("--val-share", type=float, default=d.val_share, help="share of training documents held out when no validation source is given")
    p.add_argument("--init-from", default=None, help="hub id or folder to fine-tune (default: a new model)")
    p.add_argument("--preset", default=d.preset, help="size of a new model: small (CPU) or tiny (tests)")
    p.add_argument("--steps", type=int, default=d.steps, help="optimiser steps in all (a resumed run counts on)")
    p.add_argument("--max-minutes", type=float, default=None, help="this leg's time budget; stops with a checkpoint")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    p.add_argument("--ctc-weight", type=float, default=d.ctc_weight, help="auxiliary CTC loss weight (new models)")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help="steps between validations and checkpoints")
    p.add_argument("--patience", type=int, default=d.patience, help="validations without improvement before stopping")
    p.add_argument("--max-val-lines", type=int, default=None)
    p.add_argument("--workers", type=int, default=d.workers, help="CPU training workers (DDP when more than one)")
    p.add_argument("--gpus", type=int, default=d.gpus, help="GPU training workers, one GPU each")
    p.add_argument("--threads", type=int, default=None, help="torch threads per CPU worker")
    p.add_argument("--cpus-per-worker", type=float, default=d.cpus_per_worker,
                   help="Ray CPUs each worker reserves (the rest run the data stream; under 1 on a small machine)")
    p.add_argument("--checkpoints", default=None, help="Ray Train storage path, local or s3:// (default OUTPUT/checkpoints)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--card-notes", default=None, help="Markdown file put at the top of the model card (data licences, attribution)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS, or a local Ray)")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    sources = ([_spec("lines", v) for v in args.lines] + [_spec("xml", v) for v in args.xml]
               + [_spec("gold", v) for v in args.gold] + [_spec("synthetic", v) for v in args.synthetic])
    val = [_spec("lines", v) for v in args.val_lines] + [_spec("xml", v) for v in args.val_xml]
    return TrainConfig(
        # absolute: Ray Train's workers run in folders of their own
        output=os.path.abspath(args.output), sources=sources, val_sources=val, val_share=args.val_share, font_lines=args.font_lines,
        init_from=args.init_from, preset=args.preset, steps=args.steps, max_minutes=args.max_minutes,
        batch_size=args.batch_size, learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        ctc_weight=args.ctc_weight, eval_every=args.eval_every, patience=args.patience, max_val_lines=args.max_val_lines,
        workers=args.workers, gpus=args.gpus, threads=args.threads, cpus_per_worker=args.cpus_per_worker,
        checkpoints=args.checkpoints, seed=args.seed,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = config_from_args(args)
    if not cfg.sources and not cfg.font_lines:
        print("error: no training data: give --lines, --xml, --gold, --synthetic or --font-lines", file=sys.stderr)
        return 2
    notes = open(args.card_notes, encoding="utf-8").read() if args.card_notes else ""
    init_ray(args.address, dashboard=True)  # Ray Train asks the state API about its controller
    from pipeline.recognizer.trainer import run

    try:
        summary = run(cfg, command=["python", "jobs/train_recognizer.py", *(argv if argv is not None else sys.argv[1:])],
                      card_notes=notes)
    except TrainDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from pipeline.recognizer.card import best_validation, read_log

    best = best_validation(read_log(cfg.output))
    where = f"{best['val_cer']:.4f} at step {best['step']}" if best else "none (no validation ran)"
    print(f"[train] this leg: steps {summary.get('from_step')} -> {summary.get('to_step')}; best validation CER {where}; "
          f"model in {cfg.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
