"""An evaluation's report: report.json, report.md (tables through the pipeline's own Markdown
table writer) and the CER-against-confidence plot."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from pipeline.page.tables import to_markdown_table
from pipeline.quality.confidence import confidence_report
from pipeline.quality.plots import plot_cer_vs_confidence
from pipeline.quality.scored import Scored, aggregate


def write_report(folder: Path, scored: list[Scored], extra: dict) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    categories = sorted({s.item.category for s in scored})
    report = {
        "overall": aggregate(scored),
        "categories": {c: aggregate([s for s in scored if s.item.category == c]) for c in categories},
        "groups": {g: aggregate([s for s in scored if s.item.group == g]) for g in sorted({s.item.group for s in scored})},
        "confidence": confidence_report(scored),
        "items": [{**{k: v for k, v in asdict(s.item).items() if k != "truth"}, "cer": s.cer, "wer": s.wer, "bow_f1": s.bow_f1,
                   "confidence": s.confidence, "status": s.status, "flags": s.flags} for s in scored],
        **extra,
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    plot_cer_vs_confidence(folder / "cer_vs_confidence.png", scored)
    (folder / "report.md").write_text(markdown_report(report))
    return report


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _share(bins: dict | None) -> str:
    return f"{bins['predicted_bad_share']:.2f} / {bins['observed_bad_share']:.2f} ({bins['pages']})" if bins else "-"


def _calibration_section(cal: dict) -> list[str]:
    lines = ["", f"Calibration `{cal['file']}` (fitted on {cal['fit_pages']} pages of {cal['fitted_on']}):", ""]
    rows = [["score", "AUROC", "Spearman", "Brier", "bad caught at 10 % / 20 % / 30 % review"]]
    for name in ("raw", "calibrated"):
        c = cal[name]
        caught = " / ".join(_fmt(r["bad_share_caught"]) for r in c["routing"] if r["review_share"] in (0.1, 0.2, 0.3))
        rows.append([name, _fmt(c["auroc"]), _fmt(c["spearman_confidence_vs_cer"]), _fmt(c["brier"]), caught])
    lines.append(to_markdown_table(rows))
    if cal.get("by_category"):
        rows = [["category", "pages", "calibrated: predicted / observed bad share",
                 "bad pages with words right (BoW F1 >= 0.85)"]]
        rows += [[name, str(c["pages"]), f"{c['predicted_bad_share']:.2f} / {c['observed_bad_share']:.2f}",
                  str(c["bad_with_words_right"])] for name, c in cal["by_category"].items()]
        lines += ["", to_markdown_table(rows)]
    raw_bins = {r["confidence"]: r for r in cal["raw"]["reliability"]}
    cal_bins = {r["confidence"]: r for r in cal["calibrated"]["reliability"]}
    rows = [["confidence bin", "raw: predicted / observed bad share (pages)", "calibrated: the same"]]
    rows += [[key, _share(raw_bins.get(key)), _share(cal_bins.get(key))] for key in sorted(set(raw_bins) | set(cal_bins))]
    return lines + ["", to_markdown_table(rows)]


def markdown_report(report: dict) -> str:
    options = " ".join(report.get("digitize_options") or [])
    lines = ["# Evaluation", "", f"Engine: {report.get('engine')}" + (f", digitize options: `{options}`" if options else ""), ""]
    models = report.get("models") or {}
    if models:
        lines += ["Pages read by each model:", ""] + [f"- `{m}`: {n}" for m, n in models.items()] + [""]
    rows = [["category", "items", "CER", "WER", "BoW F1"]]
    rows += [[name, str(agg["items"]), _fmt(agg["cer"]), _fmt(agg["wer"]), _fmt(agg["bow_f1"])]
             for name, agg in [("overall", report["overall"])] + sorted(report["categories"].items())]
    lines.append(to_markdown_table(rows))
    conf = report["confidence"]
    lines += ["", f"Confidence as a detector of bad pages (CER > {conf['bad_page_cer']:.0%}): AUROC {_fmt(conf['auroc'])}, "
              f"Spearman(confidence, CER) {_fmt(conf['spearman_confidence_vs_cer'])}, {conf['bad_pages']} bad of {conf['pages']} pages.", ""]
    rows = [["review share", "pages", "threshold", "bad pages caught"]]
    rows += [[f"{r['review_share']:.0%}", str(r["pages_to_review"]), f"{r['threshold']:.3f}", _fmt(r["bad_share_caught"])]
             for r in conf["routing"]]
    lines.append(to_markdown_table(rows))
    if "text_layer_route" in report:
        tl = report["text_layer_route"]
        lines += ["", f"Text-layer route on born-digital pages (no OCR): {tl['items']} pages, CER {_fmt(tl['cer'])}, BoW F1 {_fmt(tl['bow_f1'])}."]
    if report.get("excluded"):
        lines += ["", f"Left out, their reference cannot score OCR ({len(report['excluded'])} items):", ""]
        lines += [f"- {Path(e['path']).name} page {e['page']}: {e['reason']}" for e in report["excluded"]]
    if "calibration" in report:
        lines += _calibration_section(report["calibration"])
    lines += ["", "![CER against confidence](cer_vs_confidence.png)", ""]
    return "\n".join(lines)
