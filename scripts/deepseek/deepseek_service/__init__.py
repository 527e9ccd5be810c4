"""The Parallel Vision OCR service: FastAPI in front of one inference worker."""

VERSION = "0.1.0"
