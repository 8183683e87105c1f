"""--languages auto: a French and a German page are found and read with their own packs; a
language with no installed pack keeps the best reading and is flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.engines.base import EngineLoadError, PageImage
from pipeline.engines.tesseract import PROBE_BANDS, TesseractEngine
from pipeline.page.language import readable_language, tesseract_pack
from pipeline.quality.metrics import cer
from pipeline.run.config import EngineConfig
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
HAND = "/usr/share/fonts/truetype/kristi/Kristi.ttf"  # fonts-kristi, installed by scripts/setup.sh


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, tuple[np.ndarray, str]]:
    out = {}
    for lang in ("fra", "deu", "eng"):
        path = tmp_path_factory.mktemp(lang) / "page.pdf"
        truth = write_born_digital_pdf(path, [page_text(lang, 0)])[0]
        out[lang] = (np.asarray(rasterize_pdf(path, dpi=200)[0]), truth)
    return out


def test_french_and_german_pages_are_read_with_their_own_packs(pages):
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    english = TesseractEngine.load(EngineConfig(languages=("eng",)))
    for lang, iso in (("fra", "fr"), ("deu", "de"), ("eng", "en")):
        pixels, truth = pages[lang]
        rec = auto.recognize([PageImage(pixels, 200)])[0]
        given = TesseractEngine.load(EngineConfig(languages=(lang,))).recognize([PageImage(pixels, 200)])[0]
        assert rec.language == iso and "language_pack_missing" not in rec.flags
        assert cer(truth, rec.text) <= cer(truth, given.text) + 0.002  # as good as the right pack given by hand
        if lang != "eng":  # accents and ß: English alone misreads them
            assert cer(truth, rec.text) < cer(truth, english.recognize([PageImage(pixels, 200)])[0].text)
        assert rec.model == given.model and rec.model.endswith(f":{lang}")  # the pack that read the page
    assert auto.model_id.endswith(":auto")


def test_the_default_command_records_each_pages_language_and_the_pack_that_read_it(tmp_path):
    import pyarrow.dataset as pads

    from jobs.digitize import main as digitize
    from tests.conftest import ensure_ray
    from tests.corpus import write_scanned_pdf

    ensure_ray()
    inputs = tmp_path / "in"
    inputs.mkdir()
    for lang in ("fra", "deu"):
        write_born_digital_pdf(tmp_path / f"{lang}.pdf", [page_text(lang, 1)])
        write_scanned_pdf(inputs / f"{lang}.pdf", rasterize_pdf(tmp_path / f"{lang}.pdf", dpi=200), dpi=200)
    assert digitize(["--input", str(inputs), "--output", str(tmp_path / "out")]) == 0  # --engine auto --languages auto
    rows = pads.dataset(tmp_path / "out" / "pages", format="parquet").to_table(
        columns=["source_uri", "engine", "model", "language"]).to_pylist()
    found = {Path(r["source_uri"]).stem: (r["language"], r["model"]) for r in rows}
    assert {stem: language for stem, (language, _) in found.items()} == {"fra": "fr", "deu": "de"}
    for stem, (_, model) in found.items():  # the auto engine's model, its print read with the page's pack
        assert model.startswith("auto:tesseract-") and f":{stem}+rapidocr" in model, model


def _install(tmp_path, packs: tuple[str, ...], named: dict[str, str] | None = None) -> str:
    """A tessdata folder holding these of the machine's packs, and others under other names
    (name: the pack whose model it holds)."""
    import shutil

    from pipeline.run.config import DEFAULT_TESSDATA

    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    for name, pack in {**{p: p for p in packs}, **(named or {})}.items():
        shutil.copy(f"{DEFAULT_TESSDATA}/{pack}.traineddata", tessdata / f"{name}.traineddata")
    return str(tessdata)


def test_a_language_without_its_pack_is_flagged_not_an_error(pages, tmp_path):
    tessdata = _install(tmp_path, ("eng", "osd"))  # an install with English and OSD only
    auto = TesseractEngine.load(EngineConfig(languages=("auto",), tessdata=tessdata))
    pixels, truth = pages["deu"]
    rec = auto.recognize([PageImage(pixels, 200)])[0]
    assert rec.language == "de" and "language_pack_missing" in rec.flags
    assert cer(truth, rec.text) < 0.2  # read with the best pack there is


@pytest.mark.parametrize("dpi", [200, 300])
def test_a_new_documents_first_page_is_probed_then_read_once_with_its_own_pack(pages, dpi, tmp_path):
    if dpi != 200:  # pages at 300 DPI: the probe reads its band reduced to 150
        pages = {}
        for lang in ("fra", "deu", "eng"):
            write_born_digital_pdf(tmp_path / f"{lang}.pdf", [page_text(lang, 0)])
            pages[lang] = (np.asarray(rasterize_pdf(tmp_path / f"{lang}.pdf", dpi=dpi)[0]), "")
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    full_readings, probed_dpi = [], set()
    read, probe = auto._read_regions, auto._read_text

    def counted(page, api):  # the real readings, counted
        full_readings.append(True)
        return read(page, api)

    def probed(image, image_dpi, api):
        full_readings.append(False)
        probed_dpi.add(image_dpi)
        return probe(image, image_dpi, api)

    auto._read_regions, auto._read_text = counted, probed
    for document, lang, iso in (("a.pdf", "eng", "en"), ("b.pdf", "fra", "fr"), ("c.pdf", "deu", "de")):
        full_readings.clear()
        assert auto.recognize([PageImage(pages[lang][0], dpi, document=document)])[0].language == iso
        # a probe of one band (two while lingua is unsure), then one full reading, not one with
        # the last pack and then another with the right one
        assert full_readings[-1] and full_readings.count(True) == 1 and 1 <= full_readings.count(False) <= PROBE_BANDS
    full_readings.clear()
    assert auto.recognize([PageImage(pages["deu"][0], dpi, document="c.pdf")])[0].language == "de"
    assert full_readings == [True]  # the next page of a document is read with its language, no probe
    assert probed_dpi == {200 if dpi == 200 else 150}


def _draw_wrapped(draw, text: str, font, at: tuple[int, int], width: int, spacing: int = 70) -> list[str]:
    """`text` in lines no wider than `width` pixels, `spacing` px apart, from `at`; the lines drawn."""
    (x, y), line, lines = at, "", []
    for word in text.split():
        if draw.textlength(f"{line} {word}", font=font) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    for i, drawn in enumerate(lines + [line]):
        draw.text((x, y + spacing * i), drawn, font=font, fill=0)
    return lines + [line]


def _table_page_under_a_latin_band() -> PageImage:
    """A page whose densest band lingua names Latin (no pack here), as it names a table's header
    row read as nonsense, and whose next band is Italian: together, the two bands read Latin."""
    from PIL import Image, ImageDraw, ImageFont

    latin = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua"
    italian = ("Il consiglio comunale si riunisce ogni mese nella sala del municipio. I cittadini possono "
               "assistere alle sedute e presentare le loro domande al sindaco e agli assessori, secondo il "
               "regolamento approvato dalla giunta.")
    image = Image.new("L", (2480, 3508), 255)
    draw, small, large = ImageDraw.Draw(image), ImageFont.truetype(SERIF, 30), ImageFont.truetype(SERIF, 44)
    for i in range(4):  # close-set small lines: the densest band
        draw.text((150, 200 + 34 * i), latin if i % 2 == 0 else latin.upper(), font=small, fill=0)
    _draw_wrapped(draw, italian, large, (150, 750), 2150)
    return PageImage(np.asarray(image), 300, document="comuni.pdf")


def test_a_band_that_names_a_language_alone_is_not_outvoted_by_a_band_of_nonsense():
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    assert "lat" not in auto._available
    packs, read = [], auto._read_regions

    def counted(page, api):  # the real readings, with the pack each was read with
        packs.append(next(pack for pack, known in auto._apis.items() if known is api))
        return read(page, api)

    auto._read_regions = counted  # (regions, dictionary share) passed on as read
    assert auto.recognize([_table_page_under_a_latin_band()])[0].language == "it"
    assert packs == ["ita"]  # read once, with Italian: not with English first, then again


def test_a_short_text_is_read_with_an_installed_pack_it_plausibly_is():
    # lingua finds this Swedish cover title likelier Norwegian: with no Norwegian pack, it is
    # read as the Swedish it also plausibly is, not flagged as a language without a pack
    title = "Penningpolitiskt protokoll"
    assert readable_language(title, {"eng", "swe"})[0] == "sv"
    assert readable_language(title, {"eng", "nor"})[0] == "nb"
    assert readable_language(title, {"eng"})[0] == "nb"  # neither installed: the likeliest, to be flagged
    assert readable_language("Sveriges", {"eng", "swe"}) == (None, 0.0)  # too short to tell


def _russian_page() -> PageImage:
    from PIL import Image, ImageDraw, ImageFont

    # Russian: no rus pack here. lingua names Latin in what the English pack makes of it, and OSD
    # tells the script
    text = ("Протокол заседания правления банка от двенадцатого марта. Присутствовали члены совета и "
            "секретарь. Обсуждался вопрос о процентной ставке и о бюджете на следующий год.")
    image = Image.new("L", (2480, 700), 255)
    _draw_wrapped(ImageDraw.Draw(image), text, ImageFont.truetype(SERIF, 40), (140, 100), 2200)
    return PageImage(np.asarray(image), 300)


def test_a_page_in_a_script_without_a_pack_is_flagged_by_the_script_check():
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    assert "rus" not in auto._available
    rec = auto.recognize([_russian_page()])[0]
    # flagged for its script, not named Latin after the English pack's garbage
    assert "language_pack_missing" in rec.flags and rec.language is None


def test_engine_auto_keeps_the_flag_when_its_handwriting_reader_reads_the_page_again():
    pytest.importorskip("rapidocr")
    from pipeline.engines import engine_class

    rec = engine_class("auto").load(EngineConfig(name="auto")).recognize([_russian_page()])[0]
    assert "read_by_rapidocr" in rec.flags  # the page path's reading, with Tesseract's finding kept
    assert "language_pack_missing" in rec.flags


@pytest.mark.skipif(not Path(HAND).exists(), reason="the Kristi hand font is not installed (scripts/setup.sh installs it)")
def test_a_handwritten_french_page_read_by_the_handwriting_reader_is_not_flagged_for_tesseracts_guess():
    # Tesseract reads this slanted hand as garbage and OSD names its script Japanese (as it names
    # the Testaments wills' Japanese or Arabic): Tesseract's reading is flagged. The page path's
    # text is French, a language with a pack: that flag no longer holds
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    from pipeline.engines import engine_class

    pytest.importorskip("rapidocr")
    lines = ["Je soussigné Paul Martin, soldat au", "146e régiment d'infanterie, lègue à", "ma femme Marie tous mes biens,",
             "ma maison et mon jardin de Vernon.", "Fait aux armées le 3 mai 1916."]
    page = Image.new("L", (2000, 1300), 245)
    for i, text in enumerate(lines):
        ImageDraw.Draw(page).text((150, 120 + i * 162), text, font=ImageFont.truetype(HAND, 90), fill=40)
    page = page.transform(page.size, Image.AFFINE, (1, 0.15, -100, 0, 1, 0), fillcolor=245).filter(ImageFilter.GaussianBlur(0.6))
    image = PageImage(np.asarray(page), 300, document="will.png")
    tesseract = TesseractEngine.load(EngineConfig(languages=("auto",))).recognize([image])[0]
    assert "language_pack_missing" in tesseract.flags  # what the page path starts from
    rec = engine_class("auto").load(EngineConfig(name="auto")).recognize([image])[0]
    assert "read_by_rapidocr" in rec.flags and "language_pack_missing" not in rec.flags and rec.language == "fr"
    assert cer("\n".join(lines), rec.text) < 0.3


def _one_line(text: str, width: int = 900) -> PageImage:
    """A page of one line, too small to probe."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, 60), 255)
    ImageDraw.Draw(image).text((10, 10), text, font=ImageFont.truetype(SERIF, 30), fill=0)
    return PageImage(np.asarray(image), 300, document=f"{text}.png")


