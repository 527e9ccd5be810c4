"""Parallel Vision from Python: the running app's local API (OCR of one image, runs of ad lists)."""
from .client import Client, Run
from .compat import DeepSeekOCRClient, ParallelVisionAnalyzer
from .discovery import default_data_dir, discover
from .errors import ApiError, AppNotFound, AppUnreachable, ParallelVisionError

__all__ = [
    "ApiError",
    "AppNotFound",
    "AppUnreachable",
    "Client",
    "DeepSeekOCRClient",
    "ParallelVisionAnalyzer",
    "ParallelVisionError",
    "Run",
    "default_data_dir",
    "discover",
]
__version__ = "0.1.0"
