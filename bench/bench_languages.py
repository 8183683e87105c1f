"""--languages auto against English alone, against the right language given by hand for each
document (an oracle: one run takes one list) and against the list of all the set's languages
given for the whole run (what a user can give), and --engine auto (with --languages auto)
beside them, on the born-digital PDFs of ../shared/data forced to OCR (rendered at 300 DPI;
truth = each page's own text layer; 11 of them in 6 languages, then papers and tables), side by
side in one run, one process, one thread, page by page (every reader reads a page before the
next page is read, so that the machine's drift over minutes falls on all alike), each reader
warmed up once first (--engine auto on its line reader's page path too, and the auto readers with
every pack of the set loaded, as the oracle's readers are: an actor loads a pack once a run).

The labelled scans of ../shared/data join them (rendered as digitize renders them; the right
pack by hand: deu for the Fraktur page, eng for the others), so that the set is the target's:
the printed pages of ../shared/data, scans and born-digital forced to OCR. Figures are given for
the whole set and for each part.

Per reader: micro CER, bag-of-words F1 (the text layer's order is the producer's), the share of
pages whose detected language is right (auto only), pages/s. Also the Arabic, Chinese and
Japanese PDFs, whose packs are not installed here: auto must flag them, never fail.

    python bench/bench_languages.py [--pages-per-doc N] [--no-scans]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pymupdf  # noqa: E402

from pipeline.engines.base import PageImage  # noqa: E402
from pipeline.engines.auto import AutoEngine  # noqa: E402
from pipeline.engines.tesseract import TesseractEngine  # noqa: E402
from pipeline.page.language import detect_language  # noqa: E402
from pipeline.quality.items import Item, discover_items  # noqa: E402
from pipeline.quality.metrics import bow_f1, char_edits  # noqa: E402
from pipeline.quality.truth import truth_problem  # noqa: E402
from pipeline.run.config import EngineConfig, recognizer_list  # noqa: E402
from tests.corpus import page_text, rasterize_pdf, write_born_digital_pdf  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "born_digital"
DOCS = {  # folder: (Tesseract pack, ISO 639-1)
    "debian_reference_de": ("deu", "de"), "debian_reference_es": ("spa", "es"), "debian_reference_it": ("ita", "it"),
    "editorial_de": ("deu", "de"), "geotopo_de": ("deu", "de"), "kmd_dpa_holbaek_da": ("dan", "da"),
    "menu_es": ("spa", "es"), "riksbank_protokoll_sv": ("swe", "sv"), "naacl06_paper": ("eng", "en"),
    "scotus_transcript": ("eng", "en"), "google_doc": ("eng", "en"),
}
# the other born-digital PDFs of the set: papers and tables
OTHERS = {"arxiv_2201_00069_page": ("eng", "en"), "ca_warn_report_table": ("eng", "en"),
          "dotted_gridlines_table": ("ita", "it"), "la_precinct_bulletin_table": ("eng", "en"),
          "multicolumn_latex": ("eng", "la"),  # lorem ipsum; no Latin pack here, so English by hand
          "senate_expenditures_table": ("eng", "en"), "styled_table": ("deu", "de"), "tam_review": ("eng", "en")}
UNINSTALLED = {"arabic_cid": "ar", "chinese_table_336": "zh", "kampo_ja": "ja"}
SCAN_PACKS = {"scans/kant_1784_p20": ("deu", "de")}  # the others are English
DPI = 300
LANGUAGE_CHARS = 100


def render(path: str, page: int) -> np.ndarray:
    """A PDF page rendered grey at DPI, as the PDFs are forced to OCR."""
    with pymupdf.open(path) as doc:
        pix = doc[page - 1].get_pixmap(dpi=DPI, colorspace=pymupdf.csGRAY)
    return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width).copy()


def labelled_items() -> list[Item]:
    """The labelled pages of ../shared/data with a usable truth, as evaluate.py takes them (a
    PDF's truth split into pages by its rule; a garbled text layer is no truth)."""
    return [item for item in discover_items(DATA.parent, skip=("handwriting",)) if truth_problem(item) is None]


def pages(folder: str, limit: int, items: list[Item]) -> list[tuple[np.ndarray, str]]:
    """The first `limit` labelled pages (0: all) of a born-digital folder: (pixels, truth)."""
    chosen = [i for i in items if Path(i.path).parent.name == folder]
    return [(render(i.path, i.page), i.truth) for i in (chosen[:limit] if limit else chosen)]


def scan_pages(items: list[Item]) -> dict[str, tuple[str, str, list[tuple[np.ndarray, float, str]]]]:
    """The labelled scans, by file: (pack, ISO 639-1, [(pixels, dpi, truth)])."""
    from pipeline.page.documents import RenderSpec, open_document
    from pipeline.run.config import RenderConfig

    out: dict = {}
    for item in items:
        if item.category != "scans":
            continue
        cfg = RenderConfig()
        rendered = open_document(Path(item.path).read_bytes(), cfg).render(item.page - 1, cfg, RenderSpec(mode="L"))
        pack, iso = SCAN_PACKS.get(item.group, ("eng", "en"))
        out.setdefault(item.path, (pack, iso, []))[2].append((rendered.pixels, rendered.dpi, item.truth))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages-per-doc", type=int, default=0, help="pages read of each PDF (0: all)")
    p.add_argument("--scans", action=argparse.BooleanOptionalAction, default=True,
                   help="the labelled scans of ../shared/data too")
    p.add_argument("--output", default=str(ROOT / "bench" / "results" / "languages.json"))
    p.add_argument("--rapidocr-model", help="adds --engine auto with this other RapidOCR recognizer (a folder, or 'wheel')")
    args = p.parse_args()
    # document: (pack, ISO 639-1, [(pixels, dpi, truth)])
    born_digital = {**DOCS, **OTHERS}
    items = labelled_items()
    docs = {name: (*packs, [(px, DPI, truth) for px, truth in pages(name, args.pages_per_doc, items)])
            for name, packs in born_digital.items()}
    if args.scans:
        docs.update(scan_pages(items))
    packs = {pack for pack, _, _ in docs.values()}
    engines = {"eng": TesseractEngine.load(EngineConfig(languages=("eng",))),
               "auto": TesseractEngine.load(EngineConfig(languages=("auto",))),
               "engine_auto": AutoEngine.load(EngineConfig(name="auto", languages=("auto",)))}
    by_hand = {pack: TesseractEngine.load(EngineConfig(languages=(pack,))) for pack in packs}
    # what a user can give by hand for one run over a multilingual box: every language in it
    engines["listed"] = TesseractEngine.load(EngineConfig(languages=tuple(sorted(packs))))
    results: dict = {"pages": sum(len(v[2]) for v in docs.values()), "documents": len(docs), "readers": {}}
    readers: tuple[str, ...] = ("eng", "by_hand", "listed", "auto", "engine_auto")
    if args.rapidocr_model:
        engines["engine_auto_other"] = AutoEngine.load(EngineConfig(name="auto", languages=("auto",),
                                                                    rapidocr_models=recognizer_list(args.rapidocr_model)))
        readers += ("engine_auto_other",)
    # once each before timing, on a page of no document in the set: what a long run pays once per
    # actor (a pack's model loaded on first use, imports) is not a cost per page
    with tempfile.TemporaryDirectory() as tmp:
        write_born_digital_pdf(Path(tmp) / "warm.pdf", [page_text("eng", 0)])
        warm = PageImage(np.asarray(rasterize_pdf(Path(tmp) / "warm.pdf", dpi=DPI)[0].convert("L")), DPI, document="warm-up")
    for reader in readers:
        for engine in (by_hand.values() if reader == "by_hand" else [engines[reader]]):
            # auto loads a pack on its first use, once a run; the oracle's were loaded with it
            (engine.printed if isinstance(engine, AutoEngine) else engine).load_packs([*sorted(packs), "osd"])
            engine.recognize([warm])
            if isinstance(engine, AutoEngine):  # and its line reader's page path, whose detector
                engine.hand.recognize([warm])  # and recognizers onnxruntime readies on first use

    def tally() -> dict:
        return {"edits": 0, "chars": 0, "right": 0, "told": 0, "total": 0, "f1s": [], "seconds": 0.0}

    sets = ["born_digital"] + (["scans"] if args.scans else [])
    counts = {r: {group: tally() for group in ["all", *sets]} for r in readers}
    for name, (pack, iso, items) in docs.items():
        group = "born_digital" if name in born_digital else "scans"
        for pixels, dpi, truth in items:
            for reader in readers:  # page by page, every reader in turn: no drift between readers
                engine = by_hand[pack] if reader == "by_hand" else engines[reader]
                start = time.perf_counter()
                rec = engine.recognize([PageImage(pixels, dpi, document=name)])[0]  # as the pipeline gives it
                seconds = time.perf_counter() - start
                count = char_edits(truth, rec.text)
                language = rec.language or detect_language(rec.text)  # as the pipeline fills a row's
                for c in (counts[reader]["all"], counts[reader][group]):
                    c["seconds"] += seconds
                    c["edits"], c["chars"] = c["edits"] + count.edits, c["chars"] + count.length
                    c["f1s"].append(bow_f1(truth, rec.text))
                    if len(truth) >= LANGUAGE_CHARS:  # a scanned line is too short to tell its language
                        c["right"], c["told"] = c["right"] + (language == iso), c["told"] + 1
                    c["total"] += 1
    for reader in readers:
        for group in ["all", *sets]:
            c, oracle = counts[reader][group], counts["by_hand"][group]
            row = {"pages": c["total"], "cer": round(c["edits"] / max(c["chars"], 1), 4),
                   "bow_f1": round(float(np.mean(c["f1s"])), 4), "pages_per_s": round(c["total"] / c["seconds"], 3),
                   "speed_vs_by_hand": round(oracle["seconds"] / c["seconds"], 3)}
            if reader in ("auto", "engine_auto", "engine_auto_other"):
                row["language_right"] = f"{c['right']}/{c['told']}"
            if group == "all":
                results["readers"][reader] = row
            else:
                results["readers"][reader].setdefault("sets", {})[group] = row
            print(reader, group, row, flush=True)
    flagged = {}
    for name, iso in UNINSTALLED.items():
        first = render(str(next((DATA / name).glob("*.pdf"))), 1)  # its truth is not needed, nor always text
        rec = engines["auto"].recognize([PageImage(first, DPI, document=name)])[0]
        flagged[name] = {"language": rec.language, "flags": rec.flags}
    results["packs_not_installed"] = flagged
    print("packs not installed:", flagged)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
