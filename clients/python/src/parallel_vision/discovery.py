"""Finding the running app: its data folder (the same convention as the app), the
discovery file `api.json` the app writes there when its API listens, and the key file."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional, Tuple

from .errors import AppNotFound

DISCOVERY_FILE = "api.json"
KEY_FILE = "api-key"


def default_data_dir() -> Path:
    """PARALLEL_VISION_DATA_DIR, else the OS convention (as electron/core/paths.ts)."""
    override = os.environ.get("PARALLEL_VISION_DATA_DIR", "").strip()
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Parallel Vision"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", "").strip() or home / "AppData" / "Roaming") / "Parallel Vision"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return Path(xdg or home / ".local" / "share") / "parallel-vision"


def discover(url: Optional[str] = None, key: Optional[str] = None, data_dir: Optional[os.PathLike] = None) -> Tuple[str, str]:
    """The API's base URL and key: given ones first, then PARALLEL_VISION_API_URL / _KEY, then the data folder."""
    url = url or os.environ.get("PARALLEL_VISION_API_URL") or None
    key = key or os.environ.get("PARALLEL_VISION_API_KEY") or None
    folder = Path(data_dir) if data_dir else default_data_dir()
    if url is None:
        discovery = folder / DISCOVERY_FILE
        try:
            info = json.loads(discovery.read_text("utf-8"))
        except FileNotFoundError:
            raise AppNotFound(f"Parallel Vision is not running: there is no {discovery} (start the app, or `parallel-vision api`; or pass Client(url=..., key=...))") from None
        except (OSError, ValueError) as error:
            raise AppNotFound(f"cannot read {discovery}: {error}") from None
        url = str(info["url"])
        if key is None and info.get("keyFile"):
            key = _read_key(Path(info["keyFile"]))
    if key is None:
        key = _read_key(folder / KEY_FILE)
    return url.rstrip("/"), key


def _read_key(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except FileNotFoundError:
        raise AppNotFound(f"no API key at {path} (the app creates it on its first start; `parallel-vision api --print-key` shows it)") from None