def _short_german_line() -> PageImage:
    """A page too small to probe, too short for lingua to tell its language."""
    return _one_line("Grüße aus Köln", width=600)


def test_a_page_too_small_to_probe_reads_the_same_whatever_page_came_before(pages):
    # a pipeline actor reads pages of many documents in no fixed order: a short line with no
    # language to tell was read with the previous page's pack, so 'Grüße' differed run to run
    line = _short_german_line()
    readings = set()
    for before in ("fra", "deu", "eng"):
        auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
        auto.recognize([PageImage(pages[before][0], 200, document=f"{before}.pdf")])
        readings.add(auto.recognize([line])[0].text)
    assert len(readings) == 1


def test_a_line_too_short_for_lingua_is_named_by_its_packs_dictionary():
    # lingua names this English title Latin with certainty: it was flagged as a language with no
    # pack; the English pack's dictionary holds its three words
    title = "Algorithms, Theory, Verification"
    assert readable_language(title, {"eng"})[0] == "la"
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    rec = auto.recognize([_one_line(title)])[0]
    assert rec.language == "en" and rec.flags == [] and rec.text == title
    # a short German line is no English the dictionary knows: lingua still names it, and it is
    # read again with its own pack
    line = "Herzliche Grüße aus Köln am Rhein"
    german = auto.recognize([_one_line(line)])[0]
    assert german.language == "de" and german.text == line


