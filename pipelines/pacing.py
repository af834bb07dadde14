"""Pacing requests by the budget a vendor states, so the sync stays under its rate limit.

Vendors state their budget in `X-RateLimit-Limit` / `-Remaining` / `-Reset` (some on every
response, some only with a 429) and `Retry-After`. A `Budget` is shared by every client of the
same (base URL, API key) in the process and combines three gates:

- a token bucket at Limit ÷ window, with a burst of 0.2 s, once the window is confirmed (the
  distance between two consecutive Resets; one Reset only bounds it from below);
- an allowance: no more requests start in a window than `Remaining` said were left (minus the
  requests still in flight), refilled to `Limit` when the window resets. Where the window's end
  is unknown, an exhausted allowance lets one request (a probe) through at a time: its 429
  states the end, its success starts a new allowance;
- a pause for everyone after a 429, until its Retry-After.

An epoch Reset is read against this machine's clock; one in the past or over a day away is
ignored (a vendor clock far off, or a simulated one). Resets in whole seconds are taken at
their latest reading, so rounding costs throughput, never a 429. An answer read after the window
rolled over, to a request sent before it, is about the old window: it teaches only the Limit
(and a 429 gives back the place the roll reserved for it: a probe that then succeeds in the same
window would otherwise be taken for a new one).

Before the first such header nothing is paced (plans differ from 60 to 1,000+ requests a minute,
so any guess would be wrong); a user cap (requests per minute) bounds the bucket from the start.

Written here rather than taken from a library: pyrate-limiter, limits, aiolimiter and ratelimit
pace to a rate fixed up front; none learns the budget from response headers, tracks a vendor's
window, or lets a waiting thread give up at a deadline.
"""
from __future__ import annotations

import hashlib
import math
import re
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

EPOCH_AFTER = 1e9  # a Reset value above this is an epoch time, below it seconds until the reset
MAX_RESET_S = 86_400.0  # an epoch Reset further away than a day (or in the past) is a clock mix-up: ignored
BURST_S = 0.2  # the bucket holds this many seconds' worth of requests
ROLL_MARGIN_S = 0.02  # start the next window this late, against clock conversion and rounding

_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)")


def _number(value: str | None) -> float | None:
    match = _NUMBER.match(value or "")
    return float(match.group(1)) if match else None


def reset_seconds(value: str | None, now_epoch: float | None = None) -> float | None:
    """Seconds until the window resets from an `X-RateLimit-Reset` value: epoch time or seconds."""
    number = _number(value)
    if number is None or number <= EPOCH_AFTER:
        return number
    seconds = number - (time.time() if now_epoch is None else now_epoch)
    return seconds if 0 < seconds <= MAX_RESET_S else None


@dataclass(frozen=True)
class RateHeaders:
    """What one response said about the budget; None where it said nothing."""

    limit: float | None
    remaining: float | None
    reset_in: float | None
    retry_after: float | None

    @classmethod
    def parse(cls, headers: Mapping[str, str], retry_after: float | None = None) -> RateHeaders | None:
        """The rate-limit headers of a response (case-insensitive mapping), or None if it has none."""
        found = cls(_number(headers.get("X-RateLimit-Limit")), _number(headers.get("X-RateLimit-Remaining")),
                    reset_seconds(headers.get("X-RateLimit-Reset")), retry_after)
        return None if found == cls(None, None, None, None) else found


class TokenBucket:
    """Tokens refill at `rate` a second up to a burst of BURST_S seconds; the Budget's lock guards it."""

    def __init__(self, rate: float, now: float):
        self.rate, self.tokens, self.stamp = rate, 1.0, now
        self.capacity = max(1.0, rate * BURST_S)

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a token is free (0 if one is)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def retune(self, rate: float, now: float) -> None:
        self._refill(now)
        self.rate, self.capacity = rate, max(1.0, rate * BURST_S)
        self.tokens = min(self.tokens, self.capacity)


def _lower(a: float | None, b: float | None) -> float | None:
    return a if b is None else b if a is None else min(a, b)


