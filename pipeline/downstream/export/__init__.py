"""Exports archives already use, made from a run's Parquet: searchable PDF, ALTO XML, hOCR,
plain text and Markdown, one output per source document with its pages in order."""
