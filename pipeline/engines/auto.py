"""--engine auto: one run for a mixed archive. Tesseract reads the page; the lines it reads
poorly go to a handwriting reader, and a page it cannot read (no lines, or a poor reading of
writing-sized ink, not of a logo or a picture) is read by that reader's own page path
(text-detector segmentation). Each block records the engine whose reading it keeps.

Text-like ink outside the lines Tesseract reads with confidence (a handwritten note it did not see
as text, or read as garbage) is cut into lines by the text detector, which looks only at the rows
that hold it; those lines replace the Tesseract lines they hold (untrusted ones, and fragments
of a line read as symbols) and join the page in Tesseract's reading order.

The handwriting reader is RapidOCR's recognizer (weights in the wheel), or the trocr engine with
`--handwriting-model` (a hub id or folder). The decision is arbitration by calibrated line
confidence: a re-read line, or a page read again, keeps the other reading only when it is the
likelier to be right (pipeline/quality/line_calibration.py; raw scores for a reader without a
shipped fit); the thresholds are measured in bench/bench_mixed_pages.py and
bench/bench_line_arbitration.py. Writing-sized ink that no line of the final reading holds flags
the page `writing_not_read`, for review: no token score shows text nobody read. A grainy page
(pipeline/page/grain.py) is read by both paths, and the likelier reading kept, where the
handwriting reader has a line fit (RapidOCR's).

With `--vlm-model` on an actor Ray gave a GPU, a page whose words Tesseract's layout analysis
puts mostly in tables is read by that LightOnOCR model instead, as Markdown with its tables
(the share is measured in docs/mixed_archives.md); its reading is kept unless it wrote nothing,
looped or ran out of tokens. On the CPU a 1B model takes minutes a page, so there it is unused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import ClassVar

import numpy as np
from PIL import Image

from pipeline.engines.base import EngineLoadError, PageImage
from pipeline.engines.line_pages import LinePageEngine, LineResult, on_page
from pipeline.engines.tesseract import ADAPTIVE_THRESHOLD, LANGUAGE_PACK_MISSING, PageReading, TesseractEngine, recognition
from pipeline.page.assembly import Line, Region
from pipeline.page.documents import RenderSpec
from pipeline.page.grain import ink
from pipeline.page.text_size import Component, components, grey_of
from pipeline.page.scoring import READ_BY_VLM, WRITING_NOT_READ, page_score
from pipeline.quality.line_calibration import LineCalibration, likelier, likelier_lines, likelier_reading, shipped
from pipeline.run.config import EngineConfig
from pipeline.run.records import Recognition


COVERAGE_STEP = 2  # the ink coverage check looks at every 2nd pixel of a rendered page


@dataclass(frozen=True)
class Arbitration:
    weak_line: float = 0.60  # Tesseract line confidence under which the line is read again
    trusted_line: float = 0.50  # lines under this do not count as text found (handwriting read as garbage)
    unreadable_page: float = 0.45  # Tesseract page score under which the whole page is read again
    margin: float = 0.0  # how much likelier to be right the other reading must be to replace a line
    uncovered_ink: float = 0.10  # share of the page's ink, text-like and outside trusted lines, that calls the detector
    overlap: float = 0.3  # share of a detected line inside Tesseract's lines that makes it already read
    fragment: float = 0.5  # a Tesseract line narrower than this share of the detected line it lies in is a piece of it
    unread_writing: float = 0.05  # share of the page's ink, writing-sized and in no line read, that flags it for review
    table_page: float = 0.5  # share of the page's words in Tesseract's table regions that sends it to the --vlm-model


def table_share(regions: list[Region]) -> float:
    """Share of the page's words that Tesseract's layout analysis puts in table regions."""
    counts = [(r.kind == "table", len(ln.tokens)) for r in regions for p in r.paragraphs for ln in p.lines]
    words = sum(n for _, n in counts)
    return sum(n for table, n in counts if table) / words if words else 0.0


def in_columns(lines: list[Line], rows: int = 3) -> bool:
    """Whether lines with text stand side by side on `rows` rows or more (columns; not a date
    beside a heading): the line reader's page path finds columns only by a white channel between
    them, and interleaves them where a narrow gutter leaves none."""
    boxes = sorted((ln.bbox for ln in lines if ln.text.strip()), key=lambda b: b[1])
    found = 0
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b[1] >= a[3]:  # this line and the ones after it start under `a`
                break
            shared = min(a[3], b[3]) - max(a[1], b[1])
            if shared > 0.5 * min(a[3] - a[1], b[3] - b[1]) and (a[2] <= b[0] or b[2] <= a[0]):
                found += 1
                if found >= rows:
                    return True
    return False


def _top(region: Region) -> float:
    return min((ln.bbox[1] for p in region.paragraphs for ln in p.lines), default=0.0)


def _crops(page: PageImage, lines: list[Line]) -> list[Image.Image]:
    image = Image.fromarray(page.pixels)  # the crops, not the page, made RGB for the line reader
    return [image.crop(tuple(int(v) for v in ln.bbox)).convert("RGB") for ln in lines]


def _inside(box: list[float], covered: np.ndarray) -> float:
    x0, y0, x1, y1 = (int(v) for v in box)
    area = covered[y0:y1, x0:x1]
    return float(area.mean()) if area.size else 1.0


def _overlap(a: list[float], b: list[float]) -> float:
    """Share of box a inside box b."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max(1.0, (a[2] - a[0]) * (a[3] - a[1]))
    return max(0.0, w) * max(0.0, h) / area


