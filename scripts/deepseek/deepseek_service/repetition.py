"""Stop a decoder that has started to loop, and keep what it wrote before the loop.

DeepSeek-OCR is known to fall into repeating the same line (or the same few tokens) until
its token budget runs out. The guard watches the generated token ids: when the tail of the
sequence is one n-gram repeated at least `min_repeats` times over at least `min_span`
tokens, generation stops and the answer keeps the text up to the end of the n-gram's first
copy (the first copy is usually real text; the copies after it are the loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

DEFAULT_MIN_REPEATS = 4
DEFAULT_MIN_SPAN = 40
DEFAULT_MAX_NGRAM = 200


@dataclass(frozen=True)
class Loop:
    ngram: int  # the period, in tokens
    start: int  # index where the repeated run starts
    keep: int  # tokens to keep: the run's start plus one copy of the n-gram


def find_tail_loop(
    tokens: Sequence[int],
    min_repeats: int = DEFAULT_MIN_REPEATS,
    min_span: int = DEFAULT_MIN_SPAN,
    max_ngram: int = DEFAULT_MAX_NGRAM,
) -> Loop | None:
    """The loop the sequence ends in, or None. The shortest period wins."""
    length = len(tokens)
    for n in range(1, min(max_ngram, length // min_repeats) + 1):
        window = max(n * min_repeats, -(-min_span // n) * n)
        if window > length:
            break
        # Cheap test first (most periods fail on the last token), then the whole window:
        # periodic with period n means every token equals the one n places later.
        if tokens[length - 1] != tokens[length - 1 - n]:
            continue
        tail = list(tokens[length - window:])
        if tail[:-n] != tail[n:]:
            continue
        start = length - window
        while start > 0 and tokens[start - 1] == tokens[start - 1 + n]:
            start -= 1
        return Loop(ngram=n, start=start, keep=start + n)
    return None


class RepetitionGuard:
    """Fed one token at a time; `push` answers True once the sequence is looping."""

    def __init__(
        self,
        min_repeats: int = DEFAULT_MIN_REPEATS,
        min_span: int = DEFAULT_MIN_SPAN,
        max_ngram: int = DEFAULT_MAX_NGRAM,
    ) -> None:
        if min_repeats < 2 or min_span < 2 or max_ngram < 1:
            raise ValueError("min_repeats and min_span must be at least 2, max_ngram at least 1")
        self.min_repeats = min_repeats
        self.min_span = min_span
        self.max_ngram = max_ngram
        self.tokens: list[int] = []
        self.loop: Loop | None = None

    def push(self, token: int) -> bool:
        self.tokens.append(int(token))
        if self.loop is None and len(self.tokens) >= self.min_span:
            self.loop = find_tail_loop(self.tokens, self.min_repeats, self.min_span, self.max_ngram)
        return self.loop is not None

    def kept(self) -> list[int]:
        """The tokens before the loop (all of them when there is none)."""
        return self.tokens[: self.loop.keep] if self.loop is not None else list(self.tokens)


def trim_text_loop(text: str, min_repeats: int = DEFAULT_MIN_REPEATS, min_span: int = 80, max_period: int = 400) -> tuple[str, bool]:
    """The same guard on characters, for backends that hand back finished text (torch remote code)."""
    loop = find_tail_loop([ord(c) for c in text], min_repeats, min_span, max_period)
    if loop is None:
        return text, False
    return text[: loop.keep], True
