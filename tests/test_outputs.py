"""The run summary reads the pages on disk through the one version-checked reader."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.run.config import DigitizeConfig
from pipeline.run.outputs import summarize
from pipeline.run.records import new_row, to_table
from schemas import PAGE_SCHEMA, SCHEMA_VERSION, SchemaVersionError


def _config(tmp_path) -> DigitizeConfig:
    return DigitizeConfig(input=str(tmp_path / "in"), output=str(tmp_path / "out"), run_id="r")


def test_the_summary_accounts_for_the_pages_written(tmp_path):
    rows = [new_row(doc_id="d", source_uri="/in/a.pdf", page=p, page_count=3, status=s, error_kind=k, route="ocr")
            for p, s, k in [(1, "ok", None), (2, "error", "corrupt_page"), (3, "ok", None)]]
    pq.write_table(to_table(rows, PAGE_SCHEMA), tmp_path / "part.parquet")
    summary = summarize(_config(tmp_path), ["/in/a.pdf", "/in/b.pdf"], str(tmp_path), 1.0)
    assert (summary.pages_in, summary.rows_out, summary.pages_error) == (4, 3, 1)
    assert summary.missing_documents == ["/in/b.pdf"] and not summary.complete
    assert summary.errors_by_kind == {"corrupt_page": 1}


def test_the_summary_refuses_pages_of_a_foreign_schema_version(tmp_path):
    table = pa.table({"source_uri": ["/in/a.pdf"], "page": [1]}).replace_schema_metadata({b"digitize.schema_version": b"0"})
    pq.write_table(table, tmp_path / "part.parquet")
    with pytest.raises(SchemaVersionError, match=f"version 0.*version {SCHEMA_VERSION}"):
        summarize(_config(tmp_path), ["/in/a.pdf"], str(tmp_path), 1.0)


def test_a_run_that_wrote_nothing_has_an_empty_summary(tmp_path):
    summary = summarize(_config(tmp_path), [], str(tmp_path / "never-written"), 1.0)
    assert summary.rows_out == 0 and summary.complete