def _without(regions: list[Region], drop) -> list[Region]:
    for region in regions:
        for para in region.paragraphs:
            para.lines = [ln for ln in para.lines if not drop(ln)]
        region.paragraphs = [p for p in region.paragraphs if p.lines]
    return [r for r in regions if r.paragraphs]


def _body(lines: list[Line]) -> float:
    """The page's usual line height, in pixels, from the lines with words: a box Tesseract read
    nothing in (a rule, a whole page of handwriting) says nothing of the writing's size."""
    heights = [ln.bbox[3] - ln.bbox[1] for ln in lines if ln.text.strip()]
    return float(np.median(heights)) if heights else 40.0


def _line_shaped(line: Line, body: float) -> bool:
    """A box a line reader can read: not a picture or a column Tesseract called a line, nor a
    sliver (a rule, a cut through a row), which the reader stretches to its line height: its
    slowest crop, and never text."""
    h, w = line.bbox[3] - line.bbox[1], line.bbox[2] - line.bbox[0]
    return 0.35 * body <= h <= 2.5 * body and w <= 60 * max(h, 1.0)


def _writing_sized(ink: np.ndarray, body: float) -> list[Component]:
    """The ink components sized like writing whose lines are `body` pixels high: not pictures,
    rules, table borders or specks."""
    if not ink.any():
        return []
    return [c for c in components(ink) if 0.25 * body <= c.height <= 3 * body and c.width <= 15 * c.height]


def _text_like(ink: np.ndarray, lines: list[Line], step: int) -> list[Component]:
    """The ink components sized like the page's writing, which are not the only ink outside text
    lines. `ink` is the page's mask at every `step`-th pixel; the components are measured in its
    pixels."""
    return _writing_sized(ink, _body(lines) / step)


def _worth_rereading(page: PageImage, line: Line, grainy: bool) -> bool:
    """Whether the line reader could find text in a line Tesseract read poorly: a box it read no
    word in is often a table border or a rule, which the reader stretches to its line height
    (its slowest crop) and reads as nothing; only one holding writing-sized ink is read again."""
    if line.text.strip():
        return True
    x0, y0, x1, y1 = (int(v) for v in line.bbox)
    return bool(_writing_sized(ink(grey_of(page.pixels[y0:y1, x0:x1]), grainy), y1 - y0))


