"""Line folders with a labels.jsonl (the layout of ../shared/data and of many HTR sets):
one JSON object per image with `image` (a path relative to the labels file's folder or one of
its parents), `text`, optional `level` (only "line" rows are lines), `split`, `doc`, `bbox`,
`rotation`."""

from __future__ import annotations

import json
import posixpath

from connectors import filesystem as cfs
from pipeline.recognizer.sources import LineRef, Skipped, line_ref

HELD_OUT_SPLITS = ("val", "validation", "test")


def resolve_image(fs, base: str, image: str) -> str | None:
    """The labels file names images relative to its folder or to a parent of it."""
    folder = base
    for _ in range(4):
        candidate = posixpath.join(folder, image)
        if cfs.exists(fs, candidate):
            return candidate
        parent = posixpath.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return None


def _doc_of(row: dict, image: str) -> str:
    if row.get("doc"):
        return str(row["doc"])
    if row.get("writer"):
        return str(row["writer"])
    return posixpath.dirname(image) or posixpath.basename(image).split("_")[0]


def read_line_folder(uri: str, split: str = "train", name: str | None = None,
                     skipped: Skipped | None = None) -> list[LineRef]:
    """References to the lines of a labels.jsonl folder. `split`="train" takes rows without a
    split or with one that is not held out; any other value takes the rows of that split and
    the rows without one."""
    fs, base = cfs.filesystem(uri.rstrip("/"))
    labels = posixpath.join(base, "labels.jsonl")
    if not cfs.exists(fs, labels):
        raise FileNotFoundError(f"{uri}: no labels.jsonl")
    skipped = skipped if skipped is not None else Skipped()
    name = name or posixpath.basename(base)
    scheme = uri.split("://", 1)[0] + "://" if "://" in uri else ""
    refs: list[LineRef] = []
    for number, raw in enumerate(cfs.read_bytes(fs, labels).decode("utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            skipped.add("labels row is not JSON", f"{uri}/labels.jsonl:{number}")
            continue
        if row.get("level", "line") != "line" or "image" not in row:
            continue
        row_split = str(row.get("split") or "")
        # a folder without splits is all training, or all validation when given as such
        wanted = row_split not in HELD_OUT_SPLITS if split == "train" else row_split in (split, "")
        if not wanted:
            continue
        path = resolve_image(fs, base, row["image"])
        if path is None:
            skipped.add("image file missing", row["image"])
            continue
        # the image is the line crop itself (a `rotation` field says how it was deskewed already)
        refs.append(line_ref(name, _doc_of(row, row["image"]), str(row.get("text") or ""), scheme + path))
    return refs
