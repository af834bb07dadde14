"""The one HTTP client every vendor source uses.

One place decides what a response means: 429, 5xx, transport errors and truncated bodies are
retried (Retry-After honoured up to a cap, otherwise jittered exponential backoff, a bounded
number of attempts); a body that is unreadable twice in the same way is permanent; 401/403 are
fatal for the account; 3xx is a wrong base URL and never followed; 404 is the caller's to
interpret. Requests are paced by the budget the vendor's rate-limit headers state
(`pipelines.pacing`). The API key lives only in the request headers: it is never part of a URL,
a log line or an error message.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pipelines.config import CallsyncConfig
from pipelines.pacing import RateHeaders, budget_for

log = logging.getLogger("callsync.http")

AUTH_MODES = ("bearer", "x-api-key", "both")
BODY_TIMEOUTS = 4  # a whole response must arrive within this many timeout_s (each read within one)
SECRET_HEADERS = ("authorization", "x-api-key")


@dataclass(frozen=True)
class HttpSettings:
    """Client behaviour, from `[callsync]` config (per vendor overridable)."""

    timeout_s: float = CallsyncConfig.timeout_s
    max_attempts: int = CallsyncConfig.max_attempts
    backoff_max_s: float = 30.0
    backoff_multiplier_s: float = 0.5
    retry_after_max_s: float = CallsyncConfig.retry_after_max_s
    max_concurrency: int = CallsyncConfig.max_concurrency
    requests_per_minute: float | None = None  # a cap pacing never exceeds, whatever the vendor allows
    deadline: float | None = None  # time.monotonic() after which no request starts


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


class RedirectError(HttpError):
    """3xx: the base URL is not the API's. Never followed, so the key never goes to another host."""


class UnreadableBody(HttpError):
    """A success whose body is not JSON, the same bytes twice: retrying more cannot help."""


class DeadlineReached(HttpError):
    """The run's deadline came: no new request starts and no retry waits past it."""


class RetryableError(HttpError):
    """A transient failure: rate limit, server error, transport error, truncated or once-unreadable body."""

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


def decode_lenient(content: bytes) -> Any:
    """Parse a body orjson rejects for its text, keeping every readable record.

    Invalid UTF-8 becomes U+FFFD and so do lone surrogates (`\\ud800` escapes the stdlib parser
    accepts but no destination can store); the stdlib parser then reads the rest. Raises
    json.JSONDecodeError when even this is not JSON. The client counts each body decoded this way
    in `VendorClient.lenient_decodes`, so a run can report that some text was replaced.
    """
    return _mend(json.loads(content.decode("utf-8-sig", errors="replace")))


