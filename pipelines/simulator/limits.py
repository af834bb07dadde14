"""Request budgets per API key, for the vendors whose docs document rate limits (TalkifAI,
DialNexa): a fixed window of ``window_s`` wall-clock seconds holding ``requests`` requests.

Wall clock, not the simulated one: a client waits real seconds for a window to reset, and an
``X-RateLimit-Reset`` epoch is compared with the client's own clock. No budget is set by default
(the vendors publish no numbers), so the headers and 429s only appear once a test sets one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

RESET_FORMS = ("epoch", "seconds")  # X-RateLimit-Reset: a unix time, or seconds until the reset
LIMITED = ("talkifai", "dialnexa")  # the vendors whose docs describe rate-limit headers


@dataclass
class Budget:
    requests: int
    window_s: float
    reset: str = "epoch"


@dataclass
class Verdict:
    """One request's standing in its key's window."""

    allowed: bool
    headers: dict[str, str]


class RateLimits:
    """Budgets per vendor; counts per (vendor, API key) in fixed windows."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.budgets: dict[str, Budget] = {}
        self._windows: dict[tuple[str, str], list[float]] = {}  # key -> [window start, count]
        self._clock, self._wall = clock, wall

    def configure(self, vendor: str, requests: int | None = None, window_s: float = 60.0,
                  reset: str = "epoch") -> dict:
        """Set (``requests`` ≥ 1) or clear (``requests`` None) the vendor's budget."""
        if vendor not in LIMITED:
            raise ValueError(f"budgets exist for {list(LIMITED)} only (the others document no limits)")
        if reset not in RESET_FORMS:
            raise ValueError(f"reset must be one of {list(RESET_FORMS)}")
        self._windows = {k: v for k, v in self._windows.items() if k[0] != vendor}
        if requests is None:
            self.budgets.pop(vendor, None)
        else:
            if int(requests) < 1 or float(window_s) <= 0:
                raise ValueError("requests must be >= 1 and window_s > 0")
            self.budgets[vendor] = Budget(int(requests), float(window_s), reset)
        return self.as_dict()

    def as_dict(self) -> dict:
        return {v: {"requests": b.requests, "window_s": b.window_s, "reset": b.reset}
                for v, b in self.budgets.items()}

    def spend(self, vendor: str, api_key: str) -> Verdict | None:
        """Count one request of ``api_key``; None when the vendor has no budget."""
        budget = self.budgets.get(vendor)
        if budget is None:
            return None
        now = self._clock()
        window = self._windows.get((vendor, api_key))
        if window is None or now >= window[0] + budget.window_s:
            window = self._windows[(vendor, api_key)] = [now, 0]
        allowed = window[1] < budget.requests
        if allowed:
            window[1] += 1
        left = max(0.0, window[0] + budget.window_s - now)
        reset = str(math.ceil(self._wall() + left)) if budget.reset == "epoch" else str(math.ceil(left))
        headers = {"X-RateLimit-Limit": str(budget.requests),
                   "X-RateLimit-Remaining": str(budget.requests - window[1]),
                   "X-RateLimit-Reset": reset}
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(left)))
        return Verdict(allowed, headers)
