"""Labelled items in a folder laid out like ../shared/data: one page or one line image each,
with its reference text.

- born-digital PDFs: NAME.pdf beside NAME.txt (the text layer, pages split by form feed);
- scans: an image or PDF beside NAME.txt, NAME.gt.txt or NAME.gold.txt (one page);
- line, word and paragraph images listed in labels.jsonl / handwriting_labels.jsonl.
The category of an item is its top folder (born_digital, scans, handwriting, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from connectors.types import SUPPORTED_EXTENSIONS

TRUTH_SUFFIXES = (".gt.txt", ".gold.txt", ".txt")
LABEL_FILES = ("labels.jsonl", "handwriting_labels.jsonl")


@dataclass
class Item:
    path: str  # the document file
    page: int  # 1-based page in that file
    category: str
    group: str  # the item's folder, e.g. born_digital/multicolumn_latex
    truth: str


def _truth_for(path: Path) -> Path | None:
    for suffix in TRUTH_SUFFIXES:
        candidate = path.with_name(path.name[: -len(path.suffix)] + suffix)
        if candidate.is_file():
            return candidate
    return None


def _pdf_pages(path: Path, text: str) -> list[str]:
    """Per-page truth: the form-feed split when it gives one part per page; otherwise (a text
    layer that itself contains form feeds) each page's text layer, read the way the truth file
    was made (PyMuPDF's page.get_text())."""
    import pymupdf

    parts = text.split("\f")
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    with pymupdf.open(path) as doc:
        if len(parts) == doc.page_count:
            return parts
        return [page.get_text() for page in doc]


def _document_items(root: Path, path: Path, category: str, group: str) -> list[Item]:
    truth_path = _truth_for(path)
    if truth_path is None:
        return []
    text = truth_path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".pdf" and ("\f" in text or category == "born_digital"):
        return [Item(str(path), i + 1, category, group, page_text)
                for i, page_text in enumerate(_pdf_pages(path, text)) if page_text.strip()]
    return [Item(str(path), 1, category, group, text)]


def _listed_items(root: Path, labels: Path, category: str, skip: tuple[str, ...]) -> list[Item]:
    items = []
    for line in labels.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        image = next((base / record["image"] for base in (labels.parent, root, *labels.parents)
                      if (base / record["image"]).is_file()), None)
        if image is None or any(s in str(image).lower() for s in skip):
            continue
        image_rel = image.relative_to(root) if image.is_relative_to(root) else Path(category) / image.name
        items.append(Item(str(image), 1, image_rel.parts[0], str(image_rel.parent), record["text"]))
    return items


def discover_items(root: Path, skip: tuple[str, ...] = ()) -> list[Item]:
    """Labelled items under `root`; folders whose name contains any of `skip` are left out."""
    items: list[Item] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(s in str(rel).lower() for s in skip) or not path.is_file():
            continue
        category, group = rel.parts[0], str(rel.parent)
        if path.suffix.lower() in SUPPORTED_EXTENSIONS:
            items.extend(_document_items(root, path, category, group))
        elif path.name in LABEL_FILES:
            items.extend(_listed_items(root, path, category, skip))
    return items
