"""The shipped handwriting recognizer against the offline alternatives, on hands it never saw.

1. line CER on the Testaments de Poilus val split (14 wills, 324 lines, hands held apart from
   training), side by side in one run: the shipped model, Tesseract `fra` in single-line mode,
   RapidOCR's PP-OCR recognizer (the wheel's weights), one plain call per crop each.
2. speed on one core: lines/s of the model alone (processor + generate on the crops) and of
   the trocr engine's line path on the same crops (batching by width, token confidences).
3. the IAM lines and paragraphs of ../shared/data (research use: evaluation only), English.

    python bench/bench_recognizer.py [--model models/handwriting-lines] [--data ../shared/data]
    python bench/bench_recognizer.py --model models/ppocr-testaments   # a tuned PP-OCR recognizer

A --model that is a PP-OCR recognizer (train_recognizer --init-from rapidocr) is read as RapidOCR
reads (plain calls on the crops; pages with RapidOCR's own detector for IAM paragraphs), and its
speed is the recognizer alone against the rapidocr engine's line path.

Figures go to bench/results/recognizer.json (another --model: its own file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.recognizer.ppocr.model import is_ppocr  # noqa: E402
from pipeline.recognizer.reading import score  # noqa: E402

SHIPPED = ROOT / "models" / "handwriting-lines"


def val_lines(data: Path, split: str = "val") -> list[tuple[Image.Image, str, str]]:
    folder = data / "handwriting_lines" / "testaments_de_poilus"
    rows = [json.loads(x) for x in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    return [(Image.open(data / r["image"]).convert("L"), r["text"], r["doc"]) for r in rows
            if r.get("level") == "line" and r.get("split") == split]


def iam(data: Path) -> list[tuple[Image.Image, str, str]]:
    """(image, text, level) of the IAM lines and paragraphs; paragraphs are stored inverted."""
    labels = data / "handwriting" / "handwriting_labels.jsonl"
    if not labels.exists():
        return []
    out = []
    for row in (json.loads(x) for x in labels.read_text(encoding="utf-8").splitlines() if x.strip()):
        if "/iam_lines/" not in row["image"] and "/iam_paragraphs/" not in row["image"]:
            continue
        image = Image.open(data / row["image"]).convert("L")
        if "/iam_paragraphs/" in row["image"]:
            image = Image.fromarray(255 - np.asarray(image))  # white ink on black in the source
        out.append((image, row["text"], row.get("level", "line")))
    return out


def engine_pages(model_dir: Path, images: list[Image.Image]) -> list[str]:
    """Whole paragraphs through the trocr engine: its line segmentation, then the model."""
    from pipeline.engines import PageImage
    from pipeline.engines.trocr import TrOCREngine
    from pipeline.run.config import EngineConfig

    engine = TrOCREngine.load(EngineConfig(name="trocr", model=str(model_dir), dtype="float32"))
    return [engine.recognize([PageImage(np.asarray(i.convert("RGB")), 300)])[0].text for i in images]


def rapidocr_pages(images: list[Image.Image], engine=None) -> list[str]:
    engine = engine or rapidocr()
    # the flags every time: RapidOCR keeps the last call's, and a line read before turns detection off
    return ["\n".join(engine(np.asarray(i.convert("RGB")), use_det=True, use_cls=True, use_rec=True).txts or [])
            for i in images]


class TunedRapidOCR:
    """A PP-OCR recognizer tuned by train_recognizer --init-from rapidocr, read as RapidOCR reads."""

    def __init__(self, folder: Path, threads: int | None = None):
        from pipeline.engines.rapidocr import recognizer_file

        self.engine = rapidocr(recognizer_file(str(folder)), threads)  # a folder: never None

    def read(self, images: list[Image.Image]) -> list[str]:
        return rapidocr_lines(images, self.engine)

    def pages(self, images: list[Image.Image]) -> list[str]:
        return rapidocr_pages(images, self.engine)


class Model:
    def __init__(self, folder: Path, threads: int | None = None):
        import torch
        from transformers import AutoProcessor, VisionEncoderDecoderModel

        if threads:
            torch.set_num_threads(threads)
        self.processor = AutoProcessor.from_pretrained(folder)
        self.model = VisionEncoderDecoderModel.from_pretrained(folder).eval()

    def read(self, images: list[Image.Image], batch: int = 16) -> list[str]:
        from pipeline.recognizer.reading import read_pixels

        order = sorted(range(len(images)), key=lambda i: images[i].width)
        out: list[str] = [""] * len(images)
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            pixels = self.processor(images=[images[i].convert("RGB") for i in chunk], return_tensors="pt").pixel_values
            for i, text in zip(chunk, read_pixels(self.model, self.processor.tokenizer, pixels)):
                out[i] = text
        return out


def tesseract_lines(images: list[Image.Image], lang: str, whole_page: bool = False) -> list[str]:
    """One plain Tesseract call per image: single-line mode, or its page layout analysis."""
    import tesserocr

    from pipeline.run.config import DEFAULT_TESSDATA

    psm = tesserocr.PSM.AUTO if whole_page else tesserocr.PSM.SINGLE_LINE
    with tesserocr.PyTessBaseAPI(path=DEFAULT_TESSDATA.rstrip("/") + "/", lang=lang, psm=psm) as api:
        out = []
        for image in images:
            api.SetImage(image)
            out.append(api.GetUTF8Text().strip())
        return out


def rapidocr(rec_model: str | None = None, threads: int | None = None):
    from rapidocr import RapidOCR

    params = {"Rec.model_path": rec_model} if rec_model else {}
    if threads:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
    return RapidOCR(params=params)


def rapidocr_lines(images: list[Image.Image], engine=None) -> list[str]:
    engine = engine or rapidocr()
    out = []
    for image in images:
        result = engine(np.asarray(image.convert("RGB")), use_det=False, use_cls=False, use_rec=True)
        out.append(" ".join(result.txts or []))
    return out


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def per_doc(refs: list[str], hyps: list[str], docs: list[str]) -> dict[str, float]:
    out = {}
    for doc in sorted(set(docs)):
        idx = [i for i, d in enumerate(docs) if d == doc]
        out[doc] = round(score([refs[i] for i in idx], [hyps[i] for i in idx]).cer, 4)
    return out


def speed(model_dir: Path, images: list[Image.Image]) -> dict:
    """One core: the model alone vs the engine's line path, same crops, same batch size."""
    from pipeline.engines.trocr import TrOCREngine
    from pipeline.run.config import EngineConfig

    if is_ppocr(str(model_dir)):
        from pipeline.engines.rapidocr import RapidOCREngine

        alone = TunedRapidOCR(model_dir, threads=1)
        engine = RapidOCREngine.load(EngineConfig(name="rapidocr", rapidocr_model=str(model_dir)))
    else:
        import torch

        alone = Model(model_dir, threads=1)
        engine = TrOCREngine.load(EngineConfig(name="trocr", model=str(model_dir), dtype="float32", batch_size=16))
        torch.set_num_threads(1)
    alone.read(images[:8])  # warm-up
    _, model_s = timed(alone.read, images)
    engine.read_lines([i.convert("RGB") for i in images[:8]])
    _, engine_s = timed(engine.read_lines, [i.convert("RGB") for i in images])
    return {"lines": len(images), "model_alone_lines_per_s_per_core": round(len(images) / model_s, 2),
            "engine_lines_per_s_per_core": round(len(images) / engine_s, 2), "engine_vs_model": round(model_s / engine_s, 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--skip-speed", action="store_true")
    args = p.parse_args(argv)
    data, model_dir = Path(args.data), Path(args.model)
    lines = val_lines(data)
    images, refs, docs = [x[0] for x in lines], [x[1] for x in lines], [x[2] for x in lines]
    results: dict = {"val_lines": len(lines), "val_wills": len(set(docs)), "engines": {}}
    tuned_ppocr = is_ppocr(str(model_dir))
    model = TunedRapidOCR(model_dir) if tuned_ppocr else Model(model_dir)
    for name, fn in [("model", model.read), ("tesseract_fra", lambda im: tesseract_lines(im, "fra")), ("rapidocr", rapidocr_lines)]:
        hyps, seconds = timed(fn, images)
        s = score(refs, hyps)
        results["engines"][name] = {"cer": round(s.cer, 4), "edits": s.edits, "chars": s.chars, "seconds": round(seconds, 1),
                                    "per_will": per_doc(refs, hyps, docs),
                                    "examples": [[refs[i], hyps[i]] for i in range(0, len(refs), 60)]}
        print(f"{name:14s} CER {s.cer:.4f} ({s.edits}/{s.chars}) in {seconds:.1f} s", flush=True)
    best_other = min(results["engines"][n]["cer"] for n in ("tesseract_fra", "rapidocr"))
    results["model_vs_best_other"] = round(results["engines"]["model"]["cer"] / best_other, 3)
    english = iam(data)
    if english:
        lines_ = [x for x in english if x[2] == "line"]
        paras = [x for x in english if x[2] == "paragraph"]
        readers = {"model": (model.read, model.pages if tuned_ppocr else lambda im: engine_pages(model_dir, im)),
                   "tesseract_eng": (lambda im: tesseract_lines(im, "eng"), lambda im: tesseract_lines(im, "eng", whole_page=True)),
                   "rapidocr": (rapidocr_lines, rapidocr_pages)}
        results["iam"] = {"lines": len(lines_), "paragraphs": len(paras)}
        for name, (read_lines, read_pages) in readers.items():
            results["iam"][name] = {
                "line_cer": round(score([x[1] for x in lines_], read_lines([x[0] for x in lines_])).cer, 4),
                "paragraph_cer": round(score([x[1] for x in paras], read_pages([x[0] for x in paras])).cer, 4),
            }
        print("IAM", json.dumps(results["iam"]), flush=True)
    if not args.skip_speed:
        results["speed"] = speed(model_dir, images[:96])
        print("speed", json.dumps(results["speed"]), flush=True)
    name = "recognizer.json" if model_dir.resolve() == SHIPPED.resolve() else f"recognizer-{model_dir.name}.json"
    out = ROOT / "bench" / "results" / name
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
