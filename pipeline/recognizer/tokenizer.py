"""A character-level tokenizer for a recognizer trained here, built with `tokenizers`.

One token per character: with a few thousand training lines a model learns characters far
sooner than sub-words, and any word of the collection's language can be written.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
# why a line is not learnt, as the run's log counts it: checked at the driver for line folders,
# in the training loops for lines that reach the stream unchecked (synthetic parquet)
EMPTY_TEXT = "empty transcription"
UNWRITABLE_TEXT = "characters the tokenizer lacks"


def normalize_text(text: str) -> str:
    """The form a transcription is learnt and scored in: NFC, whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def build_char_tokenizer(texts: Iterable[str], min_count: int = 1, extra: str = ""):
    """A PreTrainedTokenizerFast whose vocabulary is every character seen `min_count` times
    (plus `extra`), saved and loaded by transformers like any hub tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    counts = Counter(ch for text in texts for ch in normalize_text(text))
    chars = sorted({ch for ch, n in counts.items() if n >= min_count} | set(extra) | {" "})
    vocab = {token: i for i, token in enumerate(SPECIALS + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    # every character its own pre-token, spaces included, and pieces join back with nothing
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        model_max_length=1024,
    )


@dataclass
class Coverage:
    """How much of a text collection a tokenizer can write."""

    chars: int
    missing: Counter  # character -> occurrences the tokenizer lacks

    @property
    def share(self) -> float:
        return 1.0 - sum(self.missing.values()) / self.chars if self.chars else 1.0


def coverage(tokenizer, texts: Iterable[str]) -> Coverage:
    vocab = tokenizer.get_vocab()
    counts = Counter(ch for text in texts for ch in normalize_text(text))
    missing = Counter({ch: n for ch, n in counts.items() if ch not in vocab and ch != " "})
    return Coverage(chars=sum(counts.values()), missing=missing)


def missing_chars(tokenizer, text: str) -> set[str]:
    vocab = tokenizer.get_vocab()
    return {ch for ch in normalize_text(text) if ch != " " and ch not in vocab}
