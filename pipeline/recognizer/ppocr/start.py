"""The driver's side of fine-tuning a PP-OCR recognizer: the starting ONNX file kept beside the
run, its alphabet checked against the training text, and what the shared trainer needs."""

from __future__ import annotations

import os
import shutil

from pipeline.recognizer.config import TrainConfig
from pipeline.recognizer.data import Gathered, TrainDataError, require_coverage
from pipeline.recognizer.ppocr.model import MODEL_FILE, Alphabet, LineShaper, load_onnx, model_file, trainable

PPOCR_USE = ["    digitize --engine rapidocr --rapidocr-model THIS_FOLDER --input SCANS --output OUT",
             "    digitize --engine auto --rapidocr-model THIS_FOLDER ...   # auto's handwriting reader",
             "    digitize --rapidocr-model wheel,THIS_FOLDER ...   # the lines the wheel's is unsure of read again by this", "",
             "or with RapidOCR alone:", "",
             "    RapidOCR(params={'Rec.model_path': 'THIS_FOLDER/model.onnx'})"]


def ppocr_start(cfg: TrainConfig, gathered: Gathered, start: str):
    """(alphabet, line shaper, worker loop, card usage). The starting graph is copied into
    `start`; a resumed run keeps the one it started with."""
    from pipeline.recognizer.ppocr.train_loop import train_loop

    target = os.path.join(start, MODEL_FILE)
    if not os.path.isfile(target):
        source = model_file(cfg.init_from)
        if not os.path.isfile(source):
            raise TrainDataError(f"--init-from {cfg.init_from!r}: no PP-OCR recognizer at {source}")
        graph = load_onnx(source)
        try:
            Alphabet.of(graph)
            trainable(graph)
        except ValueError as exc:
            raise TrainDataError(f"--init-from {cfg.init_from!r}: {exc}") from exc
        os.makedirs(start, exist_ok=True)
        shutil.copyfile(source, target)
    alphabet = Alphabet.of(load_onnx(target))
    require_coverage(alphabet, gathered.train_texts(), cfg)
    return alphabet, LineShaper(), train_loop, PPOCR_USE