def test_the_dictionary_does_not_name_a_poor_reading_of_another_script():
    # Arabic read with English: "SiS poll Sill", every word in the English dictionary, at a raw
    # score of 0; it was named English
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (900, 60), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 30)  # with Arabic glyphs
    ImageDraw.Draw(image).text((10, 10), "البنك المركزي", font=font, fill=0)
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    assert auto.recognize([PageImage(np.asarray(image), 300, document="bank.png")])[0].language != "en"


def test_a_page_read_again_that_still_names_a_language_without_a_pack_is_flagged():
    # Arabic drawn in a font without its glyphs: boxes, which lingua finds plausibly Spanish
    # read with English, and Vietnamese (no pack here) once read with Spanish; it was named
    # Vietnamese unflagged
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    assert "vie" not in auto._available
    rec = auto.recognize([_one_line("محضر اجتماع مجلس الإدارة")])[0]
    assert rec.language is None or tesseract_pack(rec.language) not in auto._available
    assert "language_pack_missing" in rec.flags


def test_auto_can_start_from_the_pack_an_archive_is_mostly_in(pages):
    line = _short_german_line()
    german = TesseractEngine.load(EngineConfig(languages=("deu",))).recognize([line])[0].text
    english = TesseractEngine.load(EngineConfig(languages=("eng",))).recognize([line])[0].text
    assert german != english  # else the start pack would not show
    auto = TesseractEngine.load(EngineConfig(languages=("auto:deu",)))
    auto.recognize([PageImage(pages["fra"][0], 200, document="fra.pdf")])  # a French page before it
    assert auto.recognize([line])[0].text == german
    # a new document's page is still found and read with its own pack
    french = auto.recognize([PageImage(pages["fra"][0], 200, document="other.pdf")])[0]
    assert french.language == "fr"


