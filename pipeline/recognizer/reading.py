"""Reading lines with a recognizer: what validation, the benchmarks and the card all measure."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.engines.hf import generation_budget
from pipeline.quality.metrics import EditCount, char_edits


def read_pixels(model, tokenizer, pixel_values, max_new_tokens: int = 160) -> list[str]:
    """Greedy reading of a batch of processor-shaped lines."""
    import torch

    with torch.inference_mode():
        out = model.generate(pixel_values=pixel_values, max_new_tokens=generation_budget(model, max_new_tokens),
                             num_beams=1, do_sample=False)
    return [t.strip() for t in tokenizer.batch_decode(out, skip_special_tokens=True)]


@dataclass
class Score:
    lines: int
    edits: int
    chars: int

    @property
    def cer(self) -> float:
        return EditCount(self.edits, self.chars).rate


def score(references: list[str], hypotheses: list[str]) -> Score:
    """Micro CER over lines (total edits over total reference characters), normalised texts."""
    counts = [char_edits(r, h) for r, h in zip(references, hypotheses)]
    return Score(len(counts), sum(c.edits for c in counts), sum(c.length for c in counts))
