"""A PP-OCR line recognizer as a trainable torch module: where its ONNX file is, its alphabet,
the line tensors it reads (shaped as RapidOCR shapes them), CTC decoding, and saving the tuned
weights into the same graph RapidOCR loads."""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from pipeline.recognizer.tokenizer import normalize_text

STOCK_NAMES = ("rapidocr", "ppocr")  # --init-from: the recognizer inside the rapidocr wheel
MODEL_FILE = "model.onnx"
# the recognizers this project ships, named by their folder: found beside the code wherever it runs
# (a Ray job's working_dir is unpacked in another folder on each node)
SHIPPED_MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "models")
HEIGHT = 48  # PP-OCR's recognizer input height (rec_img_shape 3 x 48 x 320)
MIN_WIDTH = 320
MAX_WIDTH = 1280  # training lines wider than 26.7 x their height are squeezed to this


def stock_model() -> str:
    """The recognizer ONNX file the installed rapidocr wheel runs by default."""
    import rapidocr

    found = sorted(glob.glob(os.path.join(os.path.dirname(rapidocr.__file__), "models", "*rec*.onnx")))
    if not found:
        raise FileNotFoundError("the rapidocr wheel holds no recognizer model (*rec*.onnx)")
    return found[-1]


def is_ppocr(init_from: str | None) -> bool:
    """Whether --init-from names a PP-OCR recognizer rather than a transformers model."""
    if not init_from:
        return False
    return init_from in STOCK_NAMES or init_from.endswith(".onnx") or os.path.isfile(model_file(init_from))


def model_file(init_from: str) -> str:
    """The ONNX file a model name means: the wheel's recognizer for `rapidocr`, a .onnx file as
    it is, a folder's model.onnx (what this project's training writes), or a model shipped in
    models/ by its folder's name (`ppocr-testaments`). The rapidocr engine's --rapidocr-model
    follows the same rule."""
    if init_from in STOCK_NAMES:
        return stock_model()
    if init_from.endswith(".onnx"):
        return init_from
    shipped = os.path.normpath(os.path.join(SHIPPED_MODELS, init_from))
    if os.sep not in init_from and not os.path.exists(init_from) and os.path.isdir(shipped):
        return os.path.join(shipped, MODEL_FILE)
    return os.path.join(init_from, MODEL_FILE)


@dataclass(frozen=True)
class Alphabet:
    """The recognizer's CTC classes: blank, the characters its ONNX metadata lists, a space."""

    chars: tuple[str, ...]

    @classmethod
    def of(cls, onnx_model) -> "Alphabet":
        meta = {p.key: p.value for p in onnx_model.metadata_props}
        if "character" not in meta:
            raise ValueError("not a PP-OCR recognizer: its ONNX metadata lists no characters")
        return cls(tuple(["blank", *meta["character"].splitlines(), " "]))

    @cached_property
    def index(self) -> dict[str, int]:
        """Character -> class (the first class of a character listed twice); blank is no character."""
        index: dict[str, int] = {}
        for i, ch in enumerate(self.chars):
            index.setdefault(ch, i)
        index.pop("blank", None)
        return index

    def get_vocab(self) -> dict[str, int]:
        """The tokenizer interface the training data checks use (coverage, missing characters)."""
        return self.index

    def missing(self, text: str) -> set[str]:
        index = self.index
        return {ch for ch in normalize_text(text) if ch not in index}

    def encode(self, text: str) -> list[int]:
        index = self.index
        return [index[ch] for ch in normalize_text(text)]

    def decode(self, logits) -> list[str]:
        """Greedy CTC: the best class per column, repeats merged, blanks dropped (RapidOCR's rule)."""
        best = logits.argmax(-1).tolist()
        out = []
        for row in best:
            chars, previous = [], 0
            for k in row:
                if k != previous and k != 0:
                    chars.append(self.chars[k])
                previous = k
            out.append("".join(chars).strip())
        return out


def load_onnx(path: str):
    import onnx

    try:
        return onnx.load(path)
    except Exception as exc:
        raise ValueError(f"cannot load the PP-OCR recognizer {path!r}: {exc}") from exc


def trainable(onnx_model):
    """A torch module giving the recognizer's logits (its final softmax left off, so CTC gets
    stable log-probabilities)."""
    import copy

    from pipeline.recognizer.ppocr.graph import graph_module

    graph = copy.deepcopy(onnx_model)
    last = graph.graph.node[-1]
    if last.op_type != "Softmax" or last.output[0] != graph.graph.output[0].name:
        raise ValueError("not a PP-OCR recognizer: its graph does not end in a softmax")
    graph.graph.node.remove(last)
    graph.graph.output[0].name = last.input[0]
    return graph_module(graph)


def save(module, template_path: str, out_path: str) -> None:
    """The template graph (softmax, metadata and all) with `module`'s weights, written atomically."""
    import onnx

    model = load_onnx(template_path)
    module.write_weights(model)
    tmp = out_path + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, out_path)


def line_width(image: Image.Image) -> int:
    return max(1, math.ceil(HEIGHT * image.width / max(1, image.height)))


def line_pixels(image: Image.Image, width: int) -> np.ndarray:
    """One grey line as RapidOCR feeds it: 48 px high, its aspect kept up to `width`, values in
    [-1, 1], padded with zeros on the right. (H, width) float32."""
    resized = image.convert("L").resize((min(width, line_width(image)), HEIGHT), Image.Resampling.BILINEAR)
    out = np.zeros((HEIGHT, width), dtype=np.float32)
    out[:, : resized.width] = np.asarray(resized, dtype=np.float32) / 127.5 - 1.0
    return out


class LineShaper:
    """What the training stream calls an image processor: lines shaped for PP-OCR at one fixed
    width (the stream's rows share a shape); the training loop trims the shared padding."""

    size = {"height": HEIGHT, "width": MAX_WIDTH}

    def __call__(self, images: list[Image.Image], return_tensors: str = "np") -> dict:
        pixels = np.stack([line_pixels(image, MAX_WIDTH) for image in images])
        return {"pixel_values": pixels[:, None]}


def trimmed(pixels: np.ndarray) -> np.ndarray:
    """A batch of padded lines cut to its widest line, at least RapidOCR's minimum width."""
    used = np.flatnonzero(np.any(pixels != 0, axis=(0, 1)))
    width = max(MIN_WIDTH, int(used[-1]) + 1 if used.size else MIN_WIDTH)
    return pixels[:, :, :width]
