"""An engine for the failure-isolation tests, loaded as `--engine tests.faulty_engine:FaultyEngine`:
Tesseract, and then, on a page whose text names a fault, that fault for real in the process
reading the page: SIGSEGV, a hang, or memory that grows until something stops it.
With FAULTY_ENGINE_READING set to a path, that file is made when a batch starts being read, so a
test can strike while a worker holds a batch."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import ClassVar

import numpy as np

from pipeline.engines.base import PageImage
from pipeline.engines.tesseract import TesseractEngine
from pipeline.run.records import Recognition


class FaultyEngine(TesseractEngine):
    name: ClassVar[str] = "faulty"

    @staticmethod
    def pages_per_call(cfg) -> int:
        return 4  # the faulty page shares its batch with good ones

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        if marker := os.environ.get("FAULTY_ENGINE_READING"):
            Path(marker).touch()
        results = super().recognize(pages)
        if os.environ.get("FAULTY_ENGINE_OFF"):  # the faults "fixed": a rerun reads every page
            return results
        for rec in results:
            words = set(rec.text.upper().replace(".", " ").split())
            if "SEGFAULT" in words:
                os.kill(os.getpid(), signal.SIGSEGV)
            if "HANGUP" in words:
                time.sleep(3600)
            if "BALLOON" in words:
                hoard = []
                while True:  # grows until the memory watchdog (or the kernel) stops it
                    hoard.append(np.ones(64 * 2**20, dtype=np.uint8))
                    time.sleep(0.01)
        return results
