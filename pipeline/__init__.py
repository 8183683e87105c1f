"""Document digitization pipeline: the run (run/), one page's text (page/), the engines
(engines/), quality tooling (quality/), tools over the output (downstream/) and the
synthetic-handwriting side stage (handwriting/)."""

import os
import sys

PIPELINE_VERSION = "0.1.0"

# PyMuPDF 2 imports its optional layout analyser on `import pymupdf`, and that import loads an
# ONNX model into every process (each actor, each task worker). Only Page.get_layout uses it and
# nothing here calls it; a None entry makes that import fail quietly, as if not installed.
sys.modules.setdefault("pymupdf.layout", None)
# and its find_tables then prints, in every worker, advice to install that analyser
os.environ.setdefault("PYMUPDF_SUGGEST_LAYOUT_ANALYZER", "0")
