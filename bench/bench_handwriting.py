"""The shipped handwriting generator, measured: fidelity, diversity, throughput, sample sheet.

1. fidelity: Tesseract's CER reading generated lines against the text they were asked to
   write, beside the same recognizer on the same texts drawn in each style's font (clean), in
   that font with the training augmentation (slant, jitter, stroke, ink, paper, noise, blur:
   what the generator learns to imitate; mean of AUGMENTED_DRAWS draws), and in the plain
   conditioning font. Target: generated CER <= 1.5 x the clean font renderings.
2. diversity: two seeds of one text differ (one text per style) (mean absolute pixel difference, share of pixels).
3. throughput: lines/s on this machine at the default steps, in-process.
4. docs/handwriting_samples.png: every style writing one line, two seeds each.

The shipped model's figures go to bench/results/handwriting.json and the README's sample sheet;
any other --model (a training candidate) gets them in its own folder, so measuring a candidate
never overwrites what the README cites.

    python bench/bench_handwriting.py [--model models/handwriting-small] [--steps 20] [--texts 16] [--seed 0]

--seed N draws every generated line (and augmented font) from other seeds: the same lines
measured again, to see how much of a figure is the draw; its results get a -seedN suffix
and it draws no sample sheet.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tesserocr  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.handwriting.fonts import PLAIN_FONT, HandwritingFont  # noqa: E402
from pipeline.handwriting.generate import GenerateConfig, GenerateLines  # noqa: E402
from pipeline.handwriting.model import SHIPPED_MODEL  # noqa: E402
from pipeline.handwriting.render import NO_AUGMENT, Augment, LineLayout, render_condition, render_handwriting  # noqa: E402
from pipeline.quality.metrics import cer  # noqa: E402

# Held out: none of these lines is in the training phrases.
TEXTS = [
    "The vestry met on Friday last.", "Paid to the carpenter 3 shillings", "Letter sent to the bishop",
    "Le maire est absent ce jour.", "Reçu pour solde de tout compte", "Die Kirche wurde 1754 erbaut.",
    "Hochachtungsvoll, Ihr Karl Weber", "La cosecha fue muy buena.", "Il treno parte alle sei",
    "Het dak moet worden hersteld", "Proszę o szybką odpowiedź", "Muito obrigado pela carta",
    "Minutes of the annual meeting", "Two cows sold at the fair", "Rent due on Lady Day",
    "Nous partirons demain matin", "Bitte senden Sie die Akten", "Gracias por su paciencia",
    "Spedito il pacco ieri sera", "Tot ziens en veel groeten", "Married at St. Mary's church",
    "Fire insurance policy 4471", "Signed in the presence of", "The well is dry since June",
]
TESSDATA = "/usr/share/tesseract-ocr/5/tessdata/"
AUGMENTED_DRAWS = 4
SCALE = 2  # Tesseract reads a 32-pixel line better at twice the size; every variant gets the same


def line_reader() -> tesserocr.PyTessBaseAPI:
    """Tesseract in the 8 languages of the held-out texts, reading one line (a context manager)."""
    return tesserocr.PyTessBaseAPI(path=TESSDATA, lang="eng+fra+deu+spa+ita+nld+pol+por", psm=tesserocr.PSM.SINGLE_LINE)


def recognize(api: tesserocr.PyTessBaseAPI, line: np.ndarray) -> str:
    image = Image.fromarray(line).resize((line.shape[1] * SCALE, line.shape[0] * SCALE), Image.Resampling.LANCZOS)
    framed = Image.new("L", (image.width + 40, image.height + 40), 255)
    framed.paste(image, (20, 20))
    api.SetImage(framed)
    return " ".join(api.GetUTF8Text().split())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--steps", type=int, default=GenerateConfig.steps)
    p.add_argument("--guidance-scale", type=float, default=GenerateConfig.guidance_scale)
    p.add_argument("--texts", type=int, default=16, help=f"held-out texts to write in every style (up to {len(TEXTS)})")
    p.add_argument("--seed", type=int, default=0, help="first seed of the generated lines (row i: seed + i)")
    args = p.parse_args()
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    gen = GenerateLines(GenerateConfig(texts="", output="", model=args.model, steps=args.steps,
                                       guidance_scale=args.guidance_scale), args.model)
    styles = gen.meta.styles
    texts = TEXTS[: args.texts]
    # every text in every style that has its glyphs
    jobs = [(t, s) for t in texts for s in range(len(styles)) if set(t) <= set(styles[s].charset)]
    started = time.perf_counter()
    lines = gen.lines([t for t, _ in jobs], [s for _, s in jobs], [args.seed + i for i in range(len(jobs))])
    elapsed = time.perf_counter() - started
    pairs = jobs[: len(styles)]  # one text per style, drawn again with other seeds
    twins = gen.lines([t for t, _ in pairs], [s for _, s in pairs], [args.seed + 10_000 + i for i in range(len(pairs))])
    rng = np.random.default_rng(args.seed)
    results: dict[str, dict] = {}
    with line_reader() as api:
        for (text, s), line in zip(jobs, lines):
            style = styles[s]
            font_path = gen.fonts.get(style.font_file or "")
            hand = HandwritingFont(style.name, font_path, frozenset(style.charset)) if font_path else None
            plain = render_condition(text, LineLayout(PLAIN_FONT))
            row = results.setdefault(style.name, {"generated": [], "font": [], "font_augmented": [], "plain": []})
            row["generated"].append(cer(text, recognize(api, line)))
            row["plain"].append(cer(text, recognize(api, plain)))
            if hand is not None:
                row["font"].append(cer(text, recognize(api, render_handwriting(text, hand, rng, NO_AUGMENT))))
                row["font_augmented"].append(float(np.mean([
                    cer(text, recognize(api, render_handwriting(text, hand, rng, Augment())))
                    for _ in range(AUGMENTED_DRAWS)])))
    per_style = {name: {k: round(float(np.mean(v)), 4) if v else None for k, v in row.items()}
                 for name, row in results.items()}
    overall = {k: round(float(np.mean([c for row in results.values() for c in row[k]])), 4)
               for k in ("generated", "font", "font_augmented", "plain")}
    diff = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(lines[: len(pairs)], twins)]
    diversity = {"mean_abs_pixel_diff": round(float(np.mean([d.mean() for d in diff])), 2),
                 "share_pixels_differing_by_32": round(float(np.mean([(d > 32).mean() for d in diff])), 3),
                 "identical_pairs": int(sum(not d.any() for d in diff))}
    report = {
        "model": args.model, "seed": args.seed, "steps": args.steps, "guidance_scale": args.guidance_scale, "lines": len(jobs),
        "cer": overall, "ratio_generated_to_font": round(overall["generated"] / max(overall["font"], 1e-9), 2),
        "ratio_generated_to_font_augmented": round(overall["generated"] / max(overall["font_augmented"], 1e-9), 2),
        # the plain font is read perfectly, so this ratio is often undefined
        "ratio_generated_to_plain": round(overall["generated"] / overall["plain"], 2) if overall["plain"] else None,
        "per_style": per_style, "diversity": diversity,
        "lines_per_s_cpu": round(len(jobs) / elapsed, 3),
    }
    print(f"fidelity (Tesseract CER, {len(jobs)} lines): generated {overall['generated']:.3f}, "
          f"font renderings {overall['font']:.3f} (with the training augmentation {overall['font_augmented']:.3f}), "
          f"plain font {overall['plain']:.3f}; generated/font = {report['ratio_generated_to_font']} (target <= 1.5), "
          f"generated/augmented font = {report['ratio_generated_to_font_augmented']}")
    for name, row in per_style.items():
        print(f"  {name:16s} generated {row['generated']}  font {row['font']}  augmented font {row['font_augmented']}"
              f"  plain {row['plain']}")
    print(f"diversity: {diversity}")
    print(f"throughput: {report['lines_per_s_cpu']} lines/s on CPU at {args.steps} steps, guidance {args.guidance_scale}")
    shipped = Path(args.model).resolve() == SHIPPED_MODEL.resolve()
    suffix = f"-seed{args.seed}" if args.seed else ""
    json_path = ROOT / "bench" / "results" / f"handwriting{suffix}.json" if shipped else Path(args.model) / f"bench{suffix}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"results: {json_path}")
    if args.seed:  # the sheet shows the model, not one draw: only the default run writes it
        return 0
    sheet_lines = []
    for s in range(len(styles)):
        sample = "Reçu de Madame Dupré, 12 März 1921" if set("Reçu de Madame Dupré, 12 März 1921") <= set(styles[s].charset) \
            else "Received of Mrs. Dupre, 12 March 1921"
        sheet_lines += gen.lines([sample, sample], [s, s], [s, 100 + s])
    width = max(line.shape[1] for line in sheet_lines)
    sheet = np.vstack([np.pad(line, ((2, 2), (4, width - line.shape[1] + 4)), constant_values=255) for line in sheet_lines])
    sheet_path = ROOT / "docs" / "handwriting_samples.png" if shipped else Path(args.model) / "samples.png"
    Image.fromarray(sheet).save(sheet_path)
    print(f"sample sheet: {sheet_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
