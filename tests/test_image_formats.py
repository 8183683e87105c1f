"""The image files archives deliver besides PDF, PNG, JPEG and TIFF at 8 bits: 16-bit grey
preservation masters, JPEG 2000 (the JP2 file with its resolution box, and a bare codestream)
and scans or cut-outs with a transparent background. Each reads as the same page at 8 bits."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pymupdf
import pytest
from PIL import Image

from jobs.digitize import main
from pipeline.page.documents import RenderSpec, open_document, sniff_kind
from pipeline.quality.metrics import cer
from pipeline.run.config import RenderConfig
from pipeline.run.pages_reader import iter_pages
from tests.conftest import ensure_ray
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf

CFG = RenderConfig()
GREY = RenderSpec(mode="L")


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> tuple[Image.Image, str]:
    """A 200 DPI grey scan of a printed page, and its text."""
    folder = tmp_path_factory.mktemp("scan")
    truth = write_born_digital_pdf(folder / "src.pdf", [page_text("eng", 3)], fontsize=12)
    return rasterize_pdf(folder / "src.pdf", dpi=200)[0], truth[0]


def sixteen_bit_tiff(page: Image.Image) -> bytes:
    wide = np.asarray(page, dtype=np.uint16) * 257  # the full 16-bit range, as a master scanner writes it
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="TIFF", dpi=(200, 200))
    return buffer.getvalue()


def jp2_with_resolution(page: Image.Image, dpi: int) -> bytes:
    """A lossless JP2 whose header carries its capture resolution (a `res ` box), as masters do;
    Pillow writes none, so the box is added to its header here."""
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG2000")
    data = buffer.getvalue()
    per_metre = round(dpi / 0.0254)
    resc = struct.pack(">HHHHbb", per_metre, 1, per_metre, 1, 0, 0)
    res = struct.pack(">I4s", 8 + 8 + len(resc), b"res ") + struct.pack(">I4s", 8 + len(resc), b"resc") + resc
    out, at = b"", 0
    while at < len(data):  # the top-level boxes; the header box grows by the new one
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        length = length or len(data) - at
        box = data[at:at + length]
        if kind == b"jp2h":
            box = struct.pack(">I4s", length + len(res), kind) + box[8:] + res
        out += box
        at += length
    return out


def transparent_png(page: Image.Image) -> bytes:
    """Black ink on a transparent background: the ink is in the alpha channel alone."""
    ink = 255 - np.asarray(page)
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = ink
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", dpi=(200, 200))
    return buffer.getvalue()


def _render(data: bytes) -> np.ndarray:
    page = open_document(data, CFG).render(0, CFG, GREY)
    assert page.dpi == 200 and "dpi_assumed" not in page.flags
    return page.pixels.astype(int)


def test_a_16_bit_grey_master_renders_as_its_8_bit_page(scan):
    page, _ = scan
    assert np.abs(_render(sixteen_bit_tiff(page)) - np.asarray(page, dtype=int)).max() <= 1  # not clipped to white


def test_jpeg_2000_is_an_image_read_at_its_stated_resolution(scan):
    page, _ = scan
    data = jp2_with_resolution(page, 200)
    assert sniff_kind(data) == "image"
    assert np.array_equal(_render(data), np.asarray(page, dtype=int))  # lossless, as archives keep masters
    codestream = io.BytesIO()
    page.save(codestream, format="JPEG2000", no_jp2=True)
    assert sniff_kind(codestream.getvalue()) == "image"


def test_a_transparent_background_is_white(scan):
    page, _ = scan
    assert np.abs(_render(transparent_png(page)) - np.asarray(page, dtype=int)).max() <= 1  # not black on black


def test_the_job_reads_each_format_and_its_searchable_pdf_keeps_the_jp2_as_it_is(scan, tmp_path):
    ensure_ray()
    page, truth = scan
    inputs = tmp_path / "in"
    inputs.mkdir()
    files = {"grey16.tif": sixteen_bit_tiff(page), "master.jp2": jp2_with_resolution(page, 200),
             "signature.png": transparent_png(page)}
    for name, data in files.items():
        (inputs / name).write_bytes(data)
    out = tmp_path / "out"
    assert main(["--input", str(inputs), "--output", str(out), "--run-id", "formats", "--engine", "tesseract",
                 "--languages", "eng", "--emit", "pdf"]) == 0
    rows = {Path(r["source_uri"]).name: r for r in iter_pages(str(out / "pages"))}
    assert sorted(rows) == sorted(files)
    for name, row in rows.items():
        assert row["status"] == "ok" and row["dpi"] == 200, name
        assert cer(truth, row["text"]) < 0.02, (name, row["text"][:200])
    pdf = pymupdf.open(out / "exports" / "run_id=formats" / "master.pdf")
    (xref, *_), = pdf[0].get_images()
    assert pdf.xref_get_key(xref, "Filter") == ("name", "/JPXDecode")  # the master's bytes, not a re-encoding
    assert pdf[0].rect.width == pytest.approx(page.width * 72 / 200, abs=0.5)
    assert cer(truth, pdf[0].get_text()) < 0.02
