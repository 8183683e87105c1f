"""The embedded CPU engine: Tesseract through its C API (tesserocr), in-process.

One PyTessBaseAPI per actor and language set, reused page after page. OMP_THREAD_LIMIT=1 is set
before the library loads: on a 2-core node OpenMP threads inside each of two actors double the time.
A grainy page (pipeline/page/grain.py) is binarized with Tesseract's Sauvola threshold rather than
its default Otsu, and flagged `adaptive_threshold`.

`--languages auto`: a page of the document the previous page came from is read with the language
that page turned out to be. The first page of a document is probed first: the band where its
writing is densest (a 24th of the page; the next densest too while lingua is not sure) is read
with English (or PACK, for `auto:PACK`) at 150 DPI, and lingua names its language, so most pages
are read once, with the right pack. A page too small to probe starts from that pack too: what an
actor read before is another page in every run, and a short line read with it came out
differently each time. A page given with no document is read with the previous page's language.
lingua then names the language of the whole reading, and a page in another language with an
installed pack is read again with it. When no language stands out or the reading is poor,
Tesseract's OSD names the script (once per document, on a band of the page), and a non-Latin
script's pack, or the Fraktur model, is tried; where it reads the page less surely than the first
pack, the page is read in lingua's language as if OSD had not spoken. A language or script with
no installed pack keeps the best reading and is flagged `language_pack_missing`, unless a
language with a pack is plausible too (pipeline/page/language.py: readable_language).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from dataclasses import dataclass, field  # noqa: E402
from typing import ClassVar  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.run.config import EngineConfig  # noqa: E402
from pipeline.page.documents import RenderSpec  # noqa: E402
from pipeline.engines.base import EngineLoadError, PageImage  # noqa: E402
from pipeline.page.assembly import Line, Paragraph, Region, assemble  # noqa: E402
from pipeline.page.grain import OTSU, SAUVOLA, tesseract_thresholding  # noqa: E402
from pipeline.page.scoring import page_score  # noqa: E402
from pipeline.page.text_size import grey_of  # noqa: E402
from pipeline.page.language import (FRAKTUR, SCRIPT_PACKS, auto_start, pack_language, readable_language,  # noqa: E402
                                    short_text, tesseract_pack)
from pipeline.run.records import Recognition, Token  # noqa: E402


def _tesserocr():
    try:
        import tesserocr
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineLoadError("tesserocr is not installed: run scripts/setup.sh") from exc
    return tesserocr


# raw page scores under which OSD checks the script: a Latin pack reads another script as garbage,
# and a Fraktur page poorly, both under a Latin table (docs/mixed_archives.md). Between the two,
# only Fraktur is taken from OSD: on worn Latin print it names Cyrillic now and then
SCRIPT_CHECK_BELOW = 0.45
GARBAGE_BELOW = 0.35
# a reading too short for lingua is in its pack's language when this share of its words of
# DICTIONARY_WORD letters or more are in the pack's dictionary (shorter ones, "aus", "si", are
# in many languages')
IN_DICTIONARY = 0.75
DICTIONARY_WORD = 4
ADAPTIVE_THRESHOLD = "adaptive_threshold"  # the flag of a grainy page, read with a local threshold
LANGUAGE_PACK_MISSING = "language_pack_missing"


class TesseractEngine:
    name: ClassVar[str] = "tesseract"

    def __init__(self, api, cfg: EngineConfig, version: str, available: set[str] | None = None, start: str = ""):
        self._api = api
        self._cfg = cfg
        self._version = version
        self._tess = _tesserocr()
        self._available = available or set()
        self._apis: dict[str, object] = {}
        # a new document's probe, and a page too small to probe, start from this pack, not from
        # whatever page the actor read before: so that a page reads the same in every run
        self._start = start  # auto's start pack (pipeline/page/language.auto_start); "" for a fixed list
        self._last_pack = self._start
        self._last_document: str | None = None
        self._scripts: dict[str, str] = {}
        self._threshold = OTSU  # the current page's thresholding_method

    @classmethod
    def load(cls, cfg: EngineConfig, device: str = "cpu") -> "TesseractEngine":
        tess = _tesserocr()
        tessdata = cfg.tessdata.rstrip("/") + "/"
        if not os.path.isdir(tessdata):
            raise EngineLoadError(
                f"Tesseract language data not found at {tessdata}: install Debian's tesseract-ocr "
                "packages (scripts/setup.sh does) or set TESSDATA_PREFIX"
            )
        _, available = tess.get_languages(tessdata)
        try:
            start = auto_start(cfg.languages)
        except ValueError as exc:
            raise EngineLoadError(str(exc)) from exc
        missing = [lang for lang in ([start] if start is not None else cfg.languages) if lang not in available]
        if missing:
            what = (f"--languages auto starts from {start}, which is" if start is not None
                    else f"Tesseract languages {', '.join(missing)} are")
            raise EngineLoadError(
                f"{what} not installed in {tessdata} (installed: {', '.join(sorted(available))}); apt-get install "
                + " ".join(f"tesseract-ocr-{m}" for m in missing)
            )
        version = tess.tesseract_version().split()[1]
        if start is not None:  # auto: one API per pack, made when a page first needs it
            return cls(None, cfg, version, set(available), start)
        api = tess.PyTessBaseAPI(path=tessdata, lang="+".join(cfg.languages), psm=tess.PSM.AUTO, oem=tess.OEM.LSTM_ONLY)
        return cls(api, cfg, version)

    @classmethod
    def preflight(cls, cfg: EngineConfig) -> None:
        engine = cls.load(cfg)
        if engine._api is not None:
            engine._api.End()

    @staticmethod
    def render_spec(cfg: EngineConfig) -> RenderSpec:
        return RenderSpec(mode="L")

    @staticmethod
    def pages_per_call(cfg: EngineConfig) -> int:
        return 1  # Tesseract reads one page at a time; small batches spread pages over actors

    @staticmethod
    def uses_gpu(cfg: EngineConfig) -> bool:
        return False

    @staticmethod
    def page_timeout(cfg: EngineConfig, on_gpu: bool) -> float:
        return 180.0  # OCRmyPDF's --tesseract-timeout default

    @property
    def model_id(self) -> str:
        return self.model_for("+".join(self._cfg.languages))

    def model_for(self, pack: str | None) -> str:
        """The `model` of a page read with `pack` (`--languages auto` picks one per page)."""
        return f"tesseract-{self._version}:{pack or '+'.join(self._cfg.languages)}"

    def recognize(self, pages: list[PageImage]) -> list[Recognition]:
        out = []
        for page in pages:
            reading = self.read_regions(page)
            rec = recognition(reading.regions)
            rec.language = reading.language
            rec.model = self.model_for(reading.pack)
            rec.flags.extend(reading.flags)
            out.append(rec)
        return out

    def read_regions(self, page: PageImage) -> "PageReading":
        """The page's regions of paragraphs of lines of words, in Tesseract's reading order."""
        self._threshold = tesseract_thresholding(page.pixels)
        if self._api is not None:
            reading = PageReading(self._read_regions(page, self._api)[0])
        else:
            reading = self._read_auto(page)
        if self._threshold == SAUVOLA:
            reading.flags.append(ADAPTIVE_THRESHOLD)
        return reading

    def _set_image(self, api, image: Image.Image, dpi: float) -> None:
        """The image an API reads next, binarized the way the current page needs."""
        api.SetVariable("thresholding_method", self._threshold)
        api.SetImage(image)
        api.SetSourceResolution(max(int(dpi), 70))

    def _api_for(self, pack: str):
        if pack not in self._apis:
            tess = self._tess
            self._apis[pack] = tess.PyTessBaseAPI(path=self._cfg.tessdata.rstrip("/") + "/", lang=pack,
                                                  psm=tess.PSM.AUTO, oem=tess.OEM.LSTM_ONLY)
        return self._apis[pack]

    def load_packs(self, packs: list[str]) -> None:
        """Loads these packs now rather than when a page first needs one (`--languages auto`): what
        an actor holds after its first pages, for a benchmark's warm-up."""
        for pack in packs:
            if self._api is None and pack in self._available:
                self._api_for(pack)

    def _script_pack(self, page: PageImage) -> str | None:
        """The pack for the script Tesseract's OSD sees, or None (no OSD data, too little text).
        A document's script, once seen, holds for its later pages."""
        if "osd" not in self._available:
            return None
        if page.document is not None and page.document in self._scripts:
            return self._scripts[page.document]
        api = self._api_for("osd")
        bands = densest_bands(page.pixels, OSD_SHARE, 1)  # OSD over the whole page costs as much as a reading
        self._set_image(api, Image.fromarray(page.pixels[bands[0][0]:bands[0][1]] if bands else page.pixels), page.dpi)
        try:
            found = api.DetectOrientationScript()
        except RuntimeError:  # too few characters to tell
            found = None
        api.Clear()
        pack = SCRIPT_PACKS.get(found.get("script_name")) if found else None
        if pack is not None and page.document is not None:
            self._scripts = {page.document: pack}  # the current document's only
        return pack

    def _probe_pack(self, page: PageImage) -> str:
        """The pack to read a document's first page with: the start pack, unless the page's densest
        band, read with it, is in another language with an installed pack. While
        lingua is not sure of a language with a pack (a menu's dish names, a cover's title, a band
        it calls Latin), the next densest band is read too: a second band costs less than a second
        full reading. The most confident language with a pack wins, named by the bands together
        or by the last band alone: a table's header row read as nonsense (which lingua calls Latin)
        outweighs the place names of the band below it."""
        api, text, best, best_confidence = self._api_for(self._start), "", self._start, 0.0
        for band in densest_bands(page.pixels, PROBE_SHARE, PROBE_BANDS):
            read = "\n" + self._read_text(*probe_image(page.pixels, band, page.dpi), api)
            text += read
            for sample in dict.fromkeys((text, read)):  # the first band: one sample
                language, confidence = readable_language(sample, self._available)
                if tesseract_pack(language) in self._available and confidence > best_confidence:
                    best, best_confidence = tesseract_pack(language), confidence
            if best_confidence >= PROBE_SURE:
                break
        return best

    def _read_auto(self, page: PageImage) -> "PageReading":
        same_document = page.document is not None and page.document == self._last_document
        pack = self._last_pack if same_document or page.document is None else self._probe_pack(page)
        self._last_document = page.document
        regions, known = self._read_regions(page, self._api_for(pack))
        text, tokens = _text_and_tokens(regions)
        score = page_score(tokens) or 0.0
        if short_text(text) and known is not None and known >= IN_DICTIONARY and score >= GARBAGE_BELOW:
            # a line or a label: lingua guesses there, and the pack's dictionary knows its words (in
            # a reading too poor to trust, the dictionary names another script's garbage: "baal")
            self._last_pack = pack
            return PageReading(regions, pack_language(pack), pack=pack)
        named, _ = readable_language(text, self._available)
        if named is None or score < SCRIPT_CHECK_BELOW:
            # no language stands out, or a reading too poor to trust: another script, perhaps
            script = self._script_pack(page)
            trusted = named is None or score < (SCRIPT_CHECK_BELOW if script == FRAKTUR else GARBAGE_BELOW)
            if script is not None and script != "eng" and trusted:
                reading = self._read_script(page, script, pack, regions, score, named)
                if reading is not None:
                    return reading
        return self._read_named(page, pack, regions, named)

    def _read_script(self, page: PageImage, script: str, pack: str, regions: list[Region], score: float,
                     named: str | None) -> "PageReading | None":
        """The page read with the pack of the script OSD names, given its reading by `pack`
        (`regions`, raw `score`, in lingua's language `named`); None where the script's pack
        reads it less surely: OSD misnames the script of a poor page now and then."""
        if script not in self._available:  # the best reading there is, flagged
            return PageReading(regions, None, [LANGUAGE_PACK_MISSING], pack)
        if script != pack:
            again = self._read_regions(page, self._api_for(script))[0]
            again_text, again_tokens = _text_and_tokens(again)
            if (page_score(again_tokens) or 0.0) < score:
                return None
            regions, named = again, readable_language(again_text, self._available)[0]
        self._last_pack = script
        return PageReading(regions, named, self._pack_missing(named), script)

    def _read_named(self, page: PageImage, pack: str, regions: list[Region], named: str | None) -> "PageReading":
        """The page read with the pack of the language lingua names (`named`) in its reading by
        `pack` (`regions`): read again where that is another installed pack."""
        wanted, language = tesseract_pack(named), named
        if wanted is not None and wanted not in self._available:
            return PageReading(regions, language, [LANGUAGE_PACK_MISSING], pack)
        if wanted is not None and wanted != pack:
            pack = wanted
            regions = self._read_regions(page, self._api_for(pack))[0]
            language = readable_language(_text_and_tokens(regions)[0], self._available)[0] or language
        self._last_pack = pack
        # read again with a plausible pack, the page may still be in a language with none
        return PageReading(regions, language, self._pack_missing(language), pack)

    def named_with_pack(self, text: str) -> str | None:
        """The language lingua names in a text another reader made of a page, where its pack is
        installed here; None where lingua names none, or one without a pack."""
        language = readable_language(text, self._available)[0]
        return language if language is not None and not self._pack_missing(language) else None

    def _pack_missing(self, language: str | None) -> list[str]:
        """The flag of a page in a language with no installed pack."""
        missing = language is not None and tesseract_pack(language) not in self._available
        return [LANGUAGE_PACK_MISSING] if missing else []

    def _read_text(self, image: Image.Image, dpi: float, api) -> str:
        """The image's text, as Tesseract reads it: what a language probe needs."""
        self._set_image(api, image, dpi)
        text = api.GetUTF8Text()
        api.Clear()
        return text

    def _read_regions(self, page: PageImage, api) -> tuple[list[Region], float | None]:
        """The page's regions, and the share of its words of DICTIONARY_WORD letters or more that
        the pack's dictionary holds (None: no such word)."""
        tess = self._tess
        self._set_image(api, Image.fromarray(page.pixels), page.dpi)
        api.Recognize()
        regions: list[Region] = []
        long_words = known = 0
        iterator = api.GetIterator()
        level = tess.RIL.WORD
        if iterator is not None:
            for word in tess.iterate_level(iterator, level):
                try:
                    text = word.GetUTF8Text(level)
                except RuntimeError:  # tesserocr's way of saying "no word here" (blank page)
                    continue
                box = word.BoundingBox(level)
                if text is None or box is None:
                    continue
                if word.IsAtBeginningOf(tess.RIL.BLOCK) or not regions:
                    kind = "table" if word.BlockType() == tess.PT.TABLE else "text"
                    regions.append(Region(kind=kind))
                if word.IsAtBeginningOf(tess.RIL.PARA) or not regions[-1].paragraphs:
                    regions[-1].paragraphs.append(Paragraph())
                para = regions[-1].paragraphs[-1]
                if word.IsAtBeginningOf(tess.RIL.TEXTLINE) or not para.lines:
                    line_box = word.BoundingBox(tess.RIL.TEXTLINE) or box
                    para.lines.append(Line(bbox=[float(v) for v in line_box], tokens=[]))
                token = Token(text=text.strip(), confidence=max(0.0, min(word.Confidence(level) / 100.0, 1.0)), bbox=[float(v) for v in box])
                if token.text:
                    para.lines[-1].tokens.append(token)
                if sum(ch.isalpha() for ch in token.text) >= DICTIONARY_WORD:
                    long_words += 1
                    known += bool(word.WordIsFromDictionary())
        api.Clear()
        return regions, (known / long_words if long_words else None)


