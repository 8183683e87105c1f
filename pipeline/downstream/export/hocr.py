"""hOCR for one page row: ocr_page / ocr_carea / ocr_par / ocr_line / ocrx_word with bbox and
x_wconf, in the rendered page's pixels (scan_res gives their DPI), as Tesseract writes it, so
hocr-tools and OCRmyPDF's hOCR parser read it. Blocks without boxes are ocr_carea without bbox."""

from __future__ import annotations

from typing import Any

from lxml import etree

from pipeline import PIPELINE_VERSION
from pipeline.downstream.export.layout import Box, Line, page_blocks

XHTML_NS = "http://www.w3.org/1999/xhtml"
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf ocrp_lang"


def _bbox(box: Box | None) -> str | None:
    return None if box is None else "bbox " + " ".join(str(int(round(v))) for v in box)


def _title(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return "; ".join(kept) if kept else None


def _e(parent: etree._Element, tag: str, cls: str, ident: str, title: str | None, **attrs: str | None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{XHTML_NS}}}{tag}", {"class": cls, "id": ident})
    if title:
        element.set("title", title)
    for key, value in attrs.items():
        if value:
            element.set(key, value)
    return element


def page_hocr(row: dict[str, Any], missing: str | None = None) -> bytes:
    html = etree.Element(f"{{{XHTML_NS}}}html", nsmap={None: XHTML_NS})
    language = row.get("language")
    head = etree.SubElement(html, f"{{{XHTML_NS}}}head")
    etree.SubElement(head, f"{{{XHTML_NS}}}title").text = f"{row['source_uri']} page {row['page']}"
    etree.SubElement(head, f"{{{XHTML_NS}}}meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"})
    etree.SubElement(head, f"{{{XHTML_NS}}}meta", {"name": "ocr-system",
                                                    "content": f"digitize {PIPELINE_VERSION} ({row.get('engine') or 'none'})"})
    etree.SubElement(head, f"{{{XHTML_NS}}}meta", {"name": "ocr-capabilities", "content": CAPABILITIES})
    body = etree.SubElement(html, f"{{{XHTML_NS}}}body")
    width, height, dpi = int(row.get("width") or 0), int(row.get("height") or 0), float(row.get("dpi") or 300.0)
    n = row["page"]
    page = _e(body, "div", "ocr_page", f"page_{n}", _title(f'image "{row["source_uri"]}"', f"bbox 0 0 {width} {height}",
                                                             f"ppageno {n - 1}", f"scan_res {dpi:g} {dpi:g}"))
    if missing:
        page.set("data-digitize-missing", missing)  # no text: error or below the export's minimum confidence
        return _serialize(html)
    ids = iter(range(1, 10**9))
    for block in page_blocks(row):
        area = _e(page, "div", "ocr_carea", f"block_{n}_{next(ids)}", _bbox(block.box))
        par = _e(area, "p", "ocr_par", f"par_{n}_{next(ids)}", _bbox(block.box), lang=language)
        for line in block.lines:
            _line(par, line, n, ids)
    return _serialize(html)


def _line(par: etree._Element, line: Line, n: int, ids) -> None:
    if line.box is None:  # no geometry below the block: its text, as the engine gave it
        span = etree.SubElement(par, f"{{{XHTML_NS}}}span", {"class": "ocr_line", "id": f"line_{n}_{next(ids)}"})
        span.text = line.text
        return
    angle = f"textangle {line.angle}" if line.angle else None
    element = _e(par, "span", "ocr_line", f"line_{n}_{next(ids)}", _title(_bbox(line.box), angle))
    for i, word in enumerate(line.words):
        wconf = None if word.confidence is None else f"x_wconf {int(round(100 * max(0.0, min(1.0, word.confidence))))}"
        span = _e(element, "span", "ocrx_word", f"word_{n}_{next(ids)}", _title(_bbox(word.box), wconf))
        span.text = word.text
        span.tail = " " if i < len(line.words) - 1 else None


def _serialize(html: etree._Element) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            + etree.tostring(html, encoding="UTF-8", pretty_print=False))
