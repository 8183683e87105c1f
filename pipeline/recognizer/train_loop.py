"""The function every Ray Train worker runs: the model, its optimiser and the stream of lines,
validation at fixed intervals, checkpoints Ray Train keeps (and restores after a kill), and
the best model written to the output folder as it improves."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from pipeline.engines.hf import generation_budget
from pipeline.recognizer.architecture import encoder_grid
from pipeline.recognizer.config import TrainConfig
from pipeline.recognizer.reading import read_pixels
from pipeline.recognizer.tokenizer import EMPTY_TEXT, UNWRITABLE_TEXT, normalize_text
from pipeline.recognizer.training_run import (TrainingRun, grey_batch, optimizer_and_schedule, resumed_state,
                                              validate_lines, worker_setup)

START_FOLDER = ".start"  # the model training starts from (random, or --init-from), made by the driver


def _modules():
    import torch

    class CTCHead(torch.nn.Module):
        """Training-only: CTC over the encoder's feature columns. It teaches the encoder where
        characters are long before the decoder's attention finds them (hybrid CTC/attention)."""

        def __init__(self, width: int, vocab: int, rows: int, columns: int) -> None:
            super().__init__()
            self.rows, self.columns, self.blank = rows, columns, vocab
            self.proj = torch.nn.Linear(width, vocab + 1)

        def forward(self, hidden, targets, target_lengths):
            batch = hidden.shape[0]
            columns = hidden.view(batch, self.rows, self.columns, -1).mean(dim=1)
            log_probs = self.proj(columns).float().log_softmax(-1).transpose(0, 1)
            lengths = torch.full((batch,), self.columns, dtype=torch.long, device=hidden.device)
            return torch.nn.functional.ctc_loss(log_probs, targets, lengths, target_lengths, blank=self.blank,
                                                zero_infinity=True)

    class Trainee(torch.nn.Module):
        def __init__(self, model, ctc) -> None:
            super().__init__()
            self.model, self.ctc = model, ctc

        def forward(self, pixel_values, labels, ctc_targets, ctc_lengths):
            out = self.model(pixel_values=pixel_values, labels=labels)
            ctc = self.ctc(out.encoder_last_hidden_state, ctc_targets, ctc_lengths) if self.ctc is not None else None
            return out.loss, ctc

    return CTCHead, Trainee


def _labels(tokenizer, texts: list[str], limit: int):
    """Padded decoder labels (-100 past the end) and CTC targets; None where a line cannot be
    learnt, with the reason."""
    import torch

    rows, reasons = [], []
    unk = tokenizer.unk_token_id
    for text in texts:
        ids = tokenizer(normalize_text(text), add_special_tokens=False).input_ids
        if not ids:
            rows.append(None); reasons.append(EMPTY_TEXT)
        elif unk is not None and unk in ids:
            rows.append(None); reasons.append(UNWRITABLE_TEXT)
        elif len(ids) + 1 > limit:
            rows.append(None); reasons.append("line longer than the decoder's positions")
        else:
            rows.append(ids); reasons.append("")
    kept = [r for r in rows if r is not None]
    if not kept:
        return None, None, None, reasons
    width = max(len(r) for r in kept) + 1
    labels = torch.full((len(kept), width), -100, dtype=torch.long)
    for i, ids in enumerate(kept):
        labels[i, : len(ids) + 1] = torch.tensor(ids + [tokenizer.eos_token_id])
    ctc_targets = torch.tensor([t for ids in kept for t in ids], dtype=torch.long)
    ctc_lengths = torch.tensor([len(ids) for ids in kept], dtype=torch.long)
    return labels, ctc_targets, ctc_lengths, reasons


def _validate(model, tokenizer, val_shard, device, cfg: TrainConfig) -> tuple[float, int, list[tuple[str, str]]]:
    model.eval()
    result = validate_lines(val_shard, lambda pixels: read_pixels(model, tokenizer, grey_batch(pixels, device),
                                                                  cfg.max_new_tokens), cfg)
    model.train()
    return result


