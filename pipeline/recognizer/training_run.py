"""What every recognizer's Ray Train worker loop shares, whatever the model: the run's state
(step, epoch, best score, history, lines left out), the log, validation bookkeeping (the best
exported as it improves, early stopping), checkpoints reported to Ray Train, the leg's time
budget and progress lines. A model family gives its loss, its reading and its saving."""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from pipeline.recognizer.config import TrainConfig

LOG_EVERY = 50

# a family's step: one stream batch -> (loss tensor, extra losses by name, lines used, reasons
# lines were left out) or None when nothing in the batch could be learnt
StepFn = Callable[[dict], tuple[Any, dict[str, float], int, list[str]] | None]


def worker_setup(loop_config: dict):
    """(cfg, rank, world size, device) of this Ray Train worker, its torch threads and seed set."""
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
    return cfg, rank, world, device


def optimizer_and_schedule(parameters, cfg: TrainConfig):
    """AdamW on the schedule of learning_rate_factor."""
    import torch

    optimizer = torch.optim.AdamW(parameters, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: learning_rate_factor(s, cfg.warmup_steps, cfg.steps))


def learning_rate_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def resumed_state(saved: dict, optimizer, scheduler, rank: int) -> dict:
    """The optimiser, schedule and run state a checkpoint's state.pt holds, restored."""
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    if rank == 0:
        print(f"[train] resumed at step {saved['state']['step']} (best validation CER {saved['state']['best']})", flush=True)
    return saved["state"]


def grey_batch(array, device):
    """Stream pixels (lines, H, W) as the (lines, 3, H, W) float tensor a model reads: the
    lines are grey, so R = G = B."""
    import torch

    x = torch.from_numpy(np.asarray(array, dtype=np.float32))
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous().to(device)


def validate_lines(val_shard, read: Callable[[np.ndarray], list[str]], cfg: TrainConfig,
                   batch_size: int = 32) -> tuple[float, int, list[tuple[str, str]]]:
    """(micro CER, lines, a few (truth, reading) examples) of `read` over the validation lines."""
    from pipeline.recognizer.reading import score

    refs, hyps = [], []
    for batch in val_shard.iter_batches(batch_size=batch_size, batch_format="numpy"):
        keep = [i for i, s in enumerate(batch["skip"]) if not s]
        if not keep:
            continue
        hyps += read(batch["pixels"][keep])
        refs += [str(batch["text"][i]) for i in keep]
        if cfg.max_val_lines and len(refs) >= cfg.max_val_lines:
            break
    if not refs:
        raise RuntimeError("no validation line could be read: see the skip reasons in the training log")
    result = score(refs, hyps)
    return result.cer, result.lines, list(zip(refs, hyps))[:4]


