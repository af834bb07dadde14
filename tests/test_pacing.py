"""Pacing by the vendor's stated budget: few 429s under load, a user cap that holds, nothing paced blind."""
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipelines.http import HttpSettings, VendorClient, auth_headers, bearer
from pipelines.pacing import Budget, RateHeaders, budget_for, budget_key, reset_seconds
from tests.test_http import KEY, serve

THREADS = 8


class FixedWindow:
    """A vendor's rate limiter: `limit` requests per `window` seconds, windows aligned to the epoch.

    `headers` "always" sends X-RateLimit-* on every response, "on_429" only with a 429; `reset`
    states the window's end as an epoch time or as whole seconds until it (rounded up).
    """

    def __init__(self, limit: int, window: int, headers: str = "always", reset: str = "epoch"):
        self.limit, self.window, self.headers, self.reset = limit, window, headers, reset
        self.lock = threading.Lock()
        self.counts: dict[int, int] = {}
        self.statuses: list[int] = []

    def __call__(self, handler):
        now = time.time()
        index = math.floor(now / self.window)
        ends = (index + 1) * self.window
        with self.lock:
            count = self.counts[index] = self.counts.get(index, 0) + 1
            status = 200 if count <= self.limit else 429
            self.statuses.append(status)
        headers = {}
        if self.headers == "always" or status == 429:
            headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(0, self.limit - count)),
                       "X-RateLimit-Reset": str(ends if self.reset == "epoch" else math.ceil(ends - now))}
        if status == 429:
            headers["Retry-After"] = str(math.ceil(ends - now))
        return status, headers, b'{"ok": true}'


PATIENT = HttpSettings(max_attempts=10)


def hammer(url: str, requests: int, settings: HttpSettings = PATIENT, clients: int = 2):
    """`requests` GETs from THREADS threads over `clients` clients sharing one key; their results."""
    shared = [VendorClient(url, bearer(KEY), settings) for _ in range(clients)]
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda i: shared[i % clients].get_json(f"/jobs/{i}"), range(requests)))


@pytest.mark.parametrize("requests,reset", [(200, "epoch"), (120, "seconds")])
def test_a_budget_stated_on_every_response_is_kept(requests, reset):
    """40 requests per 2 s, 8 threads over two clients of one key: at most 1% + 1 of requests see a 429."""
    limiter = FixedWindow(40, 2, "always", reset)
    with serve(limiter) as server:
        assert hammer(server.url, requests) == [{"ok": True}] * requests
    assert limiter.statuses.count(429) <= requests // 100 + 1
    assert max(limiter.counts.values()) <= 40 + limiter.statuses.count(429)


@pytest.mark.parametrize("reset", ["epoch", "seconds"])
def test_a_budget_stated_only_with_429s_is_learned_from_the_first(reset):
    """Nothing is known until the first 429; requests already in flight then also see one, no more after."""
    limiter = FixedWindow(40, 2, "on_429", reset)
    with serve(limiter) as server:
        assert hammer(server.url, 120) == [{"ok": True}] * 120
    first = limiter.statuses.index(429)
    later = limiter.statuses[first + THREADS:].count(429)
    assert later <= 120 // 100 + 1, limiter.statuses


def test_nothing_is_paced_before_a_budget_is_stated():
    with serve(lambda handler: (200, {}, b"[]")) as server:
        started = time.monotonic()
        hammer(server.url, 100)
    assert time.monotonic() - started < 5.0  # a guess of even 1,000 a minute would take 6 s


def requests_per_second(seen) -> float:
    times = [t for t, _, _ in seen]
    return (len(times) - 1) / (times[-1] - times[0])


def busiest_second(seen) -> int:
    times = sorted(t for t, _, _ in seen)
    return max(sum(1 for u in times[i:] if u < t + 1) for i, t in enumerate(times))


@pytest.mark.parametrize("stated", [pytest.param(FixedWindow(10_000, 1), id="generous_headers"),
                                    pytest.param(lambda handler: (200, {}, b"[]"), id="no_headers")])
def test_the_user_cap_bounds_the_rate_whatever_the_headers_allow(stated):
    """600 a minute is 10 a second, with a burst of two; the server measures it."""
    with serve(stated) as server:
        hammer(server.url, 30, HttpSettings(requests_per_minute=600))
    assert requests_per_second(server.seen) <= 10.5
    assert busiest_second(server.seen) <= 12


def test_the_budget_is_shared_by_key_and_never_holds_it():
    one, again = budget_for("http://v.test/api/", [KEY]), budget_for("http://v.test/api", [KEY])
    assert one is again and budget_for("http://v.test/api", ["other"]) is not one
    assert budget_for("http://w.test/api", [KEY]) is not one
    assert KEY not in budget_key("http://v.test/api", [KEY]) and len(budget_key("x", [KEY])) == 64
    clients = [VendorClient("http://v.test/api", auth_headers(KEY, mode)) for mode in ("bearer", "x-api-key", "both")]
    assert all(client._budget is one for client in clients) and KEY not in str(vars(one))
    assert VendorClient("http://v.test/api", bearer("another-key"))._budget is not one


