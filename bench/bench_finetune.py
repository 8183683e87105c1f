"""Adapting the shipped recognizer to a new collection with a little transcription.

The val hands of the Testaments (14 wills never seen in training) are split by line: per will,
the first 65 % of lines (in page order) are the "transcribed" pool and the rest are read;
the checkpoint is chosen on pool lines not trained on. The shipped
model is fine-tuned with jobs/train_recognizer.py --init-from on 25, 50, 100 and 200
transcribed lines (spread over the wills), and each result reads the held-back lines of those
same hands; 0 is the shipped model as it is.

    python bench/bench_finetune.py [--model models/handwriting-lines] [--sizes 25 50 100 200] [--steps 300]

Figures: bench/results/finetune.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_recognizer import SHIPPED, Model  # noqa: E402
from pipeline.recognizer.reading import score  # noqa: E402


def split_val(data: Path, held_back_share: float = 0.35) -> tuple[list[dict], list[dict]]:
    folder = data / "handwriting_lines" / "testaments_de_poilus"
    rows = [json.loads(x) for x in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("level") == "line" and r.get("split") == "val"]
    transcribed, held = [], []
    for doc in sorted({r["doc"] for r in rows}):
        lines = [r for r in rows if r["doc"] == doc]
        cut = int(len(lines) * (1 - held_back_share))
        transcribed += lines[:cut]
        held += lines[cut:]
    return transcribed, held


def write_folder(folder: Path, rows: list[dict], data: Path, split: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "labels.jsonl", "w", encoding="utf-8") as handle:
        for r in rows:
            # the same hands on both sides is the point here, so the held-back side gets its own doc ids
            handle.write(json.dumps({"image": str(data / r["image"]), "text": r["text"], "doc": r["doc"] + ("" if split == "train" else "-held"),
                                     "split": split}, ensure_ascii=False) + "\n")
    return folder


def spread(rows: list[dict], n: int) -> list[dict]:
    """n lines taken round-robin over the wills, so every hand is seen."""
    by_doc: dict[str, list[dict]] = {}
    for r in rows:
        by_doc.setdefault(r["doc"], []).append(r)
    out, i = [], 0
    while len(out) < min(n, len(rows)):
        for lines in by_doc.values():
            if i < len(lines) and len(out) < n:
                out.append(lines[i])
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200])
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args(argv)
    data = Path(args.data)
    transcribed, held = split_val(data)
    from PIL import Image

    held_images = [Image.open(data / r["image"]).convert("L") for r in held]
    refs = [r["text"] for r in held]
    results = {"held_back_lines": len(held), "transcribed_pool": len(transcribed), "steps": args.steps, "curve": {}}
    base = score(refs, Model(Path(args.model)).read(held_images)).cer
    results["curve"]["0"] = round(base, 4)
    print(f"0 lines: CER {base:.4f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for n in args.sizes:
            chosen = spread(transcribed, n)
            # the checkpoint is chosen on the transcribed lines left over, never on the lines measured
            spare = [r for r in transcribed if r not in chosen] or chosen[-10:]
            train = write_folder(tmp_path / f"train{n}", chosen, data, "train")
            val = write_folder(tmp_path / f"val{n}", spare, data, "val")
            out = tmp_path / f"model{n}"
            command = [sys.executable, "jobs/train_recognizer.py", "--output", str(out), "--init-from", args.model,
                       "--lines", str(train), "--val-lines", str(val), "--steps", str(args.steps), "--eval-every", str(args.steps // 3),
                       "--learning-rate", "2e-4", "--warmup-steps", "30", "--ctc-weight", "0"]
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            cer = score(refs, Model(out).read(held_images)).cer
            results["curve"][str(n)] = round(cer, 4)
            print(f"{n} lines: CER {cer:.4f}", flush=True)
    (ROOT / "bench" / "results" / "finetune.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
