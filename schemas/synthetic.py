"""Synthetic handwriting rows: one generated line image and the text it was asked to write.

The image column is the struct Hugging Face `datasets` uses for its Image feature
({bytes, path}); the "huggingface" schema metadata declares it, so
`datasets.load_dataset("parquet", data_files=...)` yields PIL images ready for training.
"""

from __future__ import annotations

import json

import pyarrow as pa

SYNTHETIC_SCHEMA_VERSION = "1"

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])

_FIELDS = [
    ("image", IMAGE),  # PNG, 8-bit grey, LINE_HEIGHT rows
    ("text", pa.string()),
    ("style_id", pa.int32()),
    ("style", pa.string()),
    ("model", pa.string()),
    ("seed", pa.int64()),
    ("sampler", pa.string()),  # ddim | dpm
    ("steps", pa.int32()),
    ("guidance_scale", pa.float32()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("index", pa.int64()),  # position in the generation plan (text order, then repeats)
]

_HF_FEATURES = {
    "image": {"_type": "Image"},
    **{name: {"dtype": {pa.string(): "string", pa.int32(): "int32", pa.int64(): "int64",
                        pa.float32(): "float32"}[kind], "_type": "Value"}
       for name, kind in _FIELDS if name != "image"},
}

SYNTHETIC_SCHEMA = pa.schema(
    _FIELDS,
    metadata={
        b"digitize.synthetic_schema_version": SYNTHETIC_SCHEMA_VERSION.encode(),
        b"huggingface": json.dumps({"info": {"features": _HF_FEATURES}}).encode(),
    },
)