def _mend(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_mend(k): _mend(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mend(v) for v in value]
    return value


# A number or literal cut short at the very end of a body ("-12.", "tr", "nul").
_PARTIAL_TOKEN = re.compile(r"(?:-?[0-9][0-9.eE+-]*|-|t(?:ru?)?|f(?:a(?:ls?)?)?|n(?:ul?)?)\s*\Z")


def _truncated(response: httpx.Response, error: json.JSONDecodeError) -> bool:
    """JSON that ends early, or fewer bytes than Content-Length announced: a transfer cut short."""
    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > len(response.content):
        return True
    if _fails_at_end(error):
        return True
    trimmed = _PARTIAL_TOKEN.sub("", error.doc)
    try:
        json.loads(trimmed)
    except json.JSONDecodeError as e:
        return trimmed != error.doc and _fails_at_end(e)
    return False


def _fails_at_end(error: json.JSONDecodeError) -> bool:
    """The parser ran out of text: at the end, inside a string, or inside an escape."""
    tail = error.doc[error.pos:]
    return (error.pos >= len(error.doc.rstrip()) or error.msg.startswith("Unterminated string")
            or (error.msg.startswith("Invalid \\uXXXX") and len(tail) < 6))


def _first_problem(response: httpx.Response, error: json.JSONDecodeError) -> str:
    """What makes a body unreadable, in a few words."""
    content = response.content
    if content.lstrip()[:1] == b"<" or "html" in response.headers.get("Content-Type", ""):
        return "HTML page, not JSON"
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"invalid UTF-8 at byte {e.start}"
    return f"invalid JSON at character {error.pos} ({error.msg})"


def path_for(template: str, **ids: Any) -> str:
    """A path from a template with every id URL-encoded, so an id cannot add path segments or a query."""
    return template.format(**{name: quote(str(value), safe="") for name, value in ids.items()})


def _one_line(text: str) -> str:
    return " ".join(text.split())


class VendorClient:
    """A thread-safe JSON client for one vendor account, with retries, pacing and request counting."""

    def __init__(self, base_url: str, headers: Mapping[str, str], settings: HttpSettings = HttpSettings(),
                 transport: httpx.BaseTransport | None = None, deadline: float | None = None):
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.deadline = settings.deadline if deadline is None else deadline
        self._new_client = lambda: httpx.Client(
            base_url=self.base_url,
            headers=dict(headers),
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(max_connections=settings.max_concurrency,
                                max_keepalive_connections=settings.max_concurrency),
            transport=transport,
            follow_redirects=False,  # a redirect would carry the key to wherever it points
        )
        self._client = self._new_client()
        self._secrets = _credentials(headers)
        self._budget = budget_for(self.base_url, self._secrets)
        self._budget.cap(settings.requests_per_minute)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)  # requests in flight
        self.requests = 0
        self.retries = 0
        self.lenient_decodes = 0  # bodies whose unreadable text was replaced (see decode_lenient)
        self.first_request_at: float | None = None  # time.monotonic(), for the run's timings
        self.last_response_at: float | None = None
        self._retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=stop_after_attempt(settings.max_attempts),
            wait=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` (relative to the base URL) and return its JSON, retrying what is transient."""
        unreadable: set[bytes] = set()  # digests of bodies that did not parse, for this call's retries
        for attempt in self._retrying.copy():
            with attempt:
                return self._get_json_once(path, params, unreadable)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            wait = min(error.retry_after, self.settings.retry_after_max_s)
        else:
            wait = wait_random_exponential(multiplier=self.settings.backoff_multiplier_s,
                                           max=self.settings.backoff_max_s)(state)
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            raise DeadlineReached(f"deadline reached: not retrying after {error} (would wait {wait:.1f}s)")
        return wait

    def _before_sleep(self, state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1
        log.info("retrying after %s (attempt %d)", state.outcome and state.outcome.exception(), state.attempt_number)

    def _get_json_once(self, path: str, params: Mapping[str, Any] | None, unreadable: set[bytes]) -> Any:
        with self._lock:
            self.requests += 1
            self.first_request_at = self.first_request_at or time.monotonic()
        with self._slots:
            response = self._send(path, params)
        self.last_response_at = time.monotonic()
        self._check_status(response)
        return self._parse(response, path, unreadable)

    def _send(self, path: str, params: Mapping[str, Any] | None) -> httpx.Response:
        """One GET inside the shared budget: waits for it, then tells it what the answer said."""
        if (self.deadline is not None and time.monotonic() >= self.deadline) or \
                not self._budget.acquire(self.deadline):
            raise DeadlineReached(f"deadline reached before GET {path} could start")
        sent_at, response = time.monotonic(), None
        try:
            response = self._get_whole(path, params, self._time_limit(sent_at))
            return response
        except httpx.TransportError as e:
            raise RetryableError(self._redact(f"{type(e).__name__} on GET {self.base_url}{path}: {e}")) from None
        finally:
            limited = response is not None and response.status_code == 429
            seen = None if response is None else RateHeaders.parse(
                response.headers, parse_retry_after(response.headers.get("Retry-After")))
            self._budget.release(sent_at, seen, limited, self.settings.retry_after_max_s)

    def _time_limit(self, sent_at: float) -> float:
        """When a response must have arrived whole (time.monotonic()): BODY_TIMEOUTS × timeout_s after it
        was asked for, and never after the run's deadline."""
        limit = sent_at + BODY_TIMEOUTS * self.settings.timeout_s
        return limit if self.deadline is None else min(limit, self.deadline)

    def _get_whole(self, path: str, params: Mapping[str, Any] | None, limit: float) -> httpx.Response:
        """One GET whose body is read whole by `limit`. httpx's timeouts bound each read, not the whole
        body: a server that sends a byte now and then would hold the request (and the run) for ever."""
        wait = max(0.01, min(self.settings.timeout_s, limit - time.monotonic()))
        with self._client.stream("GET", path, params=params, timeout=httpx.Timeout(wait)) as response:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if time.monotonic() > limit:
                    if self.deadline is not None and limit >= self.deadline:
                        raise DeadlineReached(f"deadline reached while GET {path} was still arriving")
                    raise RetryableError(f"GET {path}: body still arriving after "
                                         f"{BODY_TIMEOUTS * self.settings.timeout_s:g}s", response.status_code)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]  # decoded
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=response.request)

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 300 <= status < 400:
            raise RedirectError(self._redirect_message(response), status)
        if status == 429 or status >= 500:
            raise RetryableError(self._describe(response), status,
                                 parse_retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            raise AuthError(self._describe(response), status, response.content)
        if status == 404:
            raise NotFound(self._describe(response), status, response.content)
        if status >= 400:
            raise HttpError(self._describe(response), status, response.content)

    def _parse(self, response: httpx.Response, path: str, unreadable: set[bytes]) -> Any:
        """The body as JSON; a body unreadable the same way twice raises UnreadableBody."""
        content = response.content
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass
        try:
            value = decode_lenient(content)
        except json.JSONDecodeError as e:
            where = f"GET {path} ({len(content)} bytes)"
            if _truncated(response, e):
                raise RetryableError(f"truncated JSON body from {where}", response.status_code) from None
            message = f"unreadable body from {where}: {_first_problem(response, e)}"
            digest = hashlib.sha256(content).digest()
            if digest in unreadable:
                raise UnreadableBody(f"{message}; the same bytes again on retry", response.status_code) from None
            unreadable.add(digest)
            raise RetryableError(message, response.status_code) from None
        with self._lock:
            self.lenient_decodes += 1
        log.warning("GET %s: body is not valid UTF-8 JSON; read it with replacement characters", path)
        return value

    def _describe(self, response: httpx.Response) -> str:
        """A short, secret-free description of an error body for messages."""
        return self._redact(f"HTTP {response.status_code} from {response.request.method} "
                            f"{response.request.url.path}: {response.text[:200]}")

    def _redirect_message(self, response: httpx.Response) -> str:
        location = response.headers.get("Location")
        target = (str(response.request.url.join(location).copy_with(query=None, fragment=None))
                  if location else "no Location")
        return self._redact(f"HTTP {response.status_code} redirect from GET {response.request.url.path} "
                            f"to {target}; not followed: check base_url ({self.base_url})")

    def _redact(self, text: str) -> str:
        """One line, with every credential this client sends replaced."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _one_line(text)

    def close(self) -> None:
        """Close the connections; a later request opens new ones (a source may run again)."""
        self._client.close()
        self._client = self._new_client()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _credentials(headers: Mapping[str, str]) -> list[str]:
    """The bare credentials among the headers (a token without its scheme), longest first.

    They key the shared budget (hashed) and are redacted from messages; values under four
    characters are no real key and would garble every message they were redacted from.
    """
    found = set()
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, token = value.strip().partition(" ")
            found.add(token.strip() if token and name.lower() == "authorization" else value.strip())
    return sorted((c for c in found if len(c) >= 4), key=len, reverse=True)


def auth_headers(api_key: str, mode: str = "bearer") -> dict[str, str]:
    """Request headers carrying the key as the vendor wants it: `Authorization: Bearer`, `x-api-key` or both."""
    if mode not in AUTH_MODES:
        raise ValueError(f"unknown auth mode {mode!r}; use one of: {', '.join(AUTH_MODES)}")
    headers = {"Accept": "application/json"}
    if mode in ("bearer", "both"):
        headers["Authorization"] = f"Bearer {api_key}"
    if mode in ("x-api-key", "both"):
        headers["x-api-key"] = api_key
    return headers


def bearer(api_key: str) -> dict[str, str]:
    """Authorization headers; kept out of every log line and error message."""
    return auth_headers(api_key, "bearer")
