"""Engine registry: `--engine NAME` to the class that implements it, imported lazily."""

from __future__ import annotations

import importlib

from pipeline.engines.base import Engine, EngineLoadError, PageImage

ENGINES: dict[str, str] = {
    "tesseract": "pipeline.engines.tesseract:TesseractEngine",
    "trocr": "pipeline.engines.trocr:TrOCREngine",
    "lightonocr": "pipeline.engines.lightonocr:LightOnOCREngine",
}


def engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise EngineLoadError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}")
    module, _, attr = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["ENGINES", "Engine", "EngineLoadError", "PageImage", "engine_class"]