PROBE_SHARE = 24  # a language probe band is 1/24 of the page's height: a few lines, some hundreds of characters
PROBE_BANDS = 2  # bands read at most, while lingua is not sure
PROBE_SURE = 0.9  # lingua's confidence at which the probe stops reading
OSD_SHARE = 6  # the script check looks at 1/6 of it: OSD wants more characters than lingua
PROBE_DPI = 150  # a band is reduced toward this resolution: a language shows in words, not in fine print


def probe_image(pixels: np.ndarray, band: tuple[int, int], dpi: float) -> tuple[Image.Image, float]:
    """What a language probe reads of a band (top, bottom rows), and at what resolution: reduced
    toward PROBE_DPI, as Tesseract lays out fewer pixels faster. (Half the band's width would
    halve the reading, but lingua then misses a page it is sure of in full.)"""
    image = Image.fromarray(grey_of(pixels[band[0]:band[1]]))
    factor = max(1, int(dpi // PROBE_DPI))
    return (image.reduce(factor) if factor > 1 else image), dpi / factor


def densest_bands(pixels: np.ndarray, share: int, count: int) -> list[tuple[int, int]]:
    """(top, bottom) of up to `count` bands, each 1/share of the page's height, that do not
    overlap, where the writing is densest, densest first; none for a page too small to be worth a
    probe. Density is ink edges along the rows: lines of letters have many, shaded cells,
    pictures and rules few."""
    grey = grey_of(pixels)
    height = grey.shape[0]
    window = height // share
    if window < 32:
        return []
    ink = grey[:, ::2] < 128
    edges = np.count_nonzero(ink[:, 1:] != ink[:, :-1], axis=1)
    sums = np.convolve(edges, np.ones(window, dtype=np.int64), mode="valid")
    bands = []
    for _ in range(count):
        top = int(np.argmax(sums))
        if sums[top] < 0:
            break
        bands.append((top, top + window))
        sums[max(0, top - window + 1):top + window] = -1  # the windows that overlap this band
    return bands


@dataclass
class PageReading:
    regions: list[Region]
    language: str | None = None
    flags: list[str] = field(default_factory=list)
    pack: str | None = None  # the pack(s) that read it, as Tesseract names them ("deu", "Fraktur", "eng+fra")


def _text_and_tokens(regions: list[Region]) -> tuple[str, list[Token]]:
    lines = [ln for r in regions for p in r.paragraphs for ln in p.lines]
    return "\n".join(ln.text for ln in lines), [t for ln in lines for t in ln.tokens]


def recognition(regions: list[Region]) -> Recognition:
    """A page's Recognition from its regions of word lines."""
    text, markdown, blocks, tables = assemble(regions)
    tokens = [t for r in regions for p in r.paragraphs for ln in p.lines for t in ln.tokens]
    return Recognition(text=text, markdown=markdown, blocks=blocks, tokens=tokens, token_unit="word", tables=tables)
