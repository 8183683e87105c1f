"""RapidOCR: PP-OCR's recognizer (ONNX weights inside the `rapidocr` wheel, Apache-2.0) reading
the lines Tesseract's layout analysis (or PP-OCR's detector) finds.

It reads handwriting far better than Tesseract and printed lines about as well, on CPU through
onnxruntime. PP-OCR's detector serves as the `detector` segmenter (pipeline/page/detected_lines.py);
with Tesseract's layout the reading order (columns, paragraphs, tables) is Tesseract's. Token
confidences are the recognizer's per-character CTC probabilities, averaged over each word.

Several recognizers read in turn (`--rapidocr-model`, by default the wheel's, then the fine-tune
on French WWI hands): a line the reading so far holds under `RECHECK_BELOW` is read by the next,
and the likelier reading kept. A fine-tune reads its collection's hands far better and others
worse; the pair keeps near the better of the two on each (docs/recognizer.md).
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import lru_cache
from typing import ClassVar

import numpy as np
from PIL import Image

from pipeline.engines.base import EngineLoadError
from pipeline.engines.line_pages import LinePageEngine, LineResult, preflight_segmenter
from pipeline.page.detected_lines import SEEN_MAX_SIDE
from pipeline.page.documents import RenderSpec
from pipeline.page.scoring import span_confidence
from pipeline.page.segment import line_segmenter
from pipeline.quality.line_calibration import likelier
from pipeline.run.config import WHEEL_RECOGNIZER, EngineConfig
from pipeline.run.devices import thread_limit
from pipeline.run.records import Token

# a line read under this confidence is read again by the next recognizer: the wheel reads the print
# and the hands it knows above it, and re-reading those would double their cost for nothing
RECHECK_BELOW = 0.95


def _rapidocr():
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineLoadError("rapidocr is not installed: pip install rapidocr onnxruntime (scripts/setup.sh does)") from exc
    return RapidOCR


def ppocr(rec_model: str | None = None):
    """One RapidOCR (PP-OCR detector and recognizer sessions) per process and recognizer, shared
    by the engine and the detector segmenter. `rec_model` is what --rapidocr-model names."""
    return _ppocr(recognizer_file(rec_model))


@lru_cache(maxsize=4)
def _ppocr(rec_file: str | None):
    """One onnxruntime thread per actor, as Ray runs an actor per core. Its log says errors
    only: an empty detection is an answer here, not a warning for the user."""
    params = {"Global.log_level": "error", "EngineConfig.onnxruntime.intra_op_num_threads": thread_limit(),
              "EngineConfig.onnxruntime.inter_op_num_threads": 1,
              "Global.max_side_len": SEEN_MAX_SIDE,
              "Det.limit_type": "max", "Det.limit_side_len": DETECT_MAX_SIDE}
    if rec_file:
        params["Rec.model_path"] = rec_file
    return _rapidocr()(params=params)


def recognizer_file(rec_model: str | None) -> str | None:
    """The recognizer ONNX file a --rapidocr-model names (a file, or a folder holding
    model.onnx, as jobs/train_recognizer.py --init-from rapidocr writes), None for the wheel's
    own; a clear error where there is none."""
    if not rec_model or rec_model == WHEEL_RECOGNIZER:
        return None
    from pipeline.recognizer.ppocr.model import model_file

    path = model_file(rec_model)
    if not os.path.isfile(path):
        raise EngineLoadError(f"--rapidocr-model {rec_model!r}: no recognizer at {path}")
    return path


# pixels: the detector sees a larger image scaled down to this longest side, a smaller one as it is.
# Its time grows with the pixels (a 300 DPI A4 page took seconds); print at 300 DPI is still 15 px
# high at this size. (RapidOCR's default scales every image up to 736 px on its shortest side.)
DETECT_MAX_SIDE = 2048


@lru_cache(maxsize=1)
def _version() -> str:
    from importlib.metadata import version

    return version("rapidocr")


def word_tokens(text: str, char_confs: list[float] | None, line_conf: float, box: list[float]) -> list[Token]:
    """The line's words as tokens: each with the mean probability of its characters (the line's
    score where the recognizer gave none) and a box cut from the line's by character position."""
    tokens: list[Token] = []
    x0, y0, x1, y1 = box
    n = max(len(text), 1)
    confs = char_confs if char_confs is not None and len(char_confs) == len(text) else None
    position = 0
    for word in text.split(" "):
        if word:
            start, end = position, position + len(word)
            conf = float(np.mean(confs[start:end])) if confs else line_conf
            tokens.append(Token(text=word, confidence=max(0.0, min(conf, 1.0)),
                                bbox=[x0 + (x1 - x0) * start / n, y0, x0 + (x1 - x0) * end / n, y1]))
        position += len(word) + 1
    return tokens


