"""Plain records the stages pass around, and how they become rows of the page schema."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline import PIPELINE_VERSION
from schemas import PAGE_SCHEMA, SCHEMA_VERSION

# Columns that travel between stages but are not part of the written page record.
WORK_COLUMNS = [("image", pa.large_binary()), ("image_mode", pa.string())]
WORK_SCHEMA = pa.schema(list(PAGE_SCHEMA) + [pa.field(n, t) for n, t in WORK_COLUMNS], metadata=PAGE_SCHEMA.metadata)

REF_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source_uri", pa.string()),
        ("page", pa.int32()),
        ("page_last", pa.int32()),  # the reference covers page..page_last; null: just `page`
        ("page_count", pa.int32()),
        ("status", pa.string()),
        ("error_kind", pa.string()),
        ("error", pa.string()),
        ("run_id", pa.string()),
    ]
)


@dataclass
class Block:
    kind: str
    bbox: list[float] | None
    text: str
    confidence: float | None
    engine: str | None = None


@dataclass
class Token:
    text: str
    confidence: float
    bbox: list[float] | None = None


@dataclass
class Recognition:
    """What an engine returns for one page image."""

    text: str
    markdown: str
    blocks: list[Block] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    token_unit: str = "word"
    tables: list[list[list[str]]] = field(default_factory=list)
    confidence: float | None = None
    flags: list[str] = field(default_factory=list)
    language: str | None = None
    model: str | None = None  # the model that read this page, where the engine picks one per page
    embedding: list[float] | None = None  # pooled page embedding (--emit-embeddings)
    line_embeddings: list[list[float]] | None = None  # one per "line" block, in block order


def new_row(**values: Any) -> dict[str, Any]:
    """A row with every page-schema column present; unspecified ones are null."""
    row: dict[str, Any] = {name: None for name in WORK_SCHEMA.names}
    row.update(flags=[], pipeline_version=PIPELINE_VERSION, schema_version=SCHEMA_VERSION)
    row.update(values)
    return row


def apply_recognition(row: dict[str, Any], rec: Recognition) -> None:
    row["text"] = rec.text
    row["markdown"] = rec.markdown
    row["blocks"] = [asdict(b) for b in rec.blocks]
    row["tokens"] = [asdict(t) for t in rec.tokens]
    row["token_unit"] = rec.token_unit
    row["tables"] = [{"index": i, "rows": rows} for i, rows in enumerate(rec.tables)]
    row["language"] = rec.language
    row["embedding"] = rec.embedding
    row["line_embeddings"] = rec.line_embeddings
    row["flags"] = list(row.get("flags") or []) + [f for f in rec.flags if f not in (row.get("flags") or [])]


def to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows to a table of `schema`; page images go in without a copy (one chunk per row)."""
    if "image" not in schema.names:
        return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema=schema)
    small = schema.remove(schema.get_field_index("image"))
    table = pa.Table.from_pylist([{k: r.get(k) for k in small.names} for r in rows], schema=small)
    chunks = [_binary_chunk(r.get("image")) for r in rows]
    images = pa.chunked_array(chunks, type=pa.large_binary()) if chunks else pa.chunked_array([], type=pa.large_binary())
    return table.add_column(schema.get_field_index("image"), schema.field("image"), images).replace_schema_metadata(schema.metadata)


def _binary_chunk(value: bytes | pa.Buffer | None) -> pa.Array:
    if value is None:
        return pa.array([None], type=pa.large_binary())
    data = value if isinstance(value, pa.Buffer) else pa.py_buffer(value)
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, data])
