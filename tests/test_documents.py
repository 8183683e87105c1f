"""Opening and rendering: formats, broken files, rotation and the pixel limits."""

from __future__ import annotations

import io

import numpy as np
import pymupdf
import pytest
from PIL import Image

from pipeline.run.config import RenderConfig
from pipeline.page.documents import DocumentError, ImageDocument, RenderSpec, open_document, sniff_kind
from tests.conftest import SAMPLES

CFG = RenderConfig()
GREY = RenderSpec(mode="L")


def test_type_is_decided_by_content_not_name(corpus):
    folder, _, _ = corpus
    assert sniff_kind((folder / "good" / "born_digital.pdf").read_bytes()) == "pdf"
    with pytest.raises(DocumentError) as err:
        sniff_kind((folder / "bad" / "notes.png").read_bytes())
    assert err.value.kind == "not_a_document"
    with pytest.raises(DocumentError) as err:
        sniff_kind(b"")
    assert err.value.kind == "empty_file"


@pytest.mark.parametrize(
    "name, kind",
    [
        ("password-example.pdf", "encrypted"),
        ("rc4-40.pdf", "encrypted"),
        ("invalid.pdf", "corrupt"),
        ("bad1.pdf", "not_a_document"),
        ("append-xref-loop.pdf", "corrupt"),
    ],
)
def test_real_malformed_pdfs_give_a_named_reason(name, kind):
    with pytest.raises(DocumentError) as err:
        open_document((SAMPLES / "malformed" / name).read_bytes(), CFG)
    assert err.value.kind == kind
    assert str(err.value)  # a sentence a person can read


def test_empty_user_password_pdf_opens_without_prompt():
    doc = open_document((SAMPLES / "malformed" / "empty_protected.pdf").read_bytes(), CFG)
    assert doc.page_count >= 1


def test_multipage_tiff_has_one_page_per_frame_including_bilevel(corpus):
    folder, _, _ = corpus
    doc = open_document((folder / "good" / "multipage.tif").read_bytes(), CFG)
    assert doc.page_count == 3
    pages = [doc.render(i, CFG, GREY) for i in range(3)]
    assert all(p.pixels.dtype == np.uint8 and p.pixels.ndim == 2 for p in pages)
    assert pages[1].pixels.min() == 0 and pages[1].pixels.max() == 255  # the bilevel frame
    assert pages[2].pixels.min() == 255  # the blank frame


def test_exif_orientation_is_applied(corpus):
    folder, _, _ = corpus
    raw = Image.open(folder / "good" / "rotated_exif.jpg")
    assert raw.width > raw.height  # stored sideways
    page = open_document((folder / "good" / "rotated_exif.jpg").read_bytes(), CFG).render(0, CFG, GREY)
    assert page.height > page.width
    assert "rotated_exif" in page.flags


def test_giant_pdf_page_is_rendered_under_the_pixel_cap_and_flagged():
    doc = pymupdf.open()
    doc.new_page(width=72 * 100, height=72 * 100)  # 100 x 100 inch poster
    data = doc.tobytes()
    cfg = RenderConfig(dpi=300, max_pixels=4_000_000)
    page = open_document(data, cfg).render(0, cfg, GREY)
    assert page.width * page.height <= 4_000_000 * 1.01
    assert "downscaled_pixel_cap" in page.flags
    assert page.dpi < 300


def test_image_over_the_bomb_limit_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (3000, 3000), 1).save(buf, format="PNG")
    with pytest.raises(DocumentError) as err:
        ImageDocument(buf.getvalue(), RenderConfig(bomb_pixels=1_000_000))
    assert err.value.kind == "too_large"


def test_truncated_image_is_a_page_error(corpus):
    folder, _, _ = corpus
    doc = open_document((folder / "bad" / "truncated.png").read_bytes(), CFG)
    with pytest.raises(DocumentError) as err:
        doc.render(0, CFG, GREY)
    assert err.value.kind == "truncated"


def test_longest_side_limit_for_vlm_engines(corpus):
    folder, _, _ = corpus
    doc = open_document((folder / "good" / "born_digital.pdf").read_bytes(), CFG)
    page = doc.render(0, CFG, RenderSpec(mode="RGB", max_side=1540))
    assert max(page.width, page.height) <= 1541
    assert page.pixels.shape[2] == 3


def test_workers_do_not_load_pymupdfs_layout_model():
    """Every actor and task worker imports the pipeline; PyMuPDF 2's layout analyser (an ONNX
    model loaded on import) would cost each of them ~0.45 s of CPU and ~50 MB for nothing."""
    import subprocess
    import sys

    code = ("import sys, pipeline.run.recognize, pymupdf; "
            "print(pymupdf._get_layout is None, sys.modules.get('pymupdf.layout') is None, pymupdf.open().page_count); "
            "pymupdf.open().new_page().find_tables()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # nor does a page's table search advise the user to install it
    assert out == ["True", "True", "0"]
