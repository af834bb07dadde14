"""The vendor-neutral world behind every simulated vendor API.

Campaigns are generated deterministically from (seed, vendor, account). Each contact gets a
pre-planned sequence of attempts when its job is first touched, so every visible state is a
pure function of the simulated clock: advancing the clock costs nothing, and the same seed and
clock always show the same data. Contacts live in flat ``array`` columns (tens of bytes each)
so a million of them stay cheap; job counters come from sorted arrays and ``bisect``.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import overload

START = int(datetime(2026, 11, 1, 8, 0, 0, tzinfo=UTC).timestamp())
NEVER = 2**31 - 1  # "no such time" in the int32 columns (times are relative to the job start)
MAX_SLOTS = 3  # attempts per contact; maxAttempts is 1..3
RETRY_DELAYS = (300, 1800)  # attempt 2 after 5 min, attempt 3 after 30 min (TalkifAI guide)
RETRYABLE = ("no_answer", "busy", "timeout")

DEFAULT_ACCOUNTS = {
    "talkifai": {"default": {"api_key": "sim-talkifai-key", "organization_id": "org_demo"}},
    "vogent": {"default": {"api_key": "sim-vogent-key"}},
    "dialnexa": {"default": {"api_key": "sim-dialnexa-key_id:sim-dialnexa-secret"}},
    "weya": {"default": {"api_key": "sim-weya-token", "user_id": "64e5f12345abcdef98765400"}},
}

# Neutral contact statuses. Open ones first; the rest are final.
OPEN = ("pending", "queued", "in_progress")
FAILURES = ("no_answer", "busy", "timeout", "blocked", "invalid_number", "carrier_error", "failed")
FINAL = ("completed", *FAILURES, "cancelled")
STATUSES = OPEN + FINAL
CODE = {s: i for i, s in enumerate(STATUSES)}
PENDING, QUEUED, IN_PROGRESS = 0, 1, 2

# Attempt outcomes: (status, SIP code, failure reason, weight, min line seconds, max line seconds).
# A completed call's seconds are ring time; talk time is drawn separately.
OUTCOMES = (
    ("completed", None, None, 0.44, 5, 25),
    ("no_answer", "480", "SIP status: 480 Temporarily Unavailable", 0.19, 25, 45),
    ("busy", "486", "SIP status: 486 Busy Here", 0.07, 2, 8),
    ("busy", "600", "SIP status: 600 Busy Everywhere", 0.01, 2, 8),
    ("timeout", "408", "SIP status: 408 Request Timeout", 0.05, 55, 65),
    ("blocked", "403", "SIP status: 403 Forbidden", 0.025, 1, 3),
    ("blocked", "607", "SIP status: 607 Unwanted", 0.01, 1, 3),
    ("invalid_number", "404", "SIP status: 404 Not Found", 0.035, 1, 3),
    ("invalid_number", "484", "SIP status: 484 Address Incomplete", 0.01, 1, 3),
    ("carrier_error", "503", "SIP status: 503 Service Unavailable", 0.03, 1, 10),
    ("carrier_error", "502", "SIP status: 502 Bad Gateway", 0.01, 1, 10),
    ("failed", "603", "SIP status: 603 Decline", 0.04, 3, 15),
    ("failed", "500", "SIP status: 500 Server Internal Error", 0.015, 3, 20),
    ("failed", None, "Agent error: no response from language model", 0.01, 10, 40),
)
# Pseudo-outcomes for contacts a stopped job never finished.
CANCELLED_OUTCOME = len(OUTCOMES)
JOB_FAILED_OUTCOME = CANCELLED_OUTCOME + 1
ALL_OUTCOMES = OUTCOMES + (
    ("cancelled", None, None, 0, 0, 0),
    ("failed", None, "Batch job failed: SIP trunk unavailable", 0, 0, 0),
)
_WEIGHT = sum(o[3] for o in OUTCOMES)
_CUMULATIVE = [w / _WEIGHT for w in accumulate(o[3] for o in OUTCOMES)]
_CUMULATIVE[-1] = 1.0  # no float gap at the top
_OUTCOME_CODE = [CODE[o[0]] for o in ALL_OUTCOMES]
_OUTCOME_RETRYABLE = [o[0] in RETRYABLE for o in OUTCOMES]

TOPICS = ("Renewal reminder", "Appointment confirmation", "Payment follow-up", "Customer survey",
          "Lead qualification", "Delivery notice", "Win-back offer", "Webinar invite")
FIRST = ("Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya",
         "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera")
LAST = ("Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Nguyen", "Kowalski", "Haddad",
        "Silva", "Johnson", "Tanaka", "Dubois", "Patel", "Larsen", "Brown", "Ivanova", "Kim")
AREA_CODES = ("202", "212", "305", "312", "415", "512", "617", "646", "702", "718", "801", "919")


@overload
def iso(ts: int) -> str: ...


@overload
def iso(ts: None) -> None: ...


@overload
def iso(ts: int | None) -> str | None: ...


def iso(ts: int | None) -> str | None:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ``; a per-day cache keeps rendering cheap."""
    if ts is None:
        return None
    day, sec = divmod(ts, 86400)
    d = _DAYS.get(day)
    if d is None:
        d = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{d}{h:02d}:{m:02d}:{s:02d}Z"


