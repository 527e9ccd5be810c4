"""Parse DeepSeek-OCR's grounding output into text and pixel boxes.

The model writes `<|ref|>label<|/ref|><|det|>[[x1, y1, x2, y2], ...]<|/det|>` with
coordinates normalised to 0..999. With the "OCR this image" prompt the label *is* the
text; with the "convert to markdown" prompt the label is a layout category (text,
title, table, ...) and the text follows the det tag up to the next ref tag.

Output cut off by the token budget or the repetition guard can end inside a tag: a last
`<|ref|>` without its `<|/det|>` gives no block (its box is unknown) and its markup is
dropped; a label that was closed is kept as text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_GROUNDING = re.compile(
    r"<\|ref\|>(?P<label>.*?)<\|/ref\|>\s*<\|det\|>(?P<boxes>.*?)<\|/det\|>",
    re.DOTALL,
)
# Special tokens the decoder may leave in the text (full-width bars are DeepSeek's own).
_SPECIAL_TOKENS = re.compile(r"<｜[^｜]*｜>|<\|(?:end_of_sentence|grounding|image)\|>")
# A trailing, unfinished tag: `<|ref|>lab`, `<|ref|>label<|/ref|>`, `...<|det|>[[1, 2`.
_TRUNCATED_TAIL = re.compile(r"<\|ref\|>(?P<label>(?:(?!<\|/?ref\|>).)*?)(?:<\|/ref\|>(?:\s*<\|det\|>(?:(?!<\|/det\|>).)*)?)?$", re.DOTALL)
NORMALISED_MAX = 999.0
PICTURE_LABELS = frozenset({"image", "figure", "chart", "photo"})


@dataclass(frozen=True)
class GroundedBlock:
    text: str
    box: tuple[float, float, float, float]


def strip_special_tokens(raw: str) -> str:
    return _SPECIAL_TOKENS.sub("", raw)


def _parse_boxes(raw: str) -> list[tuple[float, float, float, float]]:
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        return []
    boxes: list[tuple[float, float, float, float]] = []

    def collect(item: object) -> None:
        # A box is any list of four numbers, however deeply the model nested it.
        if not isinstance(item, (list, tuple)):
            return
        if len(item) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item):
            x1, y1, x2, y2 = (float(v) for v in item)
            boxes.append((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
            return
        for child in item:
            collect(child)

    collect(value)
    return boxes


def _to_pixels(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    def scale(value: float, size: int) -> float:
        clamped = min(max(value, 0.0), NORMALISED_MAX)
        return round(clamped / NORMALISED_MAX * size, 1)

    x1, y1, x2, y2 = box
    return (scale(x1, width), scale(y1, height), scale(x2, width), scale(y2, height))


def parse_grounding(raw: str, width: int, height: int) -> tuple[str, list[GroundedBlock]]:
    """Return (plain text, blocks with boxes in pixels of a width x height image).

    Output without any grounding tag is returned as plain text with no blocks.
    """
    cleaned = strip_special_tokens(raw)
    matches = list(_GROUNDING.finditer(cleaned))
    tail_start = matches[-1].end() if matches else 0
    truncated = _TRUNCATED_TAIL.search(cleaned, tail_start)
    truncated_label = ""
    if truncated is not None:
        closed = "<|/ref|>" in truncated.group(0)
        truncated_label = truncated.group("label").strip() if closed else ""
        cleaned = cleaned[: truncated.start()]
    if not matches:
        plain = cleaned.strip()
        return "\n".join(part for part in (plain, truncated_label) if part), []
    followings = [
        cleaned[match.end():(matches[index + 1].start() if index + 1 < len(matches) else len(cleaned))].strip()
        for index, match in enumerate(matches)
    ]
    # Markdown layout output: labels are categories, so a picture region is no text.
    layout_mode = any(followings)
    blocks: list[GroundedBlock] = []
    lines: list[str] = []
    for match, following in zip(matches, followings):
        label = match.group("label").strip()
        if layout_mode and not following and label.lower() in PICTURE_LABELS:
            continue
        text = following if following else label
        if not text:
            continue
        lines.append(text)
        for box in _parse_boxes(match.group("boxes")):
            blocks.append(GroundedBlock(text=text, box=_to_pixels(box, width, height)))
    if truncated_label and not layout_mode:
        lines.append(truncated_label)
    return "\n".join(lines), blocks
