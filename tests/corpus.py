"""Documents with known text, generated with PyMuPDF and Pillow, for tests, samples and benchmarks.

Nothing here reads ../shared: the test suite must pass on a fresh clone.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw, ImageFont

PARAGRAPHS = {
    "eng": [
        "The committee met on the third of March to review the annual accounts of the archive.",
        "All records received before the end of the year were catalogued and stored in the new building.",
        "Requests for copies should be sent to the registrar together with the reference number.",
    ],
    "fra": [
        "Le conseil municipal s'est réuni le douze mai pour examiner le budget de la bibliothèque.",
        "Les registres paroissiaux ont été numérisés et déposés aux archives départementales.",
    ],
    "deu": [
        "Die Versammlung beschloss einstimmig, das Grundstück an die Gemeinde zu übertragen.",
        "Alle Urkunden wurden geprüft und im Staatsarchiv sicher aufbewahrt.",
    ],
}


def page_text(lang: str, index: int) -> tuple[str, list[str]]:
    """A heading and body lines for page `index` in `lang`."""
    paras = PARAGRAPHS[lang]
    heading = f"Report {index + 1}"
    lines = [paras[(index + i) % len(paras)] for i in range(len(paras))]
    return heading, lines


def _wrap(text: str, width: int = 60) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def write_born_digital_pdf(path: Path, pages: list[tuple[str, list[str]]], fontsize: float = 11) -> list[str]:
    """A text PDF; returns each page's text as it should read."""
    doc = pymupdf.open()
    truths = []
    for heading, paras in pages:
        page = doc.new_page(width=595, height=842)
        y = 72.0
        page.insert_text((72, y), heading, fontsize=fontsize * 1.8, fontname="hebo")
        y += fontsize * 3
        body_lines = []
        for para in paras:
            for line in _wrap(para):
                page.insert_text((72, y), line, fontsize=fontsize, fontname="helv")
                body_lines.append(line)
                y += fontsize * 1.5
            y += fontsize
        truths.append("\n".join([heading] + body_lines))
    doc.save(path)
    doc.close()
    return truths


def rasterize_pdf(src: Path, dpi: int = 200) -> list[Image.Image]:
    doc = pymupdf.open(src)
    images = []
    for page in doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        images.append(Image.open(io.BytesIO(pix.tobytes("png"))).convert("L"))
    doc.close()
    return images


def grainy_page(folder: Path, sigma: float, dpi: int = 150, seed: int = 0) -> tuple["np.ndarray", str]:
    """A sparse printed page (a title and a few lines on a whole page) with Gaussian noise of
    `sigma` grey levels, as a grey-level scan or a photo in poor light has; and its text."""
    truth = write_born_digital_pdf(folder / "grainy.pdf", [page_text("eng", 3)])[0]
    return _with_grain(folder / "grainy.pdf", dpi, sigma, seed), truth


def _with_grain(pdf: Path, dpi: int, sigma: float, seed: int) -> "np.ndarray":
    """The PDF's first page rendered grey at `dpi`, with Gaussian noise of `sigma` grey levels."""
    import numpy as np

    clean = np.asarray(rasterize_pdf(pdf, dpi=dpi)[0], dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, sigma, clean.shape) if sigma else 0.0
    return np.clip(clean + noise, 0, 255).astype(np.uint8)


