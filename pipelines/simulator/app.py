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

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from . import control
from .talkifai import TalkifAI
from .world import World

# vendor name -> dialect class; a new vendor is one more line here.
DIALECTS = {"talkifai": TalkifAI}
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

    KINDS = ("429", "500", "502", "503", "5xx", "timeout", "malformed")

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


class Simulator:
    """Everything the app serves from: the world, its dialects, the request log and faults."""

    def __init__(self, world: World):
        self.world = world
        self.dialects = {name: cls(world) for name, cls in DIALECTS.items()}
        self.requests = RequestLog()
        self.faults = Faults()


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
        if kind == "429":
            response = dialect.error(429, "Rate limit exceeded", {
                "Retry-After": _fmt_seconds(faults.retry_after_s),
                "X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(sim.world.now + max(1, round(faults.retry_after_s)))})
        elif kind in ("500", "502", "503"):
            response = dialect.error(int(kind), "Internal Server Error" if kind == "500" else "Service Unavailable")
        else:
            account = dialect.authenticate(request) if auth else None
            if auth and account is None:
                response = dialect.error(401, "Invalid API key")
            else:
                response = handler(request, account)
            if kind == "malformed":
                body = response.body
                response = Response(body[: max(1, len(body) // 2)], 200, media_type="application/json")
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