class Budget:
    """The request budget of one (base URL, API key), shared by its clients' threads."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.limit: float | None = None
        self.window: float | None = None  # confirmed: the distance between two consecutive resets
        self.window_floor = 0.0  # the longest Reset seen: the window is at least this long
        self.reset_at: float | None = None  # time.monotonic() at which the current window ends
        self.reset_from_header = False
        self.rolled_from: float | None = None  # the header-stated reset we last rolled over
        self.rolled_at = -math.inf
        self.allowance: float | None = None  # requests that may still start in this window
        self.in_flight = 0
        self.paused_until = -math.inf
        self.probe_at: float | None = None  # when a request started while held, window end unknown
        self.cap_rate: float | None = None
        self.bucket: TokenBucket | None = None

    def cap(self, requests_per_minute: float | None) -> None:
        """Never exceed this rate (the lowest cap of the clients sharing the budget wins)."""
        if requests_per_minute:
            with self._cond:
                self.cap_rate = _lower(self.cap_rate, requests_per_minute / 60.0)
                self._retune(time.monotonic())

    def acquire(self, deadline: float | None = None) -> bool:
        """Wait until a request may start and count it in flight; False if that would be past `deadline`."""
        with self._cond:
            while True:
                now = time.monotonic()
                self._roll(now)
                wait = self._delay(now)
                if wait is not None and wait <= 0:
                    self._take(now)
                    return True
                if deadline is not None and (now >= deadline or (wait is not None and now + wait > deadline)):
                    return False
                self._cond.wait(wait if deadline is None or wait is not None else deadline - now)

    def release(self, sent_at: float, headers: RateHeaders | None, rate_limited: bool,
                retry_after_cap: float) -> None:
        """The request that started at `sent_at` is answered; learn what its headers said."""
        with self._cond:
            self.in_flight -= 1
            if headers is not None or rate_limited:
                self._learn(headers or RateHeaders(None, None, None, None), rate_limited, sent_at,
                            retry_after_cap, time.monotonic())
            elif self.probe_at is not None and sent_at >= self.probe_at:  # the probe got through: a new window
                self.allowance = self.limit - 1 - self.in_flight if self.limit else None
                self.probe_at = None
            self._cond.notify_all()

    def _take(self, now: float) -> None:
        self.in_flight += 1
        if self.allowance is not None:
            if self.allowance < 1 and self.reset_at is None:
                self.probe_at = now
            self.allowance -= 1
        if self.bucket is not None:
            self.bucket.take(now)

    def _delay(self, now: float) -> float | None:
        """Seconds until a request may start; None: until a request in flight returns."""
        waits = [self.paused_until - now, self.bucket.delay(now) if self.bucket else 0.0]
        if self.allowance is not None and self.allowance < 1:
            if self.reset_at is not None:
                waits.append(self.reset_at + ROLL_MARGIN_S - now)
            elif self.in_flight:
                return None  # window end unknown: one request at a time until an answer states it
        return max(waits)

    def _roll(self, now: float) -> None:
        """Past the window's end, refill the allowance; the next end follows a confirmed window."""
        if self.reset_at is None or now < self.reset_at + ROLL_MARGIN_S:
            return
        self.rolled_from = self.reset_at if self.reset_from_header else None
        self.rolled_at = now
        if self.window:
            self.reset_at += self.window * (math.floor((now - self.reset_at) / self.window) + 1)
        else:
            self.reset_at = None
        self.reset_from_header = False
        self.allowance = self.limit - self.in_flight if self.limit else None

    def _learn(self, seen: RateHeaders, rate_limited: bool, sent_at: float, retry_after_cap: float,
               now: float) -> None:
        self.limit = seen.limit or self.limit
        if sent_at < self.rolled_at:
            # sent before our last roll but read after it (late, under load): it is about the window we
            # left, whose Remaining, 429 or Retry-After would wrongly end or reopen the current one. The
            # roll counted it in flight against the new window; refused, it took no place there
            if rate_limited and self.allowance is not None:
                self.allowance += 1
            return
        remaining = 0.0 if rate_limited and seen.remaining is None else seen.remaining
        fresh = None if remaining is None else remaining - self.in_flight
        if seen.reset_in is not None:
            self.window_floor = max(self.window_floor, seen.reset_in)
            self._place(now + seen.reset_in, fresh, sent_at)
        elif fresh is not None:
            self.allowance = _lower(self.allowance, fresh)
        if rate_limited and seen.retry_after is not None:
            self.paused_until = max(self.paused_until, now + min(seen.retry_after, retry_after_cap))
        self._retune(now)

    def _place(self, ends: float, fresh: float | None, sent_at: float) -> None:
        """Fit a stated window end to the one tracked: a newer window, the same one, or ours rolled early."""
        tolerance = max(0.05, min(1.0, (self.window or self.window_floor) / 2))
        if self.reset_at is None or ends > self.reset_at + tolerance:
            rolled_from = self.rolled_from
            adjacent = rolled_from is not None and sent_at < rolled_from + self.window_floor
            if rolled_from is not None and adjacent and ends - rolled_from > tolerance:
                # never below the longest Reset seen: ends rounded up to whole seconds make the distance short
                self.window = max(ends - rolled_from, self.window_floor)
            self.reset_at = ends
            self.allowance = fresh if fresh is not None else self.limit - self.in_flight if self.limit else None
        elif ends >= self.reset_at - tolerance or not self.reset_from_header:
            self.reset_at = max(self.reset_at, ends) if ends >= self.reset_at - tolerance else ends
            self.allowance = _lower(self.allowance, fresh)
        else:
            return  # an answer from before the window we track: nothing new
        self.reset_from_header = True

    def _retune(self, now: float) -> None:
        # Until a window is confirmed the allowance alone paces: a rate from the floor could be far too fast.
        stated = self.limit / self.window if self.limit and self.window else None
        rate = _lower(stated, self.cap_rate)
        if rate is None:
            self.bucket = None
        elif self.bucket is None:
            self.bucket = TokenBucket(rate, now)
        else:
            self.bucket.retune(rate, now)


_budgets: weakref.WeakValueDictionary[str, Budget] = weakref.WeakValueDictionary()
_budgets_lock = threading.Lock()


def budget_key(base_url: str, secrets: Iterable[str]) -> str:
    """A registry key for (base URL, credentials) that does not hold the credentials in clear."""
    return hashlib.sha256("\0".join([base_url.rstrip("/"), *sorted(secrets)]).encode()).hexdigest()


def budget_for(base_url: str, secrets: Iterable[str]) -> Budget:
    """The process-wide budget of these credentials at this base URL (alive while a client holds it)."""
    key = budget_key(base_url, secrets)
    with _budgets_lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = Budget()
        return budget
