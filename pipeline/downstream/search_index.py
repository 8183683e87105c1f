"""Full-text index of the page Parquet with tantivy (a Rust search engine, Python bindings).

Each page is indexed twice: in `text` (lower-cased, accents folded: works for any language)
and in the stemmed field of its detected language (`text_fr` with the French stemmer, ...), so
"archives" finds "archive" in a French page and a query in any language finds exact words.
A page found through its stemmed field only gets its snippet from the same stemmer.
Pages are keyed by doc_id and page: a page converted again replaces its old entry. The set of
Parquet files already indexed is kept beside the index, so a build after a nightly run reads
only the new files.
"""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow.compute as pc
import pyarrow.dataset as pads

from pipeline.run.pages_reader import check_files, parquet_files
from schemas import PAGE_SCHEMA

STEMMERS = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
    "nl": "dutch", "pt": "portuguese", "sv": "swedish", "da": "danish",
}
STATE_FILE = "indexed_files.json"
COLUMNS = ["doc_id", "source_uri", "page", "text", "confidence", "language", "run_id", "status"]


def _tantivy():
    import tantivy

    return tantivy


def _schema():
    t = _tantivy()
    b = t.SchemaBuilder()
    b.add_text_field("key", stored=True, tokenizer_name="raw")
    b.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    b.add_text_field("source_uri", stored=True, tokenizer_name="raw")
    b.add_integer_field("page", stored=True, indexed=True, fast=True)
    b.add_float_field("confidence", stored=True, indexed=True, fast=True)
    b.add_text_field("language", stored=True, tokenizer_name="raw")
    b.add_text_field("run_id", stored=True, tokenizer_name="raw")
    b.add_text_field("text", stored=True, tokenizer_name="folded")
    for lang in STEMMERS:
        b.add_text_field(f"text_{lang}", stored=False, tokenizer_name=f"stem_{lang}")
    return b.build()


def _base():
    t = _tantivy()
    return t.TextAnalyzerBuilder(t.Tokenizer.simple()).filter(t.Filter.remove_long(64)).filter(t.Filter.lowercase())


@lru_cache(maxsize=None)
def _stem_analyzer(lang: str):
    """The analyzer of the `text_{lang}` field: the index's and the snippets' one rule."""
    t = _tantivy()
    return _base().filter(t.Filter.stemmer(STEMMERS[lang])).filter(t.Filter.ascii_fold()).build()


def _register(index) -> None:
    t = _tantivy()
    index.register_tokenizer("folded", _base().filter(t.Filter.ascii_fold()).build())
    for lang in STEMMERS:
        index.register_tokenizer(f"stem_{lang}", _stem_analyzer(lang))


def open_index(folder: str, create: bool = False):
    t = _tantivy()
    if not create and not os.path.isdir(folder):
        raise FileNotFoundError(f"no index at {folder}: build one with `jobs/index.py build`")
    os.makedirs(folder, exist_ok=True)
    index = t.Index(_schema(), path=folder, reuse=True)
    _register(index)
    return index


@dataclass
class BuildResult:
    files_read: int
    pages_indexed: int
    pages_skipped: int


def build(pages: str, folder: str, heap_bytes: int = 256 * 2**20) -> BuildResult:
    """Index the Parquet files under `pages` that this index has not read yet."""
    t = _tantivy()
    index = open_index(folder, create=True)
    state_path = os.path.join(folder, STATE_FILE)
    state: dict[str, list[float]] = json.load(open(state_path)) if os.path.exists(state_path) else {}
    fs, all_files = parquet_files(pages)
    files = [f for f in all_files if state.get(f) != _stamp(fs, f)]
    check_files(fs, files)
    writer = index.writer(heap_size=heap_bytes, num_threads=1)
    indexed = skipped = 0
    for path in files:
        dataset = pads.dataset(path, format="parquet", schema=PAGE_SCHEMA, filesystem=fs)
        for batch in dataset.to_batches(columns=COLUMNS, filter=pc.field("status") == "ok", batch_size=1024):
            for row in batch.to_pylist():
                if not row["text"]:
                    skipped += 1
                    continue
                key = f"{row['doc_id']}:{row['page']}"
                writer.delete_documents_by_term("key", key)
                doc = t.Document(
                    key=key, doc_id=row["doc_id"], source_uri=row["source_uri"], page=int(row["page"]),
                    confidence=float(row["confidence"] if row["confidence"] is not None else 0.0),
                    language=row["language"] or "", run_id=row["run_id"] or "", text=row["text"],
                )
                if row["language"] in STEMMERS:
                    doc.add_text(f"text_{row['language']}", row["text"])
                writer.add_document(doc)
                indexed += 1
        state[path] = _stamp(fs, path)
    writer.commit()
    writer.wait_merging_threads()
    with open(state_path, "w") as handle:
        json.dump(state, handle)
    return BuildResult(files_read=len(files), pages_indexed=indexed, pages_skipped=skipped)


