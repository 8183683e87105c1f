"""What to write: lines from a text file, or from a digitize Parquet (confident or reviewed lines)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as pads

MAX_CHARS = 80  # longer lines are split at spaces: a line image, not a paragraph


def split_long(line: str, limit: int = MAX_CHARS) -> list[str]:
    words, parts, current = line.split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if len(candidate) > limit and current:
            parts.append(current)
            current = word
        else:
            current = candidate
    parts.append(current)
    return [p[i:i + limit] for p in parts for i in range(0, max(1, len(p)), limit)]


def _parquet_lines(path: str, min_confidence: float) -> list[str]:
    """Lines of a digitize output: "line" blocks at or above min_confidence on pages that
    passed (status ok, not sent to review); or the gold text of a review import."""
    dataset = pads.dataset(path, format="parquet")
    names = dataset.schema.names
    if "gold_text" in names:
        table = dataset.to_table(columns=["gold_text", "line"], filter=pc.field("line") >= 0)
        return [t for t in table.column("gold_text").to_pylist() if t is not None]
    if "blocks" not in names:
        raise ValueError(f"{path}: neither a digitize pages dataset (blocks) nor a review import (gold_text)")
    table = dataset.to_table(columns=["blocks"],
                             filter=(pc.field("status") == "ok") & (pc.field("needs_review") == False))  # noqa: E712
    lines = []
    for blocks in table.column("blocks").to_pylist():
        for block in blocks or []:
            if block["kind"] == "line" and (block["confidence"] or 0.0) >= min_confidence:
                lines.append(block["text"])
    return lines


def read_texts(path: str, min_confidence: float = 0.9) -> list[str]:
    """Every requested line in order, long ones split; empty lines kept (they are counted)."""
    source = Path(path)
    if source.suffix == ".parquet" or source.is_dir():
        raw = _parquet_lines(path, min_confidence)
    elif source.exists():
        raw = source.read_text(encoding="utf-8").splitlines()
    else:
        raise FileNotFoundError(f"{path}: no such texts file (one line per sample, or a Parquet from digitize)")
    lines: list[str] = []
    for line in raw:
        line = " ".join(line.split())
        lines.extend(split_long(line) if line else [""])
    return lines
