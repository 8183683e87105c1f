"""The recognizer's training data without Ray: ALTO and PAGE parsing on the committed examples
(tests/data/layout_xml: generated page images with hand-written XML), line folders, the
validation split by document, the text checks and the tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.recognizer.config import SourceSpec, TrainConfig
from pipeline.recognizer.data import TrainDataError, check_texts, gather, held_out
from pipeline.recognizer.images import LineImageError, read_line
from pipeline.recognizer.sources import Skipped
from pipeline.recognizer.sources.line_folders import read_line_folder
from pipeline.recognizer.sources.xml_pages import NotLayoutXml, parse_layout_xml, read_layout_folder
from pipeline.recognizer.tokenizer import build_char_tokenizer, coverage
from tests.line_data import add_rows, write_line_folder

LAYOUT = Path(__file__).parent / "data" / "layout_xml"


def test_alto_lines_texts_and_boxes():
    kind, image, size, lines = parse_layout_xml((LAYOUT / "will_alto-1.xml").read_bytes())
    assert (kind, image, size) == ("alto", "will_alto-1.png", (800, 300))
    # words of a line joined by their SP; a line without a polygon falls back to HPOS/VPOS/WIDTH/HEIGHT
    assert [line["text"] for line in lines] == ["Je soussigné Jean", "lègue mes biens", "à ma sœur Marie"]
    assert lines[2]["points"] == [(36.0, 198.0), (326.0, 238.0)]


def test_page_xml_line_text_or_its_words():
    kind, image, size, lines = parse_layout_xml((LAYOUT / "will_page-1.xml").read_bytes())
    assert (kind, image, size) == ("page", "will_page-1.png", (800, 300))
    assert [line["text"] for line in lines] == ["Fait à Paris", "le 3 mai 1916"]


def test_folder_crops_every_line_and_skips_what_is_not_alto_or_page():
    skipped = Skipped()
    refs = read_layout_folder(str(LAYOUT), skipped=skipped)
    assert sorted({r["doc"] for r in refs}) == ["will_alto", "will_exif", "will_page"]  # page number cut from the id
    assert len(refs) == 7
    for ref in refs:  # every crop holds the ink of its line, and only one line of it
        pixels = np.asarray(read_line(ref))
        assert 40 <= pixels.shape[0] <= 60
        assert 0.03 < (pixels < 128).mean() < 0.2
    assert skipped.counts["not ALTO or PAGE XML"] == 2
    reasons = " ".join(skipped.examples["not ALTO or PAGE XML"])
    assert "notes_tei.xml" in reasons and "broken.xml" in reasons


def test_exif_rotated_page_crops_the_same_lines_as_the_upright_one():
    refs = read_layout_folder(str(LAYOUT))
    upright = [r for r in refs if r["doc"] == "will_page"]
    sideways = [r for r in refs if r["doc"] == "will_exif"]
    assert all(r["exif"] for r in sideways) and not any(r["exif"] for r in upright)
    for a, b in zip(upright, sideways):
        diff = np.abs(np.asarray(read_line(a), dtype=float) - np.asarray(read_line(b), dtype=float))
        assert diff.mean() < 8  # the same pixels, up to JPEG


def test_unknown_root_is_refused():
    with pytest.raises(NotLayoutXml):
        parse_layout_xml(b"<TEI><text/></TEI>")


def test_line_folder_splits_and_bad_lines(tmp_path):
    folder = write_line_folder(tmp_path / "lines", {"A": ["le 3 mai", "ma sœur"], "B": ["mon frère"]}, split={"B": "val"})
    from PIL import Image

    Image.new("L", (200, 40), 250).save(folder / "blank.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    add_rows(folder, [dict(row, doc="A", split="train") for row in [
        {"image": "blank.png", "text": "rien"}, {"image": "corrupt.png", "text": "cassé"}, {"image": "gone.png", "text": "perdu"},
        {"image": "A_000.png", "text": ""}, {"image": "A_001.png", "text": "><"}, {"image": "A_001.png", "text": "Ωmega"}]])
    skipped = Skipped()
    train = read_line_folder(str(folder), skipped=skipped)
    val = read_line_folder(str(folder), split="val")
    assert [r["text"] for r in val] == ["mon frère"]
    unsplit = write_line_folder(tmp_path / "unsplit", {"C": ["le 3 mai"]})
    assert len(read_line_folder(str(unsplit), split="val")) == 1  # a folder without splits serves as validation too
    assert skipped.counts == {"image file missing": 1}
    tokenizer = build_char_tokenizer(["le 3 mai ma sœur mon frère rien cassé"])
    kept = check_texts(train, tokenizer, skipped)
    assert skipped.counts["empty transcription"] == 1
    assert skipped.counts["unreadable transcription (no letter or digit)"] == 1
    assert skipped.counts["characters the tokenizer lacks"] == 1 and "Ω" in skipped.examples["characters the tokenizer lacks"][0]
    reasons = []
    for ref in kept:
        try:
            read_line(ref)
        except LineImageError as exc:
            reasons.append(str(exc))
    assert sorted(reasons) == ["corrupt image", "no ink"]


def test_validation_holds_apart_whole_documents(tmp_path):
    docs = {f"will{i}": [f"ligne {i} {j}" for j in range(3)] for i in range(40)}
    folder = write_line_folder(tmp_path / "lines", docs)
    cfg = TrainConfig(output=str(tmp_path / "out"), sources=[SourceSpec("lines", str(folder))], val_share=0.25)
    gathered = gather(cfg)
    train_docs = {r["doc"] for _, refs in gathered.train for r in refs}
    val_docs = {r["doc"] for r in gathered.val}
    assert val_docs and train_docs and not (train_docs & val_docs)
    assert val_docs == {d for d in docs if held_out(d, 0.25)}  # the same documents in every run
    assert len(gathered.val) == 3 * len(val_docs)


def test_validation_source_sharing_a_document_with_training_is_refused(tmp_path):
    folder = write_line_folder(tmp_path / "lines", {"A": ["le 3 mai"], "B": ["ma sœur"]}, split={"B": "val"})
    other = write_line_folder(tmp_path / "other", {"A": ["mon frère"]}, split={"A": "val"})
    cfg = TrainConfig(output=str(tmp_path / "out"), sources=[SourceSpec("lines", str(folder))],
                      val_sources=[SourceSpec("lines", str(other))])
    with pytest.raises(TrainDataError, match="both training and validation"):
        gather(cfg)


def test_char_tokenizer_round_trip_and_coverage():
    tokenizer = build_char_tokenizer(["Je lègue à ma sœur", "1916"])
    text = "Je lègue 1916"
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) == len(text) and tokenizer.decode(ids) == text
    cover = coverage(tokenizer, ["Ωmega sœur"])
    assert cover.missing == {"Ω": 1} and 0.8 < cover.share < 1.0


def test_a_16_bit_or_transparent_line_image_is_read_as_its_ink(tmp_path):
    """Line images from scanners' masters (16-bit grey) or cut out onto a transparent background
    train on their ink, not on a white or black rectangle left out as "no ink"."""
    from PIL import Image

    from tests.line_data import line_image

    folder = write_line_folder(tmp_path / "lines", {"A": ["le 3 mai"]})
    grey = np.asarray(line_image("ma sœur").convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "wide.png")
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - grey
    Image.fromarray(rgba, "RGBA").save(folder / "cutout.png")
    add_rows(folder, [{"image": "wide.png", "text": "ma sœur", "doc": "A"}, {"image": "cutout.png", "text": "ma sœur", "doc": "A"}])
    refs = {r["uri"].rsplit("/", 1)[-1]: r for r in read_line_folder(str(folder))}
    for name in ("wide.png", "cutout.png"):
        assert np.abs(np.asarray(read_line(refs[name]), dtype=int) - grey).max() <= 1, name