def _stamp(fs, path: str) -> list[float]:
    info = fs.get_file_info(path)
    return [float(info.size or 0), info.mtime.timestamp() if info.mtime else 0.0]


def search(folder: str, query: str, limit: int = 10, min_confidence: float | None = None,
           language: str | None = None) -> list[dict[str, Any]]:
    """Best pages for `query`: doc_id, source URI, page, score, confidence, language, snippet (HTML)."""
    t = _tantivy()
    index = open_index(folder)
    index.reload()
    schema = index.schema
    fields = ["text"] + [f"text_{lang}" for lang in STEMMERS]
    try:
        parsed = index.parse_query(query, fields)
    except ValueError:
        # words like "s'est" or "l'archive" are syntax errors to the strict parser; the lenient
        # one reads them as plain terms instead of failing the search
        parsed, _errors = index.parse_query_lenient(query, fields)
    clauses = [(t.Occur.Must, parsed)]
    if min_confidence is not None:
        clauses.append((t.Occur.Must, t.Query.range_query(schema, "confidence", t.FieldType.Float, min_confidence, None)))
    if language:
        clauses.append((t.Occur.Must, t.Query.term_query(schema, "language", language)))
    final = t.Query.boolean_query(clauses) if len(clauses) > 1 else parsed
    searcher = index.searcher()
    snippets = t.SnippetGenerator.create(searcher, parsed, schema, "text")
    snippets.set_max_num_chars(200)
    hits = []
    for score, address in searcher.search(final, limit).hits:
        doc = searcher.doc(address)
        hits.append({
            "doc_id": doc["doc_id"][0],
            "source_uri": doc["source_uri"][0],
            "page": doc["page"][0],
            "score": round(float(score), 4),
            "confidence": doc["confidence"][0],
            "language": doc["language"][0] or None,
            "snippet": snippets.snippet_from_doc(doc).to_html() or _stemmed_snippet(doc["text"][0], query, doc["language"][0]),
        })
    return hits


SNIPPET_CHARS = 200
QUERY_WORDS = re.compile(r"\b(?:AND|OR|NOT)\b|[^\w']+")  # operators and syntax are not words to highlight


def _stemmed_snippet(text: str, query: str, language: str | None) -> str:
    """A snippet for a page found through a stemmed field only ("quick" finds "quickly"), where
    tantivy's generator, which sees the plain field, gives none: the first stretch of the page
    around words with a query word's stem, those words in <b>, as tantivy's own snippets."""
    terms = [w for w in QUERY_WORDS.split(query) if w.strip("'")]
    for lang in ([language] if language in STEMMERS else []) + [x for x in STEMMERS if x != language]:
        analyzer = _stem_analyzer(lang)
        stems = {stem for w in terms for stem in analyzer.analyze(w)}
        hits = [m for m in re.finditer(r"\w+", text) if set(analyzer.analyze(m.group())) & stems]
        if hits:
            start = max(0, hits[0].start() - SNIPPET_CHARS // 4)
            end = min(len(text), start + SNIPPET_CHARS)
            out, at = [], start
            for m in hits:
                if m.end() > end:
                    break
                out += [html.escape(text[at:m.start()]), f"<b>{html.escape(m.group())}</b>"]
                at = m.end()
            return "".join(out + [html.escape(text[at:end])])
    return ""
