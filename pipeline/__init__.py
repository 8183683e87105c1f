"""Document digitization pipeline: stages, engines and the Ray wiring."""

import sys

PIPELINE_VERSION = "0.1.0"

# PyMuPDF 2 imports its optional layout analyser on `import pymupdf`, and that import loads an
# ONNX model: about 0.45 s of CPU and its memory in every process (each actor, each task
# worker). Only Page.get_layout uses it and nothing here calls it; a None entry makes that
# optional import fail quietly, as if the package were not installed.
sys.modules.setdefault("pymupdf.layout", None)
