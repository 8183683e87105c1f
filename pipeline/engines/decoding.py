"""Generated token ids to text pieces with their probabilities: one rule for every model engine.

A byte-level tokenizer (Qwen's, GPT-2's, RoBERTa's in TrOCR) splits an accented, CJK or emoji
character over several tokens; decoding tokens one at a time turns each part into U+FFFD. The
pieces here come from the tokenizer's streaming decoder, which holds a token back until its
character is complete, so the pieces of a sequence join to exactly its decoded text and every
token keeps its own probability (a token that only starts a character has an empty piece).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.run.records import Token


def token_pieces(tokenizer, ids: Sequence[int]) -> list[str]:
    """One text piece per id, in order; "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        from tokenizers.decoders import DecodeStream

        stream = DecodeStream(skip_special_tokens=True)
        return [stream.step(backend, int(i)) or "" for i in ids]
    return _pieces_by_prefix(tokenizer, ids)


def _pieces_by_prefix(tokenizer, ids: Sequence[int]) -> list[str]:
    """Tokenizers without a Rust backend: each piece is what its token adds to the decoded prefix,
    held back while the prefix ends in an incomplete character."""
    pieces, emitted = [], ""
    for end in range(1, len(ids) + 1):
        text = tokenizer.decode(list(ids[:end]), skip_special_tokens=True)
        if text.endswith("\ufffd") and end < len(ids) or not text.startswith(emitted):
            pieces.append("")
            continue
        pieces.append(text[len(emitted):])
        emitted = text
    full = tokenizer.decode(list(ids), skip_special_tokens=True)
    if pieces and "".join(pieces) != full:  # the decoder rewrote earlier text (space clean-up): keep the whole exact
        head = "".join(pieces[:-1])
        pieces = pieces[:-1] + [full[len(head):]] if full.startswith(head) else [""] * (len(pieces) - 1) + [full]
    return pieces


@dataclass
class Generation:
    """One generated sequence as the pipeline reads it."""

    tokens: list[Token]  # one per scored token; their texts join to `text`
    finished: bool  # ended with an end-of-sequence token
    hit_max_tokens: bool  # stopped by the token limit instead

    @property
    def text(self) -> str:
        return "".join(t.text for t in self.tokens)


class GenerationReader:
    """The one rule for what a generated sequence says and how sure the model was of it: the
    sequence ends at its first end-of-sequence token (or padding), which is not scored; special
    tokens carry no text and no score; every other token is a Token with its probability."""

    def __init__(self, tokenizer, generation_config, max_new_tokens: int):
        eos = generation_config.eos_token_id
        self.tokenizer = tokenizer
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.pad_id = generation_config.pad_token_id
        self.special = set(tokenizer.all_special_ids)
        self.max_new_tokens = max_new_tokens

    def read(self, ids: Sequence[int], probs: Sequence[float]) -> Generation:
        """`ids`: the generated ids (no prompt, no decoder start); `probs`: one per id."""
        kept_ids: list[int] = []
        kept_probs: list[float] = []
        finished = False
        for token_id, p in zip(ids, probs):
            if token_id in self.eos_ids:
                finished = True
                break
            if token_id == self.pad_id:
                break
            if token_id in self.special:
                continue
            kept_ids.append(int(token_id))
            kept_probs.append(float(p))
        tokens = [Token(text=piece, confidence=p) for piece, p in zip(token_pieces(self.tokenizer, kept_ids), kept_probs)]
        return Generation(tokens, finished, hit_max_tokens=not finished and len(ids) >= self.max_new_tokens)
