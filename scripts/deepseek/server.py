"""Start the OCR service.

    python scripts/deepseek/server.py --host 127.0.0.1 --port 8001 --backend rapidocr|deepseek|mlx|torch

Prints one machine-readable line per state change on stdout (see README.md):
LISTENING, then READY (or ERROR), and STOPPED on exit.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import signal
import socket
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Before anything imports torch: ops MPS lacks fall back to the CPU instead of raising.
os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")

import uvicorn  # noqa: E402

from deepseek_service.app import ServiceState, Settings, create_app  # noqa: E402
from deepseek_service.backends import BACKENDS, DEFAULT_MAX_TOKENS, Backend, make_backend  # noqa: E402


def status_line(word: str, **fields: object) -> None:
    parts = [word]
    for key, value in fields.items():
        text = str(value)
        if key == "message" or not text or any(c.isspace() or c == '"' for c in text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
        parts.append(f"{key}={text}")
    print(" ".join(parts), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Parallel Vision OCR service (FastAPI).")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port; 0 picks a free one (default 8001)")
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("PV_OCR_BACKEND", "deepseek"),
                        help="inference backend (default: $PV_OCR_BACKEND or deepseek = mlx on Apple Silicon "
                             "with MLX weights, else torch)")
    parser.add_argument("--model", default=None, help="mlx: a local MLX model folder; torch: a local folder or HF cache id")
    parser.add_argument("--models-dir", default=None, help="the app's models folder (default: $PV_MODELS_DIR or <dataDir>/models)")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help=f"output token budget per image (default {DEFAULT_MAX_TOKENS})")
    parser.add_argument("--queue-size", type=int, default=8, help="requests waiting or running before 429")
    parser.add_argument("--workers", type=int, default=None,
                        help="rapidocr: requests run at once, one single-threaded engine each (default: one per core, at most 8)")
    parser.add_argument("--max-body-bytes", type=int, default=25 * 1024 * 1024)
    parser.add_argument("--max-pixels", type=int, default=40_000_000)
    parser.add_argument("--default-mode", default="gundam")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


class ReadinessReporter:
    """READY needs both a listening socket and a loaded model, in whichever order they come."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._lock = threading.Lock()
        self._listening = False
        self._state: ServiceState | None = None
        self._backend: Backend | None = None
        self._reported = False

    def on_listening(self) -> None:
        with self._lock:
            self._listening = True
            self._report()

    def on_state_change(self, state: ServiceState, backend: Backend) -> None:
        with self._lock:
            self._state, self._backend = state, backend
            self._report()

    def _report(self) -> None:
        if not self._listening or self._state is None or self._backend is None or self._reported:
            return
        if self._state.status == "ready":
            self._reported = True
            status_line("READY", port=self.port, backend=self._backend.name, device=self._backend.device, model=self._backend.model_id)
        elif self._state.status == "error":
            self._reported = True
            status_line("ERROR", port=self.port, backend=self._backend.name, message=self._state.message or "load failed")


class ReportingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, reporter: ReadinessReporter) -> None:
        super().__init__(config)
        self.reporter = reporter

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            status_line("LISTENING", port=self.reporter.port)
            self.reporter.on_listening()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            status_line("ERROR", message=f"refusing to bind {args.host}: the service only listens on loopback")
            return 2
    except ValueError:
        status_line("ERROR", message=f"--host must be an IP address, got {args.host}")
        return 2

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as error:
        sock.close()
        status_line("ERROR", port=args.port, message=f"cannot bind {args.host}:{args.port}: {error.strerror or error}")
        return 2
    port = sock.getsockname()[1]

    reporter = ReadinessReporter(port)
    settings = Settings(
        max_body_bytes=args.max_body_bytes,
        max_pixels=args.max_pixels,
        queue_capacity=args.queue_size,
        default_mode=args.default_mode,
    )
    if args.max_tokens < 1:
        status_line("ERROR", port=port, message=f"--max-tokens must be at least 1, got {args.max_tokens}")
        sock.close()
        return 2
    if args.workers is not None and args.workers < 1:
        status_line("ERROR", port=port, message=f"--workers must be at least 1, got {args.workers}")
        sock.close()
        return 2
    backend = make_backend(args.backend, args.model, models_dir=args.models_dir, max_tokens=args.max_tokens, workers=args.workers)
    app = create_app(backend, settings, on_state_change=reporter.on_state_change)
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
        lifespan="on",
    )
    server = ReportingServer(config, reporter)

    # uvicorn re-raises the signal that stopped it; a no-op handler turns that into a clean exit.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run(sockets=[sock])
    status_line("STOPPED", port=port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
