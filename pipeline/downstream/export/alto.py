"""ALTO 4 XML for one page row: Page / PrintSpace / TextBlock / TextLine / String, tables as a
ComposedBlock of row TextBlocks, word confidences in WC, the page confidence in PC.

Coordinates: an image page's pixels (MeasurementUnit `pixel`); a PDF page's geometry in 1/1200
inch (`inch1200`), from the rendered pixels and their DPI. A page that is in error (or below
the export's minimum confidence) is an empty Page with QUALITY="Missing" and the reason.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from pipeline import PIPELINE_VERSION
from pipeline.downstream.export.layout import Block, Box, page_blocks

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ALTO_NS} http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def _e(parent: etree._Element, tag: str, **attrs: Any) -> etree._Element:
    return etree.SubElement(parent, f"{{{ALTO_NS}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})


class _Units:
    def __init__(self, row: dict[str, Any], is_pdf: bool):
        self.name = "inch1200" if is_pdf else "pixel"
        self.scale = 1200.0 / float(row.get("dpi") or 300.0) if is_pdf else 1.0

    def value(self, v: float) -> str:
        scaled = v * self.scale
        return f"{scaled:.1f}" if self.scale != 1.0 else str(int(round(scaled)))

    def box(self, box: Box | None) -> dict[str, str]:
        if box is None:
            return {}
        x0, y0, x1, y1 = box
        return {"HPOS": self.value(x0), "VPOS": self.value(y0), "WIDTH": self.value(x1 - x0), "HEIGHT": self.value(y1 - y0)}


def _wc(confidence: float | None) -> str | None:
    return None if confidence is None else f"{max(0.0, min(1.0, confidence)):.3f}"


def page_alto(row: dict[str, Any], is_pdf: bool, missing: str | None = None, number: int | None = None) -> bytes:
    """ALTO for one page row; `missing`: why the page carries no text (error, low confidence);
    `number`: the page's place in its document when that is not the file's page (a volume)."""
    number = number or row["page"]
    units = _Units(row, is_pdf)
    root = etree.Element(f"{{{ALTO_NS}}}alto", nsmap={None: ALTO_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    root.set("SCHEMAVERSION", "4.2")
    description = _e(root, "Description")
    _e(description, "MeasurementUnit").text = units.name
    source = _e(description, "sourceImageInformation")
    _e(source, "fileName").text = f"{row['source_uri']}#page={row['page']}"
    step = _e(_e(description, "OCRProcessing", ID="OCR_0"), "ocrProcessingStep")
    blocks = [] if missing else page_blocks(row)
    if any(line.box is None for block in blocks for line in block.lines):
        _e(step, "processingStepDescription").text = (
            "block-level layout: the engine gave no line or word boxes for some blocks; their lines and words carry none")
    software = _e(step, "processingSoftware")
    _e(software, "softwareCreator").text = "digitize"
    _e(software, "softwareName").text = f"{row.get('engine') or 'none'} {row.get('model') or ''}".strip()
    _e(software, "softwareVersion").text = PIPELINE_VERSION
    width, height = float(row.get("width") or 0), float(row.get("height") or 0)
    page = _e(_e(root, "Layout"), "Page", ID=f"P{number}", PHYSICAL_IMG_NR=number,
              WIDTH=units.value(width), HEIGHT=units.value(height),
              PC=None if missing else _wc(row.get("confidence")),
              QUALITY="Missing" if missing else None, QUALITY_DETAIL=missing)
    space = _e(page, "PrintSpace", HPOS=0, VPOS=0, WIDTH=units.value(width), HEIGHT=units.value(height))
    _blocks(space, blocks, units, row.get("language"), number)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _blocks(space: etree._Element, blocks: list[Block], units: _Units, language: str | None, page: int) -> None:
    ids = iter(range(1, 10**9))
    for block in blocks:
        if block.kind == "table":
            composed = _e(space, "ComposedBlock", ID=f"P{page}_CB{next(ids)}", TYPE="table", **units.box(block.box))
            for line in block.lines:
                row_block = _e(composed, "TextBlock", ID=f"P{page}_TB{next(ids)}", **units.box(line.box), LANG=language)
                _line(row_block, line, units, page, ids)
            continue
        text_block = _e(space, "TextBlock", ID=f"P{page}_TB{next(ids)}", **units.box(block.box), LANG=language)
        for line in block.lines:
            _line(text_block, line, units, page, ids)


def _line(parent: etree._Element, line, units: _Units, page: int, ids) -> None:
    element = _e(parent, "TextLine", ID=f"P{page}_TL{next(ids)}", **units.box(line.box))
    words = line.words or []
    if not words:  # a block without boxes: the line's words, each without a box
        from pipeline.downstream.export.layout import Word

        words = [Word(w, None, line.confidence) for w in line.text.split()]
    for i, word in enumerate(words):
        if i:
            _e(element, "SP")
        _e(element, "String", ID=f"P{page}_S{next(ids)}", CONTENT=word.text, **units.box(word.box), WC=_wc(word.confidence))
