"""Accuracy and confidence evaluation on a labelled folder laid out like ../shared/data.

Items (one page or one line image each, with its reference text):
- born-digital PDFs: NAME.pdf beside NAME.txt (the text layer, pages split by form feed);
- scans: an image or PDF beside NAME.txt, NAME.gt.txt or NAME.gold.txt (one page);
- line, word and paragraph images listed in labels.jsonl / handwriting_labels.jsonl.
The category of an item is its top folder (born_digital, scans, handwriting, ...).

Metrics after pipeline.metrics.normalize: CER and WER (rapidfuzz edit distance), and
bag-of-words F1, since a text layer's reading order is its producer's, not the truth.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from connectors.types import SUPPORTED_EXTENSIONS
from pipeline.metrics import bow_f1, normalize
from rapidfuzz.distance import Levenshtein

TRUTH_SUFFIXES = (".gt.txt", ".gold.txt", ".txt")
BAD_PAGE_CER = 0.05
REVIEW_SHARES = (0.05, 0.10, 0.20, 0.30)
TRUTH_MIN_PRINTABLE = 0.9  # below this share of printable characters a text layer is not a reference


@dataclass
class Item:
    path: str  # the document file
    page: int  # 1-based page in that file
    category: str
    group: str  # the item's folder, e.g. born_digital/multicolumn_latex
    truth: str


@dataclass
class Scored:
    item: Item
    text: str
    confidence: float | None
    status: str
    cer: float
    wer: float
    bow_f1: float
    ref_chars: int
    char_edits: int
    ref_words: int
    word_edits: int
    flags: list[str] = field(default_factory=list)


def _truth_for(path: Path) -> Path | None:
    for suffix in TRUTH_SUFFIXES:
        candidate = path.with_name(path.name[: -len(path.suffix)] + suffix)
        if candidate.is_file():
            return candidate
    return None


def _pdf_pages(path: Path, text: str) -> list[str]:
    """Per-page truth: the form-feed split when it gives one part per page; otherwise (a text
    layer that itself contains form feeds) each page's text layer, read the way the truth file
    was made (PyMuPDF's page.get_text())."""
    import pymupdf

    parts = text.split("\f")
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    with pymupdf.open(path) as doc:
        if len(parts) == doc.page_count:
            return parts
        return [page.get_text() for page in doc]


def discover_items(root: Path, skip: tuple[str, ...] = ()) -> list[Item]:
    """Labelled items under `root`; folders whose name contains any of `skip` are left out."""
    items: list[Item] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(s in str(rel).lower() for s in skip) or not path.is_file():
            continue
        category, group = rel.parts[0], str(rel.parent)
        if path.suffix.lower() in SUPPORTED_EXTENSIONS:
            truth_path = _truth_for(path)
            if truth_path is None:
                continue
            text = truth_path.read_text(encoding="utf-8", errors="replace")
            if path.suffix.lower() == ".pdf" and ("\f" in text or category == "born_digital"):
                for i, page_text in enumerate(_pdf_pages(path, text)):
                    if page_text.strip():
                        items.append(Item(str(path), i + 1, category, group, page_text))
            else:
                items.append(Item(str(path), 1, category, group, text))
        elif path.name in ("labels.jsonl", "handwriting_labels.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                image = next((base / record["image"] for base in (path.parent, root, *path.parents) if (base / record["image"]).is_file()), None)
                if image is None or any(s in str(image).lower() for s in skip):
                    continue
                image_rel = image.relative_to(root) if image.is_relative_to(root) else Path(category) / image.name
                items.append(Item(str(image), 1, image_rel.parts[0], str(image_rel.parent), record["text"]))
    return items


def truth_problem(item: Item) -> str | None:
    """Why an item's reference cannot score OCR, or None. A born-digital PDF's text layer is the
    truth only when it is text: a font without a Unicode map (TAMReview in ../shared/data) gives a
    layer of control characters while the page shows plain English, so OCR that reads the page
    right would count as 90 % wrong. The text-layer route's printable-share rule, at a lower bar:
    a page of formulas keeps a few private-use bracket pieces (GeoTopo: 96 % printable) and its
    truth is still good."""
    from pipeline.config import TextLayerConfig
    from pipeline.text_layer import assess

    if not item.path.lower().endswith(".pdf"):
        return None
    verdict = assess(item.truth, 0.0, TextLayerConfig(min_valid_ratio=TRUTH_MIN_PRINTABLE))
    if verdict.reason == "garbled_text_layer":
        return f"reference text layer garbled: {verdict.valid_ratio:.0%} of its characters printable"
    return None


def score(item: Item, text: str, confidence: float | None, status: str, flags: list[str]) -> Scored:
    ref, hyp = normalize(item.truth), normalize(text or "")
    char_edits = Levenshtein.distance(ref, hyp)
    ref_words, hyp_words = ref.split(), hyp.split()
    word_edits = Levenshtein.distance(ref_words, hyp_words)
    return Scored(
        item=item, text=text or "", confidence=confidence, status=status,
        cer=char_edits / max(len(ref), 1), wer=word_edits / max(len(ref_words), 1), bow_f1=bow_f1(item.truth, text or ""),
        ref_chars=len(ref), char_edits=char_edits, ref_words=len(ref_words), word_edits=word_edits, flags=flags,
    )


def aggregate(scored: list[Scored]) -> dict:
    """Micro-averaged CER/WER (edits over reference length) and mean BoW F1."""
    if not scored:
        return {"items": 0, "cer": None, "wer": None, "bow_f1": None}
    return {
        "items": len(scored),
        "cer": sum(s.char_edits for s in scored) / max(1, sum(s.ref_chars for s in scored)),
        "wer": sum(s.word_edits for s in scored) / max(1, sum(s.ref_words for s in scored)),
        "bow_f1": float(np.mean([s.bow_f1 for s in scored])),
        "median_item_cer": float(np.median([s.cer for s in scored])),
    }


def confidence_report(scored: list[Scored], confidence_of=lambda s: s.confidence) -> dict:
    """How well confidence finds bad pages (CER over 5%): AUROC, Spearman, and the routing table."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    usable = [s for s in scored if confidence_of(s) is not None]
    conf = np.array([confidence_of(s) for s in usable], dtype=float)
    cer = np.array([s.cer for s in usable], dtype=float)
    bad = cer > BAD_PAGE_CER
    out: dict = {"pages": len(usable), "bad_pages": int(bad.sum()), "bad_page_cer": BAD_PAGE_CER}
    out["auroc"] = float(roc_auc_score(bad, -conf)) if 0 < bad.sum() < len(bad) else None
    out["spearman_confidence_vs_cer"] = float(spearmanr(conf, cer).statistic) if len(usable) > 2 else None
    routing = []
    for share in REVIEW_SHARES:
        k = max(1, int(round(share * len(usable))))
        order = np.argsort(conf, kind="stable")[:k]  # the k least confident pages go to review
        caught = int(bad[order].sum())
        routing.append({"review_share": share, "pages_to_review": k, "threshold": float(conf[order].max()),
                        "bad_pages_caught": caught, "bad_share_caught": caught / bad.sum() if bad.sum() else None})
    out["routing"] = routing
    return out


def write_report(folder: Path, scored: list[Scored], extra: dict) -> dict:
    """report.json, report.md and the CER-vs-confidence plot."""
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
    _plot(folder / "cer_vs_confidence.png", scored)
    (folder / "report.md").write_text(markdown_report(report))
    return report


def _plot(path: Path, scored: list[Scored]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for category in sorted({s.item.category for s in scored}):
        pts = [(s.confidence, min(s.cer, 1.0)) for s in scored if s.item.category == category and s.confidence is not None]
        if pts:
            ax.scatter(*zip(*pts), label=category, alpha=0.7, s=18)
    ax.axhline(BAD_PAGE_CER, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("page confidence")
    ax.set_ylabel("CER (clipped at 1)")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.legend(fontsize=8)
    ax.set_title("CER against confidence")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown_report(report: dict) -> str:
    lines = ["# Evaluation", "", f"Engine: {report.get('engine')}, model: {report.get('model')}", "",
             "| category | items | CER | WER | BoW F1 |", "|---|---|---|---|---|"]
    for name, agg in [("overall", report["overall"])] + sorted(report["categories"].items()):
        lines.append(f"| {name} | {agg['items']} | {_fmt(agg['cer'])} | {_fmt(agg['wer'])} | {_fmt(agg['bow_f1'])} |")
    conf = report["confidence"]
    lines += ["", f"Confidence as a detector of bad pages (CER > {conf['bad_page_cer']:.0%}): AUROC {_fmt(conf['auroc'])}, "
              f"Spearman(confidence, CER) {_fmt(conf['spearman_confidence_vs_cer'])}, {conf['bad_pages']} bad of {conf['pages']} pages.",
              "", "| review share | pages | threshold | bad pages caught |", "|---|---|---|---|"]
    for row in conf["routing"]:
        lines.append(f"| {row['review_share']:.0%} | {row['pages_to_review']} | {row['threshold']:.3f} | {_fmt(row['bad_share_caught'])} |")
    if "text_layer_route" in report:
        tl = report["text_layer_route"]
        lines += ["", f"Text-layer route on born-digital pages (no OCR): {tl['items']} pages, CER {_fmt(tl['cer'])}, BoW F1 {_fmt(tl['bow_f1'])}."]
    if report.get("excluded"):
        lines += ["", f"Left out, their reference cannot score OCR ({len(report['excluded'])} items):", ""]
        lines += [f"- {Path(e['path']).name} page {e['page']}: {e['reason']}" for e in report["excluded"]]
    if "calibration" in report:
        cal = report["calibration"]
        lines += ["", f"Calibration `{cal['file']}` (fitted on {cal['fit_pages']} pages of {cal['fitted_on']}):", "",
                  "| score | AUROC | Spearman | Brier | bad caught at 10 % / 20 % / 30 % review |", "|---|---|---|---|---|"]
        for name in ("raw", "calibrated"):
            c = cal[name]
            caught = " / ".join(_fmt(r["bad_share_caught"]) for r in c["routing"] if r["review_share"] in (0.1, 0.2, 0.3))
            lines.append(f"| {name} | {_fmt(c['auroc'])} | {_fmt(c['spearman_confidence_vs_cer'])} | {_fmt(c['brier'])} | {caught} |")
        if cal.get("by_category"):
            lines += ["", "| category | pages | calibrated: predicted / observed bad share | bad pages with words right (BoW F1 >= 0.85) |",
                      "|---|---|---|---|"]
            for name, c in cal["by_category"].items():
                lines.append(f"| {name} | {c['pages']} | {c['predicted_bad_share']:.2f} / {c['observed_bad_share']:.2f} | "
                             f"{c['bad_with_words_right']} |")
        lines += ["", "| confidence bin | raw: predicted / observed bad share (pages) | calibrated: the same |",
                  "|---|---|---|"]
        raw_bins = {r["confidence"]: r for r in cal["raw"]["reliability"]}
        cal_bins = {r["confidence"]: r for r in cal["calibrated"]["reliability"]}
        for key in sorted(set(raw_bins) | set(cal_bins)):
            r, c = raw_bins.get(key), cal_bins.get(key)
            cell = lambda b: f"{b['predicted_bad_share']:.2f} / {b['observed_bad_share']:.2f} ({b['pages']})" if b else "-"  # noqa: E731
            lines.append(f"| {key} | {cell(r)} | {cell(c)} |")
    lines += ["", "![CER against confidence](cer_vs_confidence.png)", ""]
    return "\n".join(lines)
