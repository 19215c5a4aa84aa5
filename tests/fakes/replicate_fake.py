"""A loopback stand-in for the Replicate HTTP API, driven by the real `replicate` client.

Serves `POST /v1/files`, `POST /v1/predictions`, `GET /v1/predictions` (newest first, paged),
`GET /v1/predictions/{id}`,
`POST /v1/predictions/{id}/cancel` and the output file (real MP3 bytes), records every request,
and can deliver signed webhooks. How a prediction behaves is scripted with `Script`, per test
(`default_script`) or per prompt (`scripts_by_prompt`). Time-based scripts read `clock`, so tests
can use simulated time; `latency_seconds` finishes every prediction after that much real time
(for benchmarks). Each prediction costs a dict entry and at most one timer, so hundreds can be in
flight at once.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import hashlib
import hmac
import io
import itertools
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

logger = logging.getLogger(__name__)

DEFAULT_TOKEN = "r8_fake_token_0123456789"
DEFAULT_VERSION = "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
DEFAULT_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"fake-replicate-webhook-key-32byt").decode()

Outcome = Literal["succeeded", "failed", "canceled", "aborted"]

# The pinned jaaari/kokoro-82m version (text to speech): its own input schema, a WAV output.
SPEECH_VERSION = "f559560eb822dc509045f3921a1921234918b91739db4bf3daab2169b71c7a13"
SPEECH_INPUT_TYPES: dict[str, tuple[type, ...]] = {"text": (str,), "voice": (str,), "speed": (int, float)}
SPEECH_VOICES = {"af_bella", "af_sarah", "af_nicole", "af_sky", "am_adam", "am_michael", "bf_emma", "bm_george"}
MODEL_VERSIONS = {"stereo-melody-large", "stereo-large", "melody-large", "large"}
NORMALIZATION_STRATEGIES = {"loudness", "clip", "peak", "rms"}
OUTPUT_FORMATS = {"wav", "mp3"}
WEBHOOK_EVENTS = {"start", "output", "logs", "completed"}
# meta/musicgen's input schema: anything else is refused, so a typo in our inputs shows up.
INPUT_TYPES: dict[str, tuple[type, ...]] = {
    "model_version": (str,),
    "prompt": (str,),
    "input_audio": (str,),
    "duration": (int,),
    "continuation": (bool,),
    "continuation_start": (int,),
    "continuation_end": (int,),
    "multi_band_diffusion": (bool,),
    "normalization_strategy": (str,),
    "top_k": (int,),
    "top_p": (int, float),
    "temperature": (int, float),
    "classifier_free_guidance": (int,),
    "output_format": (str,),
    "seed": (int,),
}


@dataclass(frozen=True)
class Script:
    """How one prediction behaves. It finishes with `outcome` (None: stays processing forever)
    on its `after_polls`-th GET, or once `clock` has advanced `after_seconds` since creation
    (when set, this wins). `after_polls=0` finishes it at creation."""

    outcome: Outcome | None = "succeeded"
    after_polls: int | None = 2
    after_seconds: float | None = None
    error: str = "CUDA error: out of memory"
    output_as_list: bool = False


PROCESSING_FOREVER = Script(outcome=None, after_polls=None)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeFile:
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # kept only with keep_uploads=True (500 clips of 2 MB add up)


@dataclass
class FakePrediction:
    id: str
    version: str
    input: dict[str, Any]
    webhook: str | None
    webhook_events_filter: list[str] | None
    script: Script
    created_at: float  # on `clock` (what scripts time against)
    made_at: float = 0.0  # on `wall_clock`: what `created_at` in the API says
    polls: int = 0
    status: str = "starting"
    output: Any = None
    error: str | None = None
    completed_at: float | None = None
    started_wall: float | None = None
    completed_wall: float | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "canceled", "aborted")


@dataclass
class WebhookDelivery:
    url: str
    prediction_id: str
    status: str
    response_status: int | None  # None when the POST itself failed
    error: str | None = None


@dataclass
class _CreateFailure:
    status: int
    retry_after: str | None


@dataclass
class FakeReplicate:
    api_token: str = DEFAULT_TOKEN
    model_version_id: str = DEFAULT_VERSION
    speech_version_id: str = SPEECH_VERSION
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    latency_seconds: float | None = None
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    keep_uploads: bool = False
    default_script: Script = field(default_factory=Script)
    scripts_by_prompt: dict[str, Script] = field(default_factory=dict)
    # Output delivery knobs: a non-200 status, or a body of this many bytes (MP3 + padding).
    output_status: int = 200
    output_size: int | None = None
    output_declares_length: bool = True
    list_page_size: int = 100  # GET /v1/predictions

    requests: list[RecordedRequest] = field(default_factory=list)
    files: dict[str, FakeFile] = field(default_factory=dict)
    predictions: dict[str, FakePrediction] = field(default_factory=dict)
    webhook_deliveries: list[WebhookDelivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._create_failures: deque[_CreateFailure] = deque()
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""
        if self.latency_seconds is not None:
            # Real-time mode: predictions finish on their timer, not on polls.
            self.default_script = Script(after_polls=None)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/files", self._create_file)
        app.router.add_get("/v1/files/{id}", self._get_file)
        app.router.add_get("/v1/files/{id}/download", self._download_file)
        app.router.add_post("/v1/predictions", self._create_prediction)
        app.router.add_get("/v1/predictions", self._list_predictions)
        app.router.add_get("/v1/predictions/{id}", self._get_prediction)
        app.router.add_post("/v1/predictions/{id}/cancel", self._cancel_prediction)
        app.router.add_get("/delivery/{id}/output.mp3", self._output)
        app.router.add_get("/delivery/{id}/output.wav", self._output)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- scripting -------------------------------------------------------------------------

    def fail_creates(self, status: int, count: int = 1, *, retry_after: float | None = None) -> None:
        """Answer the next `count` prediction creates with `status` (and a Retry-After)."""
        header = None if retry_after is None else f"{retry_after:g}"
        self._create_failures.extend(_CreateFailure(status, header) for _ in range(count))

    async def finish(self, prediction_id: str, outcome: Outcome | None = None) -> None:
        """Finish a prediction now (delivering its webhook), whatever its script says."""
        prediction = self.predictions[prediction_id]
        self._complete(prediction, outcome or prediction.script.outcome or "succeeded")

    # --- inspection ------------------------------------------------------------------------

    def requests_to(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever a request or state change lands."""
        async with asyncio.timeout(within):
            while not predicate():
                await self._changed.wait()

    def prediction_json(self, prediction: FakePrediction) -> dict[str, Any]:
        base = f"{self.base_url}/v1/predictions/{prediction.id}"
        return {
            "id": prediction.id,
            "model": "jaaari/kokoro-82m" if prediction.version == self.speech_version_id else "meta/musicgen",
            "version": prediction.version,
            "input": prediction.input,
            "logs": "",
            "output": prediction.output,
            "error": prediction.error,
            "status": prediction.status,
            "data_removed": False,
            "source": "api",
            "created_at": _iso(prediction.made_at),
            "started_at": None if prediction.started_wall is None else _iso(prediction.started_wall),
            "completed_at": None if prediction.completed_wall is None else _iso(prediction.completed_wall),
            "metrics": {"predict_time": 1.0} if prediction.finished else {},
            "urls": {"get": base, "cancel": f"{base}/cancel", "web": base},
        }

    def signed_webhook(
        self,
        prediction: FakePrediction | str | Mapping[str, Any] | bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        webhook_id: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook delivery as Replicate signs it: (raw body, headers).

        `prediction` is a prediction (or its id), a JSON object, or raw bytes signed as they are.
        """
        if isinstance(prediction, str):
            prediction = self.predictions[prediction]
        if isinstance(prediction, bytes):
            body = prediction
        elif isinstance(prediction, FakePrediction):
            body = json.dumps(self.prediction_json(prediction)).encode()
        else:
            body = json.dumps(dict(prediction)).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(self.wall_clock()) if timestamp is None else timestamp
        key = base64.b64decode((secret or self.webhook_secret).removeprefix("whsec_"))
        digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        }
        return body, headers

    # --- handlers --------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        self._notify()
        if request.path.startswith("/v1/") and request.headers.get("Authorization") != (f"Bearer {self.api_token}"):
            return _problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        return await handler(request)

    async def _create_file(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        name, content_type = "file", "application/octet-stream"
        digest, size, kept = hashlib.sha256(), 0, []
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name != "content":
                continue
            name = part.filename or name
            content_type = part.headers.get("Content-Type", content_type)
            while chunk := await part.read_chunk():
                digest.update(chunk)
                size += len(chunk)
                if self.keep_uploads:
                    kept.append(chunk)
        if size == 0:
            return _problem(400, "Bad request", "missing or empty 'content' file part")
        file_id = f"file{next(self._ids):06d}"
        self.files[file_id] = FakeFile(
            file_id, name, content_type, size, digest.hexdigest(), b"".join(kept) if kept else None
        )
        return web.json_response(self._file_json(self.files[file_id]), status=201)

    async def _get_file(self, request: web.Request) -> web.Response:
        fake_file = self.files.get(request.match_info["id"])
        if fake_file is None:
            return _problem(404, "Not found", "No such file")
        return web.json_response(self._file_json(fake_file))

    async def _download_file(self, request: web.Request) -> web.Response:
        fake_file = self.files.get(request.match_info["id"])
        if fake_file is None or fake_file.data is None:
            return _problem(404, "Not found", "No such file (or uploads not kept)")
        return web.Response(body=fake_file.data, content_type=fake_file.content_type)

    async def _create_prediction(self, request: web.Request) -> web.Response:
        if self._create_failures:
            failure = self._create_failures.popleft()
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else None
            title = "Too many requests" if failure.status == 429 else "Server error"
            return _problem(failure.status, title, "scripted failure", headers=headers)
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, "Bad request", "body is not JSON")
        problems = self._validate(body)
        if problems:
            return _problem(422, "Input validation failed", "; ".join(problems))
        prompt = body["input"].get("prompt", body["input"].get("text", ""))
        prediction = FakePrediction(
            id=f"pred{next(self._ids):08d}",
            version=body["version"],
            input=body["input"],
            webhook=body.get("webhook"),
            webhook_events_filter=body.get("webhook_events_filter"),
            script=self.scripts_by_prompt.get(prompt, self.default_script),
            created_at=self.clock(),
            made_at=self.wall_clock(),
        )
        self.predictions[prediction.id] = prediction
        if prediction.script.after_polls == 0 and prediction.script.outcome:
            self._complete(prediction, prediction.script.outcome)
        elif self.latency_seconds is not None:
            loop = asyncio.get_running_loop()
            self._timers[prediction.id] = loop.call_later(self.latency_seconds, self._on_timer, prediction.id)
        return web.json_response(self.prediction_json(prediction), status=201)

    async def _list_predictions(self, request: web.Request) -> web.Response:
        """Newest first, `list_page_size` a page, `next` the URL of the following page; listing
        does not move a prediction along (as on Replicate, only time does)."""
        newest_first = list(reversed(self.predictions.values()))
        start = int(request.query.get("cursor", "0"))
        page = newest_first[start : start + self.list_page_size]
        after = start + self.list_page_size
        following = f"{self.base_url}/v1/predictions?cursor={after}" if after < len(newest_first) else None
        previous = f"{self.base_url}/v1/predictions?cursor={max(start - self.list_page_size, 0)}" if start else None
        results = [self.prediction_json(p) for p in page]
        return web.json_response({"next": following, "previous": previous, "results": results})

    async def _get_prediction(self, request: web.Request) -> web.Response:
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return _problem(404, "Not found", "No such prediction")
        if not prediction.finished:
            self._advance(prediction)
        return web.json_response(self.prediction_json(prediction))

    async def _cancel_prediction(self, request: web.Request) -> web.Response:
        prediction = self.predictions.get(request.match_info["id"])
        if prediction is None:
            return _problem(404, "Not found", "No such prediction")
        if not prediction.finished:  # canceling a finished prediction changes nothing
            self._complete(prediction, "canceled")
        return web.json_response(self.prediction_json(prediction))

    async def _output(self, request: web.Request) -> web.StreamResponse:
        if self.output_status != 200:
            return web.Response(status=self.output_status, text="no such output")
        if request.match_info["id"] not in self.predictions:
            return web.Response(status=404, text="no such output")
        if self.predictions[request.match_info["id"]].version == self.speech_version_id:
            return web.Response(body=tone_wav(), content_type="audio/wav")
        audio = tone_mp3()
        if self.output_size is None:
            return web.Response(body=audio, content_type="audio/mpeg")
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        if self.output_declares_length:
            response.content_length = self.output_size
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        padding = bytes(64 * 1024)
        sent = 0
        try:
            while sent < self.output_size:
                chunk = (audio if sent == 0 else padding)[: self.output_size - sent]
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, ConnectionError):
            pass  # the client gave up at its limit: that is the point of this mode
        return response

    # --- state -----------------------------------------------------------------------------

    def _validate(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be an object"]
        problems = []
        if body.get("version") == self.speech_version_id:
            return self._validate_speech(body)
        if body.get("version") != self.model_version_id:
            problems.append(f"unknown version {body.get('version')!r}")
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return [*problems, "input must be an object"]
        for key, value in inputs.items():
            types = INPUT_TYPES.get(key)
            if types is None:
                problems.append(f"unexpected input {key!r}")
            elif not isinstance(value, types) or (bool in types) != isinstance(value, bool):
                problems.append(f"input {key!r} has the wrong type")
        if inputs.get("model_version", "stereo-melody-large") not in MODEL_VERSIONS:
            problems.append("model_version not allowed")
        if inputs.get("output_format", "wav") not in OUTPUT_FORMATS:
            problems.append("output_format not allowed")
        if inputs.get("normalization_strategy", "loudness") not in NORMALIZATION_STRATEGIES:
            problems.append("normalization_strategy not allowed")
        duration = inputs.get("duration", 8)
        if isinstance(duration, int) and not 1 <= duration <= 300:
            problems.append("duration out of range")
        audio = inputs.get("input_audio")
        if isinstance(audio, str) and not self._is_input_file(audio):
            problems.append("input_audio is not a file uploaded here or a data URI")
        webhook = body.get("webhook")
        if webhook is not None and not str(webhook).startswith(("http://", "https://")):
            problems.append("webhook must be an http(s) URL")
        events = body.get("webhook_events_filter")
        if events is not None and not set(events) <= WEBHOOK_EVENTS:
            problems.append("unknown webhook event")
        return problems

    def _validate_speech(self, body: dict[str, Any]) -> list[str]:
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return ["input must be an object"]
        problems = [f"unexpected input {key!r}" for key in inputs if key not in SPEECH_INPUT_TYPES]
        problems += [
            f"input {key!r} has the wrong type"
            for key, types in SPEECH_INPUT_TYPES.items()
            if key in inputs and not isinstance(inputs[key], types)
        ]
        if not str(inputs.get("text") or "").strip():
            problems.append("text is required")
        if inputs.get("voice", "af_bella") not in SPEECH_VOICES:
            problems.append("unknown voice")
        return problems

    def _is_input_file(self, url: str) -> bool:
        prefix = f"{self.base_url}/v1/files/"
        return url.startswith("data:") or url.removeprefix(prefix) in self.files

    def _advance(self, prediction: FakePrediction) -> None:
        prediction.polls += 1
        script = prediction.script
        if script.outcome is not None:
            if script.after_seconds is not None:
                due = self.clock() - prediction.created_at >= script.after_seconds
            else:
                due = script.after_polls is not None and prediction.polls >= script.after_polls
            if due:
                self._complete(prediction, script.outcome)
                return
        prediction.status = "processing"
        prediction.started_wall = prediction.started_wall or self.wall_clock()

    def _on_timer(self, prediction_id: str) -> None:
        self._timers.pop(prediction_id, None)
        prediction = self.predictions[prediction_id]
        if not prediction.finished and prediction.script.outcome is not None:
            self._complete(prediction, prediction.script.outcome)

    def _complete(self, prediction: FakePrediction, outcome: Outcome) -> None:
        if prediction.finished:
            return
        timer = self._timers.pop(prediction.id, None)
        if timer is not None:
            timer.cancel()
        prediction.status = outcome
        prediction.completed_at = self.clock()
        prediction.completed_wall = self.wall_clock()
        if outcome != "canceled" or prediction.started_wall is not None:
            prediction.started_wall = prediction.started_wall or prediction.completed_wall
        if outcome == "succeeded":
            kind = "wav" if prediction.version == self.speech_version_id else "mp3"
            url = f"{self.base_url}/delivery/{prediction.id}/output.{kind}"
            prediction.output = [url] if prediction.script.output_as_list else url
        elif outcome == "failed":
            prediction.error = prediction.script.error
        if prediction.webhook and "completed" in (prediction.webhook_events_filter or ["completed"]):
            task = asyncio.get_running_loop().create_task(self._deliver(prediction))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        self._notify()

    async def _deliver(self, prediction: FakePrediction) -> None:
        assert prediction.webhook and self._session is not None
        body, headers = self.signed_webhook(prediction)
        try:
            async with self._session.post(prediction.webhook, data=body, headers=headers) as reply:
                delivery = WebhookDelivery(prediction.webhook, prediction.id, prediction.status, reply.status)
        except (aiohttp.ClientError, TimeoutError) as error:
            delivery = WebhookDelivery(prediction.webhook, prediction.id, prediction.status, None, type(error).__name__)
        self.webhook_deliveries.append(delivery)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _file_json(self, fake_file: FakeFile) -> dict[str, Any]:
        return {
            "id": fake_file.id,
            "name": fake_file.name,
            "content_type": fake_file.content_type,
            "size": fake_file.size,
            "etag": fake_file.sha256[:32],
            "checksums": {"sha256": fake_file.sha256},
            "metadata": {},
            "created_at": _iso(self.wall_clock()),
            "expires_at": _iso(self.wall_clock() + 86400),
            "urls": {"get": f"{self.base_url}/v1/files/{fake_file.id}"},
        }


def _problem(status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """An RFC 7807 body, the shape Replicate errors have (the client reads title/detail)."""
    return web.json_response({"title": title, "detail": detail, "status": status}, status=status, headers=headers)


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat().replace("+00:00", "Z")


@functools.cache
def tone_mp3(seconds: float = 1.0, frequency: float = 440.0, rate: int = 44100) -> bytes:
    """A real MP3 (a sine tone) encoded once with PyAV's libmp3lame and shared by every output."""
    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        count = int(rate * seconds)
        samples = (0.3 * np.sin(2 * np.pi * frequency * np.arange(count) / rate)).astype(np.float32)
        for start in range(0, count, 1152):
            chunk = samples[start : start + 1152].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


@functools.cache
def tone_wav(seconds: float = 1.0, frequency: float = 220.0, rate: int = 24000) -> bytes:
    """A real WAV (16-bit mono sine), like Kokoro's output."""
    import numpy as np

    from adapters.audio import encode_wav

    t = np.arange(int(rate * seconds)) / rate
    return encode_wav((0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), rate)
