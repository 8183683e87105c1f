"""--engine auto on a generated page with printed lines and handwritten lines (a script hand
font): printed lines stay with Tesseract, handwritten ones go to the handwriting reader, and the
page reads top to bottom with each block naming its engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline.engines import PageImage, engine_class
from pipeline.quality.metrics import cer
from pipeline.run.config import EngineConfig

pytest.importorskip("rapidocr")
HAND = Path("/usr/share/fonts/truetype/kristi/Kristi.ttf")  # fonts-kristi, installed by scripts/setup.sh
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
PRINTED = ["The committee met on the third of May", "and approved the accounts of the year."]
HANDWRITTEN = ["please send the letters to my sister", "with love from your brother Paul"]


@pytest.mark.skipif(not HAND.exists(), reason="the Kristi hand font is not installed (scripts/setup.sh installs it)")
def test_printed_and_handwritten_lines_go_to_their_engines_in_reading_order():
    page = Image.new("RGB", (2000, 1400), (250, 250, 245))
    draw = ImageDraw.Draw(page)
    y = 150
    for text in PRINTED:
        draw.text((150, y), text, font=ImageFont.truetype(SERIF, 44), fill=(20, 20, 20))
        y += 90
    y += 150
    for text in HANDWRITTEN:
        draw.text((170, y), text, font=ImageFont.truetype(str(HAND), 90), fill=(30, 30, 90))
        y += 150
    engine = engine_class("auto").load(EngineConfig(name="auto"))
    rec = engine.recognize([PageImage(np.asarray(page), 300)])[0]
    lines = [b for b in rec.blocks if b.kind == "line"]
    assert [b.engine for b in lines] == ["tesseract", "tesseract", "rapidocr", "rapidocr"]
    assert [b.bbox[1] for b in lines] == sorted(b.bbox[1] for b in lines)  # top to bottom
    for block, truth in zip(lines, PRINTED + HANDWRITTEN):
        assert cer(truth, block.text) < (0.05 if block.engine == "tesseract" else 0.4), (truth, block.text)
    positions = [rec.text.index(b.text) for b in lines]  # the page's text runs in the lines' order
    assert positions == sorted(positions)
    alone = engine_class("tesseract").load(EngineConfig()).recognize([PageImage(np.asarray(page.convert("L")), 300)])[0]
    truth = "\n".join(PRINTED + HANDWRITTEN)
    assert cer(truth, rec.text) < cer(truth, alone.text)  # better than Tesseract alone on the same page
    assert engine.model_id.startswith("auto:tesseract")


def test_the_review_page_lists_which_engine_read_which_line():
    from pipeline.downstream.review_export import _engines

    row = {"blocks": [{"kind": "paragraph", "text": "a\nb", "engine": "mixed"},
                      {"kind": "line", "text": "Dear Sir,", "engine": "tesseract"},
                      {"kind": "line", "text": "<yours> Paul", "engine": "rapidocr"}]}
    shown = _engines(row)
    assert "lines by engine: tesseract 1, rapidocr 1" in shown and "&lt;yours&gt; Paul" in shown
    assert _engines({"blocks": [{"kind": "line", "text": "x", "engine": None}]}) == ""


def test_a_tesseract_fragment_inside_a_detected_line_gives_way_to_it():
    from pipeline.engines.auto import AutoEngine
    from pipeline.page.assembly import Line

    rules = AutoEngine(None, None, EngineConfig(name="auto"))  # the arbitration alone, no readers
    detected = [[200.0, 800.0, 1500.0, 950.0]]  # a handwritten line the detector cut and RapidOCR read

    def line(box, confidence):
        from pipeline.run.records import Token

        return Line(bbox=box, tokens=[Token(text="x", confidence=confidence, bbox=box)])

    assert rules._replaced(line([1200.0, 830.0, 1330.0, 880.0], 0.61), detected)  # 'f/ 7 \' on a stroke: a piece
    assert rules._replaced(line([220.0, 810.0, 1480.0, 940.0], 0.3), detected)  # the whole line, read as garbage
    assert not rules._replaced(line([220.0, 810.0, 1480.0, 940.0], 0.9), detected)  # the whole line, read well
    assert not rules._replaced(line([220.0, 300.0, 1480.0, 350.0], 0.2), detected)  # elsewhere on the page


def test_a_page_whose_writing_is_mostly_not_read_goes_to_review_not_through_on_a_confident_title():
    # a ruined printed scan from the calibration recipe (grain that even a local threshold cannot
    # read through): the text detector finds the bold title only, read at confidence 1.0; the
    # rest of the page is text
    import sys

    from pipeline.page.scoring import needs_review

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_calibration_set import scan_page

    page, dpi, truth = scan_page(8)
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("fra", "eng", "deu")))
    rec = engine.recognize([PageImage(np.asarray(page.convert("L")), dpi)])[0]
    confidence = rec.confidence if rec.confidence is not None else 1.0
    assert cer(truth, rec.text) > 0.5  # what this test is about: a page mostly unread
    # sent to a person, not passed on its score
    assert needs_review("ok", confidence, rec.flags, 0.5)


def test_a_grainy_printed_page_is_tesseracts_and_its_paper_is_not_writing_left_unread(tmp_path):
    from tests.corpus import grainy_page

    pixels, truth = grainy_page(tmp_path, 35)
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("eng",)))
    rec = engine.recognize([PageImage(pixels, 150.0)])[0]
    assert cer(truth, rec.text) < 0.1, rec.text
    # the ink checks smooth the grain away too: no specks taken for writing nobody read
    assert "adaptive_threshold" in rec.flags and "writing_not_read" not in rec.flags
    assert {b.engine for b in rec.blocks} == {"tesseract"}


def test_a_grainy_page_tesseract_reads_in_part_keeps_the_likelier_reading_of_its_line_reader():
    # a noisy scan of the calibration recipe at 157 DPI: with its local threshold Tesseract reads
    # the title and drops half of the lines; the detector and the line reader read them all
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from make_calibration_set import scan_page

    page, dpi, truth = scan_page(47)
    pixels = np.asarray(page.convert("L"))
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("auto",)))  # read with deu
    assert cer(truth, engine.printed.recognize([PageImage(pixels, dpi)])[0].text) > 0.3  # the premise
    rec = engine.recognize([PageImage(pixels, dpi)])[0]
    assert cer(truth, rec.text) < 0.05, rec.text
    assert {"read_by_rapidocr", "adaptive_threshold"} <= set(rec.flags) and "writing_not_read" not in rec.flags
    assert {b.engine for b in rec.blocks} == {"rapidocr"}


def test_a_grainy_page_in_columns_keeps_tesseracts_column_order(tmp_path):
    from tests.corpus import grainy_two_columns

    # Tesseract's layout holds the columns; the page path finds them only by a white channel
    # between them, which a narrower gutter may not leave: its reading is not weighed here
    pixels, truth = grainy_two_columns(tmp_path, 40)
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("eng",)))
    rec = engine.recognize([PageImage(pixels, 150.0)])[0]
    assert "adaptive_threshold" in rec.flags and "read_by_rapidocr" not in rec.flags
    assert cer(truth, rec.text) < 0.1, rec.text  # strict CER: column by column


def test_a_grainy_page_is_not_read_again_by_a_handwriting_model_without_a_line_fit(tmp_path):
    from tests.corpus import grainy_page
    from tests.tiny_models import build_tiny_trocr

    model = build_tiny_trocr(tmp_path / "trocr", teach=None)
    pixels, truth = grainy_page(tmp_path, 35)
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("eng",), handwriting_model=str(model),
                                                    dtype="float32", max_new_tokens=8))
    pages_read = []
    read_pages = engine.hand.recognize
    engine.hand.recognize = lambda pages: pages_read.extend(pages) or read_pages(pages)  # counted, then read
    rec = engine.recognize([PageImage(pixels, 150.0)])[0]
    # its raw scores were never measured against Tesseract's on print: no second reading to weigh
    assert pages_read == [] and cer(truth, rec.text) < 0.1
    assert "adaptive_threshold" in rec.flags and {b.engine for b in rec.blocks} == {"tesseract"}


def test_the_page_line_height_comes_from_lines_with_words_not_from_empty_boxes():
    from pipeline.engines.auto import _body
    from pipeline.page.assembly import Line
    from pipeline.run.records import Token

    def line(box, text):
        return Line(bbox=box, tokens=[Token(text=text, confidence=0.9, bbox=box)] if text else [])

    # a will page in a drawn frame: Tesseract's empty boxes are a rule's sliver and the whole page
    empty = [line([800.0, 1346.0, 1130.0, 1351.0], ""), line([45.0, 0.0, 1199.0, 1600.0], ""),
             line([800.0, 1347.0, 1130.0, 1352.0], "")]
    words = [line([100.0, y, 900.0, y + 60.0], "mot") for y in (200.0, 300.0)]
    assert _body(empty + words) == 60.0
    assert _body(empty) == _body([]) == 40.0  # no line with words: the default, not a 5 px sliver


WILL_PAGE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "handwriting_lines" / "testaments_de_poilus"
             / "pages" / "AN_0001-0.jpg")


@pytest.mark.skipif(not WILL_PAGE.exists(), reason="needs ../shared/data (the Testaments de Poilus pages)")
def test_a_will_page_tesseract_reads_no_word_of_is_read_by_the_line_reader():
    # at the 300 DPI digitize assumes for a JPEG without one, Tesseract finds three empty boxes on
    # this will (a sliver twice, the whole page) and no word: it was left empty, flagged `empty`
    pixels = np.asarray(Image.open(WILL_PAGE).convert("L"))
    truth = WILL_PAGE.with_suffix(".txt").read_text(encoding="utf-8")
    engine = engine_class("auto").load(EngineConfig(name="auto", languages=("fra",)))
    rec = engine.recognize([PageImage(pixels, 300)])[0]
    assert "read_by_rapidocr" in rec.flags and cer(truth, rec.text) < 0.6


def test_a_box_tesseract_read_no_word_in_is_read_again_only_when_it_holds_writing():
    from pipeline.engines.auto import _worth_rereading
    from pipeline.page.assembly import Line
    from pipeline.run.records import Token

    # a table's border row (styled_table in ../shared/data): Tesseract calls it a line and reads
    # nothing; the line reader stretches it to its line height and reads nothing in the most time
    page = np.full((120, 1400), 255, np.uint8)
    canvas = Image.fromarray(page)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([50, 10, 1322, 31], outline=0, width=3)
    for x in (520, 900):
        draw.line([x, 10, x, 31], fill=0, width=2)
    draw.text((60, 62), "Gesamtsumme", font=ImageFont.truetype(SERIF, 28), fill=0)
    pixels = np.asarray(canvas)
    border = Line(bbox=[50.0, 10.0, 1323.0, 32.0], tokens=[])
    unread_word = Line(bbox=[55.0, 58.0, 300.0, 100.0], tokens=[])
    read_word = Line(bbox=[55.0, 58.0, 300.0, 100.0], tokens=[Token(text="Gesamt", confidence=0.3, bbox=[55.0, 58.0, 300.0, 100.0])])
    assert not _worth_rereading(PageImage(pixels, 300), border, False)
    assert _worth_rereading(PageImage(pixels, 300), unread_word, False)
    assert _worth_rereading(PageImage(pixels, 300), read_word, False)


def test_columns_are_lines_side_by_side_on_several_rows_not_a_date_beside_a_heading():
    from pipeline.engines.auto import in_columns
    from pipeline.page.assembly import Line
    from pipeline.run.records import Token

    def line(x0: float, x1: float, y: float) -> Line:
        return Line(bbox=[x0, y, x1, y + 30.0], tokens=[Token(text="mot", confidence=0.9, bbox=[x0, y, x1, y + 30.0])])

    left = [line(100, 900, y) for y in (300, 340, 380, 420)]
    right = [line(1000, 1800, y + 10) for y in (300, 340, 380)]
    assert in_columns(left + right)
    assert not in_columns(left + [line(100, 900, y) for y in (500, 540, 580)])  # one under the other
    assert not in_columns([line(100, 600, 100), line(1400, 1800, 100)] + left)  # a heading and its date
