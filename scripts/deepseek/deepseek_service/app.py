"""The HTTP face of the service: /health and /ocr in front of one inference worker."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable, Literal, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from . import VERSION
from .backend_base import MODES, TASKS, Backend, UnsupportedOption
from .images import DEFAULT_MAX_PIXELS, BadImage, decode_image
from .inference_queue import InferenceQueue, QueueFull

T = TypeVar("T")
RAW_CONTENT_TYPES = ("application/octet-stream",)
MULTIPART = "multipart/form-data"
FILE_FIELDS = ("image", "file")


@dataclass
class Settings:
    max_body_bytes: int = 25 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    queue_capacity: int = 8
    default_mode: str = "gundam"
    default_task: str = "ocr"


@dataclass
class ServiceState:
    status: Literal["loading", "ready", "error"] = "loading"
    message: str | None = None
    started_at: float = field(default_factory=time.time)


class Block(BaseModel):
    text: str
    box: tuple[float, float, float, float]
    confidence: float | None = None


class OcrResponse(BaseModel):
    text: str
    blocks: list[Block]
    description: str | None = None
    model: str
    device: str
    backend: str
    mode: str
    task: str
    width: int
    height: int
    timings: dict[str, float]
    # The model was stopped (output token budget or repetition guard) before it ended its answer.
    truncated: bool = False
    # Tokens the model generated (DeepSeek backends), for tokens/s and budget checks.
    output_tokens: int | None = None


class HealthResponse(BaseModel):
    status: Literal["loading", "ready", "error"]
    message: str | None
    backend: str
    device: str
    model: str
    queue_depth: int
    queue_capacity: int
    # Requests the backend runs at once (the rest wait in the queue).
    workers: int
    version: str
    uptime_s: float


class ErrorResponse(BaseModel):
    kind: str
    detail: str


def _error(status: int, kind: str, detail: str, retry_after_s: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse({"kind": kind, "detail": detail}, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(request: Request, body: bytes) -> Request:
    """A request whose body is already read, so Starlette's form parser can run on it."""
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


StateListener = Callable[[ServiceState, Backend], None]


