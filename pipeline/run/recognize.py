"""Stages `recognize` and `score`: the actor that holds one engine and finishes each page row.

The engine loads once per worker process. Pages routed to OCR are recognized in batches of the
engine's batch size; if a batch raises, its pages are retried one by one so only the page that
breaks the engine ends as an error row. The Ray actors (pipeline.run.actors) run this in a
child process, so a page that crashes, hangs or bloats the process also ends as one error row.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from pipeline.quality.calibration import Calibration
from pipeline.quality.calibration import for_run as calibration_for_run
from pipeline.run.config import DigitizeConfig
from pipeline.run.devices import actor_device
from pipeline.engines import PageImage, engine_class
from pipeline.page.language import detect_language
from pipeline.run.route import RoutePages
from pipeline.run.records import Recognition, Token, apply_recognition
from pipeline.page.scoring import ink_ratio, needs_review, page_score, token_stats

BLANK_INK_RATIO = 0.002


def _pixels(row: dict[str, Any]) -> np.ndarray:
    shape = (row["height"], row["width"]) if row["image_mode"] == "L" else (row["height"], row["width"], 3)
    return np.frombuffer(row["image"], dtype=np.uint8).reshape(shape)


class Recognize:
    """In one process: the engine, and work rows (pixels or text-layer text) to page rows."""

    def __init__(self, config: DigitizeConfig):
        self.config = config
        self.engine = engine_class(config.engine.name).load(config.engine, actor_device())
        self.calibration = calibration_for_run(config.calibration, config.engine)

    def __call__(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.finish_rows(rows)

    def finish_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Work rows to output rows: recognize the pages routed to OCR, then score every row."""
        todo = [r for r in rows if r["status"] == "ok" and r["route"] == "ocr"]
        size = max(1, self.engine.pages_per_call(self.config.engine))
        for start in range(0, len(todo), size):
            self._recognize(todo[start : start + size])
        for row in rows:
            finish_row(row, self.config)
        return rows

    def _recognize(self, chunk: list[dict[str, Any]]) -> None:
        images = [PageImage(pixels=_pixels(r), dpi=r["dpi"], document=r.get("source_uri")) for r in chunk]
        started = time.perf_counter()
        failure = ""
        try:
            results: list[Recognition] | None = self.engine.recognize(images)
        except Exception as exc:
            if len(chunk) == 1:
                results, failure = None, f"{type(exc).__name__}: {exc}"
            else:
                for row in chunk:
                    self._recognize([row])
                return
        elapsed = (time.perf_counter() - started) / len(chunk)
        for i, row in enumerate(chunk):
            row["engine"] = self.engine.name
            row["model"] = (results[i].model if results is not None else None) or self.engine.model_id
            row["timings"] = {**(row["timings"] or {}), "recognize_s": elapsed}
            if results is None:
                row.update(status="error", error_kind="recognize_failed", error=f"the engine failed on this page: {failure}")
                continue
            _apply_ocr(row, results[i], images[i].pixels, self.calibration)


class RouteAndRecognize:
    """In one process: page references to page rows (route and render, then recognize)."""

    def __init__(self, config: DigitizeConfig):
        self.route = RoutePages(config, engine_class(config.engine.name).render_spec(config.engine))
        self.recognize = Recognize(config)

    def __call__(self, refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.recognize.finish_rows(self.route.route_rows(refs))


def raw_confidence(rec: Recognition) -> float | None:
    """A recognized page's raw confidence: the engine's own page score, else its tokens' score."""
    return rec.confidence if rec.confidence is not None else page_score(rec.tokens)


def _apply_ocr(row: dict[str, Any], rec: Recognition, pixels: np.ndarray, calibration: Calibration | None) -> None:
    apply_recognition(row, rec)
    row["confidence_stats"] = token_stats([Token(**t) for t in row["tokens"]]).as_dict()
    if not rec.text.strip():
        row["flags"].append("empty" if ink_ratio(pixels) > BLANK_INK_RATIO else "blank")
        row["confidence"] = row["confidence_raw"] = 0.0 if "empty" in row["flags"] else 1.0
        return
    row["confidence"] = row["confidence_raw"] = raw_confidence(rec)
    if calibration is not None and calibration.holds_for(row):  # so that the review threshold reads as a chance of a bad page
        row["confidence"] = calibration.confidence(row)


def finish_row(row: dict[str, Any], config: DigitizeConfig) -> None:
    """Drop the pixels, fill defaults and decide review; idempotent."""
    row.pop("image", None)
    row.pop("image_mode", None)
    if row["status"] == "ok" and row["route"] == "ocr" and row["text"] is None:
        row.update(status="error", error_kind="recognize_failed", error="the engine returned no result for this page")
    row["flags"] = list(dict.fromkeys(row["flags"] or []))
    if row["status"] == "ok" and row.get("language") is None:
        row["language"] = detect_language(row["text"])
    row["needs_review"] = needs_review(row["status"], row["confidence"], row["flags"], config.review_threshold)
