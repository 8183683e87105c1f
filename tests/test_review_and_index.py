"""Review exports (Label Studio, CSV, HTML in headless Chromium), the import round trip, and the
full-text index, all on Parquet written by a real run of jobs/digitize.py."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from jobs import index as index_job
from jobs import review_export, review_import
from jobs.digitize import main as digitize
from pipeline.downstream.review_export import LABEL_CONFIG
from pipeline.run.pages_reader import iter_pages
from schemas import PAGE_SCHEMA, SCHEMA_VERSION
from tests.corpus import write_born_digital_pdf
from tests.conftest import ensure_ray


@pytest.fixture(scope="module")
def run_out(corpus, tmp_path_factory):
    """Scanned and born-digital pages, everything under a strict threshold so OCR pages need review."""
    ensure_ray()
    folder, truth, _ = corpus
    inputs = tmp_path_factory.mktemp("in")
    for name in ("scanned.pdf", "born_digital.pdf", "rotated_exif.jpg"):
        shutil.copy(folder / "good" / name, inputs / name)
    shutil.copy(folder / "bad" / "empty.pdf", inputs / "empty.pdf")
    out = tmp_path_factory.mktemp("out")
    assert digitize(["--input", str(inputs), "--output", str(out), "--run-id", "r1", "--review-threshold", "0.99",
                     "--languages", "eng,fra,deu"]) == 0
    return out, inputs, truth


def test_labelstudio_export_is_valid_for_label_studio(run_out, tmp_path):
    from label_studio_sdk.label_interface import LabelInterface

    out, _, _ = run_out
    assert review_export.main(["--pages", str(out), "--output", str(tmp_path), "--format", "labelstudio"]) == 0
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert tasks, "the OCR pages under a 0.99 threshold must be exported"
    interface = LabelInterface((tmp_path / "labeling_config.xml").read_text())
    for task in tasks:
        assert interface.validate_task({"data": task["data"]})
        for prediction in task["predictions"]:
            assert interface.validate_prediction(prediction, return_errors=True) == []
            assert prediction["result"], "every exported page carries its lines as regions"
        image = Image.open(tmp_path / task["data"]["image"])
        assert image.width > 100 and image.height > 100
    assert LABEL_CONFIG == (tmp_path / "labeling_config.xml").read_text()


def test_review_round_trip_finds_the_reviewers_corrections(run_out, tmp_path):
    out, _, _ = run_out
    review_export.main(["--pages", str(out), "--output", str(tmp_path / "export"), "--format", "labelstudio"])
    tasks = json.loads((tmp_path / "export" / "tasks.json").read_text())
    corrected = []
    for task in tasks:  # a reviewer accepts every region and fixes the text of the second one
        result = copy.deepcopy(task["predictions"][0]["result"])
        areas = [r for r in result if r["type"] == "textarea"]
        if len(areas) > 1:
            areas[1]["value"]["text"] = ["CORRECTED BY REVIEWER"]
        corrected.append({**task, "annotations": [{"result": result, "completed_by": 7}]})
    (tmp_path / "corrected.json").write_text(json.dumps(corrected))
    assert review_import.main(["--tasks", str(tmp_path / "corrected.json"), "--output", str(tmp_path / "gold")]) == 0
    gold = pq.read_table(tmp_path / "gold" / "gold.parquet").to_pylist()
    changed = [g for g in gold if g["line"] >= 0 and g["changed"]]
    expected = sum(1 for t in tasks if sum(r["type"] == "textarea" for r in t["predictions"][0]["result"]) > 1)
    assert len(changed) == expected > 0
    assert all(g["gold_text"] == "CORRECTED BY REVIEWER" and g["line"] == 1 for g in changed)
    pages = [g for g in gold if g["line"] == -1]
    assert len(pages) == len(tasks) and all("CORRECTED BY REVIEWER" in g["gold_text"] for g in pages if g["changed"])


def test_csv_export_and_threshold_selection(run_out, tmp_path):
    import csv

    out, _, _ = run_out
    assert review_export.main(["--pages", str(out), "--output", str(tmp_path / "all"), "--format", "csv", "--threshold", "1.01"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "all" / "review.csv")))
    assert review_export.main(["--pages", str(out), "--output", str(tmp_path / "none"), "--format", "csv", "--threshold", "0.0"]) == 0
    only_errors = list(csv.DictReader(open(tmp_path / "none" / "review.csv")))
    assert {r["status"] for r in only_errors} == {"error"}  # broken files always need a person
    assert len(rows) > len(only_errors)
    confidences = [float(r["confidence"]) for r in rows if r["confidence"]]
    assert confidences == sorted(confidences)  # lowest confidence first


def test_html_review_page_loads_in_headless_chromium(run_out, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: scripts/setup.sh installs it")
    out, _, _ = run_out
    assert review_export.main(["--pages", str(out), "--output", str(tmp_path), "--format", "html", "--max-pages", "2"]) == 0
    page = (tmp_path / "index.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert "<img" in dom and "Review queue: 2 page(s)" in dom and "<pre>" in dom
    assert "tesseract-" in dom and ":eng+fra+deu" in dom  # what read each page, for the reviewer
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, "--window-size=1200,900", f"--screenshot={shot}", page], capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("L"))
    left = pixels[100:800, :560]  # where the first page image is drawn
    assert (left < 128).mean() > 0.001, "the page image did not render"


def test_empty_review_and_foreign_schema_are_explained(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert review_export.main(["--pages", str(tmp_path / "empty"), "--output", str(tmp_path / "x")]) == 0
    assert "no pages need review" in capsys.readouterr().out
    (tmp_path / "foreign").mkdir()
    table = pa.table({"doc_id": ["a"], "schema_version": ["0"]}).replace_schema_metadata({b"digitize.schema_version": b"0"})
    pq.write_table(table, tmp_path / "foreign" / "part.parquet")
    assert review_export.main(["--pages", str(tmp_path / "foreign"), "--output", str(tmp_path / "y")]) == 1
    err = capsys.readouterr().err
    assert "version 0" in err and f"version {SCHEMA_VERSION}" in err
    assert index_job.main(["build", "--pages", str(tmp_path / "foreign"), "--index", str(tmp_path / "idx")]) == 1


def test_a_version_1_page_file_is_still_read(run_out, tmp_path):
    """Version 2 only added confidence_raw: last month's output must still export and index."""
    out, _, _ = run_out
    rows = list(iter_pages(str(out / "pages")))
    v1 = PAGE_SCHEMA.remove(PAGE_SCHEMA.get_field_index("confidence_raw")).with_metadata({b"digitize.schema_version": b"1"})
    (tmp_path / "v1").mkdir()
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in v1.names} for r in rows], schema=v1), tmp_path / "v1" / "part.parquet")
    old = list(iter_pages(str(tmp_path / "v1")))
    assert len(old) == len(rows) and all(r["confidence_raw"] is None for r in old)
    assert [r["text"] for r in old] == [r["text"] for r in rows]
    assert index_job.main(["build", "--pages", str(tmp_path / "v1"), "--index", str(tmp_path / "idx")]) == 0