def test_auto_mixed_into_a_list_or_from_a_pack_not_installed_is_one_clear_error():
    with pytest.raises(EngineLoadError, match="auto:PACK"):
        TesseractEngine.load(EngineConfig(languages=("auto", "deu")))
    with pytest.raises(EngineLoadError, match="starts from xyz, which is not installed"):
        TesseractEngine.load(EngineConfig(languages=("auto:xyz",)))


FRAKTUR_FONT = str(Path(__file__).parent / "data" / "fonts" / "UnifrakturMaguntia.woff")
KANT = ("Aufklärung ist der Ausgang des Menschen aus seiner selbst verschuldeten Unmündigkeit. Unmündigkeit ist "
        "das Unvermögen, sich seines Verstandes ohne Leitung eines anderen zu bedienen. Selbstverschuldet ist diese "
        "Unmündigkeit, wenn die Ursache derselben nicht am Mangel des Verstandes, sondern der Entschließung und des "
        "Mutes liegt, sich seiner ohne Leitung eines andern zu bedienen. Habe Mut, dich deines eigenen Verstandes zu "
        "bedienen! ist also der Wahlspruch der Aufklärung.")


def _worn_page(font_file: str, noise: float) -> tuple[PageImage, str]:
    """A German page in this font, worn as old print is (specks, and holes in the strokes)."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    image = Image.new("L", (1500, 700), 255)
    lines = _draw_wrapped(ImageDraw.Draw(image), KANT, ImageFont.truetype(font_file, 20), (100, 60), 1300, spacing=30)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(0.7))).copy()
    worn = np.random.default_rng(0).random(pixels.shape) < noise
    pixels[worn] = 255 - pixels[worn]
    return PageImage(pixels, 200, document=f"{Path(font_file).stem}-{noise}.png"), "\n".join(lines)


def _fraktur_page() -> tuple[PageImage, str]:
    """German set in Fraktur, as German print was until the 1940s: the German pack reads it
    poorly worn, as it reads Kant's page of 1784 in ../shared/data (a clean page of this font it
    reads well)."""
    return _worn_page(FRAKTUR_FONT, 0.02)


def test_a_fraktur_page_is_read_with_the_fraktur_model():
    auto = TesseractEngine.load(EngineConfig(languages=("auto",)))
    if "Fraktur" not in auto._available:
        pytest.skip("Tesseract's Fraktur script model is not installed (scripts/setup.sh installs it)")
    page, truth = _fraktur_page()
    rec = auto.recognize([page])[0]
    german = TesseractEngine.load(EngineConfig(languages=("deu",))).recognize([page])[0]
    fraktur = TesseractEngine.load(EngineConfig(languages=("Fraktur",))).recognize([page])[0]
    # OSD tells the script under the German pack's poor reading; the script's model reads it
    assert rec.language == "de" and "language_pack_missing" not in rec.flags and rec.model == fraktur.model
    assert rec.text == fraktur.text and cer(truth, rec.text) < cer(truth, german.text)


def test_a_fraktur_page_without_the_fraktur_model_is_flagged(tmp_path):
    tessdata = _install(tmp_path, ("eng", "deu", "osd"))  # Latin packs and OSD only
    page, _ = _fraktur_page()
    rec = TesseractEngine.load(EngineConfig(languages=("auto",), tessdata=tessdata)).recognize([page])[0]
    assert "language_pack_missing" in rec.flags and rec.text.strip()  # read with the best there is, for review


@pytest.mark.parametrize("noise", [0.01, 0.02])
def test_worn_latin_print_that_osd_calls_cyrillic_is_read_with_its_language(noise):
    # OSD names these pages' script Cyrillic, and English read them at raw scores of 0.39 and
    # 0.43: a Latin pack's reading of another script is garbage (under 0.35), so the script is
    # not taken from OSD there, and lingua's German is
    page, _ = _worn_page(SERIF, noise)
    rec = TesseractEngine.load(EngineConfig(languages=("auto",))).recognize([page])[0]
    german = TesseractEngine.load(EngineConfig(languages=("deu",))).recognize([page])[0]
    assert rec.language == "de" and "language_pack_missing" not in rec.flags
    assert rec.text == german.text


def test_a_script_model_that_reads_worse_than_the_first_reading_gives_way_to_the_language(tmp_path):
    # an install whose "Fraktur" model is the Polish pack: a script's model that reads this page
    # less surely than the English reading that OSD was asked about. The page is then read as
    # if OSD had not spoken: lingua's German, with the German pack
    tessdata = _install(tmp_path, ("eng", "deu", "osd"), {"Fraktur": "pol"})
    page, _ = _fraktur_page()
    rec = TesseractEngine.load(EngineConfig(languages=("auto",), tessdata=tessdata)).recognize([page])[0]
    german = TesseractEngine.load(EngineConfig(languages=("deu",))).recognize([page])[0]
    assert rec.language == "de" and "language_pack_missing" not in rec.flags
    assert rec.text == german.text and rec.model.endswith(":deu")
