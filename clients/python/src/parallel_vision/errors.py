"""Errors of the client: each says what went wrong and where (the URL, the field)."""
from __future__ import annotations

from typing import Any, List, Optional


class ParallelVisionError(Exception):
    """Base class of every error this package raises."""


class AppNotFound(ParallelVisionError):
    """No running app was found (no discovery file, or no key)."""


class AppUnreachable(ParallelVisionError):
    """Nothing answers at the URL (the app is not running, or it moved)."""

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(
            f"Parallel Vision is not answering at {url} ({type(cause).__name__}: {cause}). "
            "Start the app (or `parallel-vision api`), or pass Client(url=...)."
        )
        self.url = url


class ApiError(ParallelVisionError):
    """The API refused a request: HTTP status, a stable code and a message naming the problem."""

    def __init__(self, status: int, code: str, message: str, issues: Optional[List[str]] = None, rejected: Optional[List[Any]] = None, url: str = "") -> None:
        super().__init__(f"{status} {code}: {message}" + (f" ({url})" if url else ""))
        self.status = status
        self.code = code
        self.message = message
        self.issues = issues or []
        self.rejected = rejected or []
        self.url = url