def test_index_finds_a_phrase_on_its_page_and_updates_incrementally(run_out, tmp_path, capsys):
    out, inputs, truth = run_out
    idx = str(tmp_path / "index")
    assert index_job.main(["build", "--pages", str(out / "pages"), "--index", idx]) == 0
    capsys.readouterr()
    # a phrase from page 2 of the born-digital PDF (French) and one from the scanned PDF
    assert index_job.main(["search", "--index", idx, '"registres paroissiaux"', "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and hits[0]["source_uri"].endswith("born_digital.pdf") and hits[0]["page"] == 2
    assert "<b>" in hits[0]["snippet"] and hits[0]["language"] == "fr"
    # language-aware: the French stemmer matches a singular query against the plural text
    assert index_job.main(["search", "--index", idx, "registre", "--language", "fr", "--json"]) == 0
    [stemmed] = [h for h in json.loads(capsys.readouterr().out) if h["page"] == 2]
    assert "<b>registres</b>" in stemmed["snippet"]  # found by its stem, and shown where it is
    assert index_job.main(["search", "--index", idx, "registre", "--language", "de", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # an apostrophe is query syntax to tantivy; a French phrase with one still searches
    assert index_job.main(["search", "--index", idx, "s'est réuni le conseil", "--json"]) == 0
    assert any(h["source_uri"].endswith("born_digital.pdf") for h in json.loads(capsys.readouterr().out))
    # nothing new: a second build reads no file
    assert index_job.main(["build", "--pages", str(out / "pages"), "--index", idx]) == 0
    assert "nothing new" in capsys.readouterr().out
    # a nightly run re-converts born_digital.pdf and adds a new document
    write_born_digital_pdf(inputs / "new.pdf", [("Annex", ["The lighthouse keeper wrote every evening."])])
    assert digitize(["--input", str(inputs / "born_digital.pdf"), "--output", str(out), "--run-id", "r2"]) == 0
    assert digitize(["--input", str(inputs / "new.pdf"), "--output", str(out), "--run-id", "r3"]) == 0
    assert index_job.main(["build", "--pages", str(out / "pages"), "--index", idx]) == 0
    assert "from 2 new file(s)" in capsys.readouterr().out
    assert index_job.main(["search", "--index", idx, "lighthouse keeper", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["source_uri"].endswith("new.pdf")
    assert index_job.main(["search", "--index", idx, '"registres paroissiaux"', "--json", "--limit", "50"]) == 0
    assert [h["page"] for h in json.loads(capsys.readouterr().out) if h["source_uri"].endswith("born_digital.pdf")] == [2]
    assert index_job.main(["search", "--index", idx, "registres", "--min-confidence", "1.1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