def _rows_around(found: list[Component], step: int, margin: float, height: int) -> tuple[int, int]:
    """The page rows (top, bottom) holding the components, `margin` pixels more on each side.
    Rows, not a box: a component too tall or too wide to count as writing (a flourish, a word
    joined to a signature) still belongs to the line it is on."""
    top = min(c.top for c in found) * step - margin
    bottom = max(c.top + c.height for c in found) * step + margin
    return max(0, int(top)), min(height, int(bottom))


def handwriting_reader(cfg: EngineConfig) -> tuple[type[LinePageEngine], EngineConfig]:
    """The engine class and config that read handwritten lines: a trocr model when
    `--handwriting-model` names one, else RapidOCR; both on the text detector's lines."""
    if cfg.handwriting_model:
        from pipeline.engines.trocr import TrOCREngine

        return TrOCREngine, replace(cfg, name="trocr", model=cfg.handwriting_model, segmenter="detector")
    from pipeline.engines.rapidocr import RapidOCREngine

    return RapidOCREngine, replace(cfg, name="rapidocr", segmenter="detector")


# what a --vlm-model page may not end with for its reading to be kept: Tesseract's stands instead
VLM_REJECTS = ("repetition", "max_new_tokens")
VLM_NOT_KEPT = "vlm_not_kept"


def vlm_config(cfg: EngineConfig) -> EngineConfig | None:
    """The LightOnOCR config `--vlm-model` names, or None."""
    return replace(cfg, name="lightonocr", model=cfg.vlm_model) if cfg.vlm_model else None


def vlm_reader(cfg: EngineConfig, device: str):
    """The LightOnOCR engine that reads table pages: on a GPU only, where it reads a page in
    seconds; None on the CPU or without --vlm-model."""
    vlm = vlm_config(cfg)
    if vlm is None or not device.startswith("cuda"):
        return None
    from pipeline.engines.lightonocr import LightOnOCREngine

    return LightOnOCREngine.load(vlm, device)


@dataclass
class _Ink:
    found: list[Component]  # writing-sized ink components outside the lines, in mask pixels
    covered: np.ndarray  # the lines' boxes, at every `step`-th pixel
    step: int
    total: int  # the page's ink, in mask pixels

    def unread_share(self, boxes: list[list[float]]) -> float:
        """Share of the page's ink in the found components whose centre lies in none of `boxes`
        (page pixels): writing that no line of the final reading holds."""
        if not self.found:
            return 0.0
        centres = self.step * np.array([(c.left + c.width / 2, c.top + c.height / 2) for c in self.found])
        read = np.zeros(len(self.found), bool)
        if boxes:
            b = np.asarray(boxes, dtype=float)
            read = ((centres[:, None, 0] >= b[None, :, 0]) & (centres[:, None, 0] <= b[None, :, 2])
                    & (centres[:, None, 1] >= b[None, :, 1]) & (centres[:, None, 1] <= b[None, :, 3])).any(axis=1)
        return float(sum(c.pixels for c, r in zip(self.found, read) if not r)) / self.total


