"""Document digitization pipeline: stages, engines and the Ray wiring."""

PIPELINE_VERSION = "0.1.0"
