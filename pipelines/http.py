"""The one HTTP client every vendor source uses.

One place decides what a response means: 429, 5xx, transport errors and bodies that do not
parse are retried (Retry-After honoured up to a cap, otherwise jittered exponential backoff,
a bounded number of attempts); 401/403 are fatal for the account; 404 is the caller's to
interpret. The API key lives only in the request headers: it is never part of a URL, a log
line or an error message.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

log = logging.getLogger("callsync.http")


@dataclass(frozen=True)
class HttpSettings:
    """Client behaviour, from `[callsync]` config (per vendor overridable)."""

    timeout_s: float = 30.0
    max_attempts: int = 6
    backoff_max_s: float = 30.0
    backoff_multiplier_s: float = 0.5
    retry_after_max_s: float = 60.0
    max_concurrency: int = 8


class HttpError(Exception):
    """A response the caller must handle; the message is one readable line without secrets."""

    def __init__(self, message: str, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.status = status
        self.body = body  # for vendors whose error envelopes carry meaning (Weya's empty-list 404)


class AuthError(HttpError):
    """401/403: the key is wrong or lacks access. Retrying cannot help."""


class NotFound(HttpError):
    """404: what it means (deleted job, wrong base URL, empty list) depends on the endpoint."""


class RetryableError(HttpError):
    """A transient failure: rate limit, server error, transport error, unparsable body."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(response: httpx.Response) -> str:
    """A short, secret-free description of an error body for messages."""
    text = response.text[:200].replace("\n", " ")
    return f"HTTP {response.status_code} from {response.request.method} {response.request.url.path}: {text}"


class VendorClient:
    """A thread-safe JSON client for one vendor account, with retries and request counting."""

    def __init__(self, base_url: str, headers: Mapping[str, str], settings: HttpSettings = HttpSettings(),
                 transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self._new_client = lambda: httpx.Client(
            base_url=self.base_url,
            headers=dict(headers),
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.max_concurrency,
                                max_keepalive_connections=settings.max_concurrency),
            transport=transport,
        )
        self._client = self._new_client()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)  # requests in flight
        self.requests = 0
        self.retries = 0
        self.first_request_at: float | None = None  # time.monotonic(), for the run's timings
        self.last_response_at: float | None = None
        self.get_json = retry(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(settings.max_attempts),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )(self._get_json_once)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            return min(error.retry_after, self.settings.retry_after_max_s)
        backoff = wait_random_exponential(multiplier=self.settings.backoff_multiplier_s,
                                          max=self.settings.backoff_max_s)
        return backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1
        log.info("retrying after %s (attempt %d)", state.outcome.exception(), state.attempt_number)

    def _get_json_once(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        with self._lock:
            self.requests += 1
            self.first_request_at = self.first_request_at or time.monotonic()
        try:
            with self._slots:
                response = self._client.get(path, params=params)
        except httpx.TransportError as e:
            raise RetryableError(f"{type(e).__name__} on GET {self.base_url}{path}: {e}") from None
        self.last_response_at = time.monotonic()
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableError(_describe(response), status,
                                 parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            raise AuthError(_describe(response), status, response.content)
        if status == 404:
            raise NotFound(_describe(response), status, response.content)
        if status >= 400:
            raise HttpError(_describe(response), status, response.content)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RetryableError(f"unparsable JSON body from GET {path} ({len(response.content)} bytes)",
                                 status) from None

    def close(self) -> None:
        """Close the connections; a later request opens new ones (a source may run again)."""
        self._client.close()
        self._client = self._new_client()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def bearer(api_key: str) -> dict[str, str]:
    """Authorization headers; kept out of every log line and error message."""
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
