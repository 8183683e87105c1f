"""ALTO and PAGE XML collections (what Transkribus, eScriptorium and HTR-United publish):
each TextLine becomes a reference to its polygon's box on the page image.

Parsed with lxml, namespace-agnostic (ALTO v2-v4, PAGE 2013-2019), entities and network off.
Coordinates are checked against the page size the XML declares: when only the EXIF-rotated
image matches, boxes refer to the rotated image; when neither does, the page is skipped.
"""

from __future__ import annotations

import io
import math
import posixpath
import re

from connectors import filesystem as cfs
from pipeline.recognizer.sources import LineRef, Skipped, line_ref

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".webp")
PAD = 4  # pixels around a line's polygon, as the shared line crops were cut
_PAGE_SUFFIX = re.compile(r"[-_]\d+$")


class NotLayoutXml(ValueError):
    """The file is XML but neither ALTO nor PAGE."""


def _local(tag) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def _children(node, name: str):
    return [child for child in node.iter() if _local(child.tag) == name]


def _points(text: str) -> list[tuple[float, float]]:
    """ALTO "x y x y ..." or PAGE "x,y x,y ..." into pairs."""
    numbers = [float(v) for v in re.split(r"[\s,]+", text.strip()) if v]
    return list(zip(numbers[0::2], numbers[1::2]))


def _box(points: list[tuple[float, float]]) -> list[float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs) - PAD, min(ys) - PAD, max(xs) + PAD, max(ys) + PAD]


def _rotation(baseline: list[tuple[float, float]]) -> float:
    """Degrees to turn a line written along a steep baseline (margin notes, signatures) level."""
    if len(baseline) < 2:
        return 0.0
    (x0, y0), (x1, y1) = baseline[0], baseline[-1]
    angle = math.degrees(math.atan2(-(y1 - y0), x1 - x0))  # counter-clockwise, y grows downwards
    return angle if 20.0 <= abs(angle) <= 160.0 else 0.0


