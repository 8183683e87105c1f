"""The evaluation job on a tiny labelled folder generated here (laid out like ../shared/data)."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageDraw, ImageFont

from jobs import evaluate
from pipeline.quality.confidence import confidence_report
from pipeline.quality.items import Item, discover_items
from pipeline.quality.scored import Scored
from pipeline.quality.truth import truth_problem
from pipeline.run.pages_reader import iter_pages
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf
from tests.conftest import ensure_ray


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    bd = root / "born_digital" / "minutes"
    bd.mkdir(parents=True)
    truths = write_born_digital_pdf(bd / "minutes.pdf", [page_text("eng", 0), page_text("fra", 1)])
    (bd / "minutes.txt").write_text("\f".join(truths))
    # a text layer from a font without a Unicode map: control characters where the page shows words
    garbled = root / "born_digital" / "nomap"
    garbled.mkdir()
    [shown] = write_born_digital_pdf(garbled / "nomap.pdf", [page_text("eng", 2)])
    (garbled / "nomap.txt").write_text("".join(chr(16 + i % 10) if c.isalpha() else c for i, c in enumerate(shown)))
    scans = root / "scans" / "letter"
    scans.mkdir(parents=True)
    rasterize_pdf(bd / "minutes.pdf", dpi=200)[0].save(scans / "letter.png", dpi=(200, 200))
    (scans / "letter.gt.txt").write_text(truths[0])
    lines = root / "handwriting" / "lines"
    lines.mkdir(parents=True)
    font = ImageFont.load_default(size=28)
    records = []
    for i, text in enumerate(["The archive opens at nine", "Records are kept in the vault"]):
        image = Image.new("L", (720, 60), 255)
        ImageDraw.Draw(image).text((10, 12), text, fill=0, font=font)
        image.save(lines / f"line{i}.png", dpi=(300, 300))
        records.append({"image": f"line{i}.png", "text": text, "level": "line"})
    records.append({"image": "missing.png", "text": "nowhere", "level": "line"})  # listed but absent: skipped
    (lines / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    return root


def test_items_are_found_with_their_truth(labelled):
    items = discover_items(labelled)
    assert sorted((i.category, i.page) for i in items) == [
        ("born_digital", 1), ("born_digital", 1), ("born_digital", 2), ("handwriting", 1), ("handwriting", 1), ("scans", 1)]
    assert [i.group for i in items if truth_problem(i)] == ["born_digital/nomap"]
    assert {i.category for i in discover_items(labelled, skip=("handwriting",))} == {"born_digital", "scans"}


@pytest.fixture(scope="module")
def evaluated(labelled, tmp_path_factory):
    """One evaluation of the whole folder, which the tests below read (and copy before changing)."""
    ensure_ray()
    out = tmp_path_factory.mktemp("evaluated")
    # --dpi is digitize's: evaluate passes it on
    assert evaluate.main(["--data", str(labelled), "--output", str(out), "--languages", "eng,fra", "--dpi", "200"]) == 0
    return out


def test_report_has_accuracy_confidence_and_a_plot(evaluated):
    report = json.loads((evaluated / "report.json").read_text())
    assert [(e["path"].endswith("nomap.pdf"), e["page"]) for e in report["excluded"]] == [(True, 1)]
    assert report["overall"]["items"] == 5 and 0 <= report["overall"]["cer"] < 0.05
    assert report["categories"]["born_digital"]["cer"] < 0.02 and report["categories"]["born_digital"]["bow_f1"] > 0.97
    assert report["text_layer_route"]["cer"] == 0.0  # the truth is the text layer itself
    assert {"auroc", "spearman_confidence_vs_cer", "routing"} <= report["confidence"].keys()
    assert [r["review_share"] for r in report["confidence"]["routing"]] == [0.05, 0.10, 0.20, 0.30]
    by_category = report["calibration"]["by_category"]  # the shipped calibration, judged per category
    assert {c: v["pages"] for c, v in by_category.items()} == {"born_digital": 2, "handwriting": 2, "scans": 1}
    assert all(0 <= v["predicted_bad_share"] <= 1 and v["bad_with_words_right"] >= 0 for v in by_category.values())
    assert (evaluated / "cer_vs_confidence.png").stat().st_size > 1000
    assert "| overall | 5 |" in (evaluated / "report.md").read_text()
    read = [r["model"] for r in iter_pages(str(evaluated / "run" / "pages" / "run_id=ocr"), columns=["model"]) if r["model"]]
    assert read and report["models"] == {m: read.count(m) for m in sorted(set(read))}  # each model with its pages
    assert all(f"- `{m}`: {n}" in (evaluated / "report.md").read_text() for m, n in report["models"].items())


def test_digitize_options_are_passed_to_its_run_and_recorded(evaluated):
    rows = list(iter_pages(str(evaluated / "run" / "pages" / "run_id=ocr"), columns=["source_uri", "dpi"]))
    assert {r["dpi"] for r in rows if r["source_uri"].endswith(".pdf")} == {200}  # rendered as --dpi asked
    assert json.loads((evaluated / "report.json").read_text())["digitize_options"] == ["--dpi", "200"]
    assert "digitize options: `--dpi 200`" in (evaluated / "report.md").read_text()


def test_a_digitize_option_is_checked_before_any_page_is_read(labelled, tmp_path, capsys):
    base = ["--data", str(labelled), "--output", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match="name readers of --engine auto"):  # digitize's own rule
        evaluate.main(base + ["--engine", "tesseract", "--handwriting-model", "some/model"])
    with pytest.raises(SystemExit):
        evaluate.main(base + ["--no-such-option"])
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(base + ["--text-layer=only"])
    assert "--text-layer=only: evaluate sets this for its runs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_second_evaluation_reruns_the_pages(labelled, evaluated, tmp_path):
    """Not resumed from the rows an earlier evaluation wrote (they came from that day's code)."""
    shutil.copytree(evaluated, tmp_path, dirs_exist_ok=True)
    args = ["--data", str(labelled), "--output", str(tmp_path), "--languages", "eng,fra", "--skip", "handwriting,scans"]
    for path in (tmp_path / "run" / "pages" / "run_id=ocr").rglob("*.parquet"):
        table = pq.read_table(path)
        stale = table.set_column(table.schema.get_field_index("text"), "text", pa.array(["stale"] * table.num_rows))
        pq.write_table(stale, path)
    assert evaluate.main(args) == 0
    assert json.loads((tmp_path / "report.json").read_text())["categories"]["born_digital"]["cer"] < 0.02


def test_confidence_report_on_known_scores():
    def s(conf, cer):
        return Scored(Item("f", 1, "c", "g", "x"), "", conf, "ok", cer, cer, 1.0, 100, int(cer * 100), 10, 0)

    perfect = [s(0.9, 0.0), s(0.8, 0.01), s(0.3, 0.4), s(0.2, 0.6)]
    report = confidence_report(perfect)
    assert report["auroc"] == 1.0 and report["bad_pages"] == 2
    assert report["spearman_confidence_vs_cer"] == pytest.approx(-1.0)
    inverted = [s(0.2, 0.0), s(0.3, 0.01), s(0.8, 0.4), s(0.9, 0.6)]
    assert confidence_report(inverted)["auroc"] == 0.0
    assert confidence_report(perfect)["routing"][-1]["bad_pages_caught"] == 1  # 30% of 4 pages = 1 page: the worst
    flawless = confidence_report([s(0.9, 0.0), s(0.7, 0.0), s(0.5, 0.0)])  # no correlation to speak of
    assert flawless["spearman_confidence_vs_cer"] is None
    json.dumps(flawless, allow_nan=False)  # report.json stays JSON that every reader parses
