"""The born-digital route: the 'good text layer' rule and what is extracted."""

from __future__ import annotations

import pymupdf

from pipeline.run.config import TextLayerConfig
from pipeline.quality.metrics import cer
from pipeline.page.text_layer import assess, extract

CFG = TextLayerConfig()


def test_rule_accepts_clean_text_and_rejects_short_garbled_or_sparse_image_pages():
    clean = "The committee met on the third of March to review the accounts."
    assert assess(clean, 0.0, CFG).good
    assert assess("Page 3", 0.0, CFG).reason == "no_text_layer"
    assert assess("\ufffd" * 30 + clean[:20], 0.0, CFG).reason == "garbled_text_layer"
    assert assess("\ue000\ue001" * 40, 0.0, CFG).reason == "garbled_text_layer"  # private-use glyph codes
    assert assess(clean, 0.9, CFG).reason == "image_page_sparse_text"  # a scan with a stamped line
    assert assess(clean * 5, 0.9, CFG).good  # a page with a big figure and real text


def test_extract_reads_the_generated_pdf_with_heading_and_blocks(corpus):
    folder, truth, _ = corpus
    doc = pymupdf.open(folder / "good" / "born_digital.pdf")
    page = extract(doc[1], 300 / 72, CFG)
    assert page.verdict.good
    assert cer(truth["born_digital.pdf"][1], page.text) == 0.0
    assert page.markdown.startswith("## Report 2")
    assert page.blocks[0].kind == "heading"
    x0, y0, x1, y1 = page.blocks[0].bbox
    assert 0 < x0 < x1 <= 595 * 300 / 72 and 0 < y0 < y1  # pixel coordinates at 300 dpi


def test_ruled_table_becomes_rows_of_cells_and_a_markdown_table():
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 60), "Accounts of the parish, with the totals for each year.", fontsize=11)
    cells = [["Year", "Births", "Deaths"], ["1851", "120", "98"], ["1852", "131", "87"]]
    x_edges, y_edges = [72, 200, 330, 460], [100, 130, 160, 190]
    for x in x_edges:
        page.draw_line((x, y_edges[0]), (x, y_edges[-1]))
    for y in y_edges:
        page.draw_line((x_edges[0], y), (x_edges[-1], y))
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            page.insert_text((x_edges[c] + 6, y_edges[r] + 20), text, fontsize=11)
    result = extract(page, 1.0, CFG)
    assert result.tables == [cells]
    assert "| Year | Births | Deaths |" in result.markdown
    assert "|---|---|---|" in result.markdown