_DAYS: dict[int, str] = {}


def _rng(*parts: object) -> random.Random:
    """A Random seeded from a stable string (never Python's salted hash())."""
    return random.Random(":".join(map(str, parts)))


@dataclass(eq=False)
class Job:
    """One campaign: metadata fixed at creation; contacts generated on first use."""

    vendor: str
    account: str
    number: int
    job_id: str
    name: str
    description: str | None
    agent_id: str
    from_number_id: str
    total: int
    concurrency: int
    max_attempts: int
    created_at: int
    scheduled_at: int | None
    start: int
    fate: str  # "complete" | "cancel" | "fail"
    stop_fraction: float
    seed_key: str
    deleted_at: int | None = None
    _contacts: Contacts | None = field(default=None, repr=False)
    _summary: tuple = field(default=(None, None), repr=False)
    _codes: tuple = field(default=(None, None), repr=False)

    @property
    def contacts(self) -> Contacts:
        if self._contacts is None:
            self._contacts = Contacts(self)
        return self._contacts

    @property
    def stop_at(self) -> int | None:
        return self.contacts.stop_at

    def shown_at(self, now: int) -> int:
        """The instant the vendor shows the job at: frozen at its deletion, else ``now``."""
        return now if self.deleted_at is None else self.deleted_at

    @property
    def end(self) -> int:
        """When the job becomes terminal (absolute epoch seconds)."""
        c = self.contacts
        return c.stop_at if c.stop_at is not None else c.natural_end

    def status(self, t: int) -> str:
        if t < self.start:
            return "scheduled" if self.scheduled_at is not None else "pending"
        if t < self.end:
            return "running"
        return {"complete": "completed", "cancel": "cancelled", "fail": "failed"}[self.fate]

    def summary(self, t: int) -> dict:
        """Counts per neutral contact status at t plus timing; cached for the last t asked."""
        if self._summary[0] == t:
            return self._summary[1]
        c = self.contacts
        rel = t - self.start
        counts = {s: bisect_right(c.final_times[s], rel) for s in FINAL}
        if c.stop_rel is not None and rel >= c.stop_rel:
            pending = queued = dialing = 0
        else:
            pending = c.total - bisect_right(c.first_starts, rel)
            dialing = bisect_right(c.all_starts, rel) - bisect_right(c.all_ends, rel)
            queued = c.total - pending - dialing - sum(counts.values())
        counts["pending"], counts["queued"], counts["in_progress"] = pending, queued, dialing
        status = self.status(t)
        processed = sum(counts[s] for s in FINAL)
        estimate = None
        if status == "running":
            elapsed = t - self.start
            if processed:
                estimate = self.start + int(elapsed * c.total / processed)
            else:
                estimate = t + -(-c.total // self.concurrency) * 240
            estimate = max(estimate, t + 1)
        out = {
            "status": status,
            "counts": counts,
            "processed": processed,
            "successes": counts["completed"],
            "failures": sum(counts[s] for s in FAILURES),
            "started_at": self.start if t >= self.start else None,
            "completed_at": self.end if t >= self.end else None,
            "estimated_completion": estimate,
        }
        self._summary = (t, out)
        return out

    def status_codes(self, t: int) -> bytes:
        """Every contact's status code at t (one byte each), for filtered listings; cached."""
        if self._codes[0] != t:
            self._codes = (t, self.contacts.codes_at(t - self.start))
        return self._codes[1]

    def contact(self, i: int, t: int) -> ContactState:
        return self.contacts.state(i, t - self.start)

    def attempts(self, i: int, t: int) -> list[AttemptState]:
        return self.contacts.attempts(i, t - self.start)

    def phone(self, i: int) -> str:
        c = self.contacts
        x = (i * 2654435761 + c.salt) % 8_000_000 + 2_000_000
        return f"+1{c.area}{x}"

    def contact_data(self, i: int) -> dict:
        h = (i * 40503 + self.number * 7919) % (len(FIRST) * len(LAST))
        return {"name": f"{FIRST[h % len(FIRST)]} {LAST[h // len(FIRST)]}",
                "customer_id": f"C{self.number:03d}-{i + 1:06d}"}

    def contact_id(self, i: int) -> str:
        return f"contact_{i + 1:0{max(4, len(str(self.total)))}d}"

    def contact_index(self, contact_id: str) -> int | None:
        try:
            i = int(contact_id.removeprefix("contact_")) - 1
        except ValueError:
            return None
        return i if 0 <= i < self.total and self.contact_id(i) == contact_id else None


@dataclass(frozen=True, slots=True)
class AttemptState:
    """One call placed to a contact, as seen at one instant. Times are absolute epoch seconds.

    ``status`` is the neutral outcome (``in_progress`` while the call lasts; ``cancelled`` or
    ``failed`` when a stopped job cut the call short); ``duration`` is the whole call's seconds.
    """

    number: int
    started_at: int
    ended_at: int | None
    status: str
    error_code: str | None
    failure_reason: str | None
    duration: int | None
    connected: bool


@dataclass(frozen=True, slots=True)
class ContactState:
    """A contact as seen at one instant. Times are absolute epoch seconds or None."""

    status: str
    attempts: int
    last_attempt_at: int | None
    next_retry_at: int | None
    completed_at: int | None
    error_code: str | None
    failure_reason: str | None
    call_duration: int | None
    connected: bool


class Contacts:
    """A job's contacts and their planned attempts, as int32 columns relative to the job start.

    Attempts are laid out over ``concurrency`` lines with a heap: retries (5 / 30 min after a
    retryable failure) take the next free line once due, otherwise the next new contact does.
    """

    def __init__(self, job: Job):
        n, slots = job.total, MAX_SLOTS
        rng = _rng(job.seed_key, "contacts")
        self.total = n
        self.start = job.start
        self.salt = rng.randrange(8_000_000)
        self.area = AREA_CODES[rng.randrange(len(AREA_CODES))]
        starts = array("i", [NEVER]) * (n * slots)
        ends = array("i", [NEVER]) * (n * slots)
        outcomes = array("b", [-1]) * (n * slots)
        talk = array("H", [0]) * n
        natural = array("i", [NEVER]) * n  # when the contact's last attempt ends
        rand = rng.random
        cumulative = _CUMULATIVE
        retryable = _OUTCOME_RETRYABLE
        max_attempts = job.max_attempts
        lines = [0] * job.concurrency
        retries: list[tuple[int, int, int]] = []
        heappop, heappush = heapq.heappop, heapq.heappush
        nxt = 0
        while nxt < n or retries:
            free = heappop(lines)
            if retries and (nxt >= n or retries[0][0] <= free):
                ready, i, k = heappop(retries)
                st = max(free, ready)
            else:
                i, k, st = nxt, 0, free
                nxt += 1
            r = rand()
            o = 0
            while cumulative[o] < r:
                o += 1
            _, _, _, _, lo, hi = OUTCOMES[o]
            en = st + lo + int(rand() * (hi - lo + 1))
            if o == 0:
                d = 20 + int(rand() * rand() * 560)  # talk time, skewed short
                talk[i] = d
                en += d
            j = i * slots + k
            starts[j], ends[j], outcomes[j] = st, en, o
            if retryable[o] and k + 1 < max_attempts:
                heappush(retries, (en + RETRY_DELAYS[k], i, k + 1))
            else:
                natural[i] = en
            heappush(lines, en + 20 + int(rand() * 100))  # agent wrap-up / dial pacing
        self.starts, self.ends, self.outcomes, self.talk = starts, ends, outcomes, talk
        self.natural_end = job.start + (max(natural) if n else 0)
        self.stop_rel = None
        if job.fate != "complete" and n:
            self.stop_rel = int(max(natural) * job.stop_fraction)
        self.stop_at = None if self.stop_rel is None else job.start + self.stop_rel
        stop_outcome = CANCELLED_OUTCOME if job.fate == "cancel" else JOB_FAILED_OUTCOME
        # Effective final status/time per contact, after a cancel or failure cut it short.
        final_time = array("i", natural)
        final_outcome = array("b", [0]) * n
        by_status: dict[str, list[int]] = {s: [] for s in FINAL}
        for i in range(n):
            ft = natural[i]
            if self.stop_rel is not None and ft > self.stop_rel:
                ft = final_time[i] = self.stop_rel
                o = stop_outcome
            else:
                k = slots - 1
                while outcomes[i * slots + k] < 0:
                    k -= 1
                o = outcomes[i * slots + k]
            final_outcome[i] = o
            by_status[ALL_OUTCOMES[o][0]].append(ft)
        self.final_time, self.final_outcome = final_time, final_outcome
        self.final_times = {s: array("i", sorted(v)) for s, v in by_status.items()}
        self.first_starts = array("i", sorted(starts[::slots]))
        self.all_starts = array("i", sorted(x for x in starts if x != NEVER))
        self.all_ends = array("i", sorted(x for x in ends if x != NEVER))

    def state(self, i: int, rel: int) -> ContactState:
        """Contact i at ``rel`` seconds after the job start."""
        base, slots, starts = self.start, MAX_SLOTS, self.starts
        j0 = i * slots
        ft = self.final_time[i]
        if rel >= ft:
            o = self.final_outcome[i]
            n = 0
            while n < slots and starts[j0 + n] < ft:
                n += 1
            status, code, reason = ALL_OUTCOMES[o][:3]
            last = base + starts[j0 + n - 1] if n else None
            done = o == 0
            return ContactState(status, n, last, None, base + ft, code, reason,
                                self.talk[i] if done else None, done)
        n = 0
        while n < slots and starts[j0 + n] <= rel:
            n += 1
        if n == 0:
            return ContactState("pending", 0, None, None, None, None, None, None, False)
        j = j0 + n - 1
        o = self.outcomes[j]
        if rel < self.ends[j]:
            return ContactState("in_progress", n, base + starts[j], None, None, None, None, None, o == 0)
        nxt = starts[j + 1] if n < slots else NEVER
        _, code, reason = OUTCOMES[o][:3]
        return ContactState("queued", n, base + starts[j], base + nxt if nxt != NEVER else None,
                            None, code, reason, None, False)

    def attempts(self, i: int, rel: int) -> list[AttemptState]:
        """Contact i's calls placed by ``rel`` seconds after the job start, oldest first.

        Consistent with ``state``: the same number of attempts, and a call still running when
        a stopped job cut it short ends then with the job's stop outcome.
        """
        base, slots = self.start, MAX_SLOTS
        stop = self.stop_rel if self.stop_rel is not None else NEVER
        out = []
        for k in range(slots):
            j = i * slots + k
            st = self.starts[j]
            if st > rel or st >= min(stop, self.final_time[i] + 1):
                break
            en, o = self.ends[j], self.outcomes[j]
            if en > stop:  # cut short by a cancelled or failed job
                en, o = stop, self.final_outcome[i]
            if rel < en:
                out.append(AttemptState(k + 1, base + st, None, "in_progress", None, None, None, o == 0))
                break
            status, code, reason = ALL_OUTCOMES[o][:3]
            out.append(AttemptState(k + 1, base + st, base + en, status, code, reason, en - st, o == 0))
        return out

    def codes_at(self, rel: int) -> bytes:
        """Status codes of all contacts at ``rel`` in one pass (for filtered contact pages)."""
        out = bytearray(self.total)
        starts, ends, slots = self.starts, self.ends, MAX_SLOTS
        final_time, final_outcome = self.final_time, self.final_outcome
        for i in range(self.total):
            if rel >= final_time[i]:
                out[i] = _OUTCOME_CODE[final_outcome[i]]
                continue
            j = i * slots
            if starts[j] > rel:
                continue  # pending (0)
            while j + 1 < i * slots + slots and starts[j + 1] <= rel:
                j += 1
            out[i] = IN_PROGRESS if rel < ends[j] else QUEUED
        return bytes(out)


AUTH_MODES = ("bearer", "x-api-key", "either")  # which header TalkifAI accepts
NOT_FOUND_FORMS = ("json", "text")  # the body of Weya's "No batches found" 404


def _pick(options: tuple, *parts: object) -> str:
    """A stable choice among options from a string (never Python's salted hash())."""
    return options[int(hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest(), 16) % len(options)]


class Switches:
    """Where the vendors' docs allow two servers, which one this world is.

    Defaults are drawn from the seed (and the account), so a client that relies on one reading
    fails on some world or account; the constructor and the control API set them explicitly.
    """

    def __init__(self, seed: int, accounts: dict, talkifai_auth: str | dict | None = None,
                 weya_not_found: str | None = None):
        names = sorted(accounts.get("talkifai", {}))
        self.talkifai_auth = {a: _pick(AUTH_MODES[:2], seed, "talkifai", a, "auth") for a in names}
        self.weya_not_found = _pick(NOT_FOUND_FORMS, seed, "weya", "not_found")
        self.update(talkifai_auth=talkifai_auth, weya_not_found=weya_not_found)

    def update(self, talkifai_auth: str | dict | None = None, weya_not_found: str | None = None) -> dict:
        """Set switches: `talkifai_auth` one mode for every account or {account: mode}."""
        if talkifai_auth is not None:
            wanted = talkifai_auth if isinstance(talkifai_auth, dict) else dict.fromkeys(self.talkifai_auth,
                                                                                        talkifai_auth)
            bad = {a: m for a, m in wanted.items() if m not in AUTH_MODES or a not in self.talkifai_auth}
            if bad:
                raise ValueError(f"talkifai_auth: unknown account or mode {bad}; modes {list(AUTH_MODES)}")
            self.talkifai_auth.update(wanted)
        if weya_not_found is not None:
            if weya_not_found not in NOT_FOUND_FORMS:
                raise ValueError(f"weya_not_found must be one of {list(NOT_FOUND_FORMS)}")
            self.weya_not_found = weya_not_found
        return self.as_dict()

    def as_dict(self) -> dict:
        return {"talkifai_auth": dict(self.talkifai_auth), "weya_not_found": self.weya_not_found}


class World:
    """All vendors' campaigns plus the simulated clock. Thread-safe for the few mutations.

    ``talkifai_auth`` and ``weya_not_found`` set the doc-reading switches (see ``Switches``)."""

    def __init__(self, seed: int = 7, jobs_per_account: int = 12, contacts_per_job: int = 40,
                 accounts: dict | None = None, talkifai_auth: str | dict | None = None,
                 weya_not_found: str | None = None):
        self.seed = seed
        self.jobs_per_account = jobs_per_account
        self.contacts_per_job = contacts_per_job
        self.accounts = accounts if accounts is not None else DEFAULT_ACCOUNTS
        self.switches = Switches(seed, self.accounts, talkifai_auth, weya_not_found)
        self.now = START
        self.deletions = 0
        self._jobs: dict[tuple[str, str], list[Job]] = {}
        self._index: dict[tuple[str, str], dict[str, Job]] = {}
        self._lock = threading.RLock()

    @property
    def token(self) -> tuple[int, int]:
        """Changes whenever anything a client could see changes (for response caches)."""
        return (self.now, self.deletions)

    def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self.now += round(seconds)
            return self.now

    def all_jobs(self, vendor: str, account: str) -> list[Job]:
        """Every job of the account, deleted and not-yet-created ones included, ordered by
        (created_at, job_id). Some jobs are created after the clock start and appear later."""
        key = (vendor, account)
        jobs = self._jobs.get(key)
        if jobs is None:
            with self._lock:
                jobs = self._jobs.get(key)
                if jobs is None:
                    if account not in self.accounts.get(vendor, {}):
                        raise KeyError(f"unknown account {vendor}/{account}")
                    jobs = self._generate(vendor, account)
                    self._index[key] = {j.job_id: j for j in jobs}
                    self._jobs[key] = jobs
        return jobs

    def jobs(self, vendor: str, account: str) -> list[Job]:
        """Jobs a client can see now: created by the clock and not deleted."""
        now = self.now
        return [j for j in self.all_jobs(vendor, account) if j.created_at <= now and j.deleted_at is None]

    def job(self, vendor: str, account: str, job_id: str) -> Job | None:
        """The job if a client can see it now, else None (unknown, not yet created, deleted)."""
        self.all_jobs(vendor, account)
        j = self._index[(vendor, account)].get(job_id)
        return j if j is not None and j.created_at <= self.now and j.deleted_at is None else None

    def delete_job(self, vendor: str, account: str, job_id: str) -> bool:
        with self._lock:
            j = self.job(vendor, account, job_id)
            if j is None:
                return False
            j.deleted_at = self.now
            self.deletions += 1
            return True

    def _generate(self, vendor: str, account: str) -> list[Job]:
        """Job metadata for one account; contacts follow lazily per job."""
        n, total = self.jobs_per_account, self.contacts_per_job
        rng = _rng(self.seed, vendor, account)
        n_past = round(n * 0.25)
        n_future = min(max(1, round(n * 0.17)), max(0, n - n_past - 1)) if n >= 3 else 0
        n_pending = 1 if n >= 4 else 0
        roles = ["past"] * n_past + ["future"] * n_future + ["pending"] * n_pending
        roles += ["active"] * (n - len(roles))
        rng.shuffle(roles)
        # Fates: ~1 in 10 cancelled, ~1 in 12 failed, among jobs that run soon.
        eligible = [i for i, r in enumerate(roles) if r in ("past", "active")]
        n_cancel = min(len(eligible), max(1, round(n / 10))) if n >= 5 else 0
        n_fail = min(len(eligible) - n_cancel, max(1, round(n / 12))) if n >= 5 else 0
        picked = rng.sample(eligible, n_cancel + n_fail)
        fates = ["complete"] * n
        for i in picked[:n_cancel]:
            fates[i] = "cancel"
        for i in picked[n_cancel:]:
            fates[i] = "fail"
        agents = [f"agent_{rng.getrandbits(24):06x}" for _ in range(3)]
        numbers = [f"pn_{rng.getrandbits(32):08x}" for _ in range(2)]
        future_seen = 0
        jobs = []
        for i, role in enumerate(roles):
            u = rng.random
            scheduled = None
            if role == "past":
                start = START - int(2 * 86400 + u() * 18 * 86400)
                created = start - int(600 + u() * 2 * 86400)
                if u() < 0.5:
                    scheduled = start
            elif role == "future":
                start = START + (int(5400 + u() * 7200) if future_seen % 2 == 0 else int(6 * 3600 + u() * 6 * 3600))
                future_seen += 1
                created = START - int(3600 + u() * 2 * 86400)
                scheduled = start
            elif role == "pending":
                created = START - int(120 + u() * 780)
                start = START + int(1200 + u() * 1800)
            else:
                start = START - int(5400 - u() * 9000)  # T0-90 min .. T0+60 min
                if u() < 0.5:
                    scheduled = start
                    created = start - int(3600 + u() * 3 * 86400)
                else:
                    created = start - int(60 + u() * 240)
            if scheduled is not None:
                start += int(u() * 20)  # the worker picks a scheduled job up a few seconds late
            topic = TOPICS[int(u() * len(TOPICS))]
            jobs.append(Job(
                vendor=vendor, account=account, number=i + 1,
                job_id="batch_" + hashlib.sha1(f"{self.seed}:{vendor}:{account}:{i}".encode()).hexdigest()[:12],
                name=f"{topic} wave {i + 1}",
                description=None if u() < 0.3 else f"{topic} campaign, {total} contacts",
                agent_id=agents[int(u() * len(agents))],
                from_number_id=numbers[int(u() * len(numbers))],
                total=total,
                concurrency=max(1, min(50, round(total / 20 * (0.6 + 0.8 * u())))),
                max_attempts=(1, 2, 2, 3, 3, 3)[int(u() * 6)],
                created_at=created, scheduled_at=scheduled, start=start,
                fate=fates[i], stop_fraction=(0.1 + 0.4 * u()) if fates[i] == "fail" else (0.3 + 0.4 * u()),
                seed_key=f"{self.seed}:{vendor}:{account}:{i}",
            ))
        jobs.sort(key=lambda j: (j.created_at, j.job_id))
        return jobs
