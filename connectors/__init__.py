"""Where documents come from and where bytes are read: local disk and S3, by URI scheme."""

from __future__ import annotations

from connectors.local import discover_local, read_local
from connectors.s3 import S3AccessError, discover_s3, read_s3
from connectors.s3 import configure as configure_s3
from connectors.types import SUPPORTED_EXTENSIONS, SourceFile


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def discover(spec: str) -> list[SourceFile]:
    """List the documents an --input names, sorted so runs are reproducible."""
    if spec.startswith("s3://"):
        return discover_s3(spec)
    if is_remote(spec):
        raise ValueError(f"unsupported input scheme in {spec!r}: use a local path or s3://bucket/prefix")
    if spec.startswith("file://"):
        spec = spec[len("file://") :]
    return discover_local(spec)


def read_bytes(uri: str) -> bytes:
    """The whole document's bytes; raises FileNotFoundError or another OSError a row can explain."""
    if uri.startswith("s3://"):
        return read_s3(uri)
    return read_local(uri)


__all__ = ["SUPPORTED_EXTENSIONS", "S3AccessError", "SourceFile", "configure_s3", "discover", "is_remote", "read_bytes"]
