"""Line finding by kraken's baseline segmenter `blla` (its default model ships inside the kraken
wheel, Apache-2.0), trained on historical handwritten and printed pages: `--segmenter blla`.

On the Testaments val pages it finds the lines RapidOCR then reads best of the segmenters measured
(docs/mixed_archives.md), at about ten times the detector's time on one CPU core. kraken needs
torchvision built for the installed torch; where it cannot be imported, asking for it is one clear
error before any page is read.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from pipeline.page.assembly import Line, Paragraph, Region

INSTALL = ("--segmenter blla needs kraken with a torchvision built for the installed torch "
           "(pip install kraken; on a CPU-only x86_64 machine: pip install torch==2.14.1 torchvision==0.29.1 kraken)")


class SegmenterUnavailable(RuntimeError):
    """The segmenter's library cannot be imported here."""


def import_kraken():
    """kraken's blla and vgsl modules, or SegmenterUnavailable saying why (the preflight's check:
    importing is what fails, and the model is loaded once, by the actor's segmenter)."""
    try:
        from kraken import blla
        from kraken.lib import vgsl
    except Exception as exc:  # noqa: BLE001 - ImportError, or torchvision's RuntimeError against another torch
        raise SegmenterUnavailable(f"{INSTALL}: {type(exc).__name__}: {exc}") from exc
    return blla, vgsl


class KrakenLineSegmenter:
    """One blla model per actor; the page's lines as one paragraph, in kraken's reading order,
    each boxed by its boundary polygon."""

    def __init__(self, device: str = "cpu"):
        from importlib import resources

        self._blla, vgsl = import_kraken()
        self._model = vgsl.TorchVGSLModel.load_model(resources.files("kraken").joinpath("blla.mlmodel"))
        self.device = device

    def segment(self, pixels: np.ndarray, dpi: float) -> tuple[list[Region], int]:
        found = self._blla.segment(Image.fromarray(pixels), model=self._model, device=self.device)
        lines = []
        for line in found.lines:
            if line.boundary:
                xs, ys = [p[0] for p in line.boundary], [p[1] for p in line.boundary]
                lines.append(Line(bbox=[float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys))], tokens=[]))
        return ([Region(kind="text", paragraphs=[Paragraph(lines=lines)])] if lines else []), 0
