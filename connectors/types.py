"""What a connector hands the pipeline: a document's address and identity."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".jp2", ".jpx", ".jpf", ".j2k", ".j2c"}


@dataclass(frozen=True)
class SourceFile:
    uri: str
    size: int  # bytes; -1 when the listing could not stat it
    mtime: float  # seconds since the epoch, or 0.0
    etag: str = ""
