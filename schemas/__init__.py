"""Arrow/Parquet schemas of the pipeline's outputs."""

from schemas.page import (
    PAGE_SCHEMA,
    REVIEW_COLUMNS,
    REVIEW_SCHEMA,
    SCHEMA_VERSION,
    SchemaVersionError,
    check_schema_version,
)

__all__ = [
    "PAGE_SCHEMA",
    "REVIEW_COLUMNS",
    "REVIEW_SCHEMA",
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "check_schema_version",
]
