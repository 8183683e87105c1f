"""Repetition loops: a known failure of vision-language OCR (the decoder repeats a phrase or a
line until it runs out of tokens). Detect the loop, keep its first occurrence, cut the rest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RepetitionRule:
    max_period: int = 200  # longest repeated unit, in characters
    min_repeats: int = 4  # a unit seen this many times in a row at least...
    min_span: int = 40  # ...covering at least this many characters is a loop
    single_char_repeats: int = 40  # "--------": one character needs a longer run to count


def find_loop(text: str, rule: RepetitionRule = RepetitionRule()) -> int | None:
    """Where to cut `text` (keeping one copy of the repeated unit), or None if no loop.

    Looks at the tail: loops run until generation stops, so they end the output.
    """
    n = len(text)
    best: int | None = None
    for period in range(1, min(rule.max_period, n // 2) + 1):
        unit = text[n - period :]
        repeats, start = 1, n - period
        while start - period >= 0 and text[start - period : start] == unit:
            repeats += 1
            start -= period
        needed = rule.single_char_repeats if period == 1 or not unit.strip() else rule.min_repeats
        if repeats >= needed and repeats * period >= rule.min_span:
            cut = start + period  # keep the first occurrence
            best = cut if best is None else min(best, cut)
    return best


def cut_repetition(text: str, ragged_end: bool = True, rule: RepetitionRule = RepetitionRule()) -> tuple[str, bool]:
    """(text without the loop, whether one was cut).

    `ragged_end`: generation was stopped by max_new_tokens, so the last copy of a loop may be
    cut mid-unit; then a partial copy at the very end is tolerated (and removed).
    """
    cut = find_loop(text, rule)
    if cut is None and ragged_end:
        for trim in range(1, min(rule.max_period, len(text) // 4)):
            inner = find_loop(text[:-trim], rule)
            if inner is not None:
                return text[:inner].rstrip(), True
    if cut is None:
        return text, False
    return text[:cut].rstrip(), True
