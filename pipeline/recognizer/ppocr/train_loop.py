"""The Ray Train worker function for a PP-OCR recognizer: CTC on the stream's lines, validation
at fixed intervals, checkpoints Ray Train keeps (and restores after a kill), and the best
weights written to OUTPUT/model.onnx as they improve."""

from __future__ import annotations

import json
import os

from pipeline.recognizer.config import TrainConfig
from pipeline.recognizer.ppocr.model import MODEL_FILE, Alphabet, load_onnx, save, trainable, trimmed
from pipeline.recognizer.tokenizer import EMPTY_TEXT, UNWRITABLE_TEXT, normalize_text
from pipeline.recognizer.train_loop import START_FOLDER
from pipeline.recognizer.training_run import (TrainingRun, grey_batch, optimizer_and_schedule, resumed_state,
                                              validate_lines, worker_setup)


def _validate(module, alphabet: Alphabet, val_shard, device, cfg: TrainConfig):
    import torch

    def read(pixels) -> list[str]:
        with torch.inference_mode():
            return alphabet.decode(module(grey_batch(trimmed(pixels), device)))

    return validate_lines(val_shard, read, cfg, batch_size=16)


def train_loop(loop_config: dict) -> None:
    import ray.train
    import ray.train.torch
    import torch

    cfg, rank, world, device = worker_setup(loop_config)

    template = os.path.join(cfg.output, START_FOLDER, MODEL_FILE)
    graph = load_onnx(template)
    alphabet = Alphabet.of(graph)
    module = trainable(graph).to(device)
    module.eval()  # batch-norm statistics stay as trained (graph.py); gradients still flow
    optimizer, scheduler = optimizer_and_schedule(module.parameters(), cfg)
    state = None
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            saved = torch.load(os.path.join(folder, "state.pt"), map_location="cpu", weights_only=False)
        module.load_state_dict(saved["module"])
        state = resumed_state(saved, optimizer, scheduler, rank)
    trainee = ray.train.torch.prepare_model(module, move_to_device=False)
    run = TrainingRun(cfg, rank, world, state)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("val")

    def export_best(metrics: dict) -> None:
        save(module, template, os.path.join(cfg.output, MODEL_FILE))
        with open(os.path.join(cfg.output, "best.json"), "w") as handle:
            json.dump(metrics, handle, indent=1)

    def write_checkpoint(folder: str) -> None:
        torch.save({"module": module.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "state": run.state}, os.path.join(folder, "state.pt"))

    def evaluate() -> bool:
        return run.evaluate_and_report(lambda: _validate(module, alphabet, val_shard, device, cfg), export_best,
                                       write_checkpoint)

    def step(batch: dict):
        good = [i for i, s in enumerate(batch["skip"]) if not s]
        texts = [normalize_text(str(batch["text"][i])) for i in good]
        # synthetic lines reach the stream unchecked: a line the alphabet cannot write is counted, not fatal
        reasons = [EMPTY_TEXT if not t else UNWRITABLE_TEXT if alphabet.missing(t) else "" for t in texts]
        targets = [alphabet.encode(t) for t, r in zip(texts, reasons) if not r]
        keep = [i for i, r in zip(good, reasons) if not r]
        if not keep:
            return None
        log_probs = trainee(grey_batch(trimmed(batch["pixels"][keep]), device)).log_softmax(-1).transpose(0, 1)  # columns first
        columns = torch.full((len(keep),), log_probs.shape[0], dtype=torch.long)
        loss = ctc(log_probs, torch.tensor([c for t in targets for c in t], dtype=torch.long),
                   columns, torch.tensor([len(t) for t in targets], dtype=torch.long))
        return loss, {}, len(keep), reasons

    if run.state["step"] == 0 and not checkpoint:
        evaluate()  # where fine-tuning starts from
    run.train(train_shard, step, optimizer, scheduler, module.parameters(), 5.0, evaluate)
