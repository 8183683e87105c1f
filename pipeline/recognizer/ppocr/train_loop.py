"""The Ray Train worker function for a PP-OCR recognizer: CTC on the stream's lines, validation
at fixed intervals, checkpoints Ray Train keeps (and restores after a kill), and the best
weights written to OUTPUT/model.onnx as they improve."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter

import numpy as np

from pipeline.recognizer.config import TrainConfig
from pipeline.recognizer.ppocr.model import MODEL_FILE, Alphabet, load_onnx, save, trainable, trimmed
from pipeline.recognizer.reading import score
from pipeline.recognizer.train_loop import LOG_EVERY, START_FOLDER, learning_rate_factor


def _pixels(array, device):
    import torch

    x = torch.from_numpy(trimmed(np.asarray(array, dtype=np.float32)))
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous().to(device)  # grey lines: R = G = B


def read_batch(module, alphabet: Alphabet, pixels) -> list[str]:
    import torch

    with torch.inference_mode():
        return alphabet.decode(module(pixels))


def _validate(module, alphabet, val_shard, device, cfg: TrainConfig):
    refs, hyps = [], []
    for batch in val_shard.iter_batches(batch_size=16, batch_format="numpy"):
        keep = [i for i, s in enumerate(batch["skip"]) if not s]
        if not keep:
            continue
        hyps += read_batch(module, alphabet, _pixels(batch["pixels"][keep], device))
        refs += [str(batch["text"][i]) for i in keep]
        if cfg.max_val_lines and len(refs) >= cfg.max_val_lines:
            break
    if not refs:
        raise RuntimeError("no validation line could be read: see the skip reasons in the training log")
    result = score(refs, hyps)
    return result.cer, result.lines, list(zip(refs, hyps))[:4]


def train_loop(loop_config: dict) -> None:
    import ray.train
    import ray.train.torch
    import torch

    from pipeline.run.devices import set_torch_threads

    cfg = TrainConfig.from_dict(loop_config["cfg"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    if device.type == "cpu":
        set_torch_threads(cfg.worker_threads())
    torch.manual_seed(cfg.seed + rank)

    template = os.path.join(cfg.output, START_FOLDER, MODEL_FILE)
    graph = load_onnx(template)
    alphabet = Alphabet.of(graph)
    module = trainable(graph).to(device)
    module.eval()  # batch-norm statistics stay as trained (graph.py); gradients still flow
    optimizer = torch.optim.AdamW(module.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_factor(s, cfg.warmup_steps, cfg.steps))
    state: dict = {"step": 0, "epoch": 0, "best": None, "bad_evals": 0, "history": [], "skipped": {}}
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:
        with checkpoint.as_directory() as folder:
            saved = torch.load(os.path.join(folder, "state.pt"), map_location="cpu", weights_only=False)
        module.load_state_dict(saved["module"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        if rank == 0:
            print(f"[train] resumed at step {state['step']} (best validation CER {state['best']})", flush=True)
    trainee = ray.train.torch.prepare_model(module, move_to_device=False)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("val")
    leg_start = time.monotonic()
    skipped: Counter = Counter(state.get("skipped", {}))
    first_pass = not state["skipped"]
    log_path = os.path.join(cfg.output, "train_log.jsonl")

    def log(record: dict) -> None:
        if rank == 0:
            with open(log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def evaluate_and_report() -> bool:
        """Validate, checkpoint, export the best; True when training should stop."""
        val_cer = None
        if rank == 0:
            val_cer, lines, examples = _validate(module, alphabet, val_shard, device, cfg)
            record = {"step": state["step"], "epoch": state["epoch"], "val_cer": val_cer, "val_lines": lines,
                      "train_loss": state.get("recent_loss"), "minutes": round((time.monotonic() - leg_start) / 60, 2),
                      "examples": examples}
            improved = state["best"] is None or val_cer < state["best"]
            if improved:
                state["best"], state["bad_evals"] = val_cer, 0
                save(module, template, os.path.join(cfg.output, MODEL_FILE))
                with open(os.path.join(cfg.output, "best.json"), "w") as handle:
                    json.dump({k: record[k] for k in ("step", "epoch", "val_cer", "val_lines")}, handle, indent=1)
            else:
                state["bad_evals"] += 1
            state["history"].append({k: record[k] for k in ("step", "epoch", "val_cer", "train_loss")})
            log({"event": "validation", **record})
            print(f"[train] step {state['step']}: validation CER {val_cer:.4f} on {lines} lines"
                  f"{' (best so far)' if improved else ''}", flush=True)
        stop = torch.tensor([1.0 if rank == 0 and state["bad_evals"] >= cfg.patience else 0.0])
        if world > 1:
            torch.distributed.broadcast(stop, src=0)
        with tempfile.TemporaryDirectory() as folder:
            checkpoint_out = None
            if rank == 0:
                state["skipped"] = dict(skipped)
                torch.save({"module": module.state_dict(), "optimizer": optimizer.state_dict(),
                            "scheduler": scheduler.state_dict(), "state": state}, os.path.join(folder, "state.pt"))
                checkpoint_out = ray.train.Checkpoint.from_directory(folder)
            metrics = {"step": state["step"], "val_cer": val_cer if val_cer is not None else float("nan"),
                       "best_val_cer": state["best"] if state["best"] is not None else float("nan")}
            ray.train.report(metrics, checkpoint=checkpoint_out)
        if stop.item() and rank == 0:
            print(f"[train] stopping early: no better validation CER in {cfg.patience} evaluations", flush=True)
        return bool(stop.item())

    if state["step"] == 0 and not checkpoint:
        evaluate_and_report()  # where fine-tuning starts from

    done = state["step"] >= cfg.steps
    seen, losses, tick = 0, [], time.monotonic()
    while not done:
        for batch in train_shard.iter_batches(batch_size=cfg.batch_size, batch_format="numpy",
                                              local_shuffle_buffer_size=256):
            good = [i for i, s in enumerate(batch["skip"]) if not s]
            if first_pass:
                skipped.update(s for s in batch["skip"] if s)
            targets = [alphabet.encode(str(batch["text"][i])) for i in good]
            keep = [i for i, t in zip(good, targets) if t]
            targets = [t for t in targets if t]
            if not keep:
                continue
            pixels = _pixels(batch["pixels"][keep], device)
            log_probs = trainee(pixels).log_softmax(-1).transpose(0, 1)  # columns, lines, classes
            columns = torch.full((len(keep),), log_probs.shape[0], dtype=torch.long)
            loss = ctc(log_probs, torch.tensor([c for t in targets for c in t], dtype=torch.long),
                       columns, torch.tensor([len(t) for t in targets], dtype=torch.long))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
            optimizer.step()
            scheduler.step()
            state["step"] += 1
            seen += len(keep)
            losses.append(loss.item())
            if state["step"] % LOG_EVERY == 0 and rank == 0:
                rate = seen * world / (time.monotonic() - tick)
                state["recent_loss"] = float(np.mean(losses[-LOG_EVERY:]))
                left = (cfg.steps - state["step"]) * cfg.batch_size / max(rate, 1e-6) / 60
                print(f"[train] step {state['step']}/{cfg.steps} epoch {state['epoch']} ctc {state['recent_loss']:.3f}"
                      f" lr {scheduler.get_last_lr()[0]:.2e} {rate:.1f} lines/s, {left:.0f} min to go", flush=True)
                log({"event": "train", "step": state["step"], "loss": state["recent_loss"], "lines_per_s": round(rate, 2)})
            out_of_time = cfg.max_minutes is not None and (time.monotonic() - leg_start) / 60 >= cfg.max_minutes
            done = state["step"] >= cfg.steps or out_of_time
            if state["step"] % cfg.eval_every == 0 or done:
                if evaluate_and_report():
                    return
                if out_of_time and rank == 0:
                    print(f"[train] leg time budget of {cfg.max_minutes} min reached at step {state['step']}", flush=True)
            if done:
                break
        if first_pass and rank == 0 and skipped:
            log({"event": "skipped_in_stream", "reasons": dict(skipped)})
        first_pass = False
        state["epoch"] += 1
