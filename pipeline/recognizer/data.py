"""Gathering a run's lines: every source's references, the validation split held apart by
document, and the text checks that leave a line out before any pixel is read."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from pipeline.recognizer.config import SourceSpec, TrainConfig
from pipeline.recognizer.sources import LineRef, Skipped
from pipeline.recognizer.sources.gold import read_gold
from pipeline.recognizer.sources.line_folders import read_line_folder
from pipeline.recognizer.sources.synthetic import synthetic_texts
from pipeline.recognizer.sources.xml_pages import read_layout_folder
from pipeline.recognizer.tokenizer import EMPTY_TEXT, UNWRITABLE_TEXT, coverage, missing_chars, normalize_text


class TrainDataError(ValueError):
    """Training cannot start with this data or this starting model."""


@dataclass
class Gathered:
    train: list[tuple[SourceSpec, list[LineRef]]] = field(default_factory=list)
    val: list[LineRef] = field(default_factory=list)
    synthetic: list[tuple[SourceSpec, list[str]]] = field(default_factory=list)  # texts only
    skipped: Skipped = field(default_factory=Skipped)

    def train_texts(self) -> list[str]:
        return [r["text"] for _, refs in self.train for r in refs] + [t for _, texts in self.synthetic for t in texts]

    def counts(self) -> dict[str, int]:
        out = {spec.uri: len(refs) for spec, refs in self.train}
        out.update({spec.uri: len(texts) for spec, texts in self.synthetic})
        return out


def _refs(spec: SourceSpec, split: str, skipped: Skipped) -> list[LineRef]:
    if spec.kind == "lines":
        return read_line_folder(spec.uri, split=split, skipped=skipped)
    if spec.kind == "xml":
        return read_layout_folder(spec.uri, skipped=skipped)
    if spec.kind == "gold":
        return read_gold(spec.uri, skipped=skipped)
    raise TrainDataError(f"unknown source kind {spec.kind!r}")


def held_out(doc: str, share: float) -> bool:
    """Whether a document goes to validation: a stable hash of its id, so the same documents
    are held out in every run and every leg."""
    return zlib.crc32(doc.encode("utf-8")) % 10_000 < share * 10_000


def gather(cfg: TrainConfig) -> Gathered:
    out = Gathered()
    for spec in cfg.sources:
        if spec.kind == "synthetic":
            out.synthetic.append((spec, synthetic_texts(spec.uri)))
        else:
            out.train.append((spec, _refs(spec, "train", out.skipped)))
    for spec in cfg.val_sources:
        out.val += _refs(spec, "val", out.skipped)
    if not cfg.val_sources:
        moved = []
        for spec, refs in out.train:
            moved += [r for r in refs if r["doc"] and held_out(r["doc"], cfg.val_share)]
        held = {id(r) for r in moved}
        out.train = [(spec, [r for r in refs if id(r) not in held]) for spec, refs in out.train]
        out.val = moved
    train_docs = {r["doc"] for _, refs in out.train for r in refs}
    overlap = train_docs & {r["doc"] for r in out.val}
    if overlap:
        raise TrainDataError(f"{len(overlap)} documents are in both training and validation (e.g. {sorted(overlap)[:3]}): "
                             "validation must hold apart whole documents or writers")
    return out


def check_texts(refs: list[LineRef], tokenizer, skipped: Skipped) -> list[LineRef]:
    """The lines whose transcription can be learnt; the others counted with their reason."""
    kept = []
    for ref in refs:
        text = normalize_text(ref["text"])
        where = f"{ref['doc']}: {ref['uri'].rsplit('/', 1)[-1]}"
        if not text:
            skipped.add(EMPTY_TEXT, where)
        elif not any(ch.isalnum() for ch in text):
            skipped.add("unreadable transcription (no letter or digit)", f"{where} {text!r}")
        elif missing_chars(tokenizer, text):
            skipped.add(UNWRITABLE_TEXT, f"{where} {sorted(missing_chars(tokenizer, text))}")
        else:
            kept.append(dict(ref, text=text))
    return kept


def require_coverage(tokenizer, texts: list[str], cfg: TrainConfig) -> None:
    """Refuse a starting model (--init-from) that can write too little of the training text:
    one clear error before training, not a run that learns nothing."""
    cover = coverage(tokenizer, texts)
    if cover.share < cfg.min_coverage:
        shown = "".join(ch for ch, _ in cover.missing.most_common(30))
        raise TrainDataError(
            f"{cfg.init_from} can write only {cover.share:.0%} of the training characters (missing: {shown!r}); "
            "train a new model (--preset small) or start from a model for this script")
