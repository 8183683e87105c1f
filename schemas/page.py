"""The page record: one Parquet row per input page, whatever happened to it.

Defined once here so the writer, the review export, the index and the tests agree.
Bump SCHEMA_VERSION on any change to the fields; readers check it.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "3"
# Versions this code reads: 2 added confidence_raw, 3 the blocks' engine; older files read
# with them null.
READABLE_VERSIONS = ("1", "2", "3")

BBOX = pa.list_(pa.float32(), 4)  # x0, y0, x1, y1 in rendered-page pixels

BLOCK = pa.struct(
    [
        ("kind", pa.string()),  # heading | paragraph | line | table | table_row
        ("bbox", BBOX),
        ("text", pa.string()),
        ("confidence", pa.float32()),
        ("engine", pa.string()),  # the engine that read it (--engine auto mixes them); null: the page's engine
    ]
)

TOKEN = pa.struct(
    [
        ("text", pa.string()),
        ("confidence", pa.float32()),  # probability in [0, 1]
        ("bbox", BBOX),  # null for engines without token geometry
    ]
)

TABLE = pa.struct(
    [
        ("index", pa.int32()),
        ("rows", pa.list_(pa.list_(pa.string()))),
    ]
)

CONFIDENCE_STATS = pa.struct(
    [
        ("mean", pa.float32()),
        ("p10", pa.float32()),
        ("low_share", pa.float32()),  # share of tokens under 0.5
        ("count", pa.int32()),
    ]
)

TIMINGS = pa.struct(
    [
        ("render_s", pa.float32()),
        ("recognize_s", pa.float32()),
    ]
)

PAGE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # sha256 of the file's bytes
        ("source_uri", pa.string()),
        ("page", pa.int32()),  # 1-based; 0 when the document could not be opened at all
        ("page_count", pa.int32()),  # pages the document claims; 0 when unknown
        ("status", pa.string()),  # ok | error | skipped
        ("error_kind", pa.string()),
        ("error", pa.string()),
        ("route", pa.string()),  # ocr | text_layer | none
        ("engine", pa.string()),
        ("model", pa.string()),
        ("text", pa.string()),
        ("markdown", pa.string()),
        ("blocks", pa.list_(BLOCK)),
        ("tokens", pa.list_(TOKEN)),
        ("token_unit", pa.string()),  # word | subword
        ("tables", pa.list_(TABLE)),
        ("language", pa.string()),
        ("confidence", pa.float32()),  # calibrated when the engine has a calibration: P(CER <= 5 %)
        ("confidence_raw", pa.float32()),  # the engine's own page score, before calibration
        ("confidence_stats", CONFIDENCE_STATS),
        ("needs_review", pa.bool_()),
        ("flags", pa.list_(pa.string())),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("dpi", pa.float32()),
        ("timings", TIMINGS),
        ("embedding", pa.list_(pa.float32())),  # pooled encoder embedding, with --emit-embeddings
        ("line_embeddings", pa.list_(pa.list_(pa.float32()))),  # one per "line" block, in order
        ("pipeline_version", pa.string()),
        ("schema_version", pa.string()),
        ("run_id", pa.string()),
    ],
    metadata={b"digitize.schema_version": SCHEMA_VERSION.encode()},
)

# The review queue carries what a reviewer needs, not the token stream.
REVIEW_COLUMNS = [
    "doc_id",
    "source_uri",
    "page",
    "page_count",
    "status",
    "error_kind",
    "error",
    "route",
    "engine",
    "model",
    "text",
    "markdown",
    "blocks",
    "confidence",
    "flags",
    "width",
    "height",
    "dpi",
    "run_id",
]
REVIEW_SCHEMA = pa.schema(
    [PAGE_SCHEMA.field(name) for name in REVIEW_COLUMNS],
    metadata=PAGE_SCHEMA.metadata,
)


class SchemaVersionError(ValueError):
    """A Parquet dataset written by another schema version."""


def check_schema_version(schema: pa.Schema, where: str) -> None:
    """Refuse data from a schema version this code cannot read, naming both versions."""
    found = (schema.metadata or {}).get(b"digitize.schema_version")
    if found is None and "schema_version" not in schema.names:
        raise SchemaVersionError(f"{where}: not a digitize page dataset (no schema version recorded)")
    if found is not None and found.decode() not in READABLE_VERSIONS:
        raise SchemaVersionError(
            f"{where}: written with page schema version {found.decode()}, "
            f"this code reads version {SCHEMA_VERSION}"
        )
