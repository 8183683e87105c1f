"""Small line folders for the recognizer tests: text drawn in DejaVu Sans at line height, with
a labels.jsonl in the layout of ../shared/data (image, text, level, split, doc)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def line_image(text: str, height: int = 40) -> Image.Image:
    font = ImageFont.truetype(FONT, int(height * 0.6))
    width = int(font.getlength(text)) + 16
    image = Image.new("L", (width, height), 250)
    ImageDraw.Draw(image).text((8, height * 0.15), text, font=font, fill=20)
    return image


def write_line_folder(folder: Path, docs: dict[str, list[str]], split: dict[str, str] | None = None) -> Path:
    """One PNG per line; `split` maps a doc to its split (others train); None writes no split."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for doc, texts in docs.items():
        for i, text in enumerate(texts):
            name = f"{doc}_{i:03d}.png"
            line_image(text).save(folder / name)
            row = {"image": name, "text": text, "level": "line", "doc": doc}
            if split is not None:
                row["split"] = split.get(doc, "train")
            rows.append(row)
    with open(folder / "labels.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


def add_rows(folder: Path, rows: list[dict]) -> None:
    with open(folder / "labels.jsonl", "a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


WORDS = "le la de et un une mon ma son sa je lègue biens maison Paris mai juin 1916 1917 frère sœur".split()


def sentences(n: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))) for _ in range(n)]