def _save_model(model, processor, folder: str) -> None:
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)


def _export_best(model, processor, output: str, metrics: dict) -> None:
    """The output folder always holds a whole model: written beside, then moved in file by file."""
    staging = tempfile.mkdtemp(dir=output, prefix=".best-")
    _save_model(model, processor, staging)
    with open(os.path.join(staging, "best.json"), "w") as handle:
        json.dump(metrics, handle, indent=1)
    for name in os.listdir(staging):
        os.replace(os.path.join(staging, name), os.path.join(output, name))
    shutil.rmtree(staging, ignore_errors=True)


def train_loop(loop_config: dict) -> None:
    import ray.train
    import ray.train.torch
    import torch
    from transformers import TrOCRProcessor, VisionEncoderDecoderModel

    cfg, rank, world, device = worker_setup(loop_config)

    checkpoint = ray.train.get_checkpoint()
    resuming = checkpoint is not None
    # as_directory, not to_directory: a local checkpoint is read where it lies, and one Ray
    # downloaded (s3:// storage) is deleted after, not left in /tmp at every resumed leg
    with checkpoint.as_directory() if resuming else contextlib.nullcontext(None) as ckpt_dir:
        source = os.path.join(ckpt_dir, "model") if ckpt_dir else os.path.join(cfg.output, START_FOLDER)
        model = VisionEncoderDecoderModel.from_pretrained(source)
        processor = TrOCRProcessor.from_pretrained(source)
        saved = torch.load(os.path.join(ckpt_dir, "state.pt"), map_location="cpu", weights_only=False) if ckpt_dir else None
    tokenizer = processor.tokenizer
    CTCHead, Trainee = _modules()
    ctc = None
    if cfg.ctc_weight > 0 and model.config.encoder.model_type == "swin":
        rows, columns = encoder_grid(model)
        ctc = CTCHead(model.config.encoder.hidden_size, len(tokenizer), rows, columns)
    trainee = Trainee(model, ctc)
    optimizer, scheduler = optimizer_and_schedule(trainee.parameters(), cfg)
    state = None
    if saved is not None:
        if ctc is not None and saved.get("ctc") is not None:
            ctc.load_state_dict(saved["ctc"])
        state = resumed_state(saved, optimizer, scheduler, rank)
    trainee = ray.train.torch.prepare_model(trainee)
    core = trainee.module if hasattr(trainee, "module") else trainee
    model = core.model
    model.train()
    run = TrainingRun(cfg, rank, world, state)
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("val")
    limit = generation_budget(model, 1 << 30)  # tokens + EOS a label may hold

    def write_checkpoint(folder: str) -> None:
        _save_model(model, processor, os.path.join(folder, "model"))
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "ctc": core.ctc.state_dict() if core.ctc is not None else None, "state": run.state},
                   os.path.join(folder, "state.pt"))

    def evaluate() -> bool:
        return run.evaluate_and_report(lambda: _validate(model, tokenizer, val_shard, device, cfg),
                                       lambda metrics: _export_best(model, processor, cfg.output, metrics),
                                       write_checkpoint)

    def step(batch: dict):
        good = [i for i, s in enumerate(batch["skip"]) if not s]
        labels, ctc_targets, ctc_lengths, reasons = _labels(tokenizer, [str(batch["text"][i]) for i in good], limit)
        if labels is None:
            return None
        keep = [good[i] for i, r in enumerate(reasons) if not r]
        pixels = grey_batch(batch["pixels"][keep], device)
        loss, ctc_loss = trainee(pixels, labels.to(device), ctc_targets.to(device), ctc_lengths.to(device))
        if ctc_loss is None:
            return loss, {}, len(keep), reasons
        return loss + cfg.ctc_weight * ctc_loss, {"ctc": ctc_loss.item()}, len(keep), reasons

    if run.state["step"] == 0 and cfg.init_from and not resuming:
        evaluate()  # where fine-tuning starts from
    run.train(train_shard, step, optimizer, scheduler, trainee.parameters(), 1.0, evaluate)