def parse_layout_xml(data: bytes) -> tuple[str, str | None, tuple[int, int] | None, list[dict]]:
    """(format, image file name, declared (width, height), lines) of an ALTO or PAGE file; each
    line is {id, text, points, baseline}."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise NotLayoutXml(f"not well-formed XML: {exc}") from exc
    kind = _local(root.tag)
    if kind == "alto":
        return ("alto", *_alto(root))
    if kind == "PcGts":
        return ("page", *_page(root))
    raise NotLayoutXml(f"root element <{kind}> is neither ALTO <alto> nor PAGE <PcGts>")


def _alto(root) -> tuple[str | None, tuple[int, int] | None, list[dict]]:
    names = [n.text.strip() for n in _children(root, "fileName") if n.text and n.text.strip()]
    units = [n.text.strip() for n in _children(root, "MeasurementUnit") if n.text]
    if units and units[0] != "pixel":
        raise NotLayoutXml(f"ALTO MeasurementUnit {units[0]!r}: only pixel coordinates are read")
    pages = _children(root, "Page")
    size = None
    if pages and pages[0].get("WIDTH") and pages[0].get("HEIGHT"):
        size = (int(float(pages[0].get("WIDTH"))), int(float(pages[0].get("HEIGHT"))))
    lines = []
    for line in _children(root, "TextLine"):
        words = [s.get("CONTENT", "") for s in line if _local(s.tag) == "String"]
        polygons = [p.get("POINTS", "") for p in _children(line, "Polygon")]
        if polygons and polygons[0].strip():
            points = _points(polygons[0])
        elif all(line.get(k) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")):
            x, y, w, h = (float(line.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
            points = [(x, y), (x + w, y + h)]
        else:
            points = []
        baseline = line.get("BASELINE") or ""
        lines.append({"id": line.get("ID", ""), "text": " ".join(words), "points": points,
                      "baseline": _points(baseline) if re.search(r"\d\s*[ ,]\s*\d", baseline) else []})
    return (names[0] if names else None), size, lines


def _page(root) -> tuple[str | None, tuple[int, int] | None, list[dict]]:
    pages = _children(root, "Page")
    if not pages:
        raise NotLayoutXml("PAGE file without a <Page>")
    page = pages[0]
    size = None
    if page.get("imageWidth") and page.get("imageHeight"):
        size = (int(float(page.get("imageWidth"))), int(float(page.get("imageHeight"))))
    lines = []
    for line in _children(page, "TextLine"):
        coords = [c for c in line if _local(c.tag) == "Coords"]
        base = [c for c in line if _local(c.tag) == "Baseline"]
        # the line's own TextEquiv, else its words'
        own = [u for e in line if _local(e.tag) == "TextEquiv" for u in e if _local(u.tag) == "Unicode"]
        if own:
            text = own[0].text or ""
        else:
            text = " ".join((u.text or "") for w in line if _local(w.tag) == "Word"
                            for e in w if _local(e.tag) == "TextEquiv" for u in e if _local(u.tag) == "Unicode")
        lines.append({"id": line.get("id", ""), "text": text,
                      "points": _points(coords[0].get("points", "")) if coords else [],
                      "baseline": _points(base[0].get("points", "")) if base else []})
    return page.get("imageFilename"), size, lines


def _find_image(fs, folder: str, xml_path: str, name: str | None) -> str | None:
    candidates = []
    if name:
        candidates += [posixpath.join(folder, name), posixpath.join(folder, posixpath.basename(name))]
    stem = posixpath.splitext(xml_path)[0]
    candidates += [stem + ext for ext in IMAGE_EXTENSIONS]
    return next((c for c in candidates if cfs.exists(fs, c)), None)


def _orientation(image_bytes: bytes, declared: tuple[int, int] | None) -> bool | None:
    """True when boxes refer to the EXIF-rotated image, False for the stored pixels, None when
    the declared size matches neither."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(image_bytes)) as image:
        stored = image.size
        rotated = ImageOps.exif_transpose(image).size if image.getexif().get(0x0112, 1) != 1 else stored
    if declared is None or declared == stored:
        return False
    if declared == rotated:
        return True
    return None


def read_layout_folder(uri: str, name: str | None = None, skipped: Skipped | None = None) -> list[LineRef]:
    """References to every TextLine of the ALTO/PAGE files in a folder (recursively)."""
    fs, base = cfs.filesystem(uri.rstrip("/"))
    skipped = skipped if skipped is not None else Skipped()
    name = name or posixpath.basename(base)
    scheme = uri.split("://", 1)[0] + "://" if "://" in uri else ""
    refs: list[LineRef] = []
    for xml_path in cfs.list_files(fs, base, ".xml"):
        try:
            kind, image_name, declared, lines = parse_layout_xml(cfs.read_bytes(fs, xml_path))
        except NotLayoutXml as exc:
            skipped.add("not ALTO or PAGE XML", f"{posixpath.basename(xml_path)}: {exc}")
            continue
        image_path = _find_image(fs, posixpath.dirname(xml_path), xml_path, image_name)
        if image_path is None:
            skipped.add("page image missing", posixpath.basename(xml_path), max(1, len(lines)))
            continue
        try:
            exif = _orientation(cfs.read_bytes(fs, image_path), declared)
        except OSError as exc:
            skipped.add("corrupt image", f"{posixpath.basename(image_path)}: {exc}", max(1, len(lines)))
            continue
        if exif is None:
            skipped.add("XML page size matches neither image orientation", posixpath.basename(xml_path), max(1, len(lines)))
            continue
        doc = _PAGE_SUFFIX.sub("", posixpath.splitext(posixpath.basename(xml_path))[0])
        for line in lines:
            if len(line["points"]) < 2:
                skipped.add("line without coordinates", f"{posixpath.basename(xml_path)}#{line['id']}")
                continue
            refs.append(line_ref(name, doc, line["text"], scheme + image_path, box=_box(line["points"]),
                                 rotation=_rotation(line["baseline"]), exif=exif))
    return refs
