"""`MusicGenerator` backed by Meta's MusicGen on Replicate (async predictions API + our poller).

Why not `replicate.async_run()`: when its 60 s `Prefer: wait` window ends while the prediction is
still processing, replicate 1.0.7 returns None without polling (replicate-python #385), and
`Prediction.async_wait()` has no timeout. So we only create, get and cancel predictions here and
leave waiting to `adapters.replicate.poller.wait_for_prediction` (plus the webhook).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import NotRequired, TypedDict, TypeVar

import httpx
from replicate.client import Client
from replicate.exceptions import ReplicateError
from replicate.prediction import Predictions

from adapters.replicate.download import fetch_bounded
from adapters.replicate.failures import (
    from_replicate_error,
    from_transport_error,
    remember_retry_after,
    retry_after_box,
)
from adapters.replicate.mapping import status_from_prediction
from adapters.replicate.transport import ReplicateTransport
from core.domain.generation import GenerationRequest, PredictionStatus
from core.errors import GenerationFailed, GenerationRateLimited, OutputUnavailable
from core.ports import MusicGenerator, SubmissionNote

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.replicate.com"
DEFAULT_MODEL_VARIANT = "stereo-melody-large"

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

# Replicate prediction ids are short lowercase alphanumerics; refusing anything else keeps a
# stray value from turning into another API path.
_PREDICTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
FINGERPRINT_PREFIX = "input-sha256:"


class MusicGenInput(TypedDict):
    """The `input` we send to `meta/musicgen` (the model's own schema names these fields)."""

    model_version: str
    prompt: str
    input_audio: NotRequired[str]  # the melody; left out for music from words alone
    duration: int
    continuation: bool
    output_format: str
    normalization_strategy: str
    seed: int


class ReplicateGenerator(MusicGenerator):
    """Runs the pinned `meta/musicgen` version with the user's clip as the melody."""

    def __init__(
        self,
        *,
        api_token: str,
        model_version_id: str,
        base_url: str = DEFAULT_BASE_URL,
        model_variant: str = DEFAULT_MODEL_VARIANT,
        normalization_strategy: str = "loudness",
        http_timeout_seconds: float = 30.0,
        upload_timeout_seconds: float = 120.0,
        download_timeout_seconds: float = 120.0,
        max_submit_attempts: int = 4,
        max_retry_after_seconds: float = 60.0,
        backoff_seconds: float = 1.0,
        max_connections: int = 20,
        find_pages: int = 20,
        sleep: Sleep = asyncio.sleep,
        compute_micros_per_second: int = 0,
    ) -> None:
        self.compute_micros_per_second = compute_micros_per_second
        if not api_token:
            raise ValueError("api_token is required")
        if not model_version_id:
            raise ValueError("model_version_id is required")
        self._version_id = model_version_id
        self._variant = model_variant
        self._normalization = normalization_strategy
        self._http_timeout = http_timeout_seconds
        self._upload_timeout = upload_timeout_seconds
        self._download_timeout = download_timeout_seconds
        self._max_attempts = max(1, max_submit_attempts)
        self._max_retry_after = max_retry_after_seconds
        self._backoff = backoff_seconds
        self._sleep = sleep
        # A job's prediction is looked for among at most this many pages of the newest
        # predictions (100 a page), back to when the job was claimed.
        self._find_pages = max(1, find_pages)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # httpcore's pool rescans every queued request against every connection whenever one
        # frees up: with hundreds of jobs in flight that goes quadratic (500 jobs on the fake:
        # 81 s with 100 connections and no gate, ~10 s like this). So requests queue on these
        # gates instead, and the pools stay small.
        self._api_slots = asyncio.Semaphore(max_connections)
        self._download_slots = asyncio.Semaphore(max_connections)
        # Our own transport so `aclose()` can release the client's connections (the SDK has no
        # public close) and the pool size is ours to choose; aiohttp's underneath (see its module).
        tls = httpx.create_ssl_context()  # loading the CA bundle once costs ~70 ms: share it
        self._transport = ReplicateTransport(limits=limits, verify=tls)
        self._client = Client(
            api_token=api_token,
            base_url=base_url,
            timeout=httpx.Timeout(http_timeout_seconds),
            transport=self._transport,
            event_hooks={"response": [remember_retry_after]},
        )
        # Output files live on another host (replicate.delivery): fetch them with a client that
        # does not carry our API token.
        self._download_http = httpx.AsyncClient(
            timeout=httpx.Timeout(http_timeout_seconds),
            follow_redirects=True,
            transport=ReplicateTransport(limits=limits, verify=tls),
        )

    def __repr__(self) -> str:  # never show the token
        return f"ReplicateGenerator(version={self._version_id!r}, variant={self._variant!r})"

    async def aclose(self) -> None:
        await self._download_http.aclose()
        await self._transport.aclose()

    # --- MusicGenerator --------------------------------------------------------------------

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        # Upload once, then create: a rate-limited create is retried without re-uploading the
        # clip. The clip goes up as bytes, so no URL of ours (and no bot token) reaches Replicate.
        audio_url = None  # music from words alone: no melody
        if request.clip is not None:
            audio_url = await self._with_rate_limit_retries("upload", lambda: self._upload(request))
        inputs = self._inputs(request, audio_url)
        return await self._create_noted(request, dict(inputs), webhook_url, before_create)

    async def find(self, ref: str, *, since: dt.datetime | None = None) -> list[PredictionStatus]:
        """The predictions among the recent ones (`GET /v1/predictions`, newest first) made with
        the input `submit` noted as `ref` (its fingerprint; or, noted by an older release, the
        uploaded file's URL), created at or after `since` (less a minute for clock skew). Pages
        are read until one reaches back before that, at most `find_pages`."""
        oldest = since - dt.timedelta(minutes=1) if since is not None else None
        found: list[PredictionStatus] = []
        page: str | None = "/v1/predictions"
        for _ in range(self._find_pages):
            if page is None:
                break
            body = await self._call(functools.partial(self._get_json, page))
            results = body.get("results")
            items = [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []
            found += [
                status_from_prediction(item)
                for item in items
                if _made_with(item, ref) and (oldest is None or _created(item) >= oldest)
            ]
            after = body.get("next")
            page = after if isinstance(after, str) and after else None
            if oldest is not None and items and _created(items[-1]) < oldest:
                break  # the rest was made before the job was claimed
        return found

    async def status(self, prediction_id: str) -> PredictionStatus:
        path = self._prediction_path(prediction_id)
        data = await self._call(lambda: self._get_prediction(prediction_id, path))
        return status_from_prediction(data)

    async def cancel(self, prediction_id: str) -> None:
        """Best effort: a failure is logged, never raised (the deadline path must go on)."""
        try:
            self._prediction_path(prediction_id)
            await self._call(lambda: self._client.predictions.async_cancel(prediction_id))
            logger.info("prediction %s cancel requested", prediction_id)
        except GenerationFailed as error:
            # Includes an answer the SDK cannot model (e.g. an "aborted" prediction).
            logger.warning("cancel of prediction %s failed: %s", prediction_id, error)

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        if not status.output_url:
            raise OutputUnavailable(detail=f"prediction {status.prediction_id} has no output URL")
        async with self._download_slots:
            audio = await fetch_bounded(
                self._download_http,
                status.output_url,
                max_bytes=max_bytes,
                timeout_seconds=self._download_timeout,
            )
        logger.info("prediction %s output downloaded (%d bytes)", status.prediction_id, len(audio))
        return audio

    # --- helpers ---------------------------------------------------------------------------

    async def _create_noted(
        self,
        request: GenerationRequest,
        inputs: dict[str, object],
        webhook_url: str | None,
        before_create: SubmissionNote | None,
    ) -> str:
        """Note the input's fingerprint, then create. The prediction list shows each
        prediction's version and input (not its webhook), so what we send is what tells, after
        a crash, which prediction was this job's: the uploaded file, the job's own seed, or (for
        inputs with neither, like speech) the words with the time the job was claimed."""
        if before_create is not None:
            await before_create(input_fingerprint(self._version_id, inputs))
        prediction_id = await self._with_rate_limit_retries("create", lambda: self._create(inputs, webhook_url))
        logger.info("job %s (%s) submitted as prediction %s", request.job_id, request.operation, prediction_id)
        return prediction_id

    def _inputs(self, request: GenerationRequest, audio_url: str | None) -> MusicGenInput:
        inputs: MusicGenInput = {
            "model_version": self._variant,
            "prompt": request.style,
            "duration": request.seconds,
            "continuation": False,  # the clip is a melody to follow, not audio to extend
            "output_format": "mp3",
            "normalization_strategy": self._normalization,
            "seed": request.seed,
        }
        if audio_url is not None:
            inputs["input_audio"] = audio_url
        return inputs

    async def _upload(self, request: GenerationRequest) -> str:
        assert request.clip is not None
        clip = io.BytesIO(request.clip.audio)
        clip.name = f"melody-{request.job_id}.wav"
        # The SDK uploads with timeout=None; our own bound keeps a stalled upload from hanging.
        created = await self._call(
            lambda: self._client.files.async_create(clip, content_type="audio/wav"),
            within=self._upload_timeout,
        )
        return str(created.urls["get"])

    async def _create(self, inputs: Mapping[str, object], webhook_url: str | None) -> str:
        params: Predictions.CreatePredictionParams = {}
        if webhook_url:
            params = {"webhook": webhook_url, "webhook_events_filter": ["completed"]}
        prediction = await self._call(
            # The SDK's `input` is a plain dict type, which a TypedDict is not: pass a copy.
            lambda: self._client.predictions.async_create(version=self._version_id, input=dict(inputs), **params)
        )
        return str(prediction.id)

    async def _get_json(self, path: str) -> dict[str, object]:
        # Read as plain JSON: the SDK's model refuses an "aborted" prediction in the list.
        response = await self._client._async_request("GET", path)
        body = response.json()
        if not isinstance(body, dict):
            raise GenerationFailed("bad_response", "the prediction list is not an object", retryable=True)
        return body

    async def _get_prediction(self, prediction_id: str, path: str) -> Mapping[str, object]:
        body: object
        try:
            prediction = await self._client.predictions.async_get(prediction_id)
            body = prediction.dict()
        except ValueError:
            # replicate 1.0.7's model rejects the "aborted" status (replicate-python #449):
            # read the same endpoint as plain JSON through the client instead.
            response = await self._client._async_request("GET", path)
            body = response.json()
        if not isinstance(body, dict):
            raise GenerationFailed("bad_response", "prediction is not an object", retryable=True)
        return body

    async def _with_rate_limit_retries(self, what: str, call: Callable[[], Awaitable[str]]) -> str:
        """Retry a 429 a few times, honouring Retry-After. Only 429s are retried: the request was
        refused before anything was created, whereas a 5xx or timeout may have created a
        prediction, so retrying those here could run (and bill) it twice."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await call()
            except GenerationRateLimited as error:
                wait = error.retry_after_seconds
                if attempt == self._max_attempts or wait > self._max_retry_after:
                    logger.warning("%s rate limited, giving up after %d attempts", what, attempt)
                    raise
                logger.info("%s rate limited, retrying in %.1fs (attempt %d)", what, wait, attempt)
                await self._sleep(wait)
        raise AssertionError("unreachable")

    async def _call(self, start: Callable[[], Awaitable[T]], *, within: float | None = None) -> T:
        """Run one SDK call (started only once a slot is free) with a time bound, translating
        its failures into core errors."""
        box: dict[str, float] = {}
        token = retry_after_box.set(box)
        try:
            # The SDK retries GETs on 429/503 by itself, sleeping as long as Retry-After says:
            # the overall bound keeps a single call from blocking a worker indefinitely.
            async with (
                self._api_slots,
                asyncio.timeout(within if within is not None else self._http_timeout * 4),
            ):
                return await start()
        except ReplicateError as error:
            raise from_replicate_error(
                error,
                retry_after=box.get("retry_after"),
                default_retry_after=self._backoff,
            ) from error
        except (httpx.TransportError, TimeoutError) as error:
            raise from_transport_error(error) from error
        except ValueError as error:  # a body that is not JSON or not a prediction/file object
            raise GenerationFailed("bad_response", type(error).__name__, retryable=True) from error
        finally:
            retry_after_box.reset(token)

    @staticmethod
    def _prediction_path(prediction_id: str) -> str:
        if not _PREDICTION_ID.match(prediction_id):
            raise GenerationFailed("not_found", f"malformed prediction id {prediction_id!r}")
        return f"/v1/predictions/{prediction_id}"


def input_fingerprint(version: str, inputs: Mapping[str, object]) -> str:
    """What `submit` notes for a prediction: a digest of the model version and the input (the
    list shows both as sent), so it fits the note whatever the length of the words."""
    canonical = json.dumps([version, _plain(dict(inputs))], sort_keys=True, separators=(",", ":"))
    return FINGERPRINT_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: object) -> object:
    """`1.0` and `1` are the same number to the API, whichever way it echoes it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _made_with(prediction: Mapping[str, object], ref: str) -> bool:
    given = prediction.get("input")
    if not isinstance(given, dict):
        return False
    if not ref.startswith(FINGERPRINT_PREFIX):
        return given.get("input_audio") == ref  # noted by an older release: the uploaded file
    return input_fingerprint(str(prediction.get("version") or ""), given) == ref


def _created(prediction: Mapping[str, object]) -> dt.datetime:
    """When the prediction was made (the distant future when unreadable: keep looking)."""
    try:
        made = dt.datetime.fromisoformat(str(prediction.get("created_at")))
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
    return made if made.tzinfo is not None else made.replace(tzinfo=dt.UTC)
