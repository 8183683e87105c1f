"""RapidOCR's recognizers in turn (the default `--rapidocr-model wheel,ppocr-testaments`) against
each alone, on line crops of hands neither was trained on.

For each set: line CER of the wheel's recognizer, of the fine-tune, of the pair as the rapidocr
engine reads (a line the wheel's reads under RECHECK_BELOW read again by the fine-tune, the
likelier kept), and of an oracle that keeps the better of the two by truth; how many lines the
pair read twice and how many it took from the fine-tune; and the pair at other thresholds.

    python bench/bench_recognizer_pair.py [--data ../shared/data] [--second FOLDER]

--second reads with another fine-tune in the second place (a candidate, before it is shipped).

Sets: the Testaments val lines (14 wills never trained on), and ../shared/data's other
handwriting read line by line: IAM lines (research use, evaluation only), SimpleHTR, the 8 x 8
UCI digits. Figures go to bench/results/recognizer_pair.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.bench_recognizer import val_lines  # noqa: E402
from pipeline.engines.rapidocr import RECHECK_BELOW, RapidOCREngine  # noqa: E402
from pipeline.quality.metrics import char_edits  # noqa: E402
from pipeline.run.config import DEFAULT_RECOGNIZERS, EngineConfig  # noqa: E402

THRESHOLDS = (0.8, 0.85, 0.9, 0.95, 1.01)  # 1.01: every line read twice


def line_sets(data: Path) -> dict[str, list[tuple[Image.Image, str]]]:
    sets = {"testaments_val": [(image, text) for image, text, _ in val_lines(data)]}
    labels = data / "handwriting" / "handwriting_labels.jsonl"
    rows = [json.loads(x) for x in labels.read_text(encoding="utf-8").splitlines() if x.strip()] if labels.exists() else []
    for name in ("iam_lines", "simplehtr", "uci_digits"):
        sets[name] = [(Image.open(data / r["image"]).convert("L"), r["text"]) for r in rows
                      if f"/{name}/" in r["image"] and r.get("level") in ("line", "word", "char")]
    return {k: v for k, v in sets.items() if v}


def cer(truths: list[str], readings: list[str]) -> float:
    edits = length = 0
    for truth, reading in zip(truths, readings):
        count = char_edits(truth, reading)
        edits, length = edits + count.edits, length + count.length
    return round(edits / max(length, 1), 4)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--second", default=DEFAULT_RECOGNIZERS[1], help="the recognizer that re-reads (default: the shipped one)")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "recognizer_pair.json"))
    args = p.parse_args()
    sets = line_sets(Path(args.data))
    if not sets:
        raise SystemExit(f"no line sets under {args.data}")
    first, second = DEFAULT_RECOGNIZERS[0], args.second
    alone = [RapidOCREngine.load(EngineConfig(name="rapidocr", rapidocr_models=(m,))) for m in (first, second)]
    pair = RapidOCREngine.load(EngineConfig(name="rapidocr", rapidocr_models=(first, second)))
    results: dict = {"recheck_below": RECHECK_BELOW, "recognizers": [first, second], "sets": {}}
    for name, items in sets.items():
        crops = [image.convert("RGB") for image, _ in items]
        truths = [text for _, text in items]
        a, b = (engine.read_lines(crops) for engine in alone)
        both = pair.read_lines(crops)
        better = [x.text if char_edits(t, x.text).edits <= char_edits(t, y.text).edits else y.text for t, x, y in zip(truths, a, b)]
        sweep = {}
        for threshold in THRESHOLDS:  # the engine's rule at other thresholds, on the same two readings
            kept = [y.text if (x.confidence or 0.0) < threshold and y.text and (y.confidence or 0.0) > (x.confidence or 0.0)
                    else x.text for x, y in zip(a, b)]
            sweep[str(threshold)] = {"cer": cer(truths, kept), "read_twice": sum((x.confidence or 0.0) < threshold for x in a)}
        entry = {"lines": len(items), first: cer(truths, [x.text for x in a]), second: cer(truths, [y.text for y in b]),
                 "pair": cer(truths, [z.text for z in both]), "oracle_of_two": cer(truths, better),
                 "read_twice": sum((x.confidence or 0.0) < RECHECK_BELOW for x in a),
                 "taken_from_second": sum(z.text != x.text for x, z in zip(a, both)), "thresholds": sweep}
        results["sets"][name] = entry
        print(name, entry, flush=True)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
