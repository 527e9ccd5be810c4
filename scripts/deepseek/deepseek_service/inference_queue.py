"""Inference workers behind a bounded queue.

As many requests run at once as the backend can take (`Backend.parallelism`: one for a
DeepSeek model on the GPU, whose weights are not thread-safe; one per core for the CPU
OCR backend); the bound turns overload into an immediate 429 instead of an ever-growing wait.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    def __init__(self, depth: int, retry_after_s: int) -> None:
        super().__init__(f"queue full ({depth} requests waiting or running)")
        self.depth = depth
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Timed(Generic[T]):
    value: T
    queue_ms: float
    infer_ms: float


class InferenceQueue:
    def __init__(self, capacity: int, workers: int = 1) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.capacity = capacity
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")
        self._lock = threading.Lock()
        self._depth = 0
        # Running mean of inference time, for Retry-After.
        self._mean_infer_s = 1.0

    @property
    def depth(self) -> int:
        with self._lock:
            return self._depth

    def retry_after_s(self) -> int:
        return self._retry_after(self.depth)

    def _retry_after(self, depth: int) -> int:
        return max(1, math.ceil(depth * self._mean_infer_s / self.workers))

    async def run(self, job: Callable[[], T]) -> Timed[T]:
        with self._lock:
            if self._depth >= self.capacity:
                depth = self._depth
                raise QueueFull(depth, self._retry_after(depth))
            self._depth += 1
        enqueued = time.perf_counter()
        started: list[float] = []

        def timed_job() -> T:
            started.append(time.perf_counter())
            return job()

        try:
            future: Future[T] = self._executor.submit(timed_job)
        except RuntimeError:
            self._release(None)
            raise
        # Released when the job ends or is cancelled before it starts (client went away).
        future.add_done_callback(self._release)
        value = await asyncio.wrap_future(future)
        finished = time.perf_counter()
        start = started[0] if started else finished
        infer_s = finished - start
        self._mean_infer_s = 0.8 * self._mean_infer_s + 0.2 * infer_s
        return Timed(value=value, queue_ms=(start - enqueued) * 1000, infer_ms=infer_s * 1000)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._depth -= 1

    def shutdown(self) -> None:
        """Drop queued jobs; the running one (if any) finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)