class TrainingRun:
    def __init__(self, cfg: TrainConfig, rank: int, world: int, state: dict | None = None) -> None:
        self.cfg, self.rank, self.world = cfg, rank, world
        self.state: dict = state or {"step": 0, "epoch": 0, "best": None, "bad_evals": 0, "history": [], "skipped": {}}
        self.skipped: Counter = Counter(self.state.get("skipped", {}))
        self.first_pass = not self.state["skipped"]
        self.leg_start = time.monotonic()
        self.log_path = os.path.join(cfg.output, "train_log.jsonl")
        if state is not None:  # the log says where each leg took up the run, not only where it got to
            self.log({"event": "resumed", "step": state["step"], "best_val_cer": state["best"]})

    def log(self, record: dict) -> None:
        if self.rank == 0:
            with open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def evaluate_and_report(self, validate: Callable[[], tuple[float, int, list]], export_best: Callable[[dict], None],
                            write_checkpoint: Callable[[str], None]) -> bool:
        """Validate (rank 0), export the best, checkpoint through Ray Train; True to stop early."""
        import ray.train
        import torch

        state, cfg = self.state, self.cfg
        val_cer = None
        if self.rank == 0:
            val_cer, lines, examples = validate()
            record = {"step": state["step"], "epoch": state["epoch"], "val_cer": val_cer, "val_lines": lines,
                      "train_loss": state.get("recent_loss"), "minutes": round((time.monotonic() - self.leg_start) / 60, 2),
                      "examples": examples[:4]}
            improved = state["best"] is None or val_cer < state["best"]
            if improved:
                state["best"], state["bad_evals"] = val_cer, 0
                export_best({k: record[k] for k in ("step", "epoch", "val_cer", "val_lines")})
            else:
                state["bad_evals"] += 1
            state["history"].append({k: record[k] for k in ("step", "epoch", "val_cer", "train_loss")})
            self.log({"event": "validation", **record})
            print(f"[train] step {state['step']}: validation CER {val_cer:.4f} on {lines} lines"
                  f"{' (best so far)' if improved else ''}", flush=True)
        stop = torch.tensor([1.0 if self.rank == 0 and state["bad_evals"] >= cfg.patience else 0.0])
        if self.world > 1:
            torch.distributed.broadcast(stop, src=0)
        with tempfile.TemporaryDirectory() as folder:
            checkpoint_out = None
            if self.rank == 0:
                state["skipped"] = dict(self.skipped)
                write_checkpoint(folder)
                checkpoint_out = ray.train.Checkpoint.from_directory(folder)
            metrics = {"step": state["step"], "val_cer": val_cer if val_cer is not None else float("nan"),
                       "best_val_cer": state["best"] if state["best"] is not None else float("nan")}
            ray.train.report(metrics, checkpoint=checkpoint_out)
        if stop.item() and self.rank == 0:
            print(f"[train] stopping early: no better validation CER in {cfg.patience} evaluations", flush=True)
        return bool(stop.item())

    def train(self, train_shard, step: StepFn, optimizer, scheduler, parameters, clip: float,
              evaluate: Callable[[], bool]) -> None:
        """Epochs over the stream until cfg.steps, the leg's time budget or early stopping."""
        import torch

        cfg, state = self.cfg, self.state
        parameters = list(parameters)  # clipped at every step: a generator (module.parameters()) is spent by the first
        done = state["step"] >= cfg.steps
        seen, losses, extras, tick = 0, [], {}, time.monotonic()
        while not done:
            for batch in train_shard.iter_batches(batch_size=cfg.batch_size, batch_format="numpy",
                                                  local_shuffle_buffer_size=256):
                if self.first_pass:
                    self.skipped.update(s for s in batch["skip"] if s)
                result = step(batch)
                if result is None:
                    continue
                loss, extra, lines, reasons = result
                if self.first_pass:
                    self.skipped.update(r for r in reasons if r)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(parameters, clip)
                optimizer.step()
                scheduler.step()
                state["step"] += 1
                seen += lines
                losses.append(float(loss.item()))
                for name, value in extra.items():
                    extras.setdefault(name, []).append(value)
                if state["step"] % LOG_EVERY == 0 and self.rank == 0:
                    rate = seen * self.world / (time.monotonic() - tick)
                    state["recent_loss"] = float(np.mean(losses[-LOG_EVERY:]))
                    left = (cfg.steps - state["step"]) * cfg.batch_size / max(rate, 1e-6) / 60
                    shown = "".join(f" {name} {np.mean(values[-LOG_EVERY:]):.3f}" for name, values in extras.items())
                    print(f"[train] step {state['step']}/{cfg.steps} epoch {state['epoch']} loss {state['recent_loss']:.3f}"
                          f"{shown} lr {scheduler.get_last_lr()[0]:.2e} {rate:.1f} lines/s, {left:.0f} min to go", flush=True)
                    self.log({"event": "train", "step": state["step"], "loss": state["recent_loss"],
                              "lines_per_s": round(rate, 2)})
                out_of_time = cfg.max_minutes is not None and (time.monotonic() - self.leg_start) / 60 >= cfg.max_minutes
                done = state["step"] >= cfg.steps or out_of_time
                if state["step"] % cfg.eval_every == 0 or done:
                    if evaluate():
                        return
                    if out_of_time and self.rank == 0:
                        print(f"[train] leg time budget of {cfg.max_minutes} min reached at step {state['step']}", flush=True)
                if done:
                    break
            if self.first_pass and self.rank == 0 and self.skipped:
                self.log({"event": "skipped_in_stream", "reasons": dict(self.skipped)})
            self.first_pass = False
            state["epoch"] += 1