class AutoEngine:
    name: ClassVar[str] = "auto"

    def __init__(self, printed: TesseractEngine, hand: LinePageEngine, cfg: EngineConfig, rules: Arbitration = Arbitration(),
                 line_calibration: LineCalibration | None = None, vlm=None):
        self.printed, self.hand, self.cfg, self.rules = printed, hand, cfg, rules
        self.line_calibration = line_calibration
        self.vlm = vlm  # reads the table pages: a LightOnOCREngine, or None

    @cached_property
    def rereader(self) -> LinePageEngine:
        """What reads Tesseract's weak lines again: the handwriting reader's reader for print."""
        return self.hand.print_reader()

    @classmethod
    def load(cls, cfg: EngineConfig, device: str = "cpu") -> "AutoEngine":
        hand, hand_cfg = handwriting_reader(cfg)
        return cls(TesseractEngine.load(cfg), hand.load(hand_cfg, device), cfg, line_calibration=shipped(cls.name),
                   vlm=vlm_reader(cfg, device))

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        TesseractEngine.preflight(cfg)
        hand, hand_cfg = handwriting_reader(cfg)
        hand.preflight(hand_cfg)
        if (vlm := vlm_config(cfg)) is not None:
            from pipeline.engines.lightonocr import LightOnOCREngine

            try:
                LightOnOCREngine.preflight(vlm)
            except EngineLoadError as exc:
                raise EngineLoadError(f"--vlm-model: {exc}") from exc

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        return RenderSpec(mode="L")  # Tesseract reads grey faster; the line readers' crops are made RGB

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        return 1

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        return bool(cfg.handwriting_model or cfg.vlm_model)

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        if on_gpu:  # a table page: a whole page of tokens from a 1B model, as engine lightonocr
            return 300.0 if cfg.vlm_model else 180.0
        return 900.0  # a page Tesseract cannot read is read twice

    @property
    def model_id(self) -> str:
        return self._model(self.printed.model_id)

    def _model(self, printed: str) -> str:
        """The `model` of a page whose print the model `printed` read."""
        return f"auto:{printed}+{self.hand.model_id}" + (f"+{self.vlm.model_id}" if self.vlm else "")

    def _model_of(self, reading: PageReading) -> str:
        return self._model(self.printed.model_for(reading.pack))

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        return [self._one(page) for page in pages]

    def _writing_outside(self, page: PageImage, lines: list[Line], trusted: list[Line], grainy: bool) -> "_Ink | None":
        """The page's writing-sized ink outside the `trusted` lines' boxes (sized by all `lines`),
        or None when it is under `uncovered_ink` of the page's ink: pictures, rules and specks
        are ink too, and are no text to find."""
        grey = grey_of(page.pixels)
        step = COVERAGE_STEP  # a share of the page's ink needs no full resolution
        mask = ink(grey[::step, ::step], grainy)
        covered = np.zeros(mask.shape, bool)
        for line in trusted:
            x0, y0, x1, y1 = (int(v) // step for v in line.bbox)
            covered[y0:y1 + 1, x0:x1 + 1] = True
        total = int(mask.sum())
        uncovered = mask & ~covered
        if not total or uncovered.sum() / total < self.rules.uncovered_ink:
            return None
        found = _text_like(uncovered, lines, step)
        if sum(c.pixels for c in found) / total < self.rules.uncovered_ink:
            return None
        return _Ink(found, covered, step, total)

    def _detected_lines(self, page: PageImage, lines: list[Line], grainy: bool) -> tuple[list[Region], "_Ink | None"]:
        """Regions of the detector's lines where the page has ink outside Tesseract's confident
        lines (a handwritten note it did not see as text, or read poorly), read by the
        handwriting reader, and that ink; [] and None when it is a small share of the page's."""
        trusted = [ln for ln in lines if (ln.confidence or 0.0) >= self.rules.trusted_line]
        outside = self._writing_outside(page, lines, trusted, grainy)
        if outside is None:
            return [], None
        found, covered, step = outside.found, outside.covered, outside.step
        # the detector looks only where that ink is: its time grows with the pixels it sees
        top, bottom = _rows_around(found, step, 2 * _body(lines), page.pixels.shape[0])
        detected, _ = self.hand.segmenter.segment_rows(page.pixels, top, bottom, page.dpi)
        regions = []
        for region in detected:
            for para in region.paragraphs:
                para.lines = [ln for ln in para.lines if _inside([v / step for v in ln.bbox], covered) < self.rules.overlap]
            region.paragraphs = [p for p in region.paragraphs if p.lines]
            if region.paragraphs:
                regions.append(region)
        new = [ln for r in regions for p in r.paragraphs for ln in p.lines]
        for line, result in zip(new, self.hand.read_lines(_crops(page, new)) if new else []):
            self._take(line, result)
        return regions, outside

    def _replaced(self, line: Line, found: list[list[float]]) -> bool:
        """Whether a detected line reads this Tesseract line's ink: the line lies in it and is not
        trusted, or is a fragment of it (a piece of a handwritten line Tesseract read as symbols)."""
        width = line.bbox[2] - line.bbox[0]
        return any(_overlap(line.bbox, box) > self.rules.overlap
                   and ((line.confidence or 0.0) < self.rules.trusted_line or width < self.rules.fragment * (box[2] - box[0]))
                   for box in found)

    def _unread(self, writing: "_Ink | None", boxes: list[list[float]]) -> bool:
        """Whether the page's writing-sized ink that none of the final reading's `boxes` holds is
        `unread_writing` of its ink or more: the page goes to review."""
        return writing is not None and writing.unread_share(boxes) >= self.rules.unread_writing

    def _calibrated(self, engine: str) -> bool:
        """Whether the shipped line fit puts this engine's readings on the common scale."""
        return self.line_calibration is not None and engine in self.line_calibration.engines

    def _likelier(self, line: Line, result: LineResult) -> bool:
        """Whether the handwriting reader's reading of a line is likelier to be right than the
        line's own: by calibrated line confidence where both readers have a fit, else by raw."""
        return bool(result.text) and likelier(self.line_calibration, line.engine or "", line.text, line.confidence,
                                              self.hand.name, result.text, result.confidence, self.rules.margin)

    def _likelier_page(self, lines: list[Line], score: float, other: Recognition) -> bool:
        """Whether the handwriting reader's page reading is likelier to be right than Tesseract's
        (`lines`, raw page `score`): by calibrated line confidence, else by raw score."""
        return likelier_reading(self.line_calibration, self.printed.name, [(ln.text, ln.confidence) for ln in lines], score,
                                self.hand.name, [(b.text, b.confidence) for b in other.blocks if b.kind == "line"],
                                other.confidence)

    def both_readings(self, page: PageImage) -> list[tuple[Line, LineResult]]:
        """Each line Tesseract reads on the page that the line reader can read, beside that
        reader's reading of its crop: what the arbitration chooses between
        (scripts/fit_line_calibration.py fits the line calibration on them)."""
        _, lines = self._printed_reading(page)
        body = _body(lines)
        lines = [ln for ln in lines if _line_shaped(ln, body)]
        return list(zip(lines, self.rereader.read_lines(_crops(page, lines)))) if lines else []

    def _printed_reading(self, page: PageImage) -> tuple[PageReading, list[Line]]:
        """Tesseract's reading of the page and its lines, each marked as Tesseract's."""
        reading = self.printed.read_regions(page)
        lines = [ln for r in reading.regions for p in r.paragraphs for ln in p.lines]
        for line in lines:
            line.engine = self.printed.name
        return reading, lines

    def _take(self, line: Line, result: LineResult) -> None:
        """The handwriting reader's reading becomes the line's."""
        line.given_text = result.text
        line.tokens = [on_page(t, line.bbox) for t in result.tokens]
        line.engine = self.hand.name

    def _table_page(self, page: PageImage, reading: PageReading) -> Recognition | None:
        """The --vlm-model's reading of a page Tesseract finds mostly table; None where there is
        no such model here, the page is not one, or its reading is not kept."""
        if self.vlm is None or table_share(reading.regions) < self.rules.table_page:
            return None
        rec = self.vlm.recognize([page])[0]
        if not rec.text.strip() or any(f in rec.flags for f in VLM_REJECTS):
            reading.flags.append(VLM_NOT_KEPT)
            return None
        for block in rec.blocks:
            block.engine = self.vlm.name
        rec.language = reading.language
        rec.model = self._model_of(reading)
        rec.flags.extend(reading.flags + [READ_BY_VLM])
        return rec

    def _one(self, page: PageImage) -> Recognition:
        reading, lines = self._printed_reading(page)
        if (table := self._table_page(page, reading)) is not None:
            return table
        tokens = [t for ln in lines for t in ln.tokens]
        score = page_score(tokens) or 0.0
        grainy = ADAPTIVE_THRESHOLD in reading.flags  # its paper is specks under Otsu's threshold
        # a page with no words read, or read badly: read by the other reader's own page path,
        # unless what Tesseract read badly is a picture (a logo, a stamp), not writing
        writing, other = None, None
        if not tokens or (score < self.rules.unreadable_page and (writing := self._writing_outside(page, lines, [], grainy)) is not None):
            other = self.hand.recognize([page])[0]
            if self._likelier_page(lines, score, other):
                return self._page_path(page, other, reading, lines, writing, grainy)
        detected, outside = self._detected_lines(page, lines, grainy)
        found = [ln.bbox for r in detected for p in r.paragraphs for ln in p.lines]
        regions = _without(reading.regions, lambda ln: self._replaced(ln, found))
        body = _body(lines)
        weak = [ln for r in regions for p in r.paragraphs for ln in p.lines
                if (ln.confidence or 0.0) < self.rules.weak_line and _line_shaped(ln, body) and _worth_rereading(page, ln, grainy)]
        if weak:  # weak lines the detector did not replace: read again, the likelier reading kept
            for line, result in zip(weak, self.rereader.read_lines(_crops(page, weak))):
                if self._likelier(line, result):
                    self._take(line, result)
        for region in detected:  # into Tesseract's reading order (columns kept), by height on the page
            at = next((i for i, r in enumerate(regions) if _top(r) > _top(region)), len(regions))
            regions.insert(at, region)
        rec = recognition(regions)
        rec.language = reading.language
        rec.model = self._model_of(reading)
        rec.flags.extend(reading.flags)
        # a line read as nothing read nothing
        read = [ln for r in regions for p in r.paragraphs for ln in p.lines]
        if self._unread(outside, [ln.bbox for ln in read if ln.text.strip()]):
            rec.flags.append(WRITING_NOT_READ)
        if grainy and other is None and self._calibrated(self.hand.name) and not in_columns(read):
            # even with its local threshold Tesseract drops or garbles lines of a grainy page that
            # the detector and the line reader read through the noise; such pages are rare, so
            # both readings are made and the likelier kept. Only for a reader with a line fit (a
            # --handwriting-model's raw scores were not measured on print), and not on columns
            # Tesseract found: no line confidence sees it if the page path read them row by row
            other = self.hand.recognize([page])[0]
            final = [(ln.engine or "", ln.text, ln.confidence) for ln in read]
            hand = [(self.hand.name, b.text, b.confidence) for b in other.blocks if b.kind == "line"]
            if likelier_lines(self.line_calibration, final, page_score(rec.tokens), hand, other.confidence):
                return self._page_path(page, other, reading, lines, None, grainy)
        return rec

    def _page_path(self, page: PageImage, other: Recognition, reading: PageReading, lines: list[Line],
                   writing: "_Ink | None", grainy: bool) -> Recognition:
        """The handwriting reader's page reading, kept: its blocks marked as that reader's, Tesseract's
        flags (language_pack_missing unless the kept text is in a language with a pack), and
        writing no line of it holds flagged for review."""
        for block in other.blocks:
            block.engine = self.hand.name
        other.model = self._model_of(reading)
        flags = reading.flags
        if LANGUAGE_PACK_MISSING in flags and (named := self.printed.named_with_pack(other.text)) is not None:
            # the flag came from Tesseract's reading, which is not kept (OSD calls French hands
            # Japanese); the kept text is in a language with a pack. A script the reader cannot
            # read either (Cyrillic, Hebrew) leaves it no such text, and keeps the flag
            flags, other.language = [f for f in flags if f != LANGUAGE_PACK_MISSING], named
        other.flags.extend([f"read_by_{self.hand.name}"] + flags)
        if self._unread(writing or self._writing_outside(page, lines, [], grainy), [b.bbox for b in other.blocks]):
            other.flags.append(WRITING_NOT_READ)
        return other
