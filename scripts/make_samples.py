"""Regenerate samples/generated/: documents with known text (see tests/corpus.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.corpus import make_bad_files, make_corpus  # noqa: E402

if __name__ == "__main__":
    out = ROOT / "samples" / "generated"
    truth = make_corpus(out)
    bad = make_bad_files(out / "bad")
    (ROOT / "samples" / "truth" / "generated.json").write_text(json.dumps({"pages": truth, "errors": bad}, indent=2, ensure_ascii=False))
    print(f"wrote {len(truth) + len(bad)} files to {out}")
