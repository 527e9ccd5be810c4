"""The client of the app's local API: one image (`ocr`), or a list of ads (`run`) with a
handle to wait on, stream the results of, and cancel."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import httpx

from .discovery import discover
from .errors import ApiError, AppUnreachable, ParallelVisionError
from .types import OcrResult, RunProgress, ResultRow

ImageSource = Union[str, "os.PathLike[str]", bytes]
ProgressCallback = Callable[[RunProgress], None]

LIVE_STATUSES = {"queued", "running", "paused", "cancelling"}


class Client:
    """Talks to the running app. Without `url`/`key` it reads them from the app's data folder."""

    def __init__(self, url: Optional[str] = None, key: Optional[str] = None, *, data_dir: Optional["os.PathLike[str]"] = None, timeout: float = 300.0) -> None:
        self.url, self.key = discover(url, key, data_dir)
        self._http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=httpx.Timeout(timeout, connect=5.0))

    # ---- plumbing ----

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise ParallelVisionError(f"no answer from {self.url}{path} in time ({type(error).__name__}); the app may be busy: pass Client(timeout=...) for slow engines") from None
        except httpx.TransportError as error:
            raise AppUnreachable(self.url, error) from None
        _raise_for_problem(response, f"{self.url}{path}")
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- endpoints ----

    def ocr(self, image: ImageSource, *, engine: Optional[str] = None) -> OcrResult:
        """Read one image: an http(s) URL (the app downloads it), a local path or bytes (sent as the body)."""
        params = {"engine": engine} if engine else {}
        if isinstance(image, str) and image.startswith(("http://", "https://")):
            return self._json("POST", "/v1/ocr", json={"url": image, **params})
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        return self._json("POST", "/v1/ocr", params=params, content=data, headers={"Content-Type": "application/octet-stream"})

    def run(
        self,
        ads: Sequence[Mapping[str, Any]],
        *,
        policy: str = "auto",
        split: Union[float, Mapping[str, float], None] = None,
        engines: Optional[Sequence[str]] = None,
        workers: Optional[Mapping[str, int]] = None,
        name: Optional[str] = None,
    ) -> "Run":
        """Start a run on ads like {'creative_id', 'image_url', 'ad_text', …}; other keys come back in the results.
        `name` is how the app's runs list names the list (default "request body")."""
        body: Dict[str, Any] = {"ads": [dict(ad) for ad in ads], "policy": policy}
        if name is not None:
            body["name"] = name
        if split is not None:
            body["split"] = split if isinstance(split, (int, float)) else dict(split)
        if engines is not None:
            body["engines"] = list(engines)
        if workers:
            body["workers"] = dict(workers)
        created = self._json("POST", "/v1/runs", json=body)
        return Run(self, created)

    def get_run(self, run_id: str) -> "Run":
        return Run(self, {"runId": run_id, "accepted": None, "rejected": [], "lanes": []})

    def runs(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/runs")

    def engines(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/engines")

    def services(self) -> List[Dict[str, Any]]:
        return self._json("GET", "/v1/services")


class Run:
    """A run in the app: its progress, its results (streamed as they finish), and controls."""

    def __init__(self, client: Client, created: Mapping[str, Any]) -> None:
        self.client = client
        self.id: str = created["runId"]
        self.accepted: Optional[int] = created.get("accepted")
        #: Rows of the list that could not become ads: {'line', 'reason', 'raw'}; for a list of dicts, `line` is the 1-based index.
        self.rejected: List[Dict[str, Any]] = list(created.get("rejected", []))
        #: How many rows were rejected in all (`rejected` lists the first 1000).
        self.rejected_total: int = created.get("rejectedTotal", len(self.rejected))
        self.lanes: List[Dict[str, Any]] = list(created.get("lanes", []))

    def __repr__(self) -> str:
        return f"Run({self.id!r}, accepted={self.accepted})"

    def progress(self) -> RunProgress:
        return self.client._json("GET", f"/v1/runs/{self.id}")

    def wait(self, progress: Optional[ProgressCallback] = None) -> RunProgress:
        """Block until the run stops (finished, cancelled, failed, interrupted), calling `progress` on each update."""
        last: Optional[RunProgress] = None
        try:
            with self.client._http.stream("GET", f"/v1/runs/{self.id}/events", timeout=httpx.Timeout(None, connect=5.0)) as response:
                _raise_for_problem(response, f"{self.client.url}/v1/runs/{self.id}/events")
                event = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line[len("event: "):]
                    elif line.startswith("data: ") and event == "run.progress":
                        last = json.loads(line[len("data: "):])
                        if progress is not None:
                            progress(last)
        except httpx.TransportError as error:
            raise AppUnreachable(self.client.url, error) from None
        final = self.progress()
        if progress is not None and (last is None or last.get("status") != final.get("status") or last.get("done") != final.get("done")):
            progress(final)
        return final

    def results(self, *, rows: str = "all") -> Iterator[ResultRow]:
        """Every finished ad as the export's row (input columns + `_vision_*`), once each, as they finish, until the run stops."""
        try:
            with self.client._http.stream("GET", f"/v1/runs/{self.id}/results", params={"stream": "1", "rows": rows}, timeout=httpx.Timeout(None, connect=5.0)) as response:
                _raise_for_problem(response, f"{self.client.url}/v1/runs/{self.id}/results")
                for line in response.iter_lines():
                    if line:
                        yield json.loads(line)
        except httpx.TransportError as error:
            raise AppUnreachable(self.client.url, error) from None

    def page(self, offset: int = 0, limit: int = 500, rows: str = "all") -> Dict[str, Any]:
        """One page of rows in input order (pending ads included with rows='all')."""
        return self.client._json("GET", f"/v1/runs/{self.id}/results", params={"offset": offset, "limit": limit, "rows": rows})

    def rows_in_order(self, rows: str = "all") -> Iterator[ResultRow]:
        offset: Optional[int] = 0
        while offset is not None:
            page = self.page(offset, 1000, rows)
            yield from page["rows"]
            offset = page["next"]

    def cancel(self) -> None:
        self.client._json("POST", f"/v1/runs/{self.id}/cancel")

    def pause(self) -> None:
        self.client._json("POST", f"/v1/runs/{self.id}/pause")

    def resume(self) -> None:
        self.client._json("POST", f"/v1/runs/{self.id}/resume")

    def set_split(self, split: Mapping[str, float]) -> None:
        self.client._json("PUT", f"/v1/runs/{self.id}/split", json=dict(split))


def _raise_for_problem(response: httpx.Response, url: str) -> None:
    if response.status_code < 400:
        return
    response.read()
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise ApiError(response.status_code, "failed", response.text[:500], url=url) from None
    raise ApiError(response.status_code, error.get("code", "failed"), error.get("message", ""), error.get("issues"), error.get("rejected"), url=url)
