"""Local disk: find the documents a user pointed at, and read their bytes."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from connectors.types import SUPPORTED_EXTENSIONS, SourceFile

LIST_FILE_EXTENSIONS = {".txt", ".lst", ".list"}


def _source(path: Path) -> SourceFile:
    stat = path.stat()
    return SourceFile(uri=str(path.resolve()), size=stat.st_size, mtime=stat.st_mtime)


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_EXTENSIONS:
                found.append(Path(root) / name)
    return found


def discover_local(spec: str) -> list[SourceFile]:
    """Expand a folder (recursive), a single file, a glob or a list file into documents.

    A list file (.txt/.lst) names one path per line; blank lines and # comments are skipped,
    and listed paths that do not exist are kept so they end as error rows, not silence.
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        return [_source(p) for p in _walk(path)]
    if path.is_file() and path.suffix.lower() in LIST_FILE_EXTENSIONS:
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            listed = Path(line).expanduser()
            if not listed.is_absolute():
                listed = path.parent / listed
            if listed.is_file():
                out.append(_source(listed))
            elif listed.is_dir():
                out.extend(_source(p) for p in _walk(listed))
            else:
                out.append(SourceFile(uri=str(listed.resolve()), size=-1, mtime=0.0))
        return out
    if path.is_file():
        return [_source(path)]
    if glob.has_magic(spec):
        matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True))
        files: list[Path] = []
        for match in matches:
            if match.is_dir():
                files.extend(_walk(match))
            elif match.suffix.lower() in SUPPORTED_EXTENSIONS:
                files.append(match)
        return [_source(p) for p in files]
    raise FileNotFoundError(f"input {spec!r} is not a file, a folder, a glob or a list file")


def read_local(uri: str) -> bytes:
    with open(uri, "rb") as handle:
        return handle.read()
