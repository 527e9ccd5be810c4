"""Shapes of the API's answers (see /v1/openapi.json for the full schemas)."""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # pragma: no cover
    from typing_extensions import NotRequired, TypedDict


class TextBlock(TypedDict):
    text: str
    box: List[float]


class OcrResult(TypedDict):
    text: str
    blocks: List[TextBlock]
    description: NotRequired[str]
    model: str
    engine: str
    timings: Dict[str, float]


class RunProgress(TypedDict):
    runId: str
    status: str
    policy: str
    total: int
    done: int
    failed: int
    inFlight: int
    elapsed_s: float
    eta_s: Optional[float]
    lanes: List[Dict[str, Any]]
    notes: List[str]


# A result row: the ad's own keys plus _vision_model, _vision_text, _vision_time (s),
# _vision_status, _vision_error, _vision_description, _vision_blocks.
ResultRow = Dict[str, Any]
