"""What Weya's responses mean: its envelope `{message, status, code, errorMessage, data}`, its
"No batches found" 404 and its refused token (VENDORS.md §4)."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from pipelines.engine import ResponseShapeError
from pipelines.http import AuthError, HttpError, VendorClient

TOKEN_SETTING = "sources.weya.api_key"
NO_BATCHES = "no batches found"  # the list's documented 404: "No batches found for the authenticated user"
_MARKUP = re.compile(r"<[^>]*>")


class WeyaError(HttpError):
    """Weya answered with `status: false` in its envelope."""


class WeyaConfigError(HttpError):
    """A 404 that is not Weya's "No batches found": the user id or base URL is wrong."""


def envelope(raw: bytes) -> dict | None:
    """The Weya envelope in an error body, or None when the body is not one."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("status"), bool) else None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def body_text(raw: bytes) -> str:
    """An error body's words, lower-case: a JSON body's strings (any shape), else its text
    without HTML markup."""
    try:
        text = " ".join(_strings(orjson.loads(raw)))
    except orjson.JSONDecodeError:
        text = html.unescape(_MARKUP.sub(" ", raw.decode("utf-8", "replace")))
    return " ".join(text.split()).lower()


def is_no_batches(raw: bytes) -> bool:
    """Weya's empty-list 404, in whatever form the body takes (envelope, other JSON, text, HTML)."""
    return NO_BATCHES in body_text(raw)


def envelope_data(body: Any, endpoint: str) -> dict:
    """`data` of a 200 response, after checking the envelope's own `status` flag."""
    if not isinstance(body, dict) or not isinstance(body.get("status"), bool):
        raise ResponseShapeError(f"{endpoint}: response is not Weya's envelope")
    if not body["status"]:
        reason = body.get("errorMessage") or body.get("message") or "no message"
        raise WeyaError(f"{endpoint}: Weya answered status false (code {body.get('code')}): {reason}",
                        body.get("code") if isinstance(body.get("code"), int) else None)
    data = body.get("data")
    if not isinstance(data, dict):
        raise ResponseShapeError(f"{endpoint}: response has no object 'data'")
    return data


def field(body: dict, name: str, kind: type, endpoint: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ResponseShapeError(f"{endpoint}: response has no {kind.__name__} '{name}'")
    return value


def get_json(client: VendorClient, path: str, params: Mapping[str, Any], endpoint: str) -> Any:
    """`client.get_json`, with a 401 named after the setting that holds the token: Weya's Bearer
    token may be a login token that expires, and the user must know which key to renew."""
    try:
        return client.get_json(path, params)
    except AuthError as e:
        if e.status != 401:
            raise
        raise AuthError(f"GET {endpoint} answered 401: Weya refused the Bearer token in {TOKEN_SETTING} "
                        f"(expired or revoked?); set a valid token there", 401, e.body) from None
