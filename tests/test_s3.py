"""S3 in and out against a real S3-compatible server (SeaweedFS on 127.0.0.1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from connectors import discover
from connectors.filesystem import filesystem
from jobs.digitize import main as digitize
from pipeline.run.config import DigitizeConfig
from tests.s3_server import SECRET_KEY, seaweed
from tests.conftest import ensure_ray


@pytest.fixture(scope="module")
def s3(tmp_path_factory, corpus):
    folder, truth, bad = corpus
    with seaweed(tmp_path_factory.mktemp("seaweed")) as (endpoint, client):
        client.create_bucket(Bucket="archive")
        client.create_bucket(Bucket="results")
        for sub in ("good", "bad"):
            for path in sorted((folder / sub).iterdir()):
                client.put_object(Bucket="archive", Key=f"in/{sub}/{path.name}", Body=path.read_bytes())
        client.put_object(Bucket="archive", Key="notes/readme.txt", Body=b"not a document")
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        import ray

        ray.shutdown()  # a local Ray's workers take the environment (the credentials) it started with
        try:
            yield endpoint, client, truth, bad
        finally:
            os.environ.pop("AWS_ENDPOINT_URL", None)
            ray.shutdown()


@pytest.fixture(autouse=True)
def _ray():
    ensure_ray()


def _rows(uri: str) -> list[dict]:
    fs, path = filesystem(uri)
    return pads.dataset(path, format="parquet", filesystem=fs).to_table().to_pylist()


def test_s3_in_and_out(s3, capsys):
    endpoint, client, truth, bad = s3
    code = digitize(["--input", "s3://archive/in/", "--output", "s3://results/nightly", "--s3-endpoint", endpoint, "--run-id", "s3run"])
    assert code == 0
    rows = _rows("s3://results/nightly/pages/run_id=s3run")
    assert len(rows) == sum(len(p) for p in truth.values()) + len(bad)
    assert all(r["source_uri"].startswith("s3://archive/in/") for r in rows)
    errors = {r["source_uri"].rsplit("/", 1)[1]: r["error_kind"] for r in rows if r["status"] == "error"}
    assert errors == bad
    summary = json.loads(client.get_object(Bucket="results", Key="nightly/runs/s3run.json")["Body"].read())
    assert summary["complete"] and summary["rows_out"] == len(rows)
    assert client.head_object(Bucket="results", Key="nightly/review/run_id=s3run/review.parquet")
    printed = capsys.readouterr()
    assert SECRET_KEY not in printed.out + printed.err and SECRET_KEY not in json.dumps(summary)


def test_s3_in_local_out(s3, tmp_path):
    endpoint, _, truth, _ = s3
    assert digitize(["--input", "s3://archive/in/good/scanned.pdf", "--output", str(tmp_path), "--s3-endpoint", endpoint, "--run-id", "one"]) == 0
    rows = pads.dataset(tmp_path / "pages", format="parquet").to_table().to_pylist()
    assert sorted(r["page"] for r in rows) == [1, 2]


def test_listing_filters_extensions(s3):
    uris = [s.uri for s in discover("s3://archive/")]
    assert "s3://archive/notes/readme.txt" not in uris and "s3://archive/in/good/scanned.pdf" in uris


def test_prefix_without_documents_completes_with_zero_pages(s3, tmp_path, capsys):
    endpoint = s3[0]
    assert digitize(["--input", "s3://archive/notes/", "--output", str(tmp_path), "--s3-endpoint", endpoint, "--run-id", "none"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_permanent_errors_stop_before_any_page(s3, tmp_path, capsys, monkeypatch):
    endpoint = s3[0]
    assert digitize(["--input", "s3://no-such-bucket/x/", "--output", str(tmp_path / "a"), "--s3-endpoint", endpoint]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert digitize(["--input", "s3://archive/in/", "--output", "s3://no-such-results/x", "--s3-endpoint", endpoint]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    from connectors import s3 as s3mod

    s3mod.client.cache_clear()
    try:
        assert digitize(["--input", "s3://archive/in/", "--output", str(tmp_path / "b"), "--s3-endpoint", endpoint]) == 1
        err = capsys.readouterr().err
        assert "secret key does not match" in err and "wrong-secret" not in err
    finally:
        monkeypatch.undo()
        s3mod.client.cache_clear()
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_object_deleted_after_listing_is_an_error_row(s3, tmp_path):
    endpoint, client, _, _ = s3
    from pipeline.run.ray_job import run_pipeline

    client.put_object(Bucket="archive", Key="gone/doomed.pdf", Body=(Path(__file__).parent.parent / "samples/real/google-doc-document.pdf").read_bytes())
    sources = discover("s3://archive/gone/")
    client.delete_object(Bucket="archive", Key="gone/doomed.pdf")
    config = DigitizeConfig(input="s3://archive/gone/", output=str(tmp_path), run_id="gone", s3_endpoint=endpoint)
    rows = pads.dataset(run_pipeline(config, sources), format="parquet").to_table().to_pylist()
    assert [(r["status"], r["error_kind"]) for r in rows] == [("error", "not_found")]


def test_export_from_and_to_s3_resumes(s3):
    """Exports read the run's Parquet from S3 and write back there; a second pass skips what is written."""
    from pipeline.downstream.export.write import ExportConfig, export

    endpoint, client, truth, bad = s3
    assert digitize(["--input", "s3://archive/in/good/", "--output", "s3://results/forexport", "--s3-endpoint", endpoint,
                     "--run-id", "x", "--text-layer", "only"]) == 0
    cfg = ExportConfig(pages="s3://results/forexport", output="s3://results/exports", formats=("pdf", "alto", "txt"))
    first = export(cfg)
    assert first.documents == len(truth) and first.files > 0
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="results", Prefix="exports/")["Contents"]}
    assert "exports/born_digital.pdf" in keys and "exports/born_digital/page-0001.alto.xml" in keys
    again = export(cfg)
    assert again.skipped_existing == again.documents == first.documents and again.files == 0
