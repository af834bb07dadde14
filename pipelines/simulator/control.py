"""Control API under ``/_control`` (a path no vendor uses): clock, truth, request counts,
faults, deletions, doc-reading switches and request budgets. Tests and benchmarks drive the
simulator only through this, over HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .world import iso

if TYPE_CHECKING:
    from .app import Simulator


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    return data


def routes(sim: Simulator) -> list[Route]:
    world = sim.world

    async def clock(request: Request) -> Response:
        return _json({"now": iso(world.now)})

    async def advance(request: Request) -> Response:
        try:
            seconds = float((await _body(request))["seconds"])
            world.advance(seconds)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": f"expected {{\"seconds\": N >= 0}}: {exc}"}, 400)
        return _json({"now": iso(world.now)})

    async def truth(request: Request) -> Response:
        vendor = request.query_params.get("vendor", "")
        account = request.query_params.get("account", "default")
        dialect = sim.dialects.get(vendor)
        campaigns = getattr(dialect, "world_vendor", vendor)  # a doc generation shares its vendor's world
        if dialect is None or account not in world.accounts.get(campaigns, {}):
            return _json({"detail": f"unknown vendor/account {vendor!r}/{account!r}"}, 404)
        return _json(dialect.truth(account))

    async def requests(request: Request) -> Response:
        detail = request.query_params.get("detail", "") not in ("", "0", "false")
        return _json(sim.requests.snapshot(detail))

    async def reset_requests(request: Request) -> Response:
        sim.requests.reset()
        return _json(sim.requests.snapshot())

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return _json(sim.faults.as_dict())
        try:
            return _json(sim.faults.configure(**await _body(request)))
        except (TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": str(exc)}, 400)

    async def switches(request: Request) -> Response:
        """{"talkifai_auth": mode | {account: mode}, "weya_not_found": "json" | "text"}."""
        if request.method == "GET":
            return _json(world.switches.as_dict())
        try:
            return _json(world.switches.update(**await _body(request)))
        except (TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": str(exc)}, 400)

    async def rate_limits(request: Request) -> Response:
        """{"vendor", "requests": N | null, "window_s": S, "reset": "epoch" | "seconds"}."""
        if request.method == "GET":
            return _json(sim.rate_limits.as_dict())
        try:
            return _json(sim.rate_limits.configure(**await _body(request)))
        except (TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": str(exc)}, 400)

    async def tamper(request: Request) -> Response:
        """{"vendor", "record_id", "scope"?, "set": {field: value}, "unset": [field]} or
        {"vendor", "job_id", "broken": true|false}; {"reset": true} clears everything."""
        try:
            b = await _body(request)
            tampering = sim.tampering
            if b.get("reset"):
                return _json(tampering.reset())
            if "job_id" in b:
                job = (b["vendor"], b["job_id"])
                (tampering.broken_jobs.add if b.get("broken", True) else tampering.broken_jobs.discard)(job)
            else:
                record = (b["vendor"], b["record_id"], b.get("scope", ""))
                tampering.records[record] = (dict(b.get("set", {})), list(b.get("unset", [])))
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": f"expected {{vendor, record_id, set, unset}} or {{vendor, job_id}}: {exc}"}, 400)
        return _json(tampering.as_dict())

    async def delete_job(request: Request) -> Response:
        try:
            b = await _body(request)
            found = world.delete_job(b["vendor"], b.get("account", "default"), b["job_id"])
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
            return _json({"detail": f"expected {{vendor, account, job_id}}: {exc}"}, 400)
        if not found:
            return _json({"detail": "job not found"}, 404)
        return _json({"deleted": True, "job_id": b["job_id"]})

    return [
        Route("/clock", clock, methods=["GET"]),
        Route("/advance", advance, methods=["POST"]),
        Route("/truth", truth, methods=["GET"]),
        Route("/requests", requests, methods=["GET"]),
        Route("/requests/reset", reset_requests, methods=["POST"]),
        Route("/faults", faults, methods=["GET", "POST"]),
        Route("/delete_job", delete_job, methods=["POST"]),
        Route("/tamper", tamper, methods=["POST"]),
        Route("/switches", switches, methods=["GET", "POST"]),
        Route("/rate_limits", rate_limits, methods=["GET", "POST"]),
    ]
