"""What a trained model carries: its card (README.md), the learning curve and the figures."""

from __future__ import annotations

import json
import os
from pathlib import Path


def read_log(output: str) -> list[dict]:
    path = Path(output) / "train_log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_curve(output: str) -> str | None:
    """learning_curve.png: validation CER and training loss against steps, every leg of the log."""
    records = read_log(output)
    val = [(r["step"], r["val_cer"]) for r in records if r.get("event") == "validation"]
    train = [(r["step"], r["loss"]) for r in records if r.get("event") == "train"]
    if not val:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*val), "o-", color="C0", label="validation CER")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("validation CER", color="C0")
    ax.set_ylim(0, min(1.2, max(v for _, v in val) * 1.1))
    if train:
        other = ax.twinx()
        other.plot(*zip(*train), color="C1", alpha=0.5, label="training loss")
        other.set_ylabel("training loss", color="C1")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = os.path.join(output, "learning_curve.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


TROCR_USE = ["    digitize --engine trocr --model THIS_FOLDER --input SCANS --output OUT", "",
             "or with transformers alone:", "",
             "    processor = AutoProcessor.from_pretrained(THIS_FOLDER)",
             "    model = VisionEncoderDecoderModel.from_pretrained(THIS_FOLDER)",
             "    ids = model.generate(**processor(images=line_image, return_tensors='pt'))",
             "    text = processor.batch_decode(ids, skip_special_tokens=True)[0]"]


def best_validation(records: list[dict]) -> dict | None:
    """The validation record of the best step in a run's log (the step whose weights it keeps)."""
    vals = [r for r in records if r.get("event") == "validation"]
    return min(vals, key=lambda r: r["val_cer"]) if vals else None


def write_card(output: str, run: dict, notes: str = "", use: list[str] = TROCR_USE) -> str:
    """README.md of the model folder. `run` holds the command, the data counts and the skips;
    the validation history comes from the log, so every leg appears."""
    records = read_log(output)
    legs = [r for r in records if r.get("event") == "leg"]
    best = best_validation(records)
    lines = [f"# {Path(output).resolve().name}: a handwriting line recognizer trained by this project", ""]
    if notes:
        lines += [notes.strip(), ""]
    lines += ["## Data (lines per source, this leg)", "", "| source | kind | weight | lines |", "|---|---|---:|---:|"]
    for source in run.get("sources", []):
        lines.append(f"| {source['uri']} | {source['kind']} | {source['weight']} | {source['lines']} |")
    lines += ["", f"Validation: {run.get('val_lines', 0)} lines of {run.get('val_docs', 0)} documents never seen in training.",
              f"Font lines per epoch: {run.get('font_lines', 0)}.", ""]
    if run.get("skipped"):
        lines += ["Left out (reason: count):", ""]
        lines += [f"- {reason}: {entry['count']}" for reason, entry in run["skipped"].items()]
        lines.append("")
    lines += ["## Legs", "", "| leg | command | steps | minutes | best validation CER |", "|---:|---|---|---:|---:|"]
    for i, leg in enumerate(legs, 1):
        lines.append(f"| {i} | `{leg['command']}` | {leg.get('from_step', 0)} -> {leg.get('to_step', '?')} | "
                     f"{leg.get('minutes', '?')} | {leg.get('best_val_cer', float('nan')):.4f} |")
    if best:
        lines += ["", f"Best validation CER {best['val_cer']:.4f} at step {best['step']} ({best['val_lines']} lines); "
                  "the weights in this folder are that step's.", ""]
    if os.path.exists(os.path.join(output, "learning_curve.png")):
        lines += ["![learning curve](learning_curve.png)", ""]
    lines += ["## Use", "", *use, ""]
    path = os.path.join(output, "README.md")
    Path(path).write_text("\n".join(lines), encoding="utf-8")
    return path