def create_app(backend: Backend, settings: Settings | None = None, on_state_change: StateListener | None = None) -> FastAPI:
    settings = settings or Settings()
    state = ServiceState()
    queue = InferenceQueue(max(settings.queue_capacity, backend.parallelism), backend.parallelism)

    def set_state(status: Literal["loading", "ready", "error"], message: str | None = None) -> None:
        state.status = status
        state.message = message
        if on_state_change is not None:
            on_state_change(state, backend)

    async def load_backend() -> None:
        # A daemon thread, not the loop's executor: a SIGTERM while big weights load must not
        # wait for the load to finish before the process can exit.
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[BaseException | None] = loop.create_future()

        def load() -> None:
            result: BaseException | None = None
            try:
                backend.load()
            except BaseException as error:  # noqa: BLE001 - any load failure is reported, not raised
                result = error
            try:
                loop.call_soon_threadsafe(_settle, outcome, result)
            except RuntimeError:
                pass  # the server stopped while the model loaded: nobody is waiting

        threading.Thread(target=load, name="load-backend", daemon=True).start()
        error = await outcome
        if error is not None:
            set_state("error", f"{type(error).__name__}: {error}")
        else:
            set_state("ready")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Load in the background so /health answers "loading" while big weights load.
        loader = asyncio.create_task(load_backend())
        try:
            yield
        finally:
            loader.cancel()
            queue.shutdown()

    app = FastAPI(title="Parallel Vision OCR service", version=VERSION, lifespan=lifespan)
    app.state.service_state = state
    app.state.queue = queue

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return HealthResponse(
            status=state.status,
            message=state.message,
            backend=backend.name,
            device=backend.device,
            model=backend.model_id,
            queue_depth=queue.depth,
            queue_capacity=queue.capacity,
            workers=queue.workers,
            version=VERSION,
            uptime_s=round(time.time() - state.started_at, 3),
        )

    @app.post(
        "/ocr",
        response_model=OcrResponse,
        responses={
            400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 415: {"model": ErrorResponse},
            422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}, 503: {"model": ErrorResponse},
        },
        openapi_extra={"requestBody": {"content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            MULTIPART: {"schema": {"type": "object", "properties": {
                "image": {"type": "string", "format": "binary"},
                "mode": {"type": "string", "enum": list(MODES)},
                "task": {"type": "string", "enum": list(TASKS)},
            }}},
        }}},
    )
    async def ocr(
        request: Request,
        mode: str | None = Query(None, description=f"one of {', '.join(MODES)}"),
        task: str | None = Query(None, description=f"one of {', '.join(TASKS)}"),
    ) -> OcrResponse | JSONResponse:
        if state.status == "loading":
            return _error(503, "loading", "the model is still loading", retry_after_s=5)
        if state.status == "error":
            return _error(503, "backend-error", f"the backend failed to load: {state.message}")
        if queue.depth >= queue.capacity:
            return _error(429, "queue-full", "too many requests in the queue", retry_after_s=queue.retry_after_s())

        content_type = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip().lower()
        if not (content_type.startswith("image/") or content_type in RAW_CONTENT_TYPES or content_type == MULTIPART):
            return _error(415, "unsupported-media-type", f"content type {content_type} is not accepted; send image bytes or multipart/form-data")
        try:
            body = await _read_limited(request, settings.max_body_bytes)
        except BodyTooLarge:
            return _error(413, "too-large", f"body larger than {settings.max_body_bytes} bytes")

        if content_type == MULTIPART:
            form = await _replay(request, body).form()
            upload = next((form.get(name) for name in FILE_FIELDS if isinstance(form.get(name), UploadFile)), None)
            if not isinstance(upload, UploadFile):
                return _error(422, "bad-image", "multipart body has no file field named image or file")
            data = await upload.read()
            mode = mode or _form_text(form.get("mode"))
            task = task or _form_text(form.get("task"))
        else:
            data = body

        mode = mode or settings.default_mode
        task = task or settings.default_task
        if mode not in MODES:
            return _error(400, "bad-option", f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if task not in TASKS:
            return _error(400, "bad-option", f"unknown task {task!r}; choose one of {', '.join(TASKS)}")

        decode_started = time.perf_counter()
        try:
            decoded = await asyncio.to_thread(decode_image, data, settings.max_pixels)
        except BadImage as error:
            return _error(422, "bad-image", str(error))
        decode_ms = (time.perf_counter() - decode_started) * 1000

        chosen_mode, chosen_task = mode, task
        try:
            timed = await _unless_client_leaves(request, queue.run(lambda: backend.recognize(decoded.image, chosen_mode, chosen_task)))
        except ClientLeft:
            # Nobody will read the answer; 499 as nginx does, for the log only.
            return _error(499, "client-closed", "the client closed the connection")
        except QueueFull as full:
            return _error(429, "queue-full", str(full), retry_after_s=full.retry_after_s)
        except UnsupportedOption as error:
            return _error(400, "bad-option", str(error))
        except Exception as error:  # noqa: BLE001 - an inference failure is this request's 500, not a crash
            return _error(500, "inference-failed", f"{type(error).__name__}: {error}")

        output = timed.value
        return OcrResponse(
            text=output.text,
            blocks=[Block(text=b.text, box=b.box, confidence=b.confidence) for b in output.blocks],
            description=output.description,
            model=backend.model_id,
            device=backend.device,
            backend=backend.name,
            mode=chosen_mode,
            task=chosen_task,
            width=decoded.width,
            height=decoded.height,
            timings={
                "queue_ms": round(timed.queue_ms, 2),
                "infer_ms": round(timed.infer_ms, 2),
                "decode_ms": round(decode_ms, 2),
                **({"load_ms": round(output.load_ms, 2)} if output.load_ms > 0 else {}),
            },
            truncated=output.truncated,
            output_tokens=output.output_tokens,
        )

    return app


def _settle(future: "asyncio.Future[BaseException | None]", value: BaseException | None) -> None:
    if not future.done():
        future.set_result(value)


class ClientLeft(Exception):
    pass


DISCONNECT_POLL_S = 0.2


async def _unless_client_leaves(request: Request, work: Awaitable[T]) -> T:
    """Await work, but cancel it when the client disconnects (e.g. the app aborted a
    straggler's backup): a job still waiting in the queue is then never run."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _pending = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                raise ClientLeft()
    finally:
        if not task.done():
            task.cancel()


def _form_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
