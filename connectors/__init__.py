"""Where documents come from and where bytes are read: local disk now, S3 by URI scheme."""

from __future__ import annotations

from connectors.local import discover_local, read_local
from connectors.types import SUPPORTED_EXTENSIONS, SourceFile


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def discover(spec: str) -> list[SourceFile]:
    """List the documents an --input names, sorted so runs are reproducible."""
    if is_remote(spec):
        raise ValueError(f"unsupported input scheme in {spec!r}: only local paths are supported so far")
    if spec.startswith("file://"):
        spec = spec[len("file://") :]
    return discover_local(spec)


def read_bytes(uri: str) -> bytes:
    """The whole document's bytes; raises OSError subclasses a row can explain."""
    return read_local(uri)


__all__ = ["SUPPORTED_EXTENSIONS", "SourceFile", "discover", "is_remote", "read_bytes"]