def read_crop(reader, crop: Image.Image) -> LineResult:
    """One line crop as one RapidOCR recognizer reads it."""
    try:
        out = reader(np.asarray(crop.convert("RGB")), use_det=False, use_cls=False, use_rec=True, return_word_box=True)
    except Exception:  # noqa: BLE001 - its resize refuses slivers (a rule 2,500 x 10 px): no text there
        return LineResult(text="", tokens=[], confidence=None)
    text = " ".join(t for t in (out.txts or ()) if t).strip()
    line_conf = float(np.mean(out.scores)) if out.scores else 0.0
    words = out.word_results[0] if out.word_results else None
    char_confs = list(words.confs) if words is not None and getattr(words, "confs", None) is not None else None
    tokens = word_tokens(text, char_confs, line_conf, [0.0, 0.0, float(crop.width), float(crop.height)])
    return LineResult(text=text, tokens=tokens, confidence=span_confidence(tokens))


def _model_name(rec_model: str) -> str:
    return os.path.basename(os.path.normpath(rec_model)) if recognizer_file(rec_model) else "PP-OCR-rec"


class RapidOCREngine(LinePageEngine):
    name: ClassVar[str] = "rapidocr"
    token_unit: ClassVar[str] = "word"

    def __init__(self, readers: list, cfg: EngineConfig, segmenter):
        self.readers = readers  # one RapidOCR per recognizer, in the order they read
        self.cfg = cfg
        self.segmenter = segmenter

    @classmethod
    def load(cls, cfg: EngineConfig, device: str = "cpu") -> "RapidOCREngine":
        models = recognizers(cfg)
        return cls([ppocr(m) for m in models], cfg, line_segmenter(cfg.segmenter, cfg.tessdata, device, models[0]))

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        _rapidocr()
        for model in recognizers(cfg):
            recognizer_file(model)
        preflight_segmenter(cfg)

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        return RenderSpec(mode="RGB")

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        return 1

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        return False  # the onnxruntime wheel installed here is the CPU one

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        return 180.0

    @property
    def model_id(self) -> str:
        return f"rapidocr-{_version()}:" + "+".join(_model_name(m) for m in recognizers(self.cfg))

    def print_reader(self) -> "RapidOCREngine":
        """The first recognizer alone: the later ones are fine-tunes on hands, whose re-reads of
        weak printed lines cost time and changed next to nothing on print (docs/recognizer.md)."""
        if len(self.readers) == 1:
            return self
        return RapidOCREngine(self.readers[:1], replace(self.cfg, rapidocr_models=recognizers(self.cfg)[:1]), self.segmenter)

    def read_lines(self, crops: list[Image.Image]) -> list[LineResult]:
        results = [read_crop(self.readers[0], crop) for crop in crops]
        for reader in self.readers[1:]:
            for i, crop in enumerate(crops):
                if (results[i].confidence or 0.0) < RECHECK_BELOW:
                    other = read_crop(reader, crop)
                    # two recognizers of one family: their raw scores are one scale
                    if other.text and likelier(None, "", results[i].text, results[i].confidence,
                                               "", other.text, other.confidence):
                        results[i] = other
        return results


def recognizers(cfg: EngineConfig) -> tuple[str, ...]:
    """The recognizers a config names, in the order they read; the wheel's when it names none."""
    return cfg.rapidocr_models or (WHEEL_RECOGNIZER,)
