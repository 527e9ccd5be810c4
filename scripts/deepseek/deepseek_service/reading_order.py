"""Put detected text lines in reading order: rows top to bottom, left to right in a row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detection:
    text: str
    box: tuple[float, float, float, float]
    confidence: float | None = None


def _vertical_overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlap of two boxes' vertical extents, relative to the shorter one."""
    top = max(a[1], b[1])
    bottom = min(a[3], b[3])
    shorter = min(a[3] - a[1], b[3] - b[1])
    if shorter <= 0:
        return 0.0
    return max(0.0, bottom - top) / shorter


def group_rows(detections: list[Detection], min_overlap: float = 0.5) -> list[list[Detection]]:
    """Group detections whose vertical extents overlap by at least min_overlap into rows."""
    rows: list[list[Detection]] = []
    for detection in sorted(detections, key=lambda d: (d.box[1], d.box[0])):
        for row in rows:
            if any(_vertical_overlap(detection.box, other.box) >= min_overlap for other in row):
                row.append(detection)
                break
        else:
            rows.append([detection])
    ordered = [sorted(row, key=lambda d: d.box[0]) for row in rows]
    return sorted(ordered, key=lambda row: min(d.box[1] for d in row))


def reading_order_text(detections: list[Detection]) -> str:
    return "\n".join(" ".join(d.text for d in row) for row in group_rows(detections))
