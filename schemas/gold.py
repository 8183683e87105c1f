"""Gold text from human review: one row per corrected region (line or block) of a page.

`line` is the region's index in the task (0-based, reading order); a page-level row with
line = -1 carries the whole page's corrected text, lines joined in order.
"""

from __future__ import annotations

import pyarrow as pa

GOLD_SCHEMA_VERSION = "1"

GOLD_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("page", pa.int32()),
        ("line", pa.int32()),
        ("bbox_pct", pa.list_(pa.float32(), 4)),  # x, y, width, height in percent of the page image
        ("machine_text", pa.string()),
        ("gold_text", pa.string()),
        ("changed", pa.bool_()),
        ("annotator", pa.string()),
        ("source_uri", pa.string()),
    ],
    metadata={b"digitize.gold_schema_version": GOLD_SCHEMA_VERSION.encode()},
)
