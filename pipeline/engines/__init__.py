"""Engine registry: `--engine NAME` to the class that implements it, imported lazily."""

from __future__ import annotations

import importlib

from pipeline.engines.base import Engine, EngineLoadError, PageImage

ENGINES: dict[str, str] = {
    "tesseract": "pipeline.engines.tesseract:TesseractEngine",
    "trocr": "pipeline.engines.trocr:TrOCREngine",
    "lightonocr": "pipeline.engines.lightonocr:LightOnOCREngine",
    "rapidocr": "pipeline.engines.rapidocr:RapidOCREngine",
    "auto": "pipeline.engines.auto:AutoEngine",
}


def engine_class(name: str) -> type[Engine]:
    """A registered engine by name, or your own as "package.module:Class" (it implements
    pipeline/engines/base.py and is importable on every node)."""
    target = ENGINES.get(name, name if ":" in name else None)
    if target is None:
        raise EngineLoadError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(ENGINES))}, or package.module:Class")
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise EngineLoadError(f"engine {name!r} cannot be imported: {exc}") from exc


__all__ = ["ENGINES", "Engine", "EngineLoadError", "PageImage", "engine_class"]
