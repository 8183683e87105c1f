"""The engine interface every recognizer implements.

An engine is loaded once per actor (`load`), told what pixels it wants (`render_spec`),
and turns a batch of page images into one Recognition per page. Everything around it
(reading, routing, scoring, review, writing) is the pipeline's job, so a new engine
slots in by adding a module and a registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from pipeline.run.config import EngineConfig
from pipeline.page.documents import RenderSpec
from pipeline.run.records import Recognition


@dataclass
class PageImage:
    pixels: np.ndarray  # (H, W) grey or (H, W, 3) RGB, uint8
    dpi: float
    document: str | None = None  # the source it is a page of; pages of one document share a language


class EngineLoadError(RuntimeError):
    """The engine or its model cannot be loaded: stop the run before any page is read."""


class Engine(Protocol):
    name: ClassVar[str]

    @classmethod
    def load(cls, cfg: EngineConfig, device: str) -> "Engine":
        """Load models once; `device` is "cpu" or "cuda:N" as Ray assigned."""

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        """Check in the driver, before any page is read, that `load` will work; raise EngineLoadError."""

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        """The pixels this engine wants."""

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        """Pages per recognize() call that pay off: 1 for engines that gain nothing from batching."""

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        """Whether actors should ask Ray for a GPU when the cluster has one."""

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        """Seconds a page may take before its worker is replaced (--page-timeout overrides)."""

    @property
    def model_id(self) -> str:
        """What goes in the row's `model` column."""

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        """One Recognition per page, in order."""
