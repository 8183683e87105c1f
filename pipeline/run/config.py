"""One typed configuration object for a digitization run.

Built from the command line in jobs/digitize.py and passed whole to every stage, so
no stage grows its own scattered keyword arguments.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Literal

TextLayerMode = Literal["auto", "ocr", "only"]
GpuMode = Literal["auto", "always", "never"]

DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"
WHEEL_RECOGNIZER = "wheel"  # the rapidocr wheel's own recognizer
# --rapidocr-model's default: the wheel's recognizer reads every line, and the lines it is unsure of
# are read again by the fine-tune shipped in models/ppocr-testaments (French WWI hands), the
# likelier reading kept: each alone reads some hands far worse than the pair (docs/recognizer.md)
DEFAULT_RECOGNIZERS = (WHEEL_RECOGNIZER, "ppocr-testaments")


@dataclass(frozen=True)
class EngineConfig:
    """What the recognizer actor needs to load and run its engine."""

    name: str = "auto"  # Tesseract, with the lines it reads poorly and the writing it misses read by a handwriting reader
    model: str | None = None  # hub id or local folder, for model engines
    languages: tuple[str, ...] = ("auto",)  # "auto": found per page (engines/tesseract.py), or Tesseract packs
    tessdata: str = field(default_factory=lambda: os.environ.get("TESSDATA_PREFIX", DEFAULT_TESSDATA))
    batch_size: int = 8
    num_beams: int = 1
    max_new_tokens: int = 256
    quantize: str | None = None  # None | "int8"
    dtype: str | None = None  # None chooses by hardware; "float32" | "bfloat16" | "float16" to force
    sampling: bool = False
    emit_embeddings: bool = False
    # how line engines (trocr, rapidocr) find lines: Tesseract's layout analysis, or PP-OCR's
    # text detector (pipeline/page/detected_lines.py)
    segmenter: str = "tesseract"
    handwriting_model: str | None = None  # --engine auto's handwriting reader: a trocr model (default RapidOCR)
    # --engine auto on a GPU: a LightOnOCR model (hub id or folder) that reads the pages Tesseract's
    # layout analysis finds mostly table (to Markdown tables); unused on actors without a GPU
    vlm_model: str | None = None
    # RapidOCR's recognizers (engines rapidocr and auto), in turn: each an ONNX file or folder, a
    # model shipped in models/ by name, or "wheel"; the first reads every line (and its detector
    # finds them), the next re-reads the lines the reading so far is unsure of
    rapidocr_models: tuple[str, ...] = DEFAULT_RECOGNIZERS


@dataclass(frozen=True)
class RenderConfig:
    """How pages become pixels, and the limits that keep a bad file from eating memory."""

    dpi: int = 300
    max_pixels: int = 60_000_000  # a page above this is rendered smaller and flagged
    bomb_pixels: int = 400_000_000  # an image claiming more than this is refused outright
    upscale_small_text: bool = True  # image pages whose text is small are scaled up (flag text_upscaled_xN)


@dataclass(frozen=True)
class TextLayerConfig:
    """The measurable rule for 'this born-digital page's own text is good'."""

    mode: TextLayerMode = "auto"
    min_chars: int = 20  # fewer visible characters: treat as no text layer
    min_valid_ratio: float = 0.97  # share of characters that are printable, not U+FFFD or private use
    max_image_coverage: float = 0.5  # page mostly image and little text: OCR it
    min_chars_per_image_page: int = 200  # text needed to trust a page that is mostly image


@dataclass(frozen=True)
class DigitizeConfig:
    """Everything a run needs; frozen so actors cannot drift from the driver."""

    input: str
    output: str
    engine: EngineConfig = field(default_factory=EngineConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    text_layer: TextLayerConfig = field(default_factory=TextLayerConfig)
    review_threshold: float = 0.80
    workers: int | None = None  # recognizer actors; None sizes the pool from the cluster
    gpu: GpuMode = "auto"  # "always": ask for GPUs even if none are up yet (autoscaling)
    run_id: str = ""
    limit: int | None = None  # documents, for trying a run on a slice
    rows_per_file: int = 200  # pages per Parquet file: also what a killed run can lose and redo
    s3_endpoint: str | None = None  # S3-compatible endpoint URL; credentials come from the AWS chain
    incremental: bool = False  # skip documents the ledger says are converted with these settings
    # page confidence calibration: "auto" (the engine's shipped fit, if any), "none", or a JSON path
    calibration: str = "auto"
    # failure isolation (pipeline.run.isolation): seconds a page may take (None: the engine's
    # default), more tries for a page that crashed its worker, a worker process's memory cap in
    # MB (None: half the machine), and whether a rerun reads again the pages those failures ended
    page_timeout: float | None = None
    max_page_retries: int = 2
    worker_memory_mb: int | None = None
    retry_errors: bool = False
    emit: tuple[str, ...] = ()  # export formats written beside the Parquet (pipeline.downstream.export)

    def replace(self, **changes: object) -> "DigitizeConfig":
        return dataclasses.replace(self, **changes)


def recognizer_list(spec: str) -> tuple[str, ...]:
    """--rapidocr-model's comma-separated recognizers, in the order they read."""
    return tuple(x.strip() for x in spec.split(",") if x.strip())


def recognizers_name(spec: str) -> str:
    """A short name for a --rapidocr-model list (bench rows): each recognizer's folder or file name."""
    return "+".join(os.path.basename(os.path.normpath(x)) for x in recognizer_list(spec))
