"""Tools that read a run's Parquet (through pipeline.run.pages_reader): the review export and import, the search index."""
