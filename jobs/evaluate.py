"""Run the real pipeline on a labelled folder and report accuracy and how well confidence
predicts errors.

    python jobs/evaluate.py --data DIR --output REPORT [--engine auto] [--model ...]
        [--languages auto|eng,fra,...] [--skip iam,uw3,dibco,cvl] [DIGITIZE OPTIONS]

The engine and languages default to digitize's, so that the figures are those of a default run.
Any other digitize option (--handwriting-model, --vlm-model, --rapidocr-model, --segmenter,
--dpi, --workers, ...) is passed to its run as it is, and checked by digitize before any page is read.

Born-digital PDFs are OCRed (`--text-layer ocr`) so the score is the engine's; their text-layer
route is reported separately. Writes REPORT/report.json, report.md and cer_vs_confidence.png.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from jobs import digitize
from pipeline.quality.calibration import DEFAULT_FEATURES, FEATURES, Calibration, default_path, fit
from pipeline.quality.confidence import calibration_effect
from pipeline.quality.items import discover_items
from pipeline.quality.report import write_report
from pipeline.quality.scored import BAD_PAGE_CER, aggregate, score
from pipeline.quality.truth import truth_problem
from pipeline.run.config import EngineConfig
from pipeline.run.pages_reader import iter_pages

# digitize options this job sets itself for its runs
OWN_OPTIONS = ("--input", "--run-id", "--text-layer", "--review-threshold", "--incremental", "--retry-errors")


def _run(files: list[str], out: Path, run_id: str, extra: list[str]) -> dict[tuple[str, int], dict]:
    # a fresh run: digitize would resume rows an earlier evaluation wrote, with that day's code
    shutil.rmtree(out / "run" / "pages" / f"run_id={run_id}", ignore_errors=True)
    listing = out / f"{run_id}_inputs.txt"
    listing.write_text("\n".join(sorted(set(files))) + "\n")
    code = digitize.main(["--input", str(listing), "--output", str(out / "run"), "--run-id", run_id, *extra])
    if code not in (0, 2):
        raise SystemExit(f"digitize failed with exit code {code}")
    rows = iter_pages(str(out / "run" / "pages" / f"run_id={run_id}"),
                      columns=["source_uri", "page", "text", "confidence", "confidence_raw", "confidence_stats", "blocks",
                               "status", "flags", "engine", "model", "width", "height", "dpi"])
    return {(r["source_uri"], r["page"]): r for r in rows}


def main(argv: list[str] | None = None) -> int:
    # no abbreviations: an option meant for digitize (--seg...) is never taken for one of these (--skip)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                epilog="Other digitize options are passed to its run (jobs/digitize.py --help).")
    p.add_argument("--data", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--engine", default=EngineConfig.name)
    p.add_argument("--model", default=None)
    p.add_argument("--languages", default=",".join(EngineConfig.languages))
    p.add_argument("--skip", default="", help="comma-separated folder-name parts to leave out")
    p.add_argument("--calibration", default=None,
                   help="calibration JSON to report before/after (default: pipeline/quality/calibrations/ENGINE.json if present; 'none' to skip)")
    p.add_argument("--fit-calibration", default=None, metavar="PATH",
                   help="fit a calibration on this labelled folder and write it to PATH (fit data, not evaluation data)")
    p.add_argument("--features", default=",".join(DEFAULT_FEATURES),
                   help=f"page signals the fitted calibration uses, comma-separated, from: {', '.join(FEATURES)}")
    a, passed = p.parse_known_args(argv)
    if own := [o for o in passed if o.split("=")[0] in OWN_OPTIONS]:
        p.error(f"{', '.join(own)}: evaluate sets this for its runs")
    data, out = Path(a.data).resolve(), Path(a.output).resolve()
    # the engine's raw score: the report compares it with the calibration chosen below
    engine_args = ["--engine", a.engine, "--languages", a.languages, "--calibration", "none"] + (
        ["--model", a.model] if a.model else []) + passed
    digitize.build_config(digitize.parse_args(["--input", str(data), "--output", str(out), *engine_args]))
    out.mkdir(parents=True, exist_ok=True)
    items = discover_items(data, tuple(s.strip().lower() for s in a.skip.split(",") if s.strip()))
    problems = [truth_problem(i) for i in items]
    excluded = [{"path": i.path, "page": i.page, "reason": why} for i, why in zip(items, problems) if why]
    items = [i for i, why in zip(items, problems) if not why]
    for e in excluded:
        print(f"evaluate: left out {Path(e['path']).name} page {e['page']}: {e['reason']}", flush=True)
    if not items:
        print(f"error: no labelled items under {data}", file=sys.stderr)
        return 1
    print(f"evaluate: {len(items)} labelled item(s) in {len({i.path for i in items})} file(s)", flush=True)
    started = time.perf_counter()
    rows = _run([i.path for i in items], out, "ocr", engine_args + ["--text-layer", "ocr", "--review-threshold", "0"])
    scored, page_rows = [], []
    for item in items:
        row = rows.get((item.path, item.page)) or {"text": "", "confidence": None, "status": "missing", "flags": []}
        page_rows.append(row)
        scored.append(score(item, row["text"], row["confidence"], row["status"], row["flags"] or []))
    if a.fit_calibration:
        fitted = fit(page_rows, [s.cer for s in scored], a.engine, BAD_PAGE_CER, fitted_on=str(data),
                     features=[f.strip() for f in a.features.split(",") if f.strip()])
        fitted.save(a.fit_calibration)
        print(f"evaluate: calibration fitted on {fitted.pages} pages ({fitted.bad_pages} bad) -> {a.fit_calibration}",
              flush=True)
    born = [i for i in items if i.category == "born_digital"]
    # `--languages auto` reads pages with different packs: each model that read a page, with its pages
    models = Counter(r["model"] for r in rows.values() if r.get("model"))
    extra: dict = {"engine": a.engine, "models": dict(sorted(models.items())),
                   "digitize_options": passed, "excluded": excluded}
    if born:
        tl_rows = _run([i.path for i in born], out, "text_layer", ["--text-layer", "only"])
        tl = [score(i, (tl_rows.get((i.path, i.page)) or {}).get("text", ""), None, "ok", []) for i in born]
        extra["text_layer_route"] = aggregate(tl)
    calibration_path = a.calibration or (str(default_path(a.engine)) if default_path(a.engine).exists() else "none")
    if calibration_path != "none" and not a.fit_calibration:
        extra["calibration"] = calibration_effect(Calibration.load(calibration_path), scored, page_rows, calibration_path)
    extra["wall_s"] = time.perf_counter() - started
    report = write_report(out, scored, extra)
    o, c = report["overall"], report["confidence"]
    print(f"evaluate: CER {o['cer']:.3f}, WER {o['wer']:.3f}, BoW F1 {o['bow_f1']:.3f}; confidence AUROC "
          f"{c['auroc'] if c['auroc'] is None else round(c['auroc'], 3)} -> {out / 'report.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
