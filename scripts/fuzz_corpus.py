"""Mutate real documents and run the real job on the mutants: every file must end as rows that
account for every page it claims (or one error row), with no hang and no crash of the job.

    .venv/bin/python scripts/fuzz_corpus.py --output out/fuzz [--count 200] [--seed 0] [--seeds DIR ...]

Mutations, seeded and repeatable: truncation, flipped bytes, zeroed and duplicated ranges, a
broken PDF cross-reference offset, a huge declared page or image size (PDF MediaBox, PNG IHDR,
JPEG SOF, TIFF ImageWidth), and deeply nested PDF arrays. Writes report.json (files tried, rows,
errors by kind, crashes survived, hangs cut, lost pages) and keeps the mutants of any file
whose accounting failed in `failures/`, to commit as regression tests.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = [ROOT / "samples" / "real", ROOT / "samples" / "generated", ROOT / "samples" / "malformed"]
SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(0, max(0, len(data) - 1))]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 32)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def zero_range(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    end = min(len(data), start + rng.randint(1, 4096))
    return data[:start] + bytes(end - start) + data[end:]


def duplicate_range(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, 8192)]
    at = rng.randrange(len(data))
    return data[:at] + chunk * rng.randint(1, 8) + data[at:]


def break_xref(data: bytes, rng: random.Random) -> bytes:
    return re.sub(rb"startxref\s+(\d+)", lambda m: b"startxref\n" + str(rng.randint(0, 10**9)).encode(), data)


def huge_size(data: bytes, rng: random.Random) -> bytes:
    big = rng.choice([2**31 - 1, 10**6, 65535, 0])
    if data.startswith(b"%PDF"):
        return re.sub(rb"/MediaBox\s*\[[^\]]*\]", b"/MediaBox [0 0 %d %d]" % (big, big), data, count=1)
    if data.startswith(b"\x89PNG") and len(data) > 24:
        return data[:16] + struct.pack(">II", big, big) + data[24:]
    if data[:2] == b"\xff\xd8":
        at = data.find(b"\xff\xc0")
        if at >= 0:
            return data[: at + 5] + struct.pack(">HH", big & 0xFFFF, big & 0xFFFF) + data[at + 9 :]
    if data[:2] in (b"II", b"MM"):
        marker = struct.pack("<H" if data[:2] == b"II" else ">H", 256)  # ImageWidth tag
        at = data.find(marker, 8)
        if at >= 0:
            fmt = "<I" if data[:2] == b"II" else ">I"
            return data[: at + 8] + struct.pack(fmt, big) + data[at + 12 :]
    return flip_bytes(data, rng)


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    if not data.startswith(b"%PDF"):
        return truncate(data, rng)
    depth = rng.choice([1000, 10000, 100000])
    return re.sub(rb"/MediaBox", b"/Nest " + b"[" * depth + b"]" * depth + b" /MediaBox", data, count=1)


MUTATIONS = [truncate, flip_bytes, zero_range, duplicate_range, break_xref, huge_size, deep_nesting]


def make_mutants(seeds: list[Path], folder: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    files = sorted(p for d in seeds for p in d.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise SystemExit("no seed documents found")
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        source = rng.choice(files)
        mutation = rng.choice(MUTATIONS)
        data = mutation(source.read_bytes(), rng)
        path = folder / f"{i:05d}_{mutation.__name__}_{source.stem[:24]}{source.suffix.lower()}"
        path.write_bytes(data)
        out.append(path)
    return out


def check(rows: list[dict], mutants: list[Path]) -> dict:
    """Page accounting per mutant: rows 1..page_count once each, or one page-0 error row."""
    by_file: dict[str, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["source_uri"], []).append(r)
    lost, bad_files = 0, []
    for path in mutants:
        got = by_file.get(str(path), [])
        claimed = max((r["page_count"] or 0 for r in got), default=0)
        expected = list(range(1, claimed + 1)) or [0]
        pages = sorted(r["page"] for r in got)
        if pages != expected:
            lost += len(set(expected) - set(pages)) or 1
            bad_files.append(str(path))
    return {"lost_pages": lost, "files_failing_accounting": bad_files}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", nargs="*", type=Path, default=None, help="folders of documents to mutate")
    p.add_argument("--page-timeout", type=float, default=60.0)
    p.add_argument("--time-limit", type=float, default=3600.0, help="the job must end within this")
    a = p.parse_args(argv)
    out = Path(a.output).resolve()
    shutil.rmtree(out / "mutants", ignore_errors=True)
    mutants = make_mutants([s for s in (a.seeds or DEFAULT_SEEDS) if s.exists()], out / "mutants", a.count, a.seed)
    print(f"fuzz: {len(mutants)} mutant(s) in {out / 'mutants'}", flush=True)
    started = time.monotonic()
    job = subprocess.run([sys.executable, str(ROOT / "jobs" / "digitize.py"), "--input", str(out / "mutants"),
                          "--output", str(out / "run"), "--run-id", f"fuzz{a.seed}", "--page-timeout", str(a.page_timeout)],
                         capture_output=True, text=True, timeout=a.time_limit)
    wall = time.monotonic() - started
    sys.path.insert(0, str(ROOT))
    from pipeline.run.pages_reader import iter_pages

    rows = list(iter_pages(str(out / "run" / "pages" / f"run_id=fuzz{a.seed}"),
                           columns=["source_uri", "page", "page_count", "status", "error_kind"]))
    accounting = check(rows, mutants)
    kinds = Counter(r["error_kind"] for r in rows if r["status"] == "error")
    report = {
        "files_tried": len(mutants), "rows": len(rows), "job_exit_code": job.returncode, "wall_s": round(wall, 1),
        "errors_by_kind": dict(kinds), "crashes_survived": kinds.get("worker_crashed", 0),
        "hangs_cut": kinds.get("timeout", 0), "out_of_memory": kinds.get("out_of_memory", 0), **accounting,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    if accounting["files_failing_accounting"]:
        (out / "failures").mkdir(exist_ok=True)
        for f in accounting["files_failing_accounting"]:
            shutil.copy(f, out / "failures")
    print(json.dumps(report, indent=2), flush=True)
    if job.returncode != 0:
        print(job.stderr[-3000:], file=sys.stderr)
    return 0 if job.returncode == 0 and not accounting["lost_pages"] else 1


if __name__ == "__main__":
    sys.exit(main())
