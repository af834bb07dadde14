"""What every vendor dialect shares: API keys to accounts, a cache of rendered bodies, and the
canonical marts of the ground truth (DESIGN §4), computed in Python from the world."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict, defaultdict
from collections.abc import Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .world import World

# The canonical contact groups of DESIGN §4, written here on their own so that the truth never
# reads the project's seeds (that would test the mapping against itself).
CANON_FAILURES = ("voicemail", "no_answer", "busy", "declined", "timeout", "blocked", "invalid_number",
                  "carrier_error", "failed")
CANON_OPEN = ("pending", "queued", "in_progress")

# (method, path under the prefix, label used in request counts, handler(request, account))
RouteSpec = tuple[str, str, str, Callable[[Request, str], Response]]


class Dialect(ABC):
    """Base of a vendor dialect: `vendor` labels requests, `world_vendor` picks the campaigns."""

    vendor: str
    prefix: str
    routes: list[RouteSpec]  # set by each dialect's __init__, served under `prefix`
    key_headers: tuple[str, ...] = ()  # headers that may carry the key besides `Authorization: Bearer`
    # X-RateLimit-* headers once a budget is set: on every response ("always", DialNexa), with the
    # 429 only ("on_429", TalkifAI), or never (None: no budget, the docs document no limits).
    rate_limit_headers: str | None = None
    cache_bytes = 256 * 2**20  # rendered bodies kept: a whole 200,000-contact world is ~75 MB

    def __init__(self, world: World):
        self.world = world
        accounts = world.accounts.get(self.world_vendor, {})
        self._keys = {c["api_key"]: name for name, c in accounts.items()}
        self._cache: OrderedDict = OrderedDict()
        self._cached_bytes = 0

    @property
    def world_vendor(self) -> str:
        return self.vendor

    @staticmethod
    def bearer(request: Request) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, else None."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def authenticate(self, request: Request) -> str | None:
        """The account whose key the request carries, or None."""
        candidates = [self.bearer(request)] + [request.headers.get(h) for h in self.key_headers]
        return next((self._keys[k] for k in candidates if k and k in self._keys), None)

    @abstractmethod
    def truth(self, account: str) -> dict:
        """The warehouse a correct sync of this account would hold now (the control API's /truth)."""

    def api_key(self, account: str) -> str:
        """The account's key: what a request budget counts by."""
        return self.world.accounts[self.world_vendor][account]["api_key"]

    def _cached(self, key: tuple, build: Callable[[], object]) -> Response:
        """A rendered body, kept until the clock or the data moves (the key says when)."""
        body = self._cache.get(key)
        if body is None:
            result = build()
            if isinstance(result, Response):
                return result
            body = self._cache[key] = orjson.dumps(result)
            self._cached_bytes += len(body)
            while self._cached_bytes > self.cache_bytes:
                self._cached_bytes -= len(self._cache.popitem(last=False)[1])
        else:
            self._cache.move_to_end(key)
        return Response(body, 200, media_type="application/json")


def truth_marts(base: dict, name: str, job_status: str, rows: list[dict]) -> tuple[dict, list[dict]]:
    """One job's `job_success_rates` row and `failure_reasons` rows from its canonical contacts.

    `base` holds vendor, account and job_id."""
    succ = [r for r in rows if r["status"] == "completed"]
    fails = [r for r in rows if r["status"] in CANON_FAILURES]
    called = [r["attempt_count"] for r in rows if r["attempt_count"] > 0]
    durations = [r["call_duration_s"] for r in succ if r["call_duration_s"] is not None]
    finished = len(succ) + len(fails)
    rate = {
        **base, "job_name": name, "job_status": job_status, "contacts_total": len(rows),
        "contacts_open": sum(r["status"] in CANON_OPEN for r in rows),
        "successes": len(succ), "failures": len(fails),
        "cancelled": sum(r["status"] == "cancelled" for r in rows),
        "unknown": sum(r["status"] == "unknown" for r in rows),
        "success_rate": len(succ) / finished if finished else None,
        "avg_attempts": sum(called) / len(called) if called else None,
        "avg_call_duration_s": sum(durations) / len(durations) if durations else None,
    }
    groups: dict[tuple, int] = defaultdict(int)
    for r in fails:
        groups[(r["status"], r["error_code"], r["failure_reason"])] += 1
    reasons = [{**base, "status": s, "error_code": code, "failure_reason": reason, "contacts": n,
                "share_of_failures": n / len(fails)}
               for (s, code, reason), n in sorted(groups.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return rate, reasons
