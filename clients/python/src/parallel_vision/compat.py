"""The prototype's call shapes on top of the app, so a scraper script only changes its imports:

    analyzer = ParallelVisionAnalyzer(llava_workers=2, deepseek_workers=2, split_ratio=0.5)
    results = analyzer.process_ads_parallel(ads)   # ads come back with _vision_model, _vision_text, _vision_time
    DeepSeekOCRClient().extract_text(image_url)['raw_text']
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from .client import Client
from .types import RunProgress

PROTOTYPE_ENGINES = {"deepseek": "DeepSeek-OCR", "ollama": "Ollama (LLaVA)"}
VISION_FIELDS = ("_vision_model", "_vision_text", "_vision_time", "_vision_status", "_vision_error", "_vision_description")


class ParallelVisionAnalyzer:
    """Runs a list of ads on the app's engines and returns the ads with the prototype's fields added.

    The prototype split the ads statically between LLaVA and DeepSeek; the app's scheduler
    (policy 'auto') keeps every engine busy instead. policy='ratio' honours split_ratio as
    DeepSeek's share, as the prototype did. The worker counts become the lanes' ceilings.
    """

    def __init__(
        self,
        llava_workers: int = 2,
        deepseek_workers: int = 2,
        split_ratio: float = 0.5,
        *,
        policy: str = "auto",
        engines: Optional[Sequence[str]] = None,
        client: Optional[Client] = None,
        url: Optional[str] = None,
        key: Optional[str] = None,
        progress: Optional[Callable[[RunProgress], None]] = None,
    ) -> None:
        if not 0 <= split_ratio <= 1:
            raise ValueError(f"split_ratio must be between 0 and 1, got {split_ratio}")
        self.llava_workers = llava_workers
        self.deepseek_workers = deepseek_workers
        self.split_ratio = split_ratio
        self.policy = policy
        self.engines = list(engines) if engines is not None else None
        self.client = client or Client(url=url, key=key)
        self.progress = progress
        self.last_run = None

    def process_ads_parallel(self, ads: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """The ads, in their order, each a copy with _vision_model, _vision_text, _vision_time (seconds) added."""
        if not ads:
            return []
        engines = self.engines
        split = None
        if self.policy == "ratio":
            # The prototype split between DeepSeek and LLaVA (Ollama). A number is the first engine's
            # share and the rest is shared by the others, so DeepSeek goes first whatever engines are named.
            engines = list(engines) if engines is not None else ["deepseek", "ollama"]
            engines.sort(key=lambda engine: engine != "deepseek")
            split = self.split_ratio
        run = self.client.run(ads, policy=self.policy, split=split, engines=engines, workers={"ollama": self.llava_workers, "deepseek": self.deepseek_workers})
        self.last_run = run
        if self.engines is None:
            # The prototype read every ad with DeepSeek and LLaVA; say so when the app reads them otherwise.
            used = {lane["engine"] for lane in run.lanes}
            missing = [label for engine, label in PROTOTYPE_ENGINES.items() if engine not in used]
            if missing:
                warnings.warn(
                    f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not running in Parallel Vision: these ads are read by "
                    f"{', '.join(sorted(used)) or 'no engine'}. Start {'it' if len(missing) == 1 else 'them'} on the app's Services screen "
                    "(or `parallel-vision services start deepseek|ollama`), or pass engines=[...] to choose.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        run.wait(progress=self.progress)
        rejected = {row["line"]: row["reason"] for row in run.rejected}
        rows = iter(run.rows_in_order())
        out: List[Dict[str, Any]] = []
        for index, ad in enumerate(ads, start=1):
            result = dict(ad)
            if index in rejected:
                result.update({"_vision_model": None, "_vision_text": "", "_vision_time": None, "_vision_status": "rejected", "_vision_error": rejected[index]})
            else:
                row = next(rows)
                result.update({field: row.get(field) for field in VISION_FIELDS})
            out.append(result)
        return out


class DeepSeekOCRClient:
    """The prototype's one-image client: `extract_text(url)['raw_text']`, read by the app.

    By default the app picks its best available engine (DeepSeek-OCR when its service is
    ready); pass engine='deepseek' to insist. `base_url` (the prototype's service address)
    is accepted and ignored: the app manages the service.
    """

    def __init__(self, base_url: Optional[str] = None, *, engine: Optional[str] = None, client: Optional[Client] = None, url: Optional[str] = None, key: Optional[str] = None) -> None:
        self.engine = engine
        self.client = client or Client(url=url, key=key)

    def extract_text(self, image_url: str) -> Dict[str, Any]:
        result = self.client.ocr(image_url, engine=self.engine)
        total_ms = result["timings"].get("totalMs")
        return {
            "raw_text": result["text"],
            "text": result["text"],
            "blocks": result["blocks"],
            "description": result.get("description"),
            "model": result["model"],
            "engine": result["engine"],
            "processing_time": None if total_ms is None else total_ms / 1000,
            "success": True,
        }

    def health_check(self) -> bool:
        try:
            self.client.engines()
            return True
        except Exception:
            return False
