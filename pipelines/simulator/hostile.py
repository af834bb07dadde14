"""Hostile responses, as fault kinds (``/_control/faults``): what a vendor API that misbehaves
sends, applied to every dialect's bodies without knowing its envelope.

- ``repeat_page``: any page asked for is answered with the first one (paging that never ends);
- ``lying_total``: every count of records or pages in the body says ten times more, and
  ``contactsHasMore`` says more (paging that would go on);
- ``empty_list``: the first list of records comes back empty;
- ``duplicate``: every record of the first list of records comes twice;
- ``poison``: a text value of the first record carries a byte that is not UTF-8;
- ``nested``: the first record gains a field nested 300 levels deep;
- ``redirect``: a 302 to another host;
- ``drip``: the body arrives in small pieces spread over ``delay_s`` seconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

BODY_KINDS = ("lying_total", "empty_list", "duplicate", "poison", "nested")
KINDS = (*BODY_KINDS, "repeat_page", "redirect", "drip")
PAGE_PARAMS = ("page", "contactsPage")  # offset paging; keyset paging restarts without its cursor
COUNTS = ("total", "totalPages", "contactsTotal")
HAS_MORE = ("contactsHasMore",)
KEYS = ("id", "_id")  # never poisoned: a record keeps its identity
_POISON, _NESTED = "@@hostile-poison@@", "@@hostile-nested@@"
DEPTH = 300


def first_page(request: Request) -> Request:
    """The same request asking for the first page."""
    query = [(k, "1" if k in PAGE_PARAMS else v) for k, v in request.query_params.multi_items() if k != "cursor"]
    scope = dict(request.scope)
    scope["query_string"] = "&".join(f"{k}={v}" for k, v in query).encode()
    return Request(scope, request.receive)


def redirect(request: Request) -> Response:
    return Response(b"", 302, {"Location": f"https://elsewhere.example{request.url.path}"})


def _records(node: Any) -> list | None:
    """The first list of objects in a body, depth first."""
    if isinstance(node, list):
        if node and all(isinstance(item, dict) for item in node):
            return node
        items = node
    elif isinstance(node, dict):
        items = list(node.values())
    else:
        return None
    for item in items:
        found = _records(item)
        if found is not None:
            return found
    return None


def _lie(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in COUNTS and isinstance(value, int) and not isinstance(value, bool):
                node[key] = max(1, value) * 10
            elif key in HAS_MORE:
                node[key] = True
            else:
                _lie(value)
    elif isinstance(node, list):
        for item in node:
            _lie(item)


def mangle(kind: str, body: bytes) -> bytes:
    """A 200's JSON body with one of ``BODY_KINDS`` applied (unchanged where it has no records)."""
    data = orjson.loads(body)
    if kind == "lying_total":
        _lie(data)
        return orjson.dumps(data)
    records = _records(data)
    if not records:
        return body
    if kind == "empty_list":
        records.clear()
    elif kind == "duplicate":
        records.extend([dict(r) for r in records])
    elif kind == "poison":
        field = next((k for k, v in records[0].items() if isinstance(v, str) and k not in KEYS), None)
        if field is None:
            return body
        records[0][field] += _POISON
    elif kind == "nested":
        records[0]["hostile_nested"] = _NESTED
    out = orjson.dumps(data)
    return out.replace(_POISON.encode(), b"\xff").replace(
        orjson.dumps(_NESTED), b"[" * DEPTH + b"1" + b"]" * DEPTH)


def drip(response: Response, seconds: float) -> Response:
    """The response, its body sent in 50 pieces over ``seconds``."""
    body = response.body
    size = max(1, -(-len(body) // 50))

    async def pieces():
        for start in range(0, len(body), size):
            yield body[start:start + size]
            await asyncio.sleep(seconds / 50)

    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return StreamingResponse(pieces(), response.status_code, headers, media_type=response.media_type)
