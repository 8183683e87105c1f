"""Token ids to text pieces, and the one scoring rule for generated sequences, on a byte-level
BPE tokenizer (the kind LightOnOCR's Qwen decoder and TrOCR's RoBERTa decoder use)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipeline.engines.decoding import GenerationReader, _pieces_by_prefix, token_pieces
from pipeline.engines.lightonocr import finish_generation
from tests.tiny_models import _tokenizer

TEXTS = ["café déjà vu", "Größe 東京 und 北", "emoji 😀 👍🏽 done", "plain ascii line"]


@pytest.fixture(scope="module")
def tokenizer():
    return _tokenizer()


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_join_to_the_decoded_text(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > len(text.split())  # the characters outside the trained corpus are split into bytes
    pieces = token_pieces(tokenizer, ids)
    assert len(pieces) == len(ids)
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=True) == text
    assert "\ufffd" not in "".join(pieces)
    # one token at a time, as the engines used to decode, a split character comes out broken
    if any(ord(ch) > 127 for ch in text):
        assert "".join(tokenizer.decode([i]) for i in ids) != text


@pytest.mark.parametrize("text", TEXTS)
def test_the_fallback_for_tokenizers_without_a_backend_agrees(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert "".join(_pieces_by_prefix(tokenizer, ids)) == text


def _reader(tokenizer, max_new_tokens=64):
    config = SimpleNamespace(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return GenerationReader(tokenizer, config, max_new_tokens)


def test_a_generation_ends_at_eos_and_scores_only_text_tokens(tokenizer):
    ids = tokenizer("café 東", add_special_tokens=False).input_ids
    generated = [tokenizer.bos_token_id] + ids + [tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.pad_token_id]
    probs = [0.01] + [0.9] * len(ids) + [0.02, 0.5, 0.5]
    line = _reader(tokenizer).read(generated, probs)
    assert line.finished and not line.hit_max_tokens
    assert line.text == "café 東"
    assert [t.confidence for t in line.tokens] == [0.9] * len(ids)  # no special, EOS or padding score


def test_a_generation_without_eos_at_the_limit_is_flagged(tokenizer):
    ids = tokenizer("records were catalogued", add_special_tokens=False).input_ids
    line = _reader(tokenizer, max_new_tokens=len(ids)).read(ids, [0.8] * len(ids))
    assert line.hit_max_tokens and not line.finished and line.text == "records were catalogued"


def test_blocks_of_multibyte_markdown_get_their_own_tokens(tokenizer):
    """A page of accented and CJK text: the Markdown is exact and each block's confidence is
    that of the tokens that wrote it."""
    first, second = "# Procès-verbal 東京\n\n", "Séance levée à 18 h 😀"
    ids_first = tokenizer(first, add_special_tokens=False).input_ids
    ids_second = tokenizer(second, add_special_tokens=False).input_ids
    ids = ids_first + ids_second
    assert tokenizer(first + second, add_special_tokens=False).input_ids == ids  # no merge across the blank line
    probs = [0.95] * len(ids_first) + [0.4] * len(ids_second)
    page = _reader(tokenizer).read(ids + [tokenizer.eos_token_id], probs + [0.99])
    rec = finish_generation([t.text for t in page.tokens], [t.confidence for t in page.tokens], page.hit_max_tokens)
    assert rec.markdown == (first + second).strip()
    assert rec.text == "Procès-verbal 東京\n\nSéance levée à 18 h 😀"
    assert [(b.kind, round(b.confidence, 2)) for b in rec.blocks] == [("heading", 0.95), ("paragraph", 0.4)]