def test_reset_is_read_as_epoch_or_seconds():
    assert reset_seconds("30") == 30.0
    assert reset_seconds("1.5") == 1.5
    assert reset_seconds(str(1_700_000_060), now_epoch=1_700_000_000) == 60.0
    assert reset_seconds(str(1_700_000_000), now_epoch=1_700_000_060) is None  # in the past: a clock mix-up
    assert reset_seconds(str(1_000_000_000 + 10**7), now_epoch=1_000_000_000) is None  # months away
    assert reset_seconds("soon") is None and reset_seconds(None) is None
    assert RateHeaders.parse({"Content-Type": "application/json"}) is None


def seen(limit=None, remaining=None, reset_in=None, retry_after=None) -> RateHeaders:
    return RateHeaders(limit, remaining, reset_in, retry_after)


def test_concurrency_shrinks_to_what_remaining_allows():
    """Remaining 3 with two requests in flight: one more may start before the window resets."""
    budget = Budget()
    budget.acquire()
    budget.acquire()
    budget.acquire()
    budget.release(time.monotonic(), seen(100, 3, 0.5), False, 60)
    assert budget.acquire(deadline=time.monotonic() + 0.05)
    assert not budget.acquire(deadline=time.monotonic() + 0.05)
    started = time.monotonic()
    assert budget.acquire(deadline=time.monotonic() + 2)  # once the window has reset
    assert 0.3 < time.monotonic() - started < 1.0


def test_a_429_pauses_every_thread_until_its_retry_after_capped():
    budget = Budget()
    budget.acquire()
    budget.release(time.monotonic(), seen(retry_after=30), True, 0.3)
    started = time.monotonic()
    assert not budget.acquire(deadline=started + 0.1)  # the pause would cross it: give up at once
    assert time.monotonic() - started < 0.05
    assert budget.acquire()
    assert 0.25 < time.monotonic() - started < 0.6


def test_the_bucket_follows_the_window_between_two_stated_resets():
    """Limit 20 and resets 2 s apart: 10 a second once two consecutive windows confirmed the length."""
    budget = Budget()
    budget.acquire()
    budget.release(time.monotonic(), seen(20, 19, 0.1), False, 60)
    assert budget.bucket is None  # one Reset says only that the window is at least 0.1 s
    time.sleep(0.15)
    budget.acquire()  # past the reset: the next window
    budget.release(time.monotonic(), seen(20, 19, 2.0), False, 60)
    assert budget.window == pytest.approx(2.05, abs=0.05)
    assert budget.bucket.rate == pytest.approx(10.0, rel=0.05)
    started = time.monotonic()
    for _ in range(7):
        budget.acquire()
    assert 0.45 < time.monotonic() - started < 0.8  # a burst of two, then 10 a second


def test_a_429_without_a_usable_reset_holds_one_request_at_a_time_until_one_gets_through():
    """The simulator's clock is not ours: its epoch Reset is ignored, Retry-After and a probe decide."""
    budget = Budget()
    budget.acquire()
    budget.acquire()
    before = time.monotonic()
    budget.release(before, seen(60, 0, None, 0.0), True, 60)
    assert not budget.acquire(deadline=time.monotonic() + 0.05)  # one still in flight: wait for it
    budget.release(before, None, False, 60)  # sent before the 429: says nothing about now
    assert budget.acquire(deadline=time.monotonic() + 0.05)  # the probe
    assert not budget.acquire(deadline=time.monotonic() + 0.05)
    budget.release(time.monotonic(), None, False, 60)  # it got through: no longer held
    assert all(budget.acquire(deadline=time.monotonic() + 0.05) for _ in range(20))


def test_a_late_answer_from_the_window_left_behind_does_not_open_another():
    """A 429 sent before the reset but read after it describes the old window: the new allowance stands."""
    budget = Budget()
    budget.acquire()
    late_sent_at = time.monotonic()
    budget.acquire()
    budget.release(time.monotonic(), seen(40, None, 0.1), True, 60)
    time.sleep(0.15)
    for _ in range(10):  # the new window's first requests
        budget.acquire()
        budget.release(time.monotonic(), None, False, 60)
    budget.release(late_sent_at, seen(40, None, 0.001), True, 60)  # read just before the old window ended
    more = 0
    while budget.acquire(deadline=time.monotonic() + 0.2):
        more += 1
    assert more == 40 - 10  # the late request, reserved at the roll while in flight, was refused: its place is back