def grainy_two_columns(folder: Path, sigma: float, dpi: int = 150, seed: int = 0) -> tuple["np.ndarray", str]:
    """Two columns of printed paragraphs with Gaussian noise of `sigma` grey levels; the truth
    reads the left column, then the right."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    columns = []
    for x, paras in ((60, PARAGRAPHS["eng"][:2]), (320, PARAGRAPHS["eng"][2:4])):
        y, lines = 90.0, []
        for para in paras:
            for line in _wrap(para, 36):
                page.insert_text((x, y), line, fontsize=10, fontname="helv")
                lines.append(line)
                y += 15
            y += 10
        columns.append(lines)
    doc.save(folder / "columns.pdf")
    doc.close()
    return _with_grain(folder / "columns.pdf", dpi, sigma, seed), "\n".join(columns[0] + columns[1])


def write_scanned_pdf(path: Path, images: list[Image.Image], dpi: int = 200) -> None:
    """An image-only PDF, as a scanner writes it: no text layer."""
    doc = pymupdf.open()
    for image in images:
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=85)
        w_pt, h_pt = image.width * 72 / dpi, image.height * 72 / dpi
        page = doc.new_page(width=w_pt, height=h_pt)
        page.insert_image(page.rect, stream=buf.getvalue())
    doc.save(path)
    doc.close()


def make_corpus(folder: Path) -> dict[str, list[str]]:
    """Write a small mixed corpus; returns file name -> expected text per page ('' for blank)."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[str]] = {}
    pages = [page_text("eng", 0), page_text("fra", 1), page_text("deu", 2)]
    truth["born_digital.pdf"] = write_born_digital_pdf(folder / "born_digital.pdf", pages)

    scan_src = folder / ".scan_src.pdf"
    scan_truth = write_born_digital_pdf(scan_src, [page_text("eng", 1), page_text("eng", 2)], fontsize=12)
    images = rasterize_pdf(scan_src, dpi=200)
    scan_src.unlink()
    write_scanned_pdf(folder / "scanned.pdf", images, dpi=200)
    truth["scanned.pdf"] = scan_truth

    frames = [images[0], images[1].convert("1"), Image.new("L", images[0].size, 255)]
    frames[0].save(folder / "multipage.tif", save_all=True, append_images=frames[1:], compression="tiff_lzw", dpi=(200, 200))
    truth["multipage.tif"] = [scan_truth[0], scan_truth[1], ""]

    rotated = images[0].rotate(90, expand=True)  # stored sideways, EXIF says "rotate 270 CW to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.convert("RGB").save(folder / "rotated_exif.jpg", quality=92, exif=exif, dpi=(200, 200))
    truth["rotated_exif.jpg"] = [scan_truth[0]]

    Image.new("L", (1240, 1754), 255).save(folder / "blank.png", dpi=(150, 150))
    truth["blank.png"] = [""]
    return truth


def make_bad_files(folder: Path) -> dict[str, str]:
    """Broken inputs made here; returns file name -> expected error_kind."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "notes.png").write_bytes(b"this is plain text pretending to be a PNG\n")
    buf = io.BytesIO()
    Image.new("L", (800, 600), 200).save(buf, format="PNG")
    (folder / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return {"empty.pdf": "empty_file", "notes.png": "not_a_document", "truncated.png": "truncated"}


SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
TYPED = [
    "Monsieur le Directeur des Archives,", "Nous avons l'honneur de vous transmettre le dossier",
    "relatif à la succession de M. Durand, décédé le 12 mars 1917.", "Les pièces jointes comprennent le testament original",
    "et deux copies certifiées conformes par le notaire.", "Veuillez agréer l'expression de nos sentiments distingués.",
    "Le registre des actes sera clos à la fin du mois.", "Pour le Préfet, le Secrétaire général",
]


def mixed_page(rng: random.Random, hand_rows: list[dict]) -> tuple[Image.Image, list[tuple[str, str, list[int]]]]:
    """A typed letter (five French lines in DejaVu Serif at 300 DPI size) with three real
    handwritten lines pasted under it, a note and a signature line: rows of a line folder's
    labels.jsonl with `image` the crop's path. Truth: (text, 'typed'|'hand', box), top to bottom."""
    page = Image.new("RGB", (2480, 3508), (250, 248, 240))
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(SERIF, 46)
    truth, y = [], 250
    for text in rng.sample(TYPED, 5):
        draw.text((220, y), text, font=font, fill=(25, 25, 30))
        x0, y0, x1, y1 = draw.textbbox((220, y), text, font=font)
        truth.append((text, "typed", [x0, y0, x1, y1]))
        y += 95
    y += 120
    for row in rng.sample(hand_rows, 3):
        line = Image.open(row["image"]).convert("L")
        scale = 110 / line.height  # handwriting a little larger than the type, as on a real note
        line = line.resize((min(2100, int(line.width * scale)), 110))
        page.paste(Image.merge("RGB", [line] * 3), (260, y))
        truth.append((row["text"], "hand", [260, y, 260 + line.width, y + line.height]))
        y += 150
    return page, truth
