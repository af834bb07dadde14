"""The ASGI app: every vendor dialect under its prefix, the control API, request counting,
fault injection and auth.

Counting, faults and auth wrap each vendor endpoint (rather than a middleware) because the
wrapper knows the dialect and the route template, which are what the counts are keyed by.
Delays use ``asyncio.sleep`` so a slow or "timed out" request never blocks the others.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import control, hostile
from .dialect import Dialect
from .dialnexa import DialNexa, DialNexaGenA
from .limits import RateLimits
from .talkifai import TalkifAI
from .vogent import Vogent
from .weya import Weya
from .world import World

# vendor name -> dialect class; a new vendor is one more line here.
DIALECTS: dict[str, type[Dialect]] = {"talkifai": TalkifAI, "vogent": Vogent, "weya": Weya,
            "dialnexa": DialNexa, "dialnexa_gen_a": DialNexaGenA}  # DialNexa doc generations B (default), A
UNMATCHED = "(unmatched)"


class RequestLog:
    """Counts per "vendor METHOD /route/{template}" plus a bounded log without headers."""

    def __init__(self, maxlen: int = 100_000):
        self.counts: Counter = Counter()
        self.log: deque = deque(maxlen=maxlen)

    def record(self, vendor: str, method: str, route: str, request: Request) -> dict:
        self.counts[f"{vendor} {method} {route}"] += 1
        entry = {"vendor": vendor, "route": f"{method} {route}", "path": request.url.path,
                 "query": request.url.query, "status": None}
        self.log.append(entry)
        return entry

    def reset(self) -> None:
        self.counts.clear()
        self.log.clear()

    def snapshot(self, detail: bool = False) -> dict:
        out = {"counts": dict(self.counts), "total": sum(self.counts.values())}
        if detail:
            out["log"] = list(self.log)
        return out


class Faults:
    """Per-request fault draws, deterministic for a seed (in request arrival order)."""

    KINDS = ("429", "500", "502", "503", "5xx", "timeout", "malformed", *hostile.KINDS)

    def __init__(self):
        self.configure()

    def configure(self, rate: float = 0.0, kinds: list[str] | tuple = ("429", "500", "timeout", "malformed"),
                  retry_after_s: float = 1.0, delay_s: float = 2.0, latency_s: float = 0.0,
                  seed: int = 1) -> dict:
        kinds = [str(k) for k in kinds]
        bad = [k for k in kinds if k not in self.KINDS]
        if bad or not kinds:
            raise ValueError(f"unknown fault kinds {bad}; use {list(self.KINDS)}")
        if not 0 <= float(rate) <= 1:
            raise ValueError("rate must be within 0..1")
        self.rate, self.kinds = float(rate), kinds
        self.retry_after_s, self.delay_s = float(retry_after_s), float(delay_s)
        self.latency_s, self.seed = float(latency_s), int(seed)
        self._rng = random.Random(f"faults:{self.seed}")
        return self.as_dict()

    def as_dict(self) -> dict:
        return {"rate": self.rate, "kinds": self.kinds, "retry_after_s": self.retry_after_s,
                "delay_s": self.delay_s, "latency_s": self.latency_s, "seed": self.seed}

    def draw(self) -> str | None:
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        kind = self.kinds[self._rng.randrange(len(self.kinds))]
        return ("500", "502", "503")[self._rng.randrange(3)] if kind == "5xx" else kind


class Tampering:
    """Bad data on purpose, to test what a sync does with it: records whose fields are
    overridden or removed (wrong types, missing ids, unknown statuses) and jobs whose
    detail endpoints keep failing. Applied to rendered bodies, so every dialect gets it."""

    def __init__(self):
        self.reset()

    def reset(self) -> dict:
        # (vendor, record id, scope: only in responses whose path contains it) -> (set, unset)
        self.records: dict[tuple[str, str, str], tuple[dict, list]] = {}
        self.broken_jobs: set[tuple[str, str]] = set()
        return self.as_dict()

    def as_dict(self) -> dict:
        return {"records": [{"vendor": v, "record_id": r, "scope": p, "set": s, "unset": u}
                            for (v, r, p), (s, u) in self.records.items()],
                "broken_jobs": [{"vendor": v, "job_id": j} for v, j in sorted(self.broken_jobs)]}

    def is_broken(self, vendor: str, path: str) -> bool:
        return any(v == vendor and f"/{job_id}" in path for v, job_id in self.broken_jobs)

    def apply(self, vendor: str, path: str, body: bytes) -> bytes:
        overrides = {r: change for (v, r, scope), change in self.records.items() if v == vendor and scope in path}
        if not overrides:
            return body
        data = orjson.loads(body)

        def walk(node):
            if isinstance(node, dict):
                change = overrides.get(node.get("id", node.get("_id")))
                for value in node.values():
                    walk(value)
                if change is not None:
                    node.update(change[0])
                    for key in change[1]:
                        node.pop(key, None)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(data)
        return orjson.dumps(data)


class Simulator:
    """Everything the app serves from: the world, its dialects, the request log and faults."""

    def __init__(self, world: World):
        self.world = world
        self.dialects = {name: cls(world) for name, cls in DIALECTS.items()}
        self.requests = RequestLog()
        self.faults = Faults()
        self.tampering = Tampering()
        self.rate_limits = RateLimits()


def _fmt_seconds(s: float) -> str:
    return str(int(s)) if float(s).is_integer() else f"{s:g}"


def _endpoint(sim: Simulator, dialect, label: str, handler, auth: bool = True):
    vendor = dialect.vendor

    async def endpoint(request: Request) -> Response:
        entry = sim.requests.record(vendor, request.method, label, request)
        faults = sim.faults
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        kind = faults.draw()
        if kind == "timeout":
            await asyncio.sleep(faults.delay_s)
        if kind == "repeat_page":
            request = hostile.first_page(request)
        if kind == "redirect":
            response = hostile.redirect(request)
        elif kind == "429":
            response = dialect.error(429, "Rate limit exceeded", {
                "Retry-After": _fmt_seconds(faults.retry_after_s),
                "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(sim.world.now + max(1, round(faults.retry_after_s)))})
        elif kind in ("500", "502", "503"):
            response = dialect.error(int(kind), "Internal Server Error" if kind == "500" else "Service Unavailable")
        else:
            account = dialect.authenticate(request) if auth else None
            verdict = None
            if account is not None and dialect.rate_limit_headers:
                verdict = sim.rate_limits.spend(dialect.world_vendor, dialect.api_key(account))
            if auth and account is None:
                response = dialect.error(401, "Invalid API key")
            elif verdict is not None and not verdict.allowed:
                response = dialect.error(429, "Rate limit exceeded", verdict.headers)
            elif sim.tampering.is_broken(vendor, request.url.path):
                response = dialect.error(500, "Internal Server Error")
            else:
                response = handler(request, account)
                if response.status_code == 200:
                    tampered = sim.tampering.apply(vendor, request.url.path, response.body)
                    if tampered is not response.body:
                        response = Response(tampered, 200, media_type="application/json")
            if verdict is not None and verdict.allowed and dialect.rate_limit_headers == "always":
                response.headers.update(verdict.headers)
            if kind == "malformed":
                body = response.body
                response = Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
            elif kind in hostile.BODY_KINDS and response.status_code == 200:
                response = Response(hostile.mangle(kind, bytes(response.body)), 200, media_type="application/json")
        if kind == "drip":
            response = hostile.drip(response, faults.delay_s)
        entry["status"] = response.status_code
        return response

    return endpoint


def create_app(world: World | None = None) -> Starlette:
    sim = Simulator(world if world is not None else World())
    routes = [Mount("/_control", routes=control.routes(sim))]
    for dialect in sim.dialects.values():
        sub = [Route(path, _endpoint(sim, dialect, label, handler), methods=[method])
               for method, path, label, handler in dialect.routes]
        sub.append(Route("/{path:path}", _endpoint(
            sim, dialect, UNMATCHED, lambda request, account, d=dialect: d.error(404, "Not Found"), auth=False)))
        routes.append(Mount(dialect.prefix, routes=sub))
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
