"""The conversion ledger behind --incremental: what has been converted, from which bytes, with
which settings, so a nightly run processes only new or changed documents.

One row per source: URI, size, mtime, ETag, content hash (doc_id), the settings fingerprint
and the run that converted it. A document is done when its size, mtime and ETag match and the
fingerprint (engine, model, languages, rendering, text-layer rule, pipeline version) is the
same: a changed engine or model re-processes everything it touched.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import SourceFile
from connectors.filesystem import exists, filesystem, join
from pipeline import PIPELINE_VERSION
from pipeline.run.config import DigitizeConfig
from schemas import SCHEMA_VERSION

LEDGER_SCHEMA = pa.schema(
    [
        ("source_uri", pa.string()),
        ("size", pa.int64()),
        ("mtime", pa.float64()),
        ("etag", pa.string()),
        ("doc_id", pa.string()),
        ("fingerprint", pa.string()),
        ("run_id", pa.string()),
        ("converted_at", pa.float64()),
        ("isolation_errors", pa.int32()),  # pages that crashed, hung or bloated their worker
    ]
)


def fingerprint(config: DigitizeConfig) -> str:
    """Everything that changes what a page's row would say."""
    engine = asdict(config.engine)
    engine.pop("batch_size", None)  # speed, not output
    engine.pop("tessdata", None)
    if engine.get("vlm_model") is None:  # unset, rows read as before the option existed: no re-conversion
        engine.pop("vlm_model", None)
    settings = {
        "engine": engine,
        "render": asdict(config.render),
        "text_layer": asdict(config.text_layer),
        "calibration": config.calibration,
        "pipeline": PIPELINE_VERSION,
        "schema": SCHEMA_VERSION,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def ledger_path(config: DigitizeConfig) -> str:
    return join(config.output, "ledger", "ledger.parquet")


def load(config: DigitizeConfig) -> dict[str, dict]:
    fs, path = filesystem(ledger_path(config))
    if not exists(fs, path):
        return {}
    return {row["source_uri"]: row for row in pq.read_table(path, filesystem=fs).to_pylist()}


def pending(sources: list[SourceFile], ledger: dict[str, dict], fp: str, retry_errors: bool = False) -> list[SourceFile]:
    """The sources that are new, changed, or converted with other settings; with `retry_errors`,
    also those with pages whose worker crashed, hung or ran out of memory."""
    out = []
    for src in sources:
        seen = ledger.get(src.uri)
        if (
            seen is None
            or (retry_errors and (seen.get("isolation_errors") or 0) > 0)
            or seen["fingerprint"] != fp
            or seen["size"] != src.size
            or abs((seen["mtime"] or 0.0) - src.mtime) > 1e-3
            or (seen["etag"] or "") != (src.etag or "")
        ):
            out.append(src)
    return out


def record(config: DigitizeConfig, processed: list[SourceFile], doc_ids: dict[str, str], ledger: dict[str, dict],
           isolation_errors: dict[str, int] | None = None) -> str:
    """Merge this run's documents into the ledger and write it back (whole file, then replace)."""
    fp, now = fingerprint(config), time.time()
    for src in processed:
        ledger[src.uri] = dict(source_uri=src.uri, size=src.size, mtime=src.mtime, etag=src.etag, doc_id=doc_ids.get(src.uri),
                               fingerprint=fp, run_id=config.run_id, converted_at=now,
                               isolation_errors=(isolation_errors or {}).get(src.uri, 0))
    target = ledger_path(config)
    fs, path = filesystem(target)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = path + ".tmp"
    pq.write_table(pa.Table.from_pylist(list(ledger.values()), schema=LEDGER_SCHEMA), tmp, filesystem=fs, compression="zstd")
    fs.move(tmp, path)
    return target
