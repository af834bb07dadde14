"""Weya dialect: the Call Management API as docs.weya.ai and VENDORS.md §4 describe it.

Served under ``/weya`` (the base URL a user configures is ``http://host:port/weya``). Every body
is Weya's envelope ``{message, status, code, errorMessage, data}``. How the neutral world is
shown in Weya's smaller vocabulary (choices where the docs are silent):

- batches: pending, scheduled and running jobs are ``active`` (the queue waits for its calling
  window); completed jobs ``completed``; cancelled and failed jobs ``paused`` (Weya has no cancel
  or failure state: a batch stopped short is a paused queue that is never resumed);
- ``phoneLogs``: one entry per call, written when the call ends, ``createdAt`` = when the call was
  placed; ``callStatus`` completed / ``no-answer`` / busy, every other outcome (timeout, blocked,
  invalid number, carrier error, failed, a call cut short by a stopped job) ``failed``; answered
  calls carry their talk time, a recording URL and a transcript, others 0 and empty strings;
- ``callsCompleted`` = call records whose latest log is completed; ``callsPicked`` = those plus
  the answered calls in progress; ``updatedAt`` moves whenever a call is logged, a call is
  answered, or the queue stops, so the list shows every change a client could see;
- ids are 24-hex ObjectIds: the batch id keeps the world's job id in its last 12 digits
  (``world_job_id``); phone numbers are digits without ``+`` as in the docs' example;
- the list is newest first; an empty page (no batches, or past the last page) is the documented
  404 "No batches found", in the envelope or as plain text (the world's ``weya_not_found``
  switch: the page gives no body for it); a ``userId`` other than the token's user is 403, a
  malformed one 400;
- call records uploaded together share ``createdAt`` (all of a batch's records here), and like a
  MongoDB sort on a non-unique key, the order among ties changes from request to request: only
  ``sortBy=_id`` pages stably (ties are drawn per request, deterministic in request order);
  ``limit`` is at most 100 on both endpoints (no maximum is documented); the Bearer token is the
  only accepted credential on these read endpoints.

It also owns the canonical ground truth for Weya (DESIGN §4), computed from the very JSON it
serves, with this module's own mapping of Weya's values.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
import re
from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dialect import CANON_OPEN, Dialect, truth_marts
from .world import NEVER, Job, World, iso

VENDOR = "weya"
PREFIX = "/weya"
MAX_LIMIT = 100
NO_BATCHES = "No batches found for the authenticated user"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

QUEUE_STATUS = {"pending": "active", "scheduled": "active", "running": "active", "completed": "completed",
                "cancelled": "paused", "failed": "paused"}
CALL_STATUS = {"completed": "completed", "no_answer": "no-answer", "busy": "busy"}  # others: "failed"

# Weya → canonical (DESIGN §4), the simulator's own copy of the mapping.
CANON_JOB = {"active": "running", "paused": "paused", "completed": "completed"}
CANON_CALL = {"completed": "completed", "no-answer": "no_answer", "no_answer": "no_answer", "busy": "busy",
              "failed": "failed"}
TERMINAL_JOB = ("completed", "failed", "cancelled")
# Outcomes Weya may still retry while its queue is not completed (its batches have retry settings).
RETRYABLE = ("no_answer", "busy")


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error(status: int, detail: str, headers: dict | None = None) -> Response:
    """Weya's envelope with ``status: false``; ``code`` mirrors the HTTP status."""
    return json_response({"message": detail, "status": False, "code": status, "errorMessage": detail,
                          "data": None}, status, headers)


def ok(message: str, data: object) -> dict:
    return {"message": message, "status": True, "code": 200, "errorMessage": "", "data": data}


def iso_ms(ts: int) -> str:
    """Weya renders times with milliseconds: ``2025-05-01T12:00:00.000Z``."""
    return iso(ts)[:-1] + ".000Z"


def plain(ts: str | None) -> str | None:
    """A Weya time in the truth's form (``…:SSZ``)."""
    return None if ts is None else ts[:19] + "Z"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def batch_id(job: Job) -> str:
    """ObjectId-like: creation time, 4 digits of the account, the world id's 12 digits."""
    return f"{job.created_at:08x}{_sha(job.account)[:4]}{job.job_id.removeprefix('batch_')}"


def world_job_id(weya_batch_id: str) -> str:
    """The world's job id behind a Weya batch id (for the control API's delete_job)."""
    return "batch_" + weya_batch_id[12:]


def canonical_call_status(call_status: str | None) -> str:
    return "pending" if call_status is None else CANON_CALL.get(call_status, "unknown")


def contact_is_terminal(status: str, queue_status: str) -> bool:
    if status in CANON_OPEN:
        return False
    return not (status in RETRYABLE and queue_status != "completed")


def _int_param(value: str | None, default: int, lo: int, hi: int | None) -> int | None:
    """The parameter as an int within bounds, or None when it is invalid."""
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= lo and (hi is None or n <= hi) else None


@dataclass(frozen=True)
class _Plan:
    stop: int
    events: array
    answered_starts: array
    answered_ends: array


class _Lru(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value):
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class Weya(Dialect):
    """Routes, rendering and truth for one world; caches rendered bodies per clock tick."""

    vendor = VENDOR
    prefix = PREFIX

    def __init__(self, world: World):
        super().__init__(world)
        self._ids: dict[str, dict[str, Job]] = {}
        self._call_ids: dict[Job, tuple[list[str], list[int]]] = {}
        self._plans: dict[Job, _Plan] = {}
        self._calls = _Lru(512)
        self._batches = _Lru(4096)
        self._bodies = _Lru(256)
        self._draws = itertools.count()  # one tie order per request, in arrival order
        # (method, path under the prefix, label used in request counts, handler)
        self.routes = [
            ("GET", "/api/call/batches/{user_id}", "/api/call/batches/{userId}", self.list_batches),
            ("GET", "/api/call/batch-details/{batch_id}", "/api/call/batch-details/{id}", self.batch_details),
        ]

    error = staticmethod(error)


    # --- endpoints -------------------------------------------------------------------------

    def list_batches(self, request: Request, account: str) -> Response:
        user_id = request.path_params["user_id"]
        if not OBJECT_ID.match(user_id):
            return error(400, "Invalid userId format")
        if user_id != self.world.accounts[VENDOR][account]["user_id"]:
            return error(403, "userId does not match the authenticated user")
        q = request.query_params
        page = _int_param(q.get("page"), 1, 1, None)
        limit = _int_param(q.get("limit"), 10, 1, MAX_LIMIT)
        if page is None or limit is None:
            return error(400, "Invalid query parameters: page must be >= 1, limit within 1..100")
        search = (q.get("search") or "").lower() or None
        key = ("list", account, search, page, limit, self.world.token)
        body = self._bodies.get(key)
        if body is None:
            data = self._list_data(account, search, page, limit)
            if data is None:
                if self.world.switches.weya_not_found == "text":
                    return Response(NO_BATCHES, 404, media_type="text/plain")
                return error(404, NO_BATCHES)
            body = self._bodies.put(key, orjson.dumps(ok("Batches fetched successfully", data)))
        return Response(body, 200, media_type="application/json")

    def _list_data(self, account: str, search: str | None, page: int, limit: int) -> dict | None:
        t = self.world.now
        jobs = sorted(self.world.jobs(VENDOR, account), key=lambda j: (j.created_at, batch_id(j)), reverse=True)
        batches = [self.batch(j, t) for j in jobs]
        if search is not None:
            batches = [b for b in batches if search in b["batchName"].lower() or search in b["queue_status"]]
        chunk = batches[(page - 1) * limit: page * limit]
        if not chunk:
            return None
        return {"batches": chunk, "pagination": {"total": len(batches), "page": page, "limit": limit,
                                                 "totalPages": math.ceil(len(batches) / limit)}}

    def batch_details(self, request: Request, account: str) -> Response:
        bid = request.path_params["batch_id"]
        if not OBJECT_ID.match(bid):
            return error(400, "Invalid batch ID format")
        job = self._job(account, bid)
        if job is None:
            return error(404, "Batch not found or does not belong to the authenticated user")
        q = request.query_params
        page = _int_param(q.get("page"), 1, 1, None)
        limit = _int_param(q.get("limit"), 10, 1, MAX_LIMIT)
        if page is None or limit is None:
            return error(400, "Invalid query parameters: page must be >= 1, limit within 1..100")
        raw_filter = q.get("filter") or ""
        try:
            where = orjson.loads(raw_filter) if raw_filter else {}
        except orjson.JSONDecodeError:
            return error(400, "Invalid filter JSON")
        if not isinstance(where, dict):
            return error(400, "Invalid filter JSON: expected an object")
        sort_by = q.get("sortBy") or "createdAt"
        order = q.get("sortOrder") or "desc"
        if not FIELD_NAME.match(sort_by) or order not in ("asc", "desc"):
            return error(400, "Invalid query parameters: sortBy must be a field name, sortOrder asc or desc")
        search = (q.get("search") or "").lower() or None
        if sort_by != "_id":  # ties fall differently on every request: no cached body
            tie = random.Random(f"{self.world.seed}:weya:ties:{next(self._draws)}")
            data = self._detail_data(job, where, sort_by, order == "desc", search, page, limit, tie)
            return json_response(ok("Calls fetched successfully", data))
        key = ("detail", account, bid, page, limit, raw_filter, order, search, self.world.token)
        body = self._bodies.get(key)
        if body is None:
            data = self._detail_data(job, where, sort_by, order == "desc", search, page, limit, None)
            body = self._bodies.put(key, orjson.dumps(ok("Calls fetched successfully", data)))
        return Response(body, 200, media_type="application/json")

    def _detail_data(self, job: Job, where: dict, sort_by: str, desc: bool, search: str | None,
                     page: int, limit: int, tie: random.Random | None) -> dict:
        """One page; ``tie`` (None for the unique ``_id``) orders records with equal sort values."""
        t = self.world.now
        b = self.batch(job, t)
        lo, hi = (page - 1) * limit, page * limit
        if not where and search is None and sort_by in ("createdAt", "_id"):
            order = self._ids_of(job)[1]  # render only the page asked for
            if tie is None:
                chunk = (order[::-1] if desc else order)[lo:hi]
            else:  # every record shares createdAt: one tie group, permuted without sorting it all
                chunk = [order[i] for i in _permutation(job.total, tie, lo, hi)]
            total, data = job.total, [self.call(job, i, t) for i in chunk]
        else:
            calls = [c for c in self.calls(job, t) if _matches(c, where, search)]
            salt = 0 if tie is None else tie.getrandbits(64)
            calls.sort(key=lambda c: (_sort_value(c.get(sort_by)), _tiebreak(c["_id"], salt)), reverse=desc)
            total, data = len(calls), calls[lo:hi]
        return {"batchId": b["_id"], "batchName": b["batchName"], "batchStatus": b["queue_status"],
                "page": page, "limit": limit, "total": total, "totalPages": math.ceil(total / limit),
                "data": data}

    def _job(self, account: str, bid: str) -> Job | None:
        ids = self._ids.get(account)
        if ids is None:
            ids = self._ids[account] = {batch_id(j): j for j in self.world.all_jobs(VENDOR, account)}
        job = ids.get(bid)
        return job if job is not None and self.world.job(VENDOR, account, job.job_id) is not None else None

    # --- rendering (also used by the truth) --------------------------------------------------

    def batch(self, job: Job, t: int) -> dict:
        key = (job.account, job.job_id, t)
        cached = self._batches.get(key)
        if cached is not None:
            return cached
        s = job.summary(t)
        completed = s["counts"]["completed"]
        plan = self._plan(job)
        rel = t - job.start
        live_answered = 0
        if rel < plan.stop:
            live_answered = bisect_right(plan.answered_starts, rel) - bisect_right(plan.answered_ends, rel)
        k = bisect_right(plan.events, rel)
        updated = max(job.created_at, job.start + plan.events[k - 1]) if k else job.created_at
        return self._batches.put(key, {
            "_id": batch_id(job),
            "batchName": job.name,
            "totalCalls": job.total,
            "callsPicked": completed + live_answered,
            "callsCompleted": completed,
            "queue_status": QUEUE_STATUS[s["status"]],
            "createdAt": iso_ms(job.created_at),
            "updatedAt": iso_ms(updated),
        })

    def _plan(self, job: Job) -> _Plan:
        """Per job, from the world's planned attempts (times relative to the job start): when the
        batch document changes (a call logged when it ends or is cut short by a stop, an answered
        call starting, the queue stopping) and when answered calls start and end."""
        plan = self._plans.get(job)
        if plan is None:
            c = job.contacts
            stop = c.stop_rel if c.stop_rel is not None else NEVER
            events = [] if c.stop_rel is None else [c.stop_rel]
            starts, ends = [], []
            for j, st in enumerate(c.starts):
                if st == NEVER or st >= stop:
                    continue
                events.append(min(c.ends[j], stop))
                if c.outcomes[j] == 0:
                    events.append(st)
                    starts.append(st)
                    ends.append(c.ends[j])
            plan = self._plans[job] = _Plan(stop, array("i", sorted(events)), array("i", sorted(starts)),
                                            array("i", sorted(ends)))
        return plan

    def _ids_of(self, job: Job) -> tuple[list[str], list[int]]:
        """Call record ids, and the indices in (createdAt, _id) order (all share createdAt)."""
        cached = self._call_ids.get(job)
        if cached is None:
            ids = [f"{job.created_at:08x}{_sha(f'{job.seed_key}:{i}')[:10]}{i:06x}" for i in range(job.total)]
            cached = self._call_ids[job] = (ids, sorted(range(job.total), key=ids.__getitem__))
        return cached

    def calls(self, job: Job, t: int) -> list[dict]:
        """Every call record of the job at t, in index order (cached for recent ticks)."""
        key = (job.account, job.job_id, t)
        cached = self._calls.get(key)
        if cached is None:
            cached = self._calls.put(key, [self.call(job, i, t) for i in range(job.total)])
        return cached

    def call(self, job: Job, i: int, t: int) -> dict:
        call_id = self._ids_of(job)[0][i]
        data = job.contact_data(i)
        logs = []
        for a in job.attempts(i, t):
            if a.ended_at is None:
                continue  # Weya logs a call when it ends
            answered = a.status == "completed"
            logs.append({
                "callStatus": CALL_STATUS.get(a.status, "failed"),
                "callDuration": job.contacts.talk[i] if answered else 0,
                "recordingUrl": f"https://recordings.weya.example/{call_id}/{a.number}.mp3" if answered else "",
                "transcript": (f"Agent: Hello, am I speaking with {data['name']}?\nCustomer: Yes, speaking."
                               if answered else ""),
                "createdAt": iso_ms(a.started_at),
            })
        return {"_id": call_id, "phoneNumber": job.phone(i).removeprefix("+"), **data, "phoneLogs": logs,
                "createdAt": iso_ms(job.created_at)}

    # --- ground truth (DESIGN §4, canonical form) --------------------------------------------

    def truth(self, account: str) -> dict:
        """The warehouse a correct sync of this account would hold now, minus ``last_synced_at``.

        Deleted jobs keep the state they had when deleted and stay in jobs/contacts/attempts
        with ``is_deleted`` true; the marts leave them out.
        """
        now = self.world.now
        out: dict[str, list[dict]] = {"jobs": [], "contacts": [], "attempts": [], "job_success_rates": [],
                                      "failure_reasons": []}
        for job in self.world.all_jobs(VENDOR, account):
            if job.created_at > now:
                continue
            deleted = job.deleted_at is not None
            t = job.shown_at(now)
            b = self.batch(job, t)
            status = CANON_JOB.get(b["queue_status"], "unknown")
            out["jobs"].append({
                "vendor": VENDOR, "account": account, "job_id": b["_id"], "name": b["batchName"],
                "status": status, "vendor_status": b["queue_status"], "is_terminal": status in TERMINAL_JOB,
                "is_deleted": deleted, "agent_id": None, "created_at": plain(b["createdAt"]),
                "scheduled_start_at": None, "started_at": None, "completed_at": None,
                "total_contacts": b["totalCalls"], "contacts_processed": None,
                "successful_calls": b["callsCompleted"], "failed_calls": None,
            })
            rows = [self._truth_contact(account, b, call, out["attempts"]) for call in self.calls(job, t)]
            out["contacts"].extend(rows)
            if not deleted:
                rate, reasons = truth_marts({"vendor": VENDOR, "account": account, "job_id": b["_id"]},
                                             b["batchName"], status, rows)
                out["job_success_rates"].append(rate)
                out["failure_reasons"].extend(reasons)
        return out

    @staticmethod
    def _truth_contact(account: str, batch: dict, call: dict, attempts: list) -> dict:
        logs = [log for _, log in sorted(enumerate(call["phoneLogs"]), key=lambda p: (p[1]["createdAt"], p[0]))]
        for n, log in enumerate(logs, 1):
            attempts.append({
                "vendor": VENDOR, "account": account, "job_id": batch["_id"], "contact_id": call["_id"],
                "attempt_number": n, "status": canonical_call_status(log["callStatus"]),
                "vendor_status": log["callStatus"], "error_code": None, "started_at": plain(log["createdAt"]),
                "duration_s": log["callDuration"],
            })
        latest = logs[-1] if logs else None
        status = canonical_call_status(latest and latest["callStatus"])
        return {
            "vendor": VENDOR, "account": account, "job_id": batch["_id"], "contact_id": call["_id"],
            "phone_number": "+" + call["phoneNumber"], "status": status,
            "vendor_status": latest and latest["callStatus"],
            "is_terminal": contact_is_terminal(status, batch["queue_status"]),
            "attempt_count": len(logs), "error_code": None, "failure_reason": None,
            "last_attempt_at": plain(latest and latest["createdAt"]), "completed_at": None,
            "call_duration_s": latest and latest["callDuration"],
        }


def _matches(call: dict, where: dict, search: str | None) -> bool:
    """``filter`` compares fields exactly (``callStatus``: the latest log's); ``search`` looks for a
    substring in the phone number and the dynamic fields."""
    for field, value in where.items():
        if field == "callStatus":
            logs = call["phoneLogs"]
            actual = max(logs, key=lambda log: log["createdAt"])["callStatus"] if logs else None
        else:
            actual = call.get(field)
        if actual != value:
            return False
    if search is None:
        return True
    return any(search in str(v).lower() for k, v in call.items() if k not in ("_id", "phoneLogs", "createdAt"))


def _permutation(n: int, rng: random.Random, lo: int, hi: int) -> list[int]:
    """Positions lo..hi of a random affine permutation of range(n) (a coprime step, an offset)."""
    if n <= 1:
        return list(range(n))[lo:hi]
    step = rng.randrange(1, n)
    while math.gcd(step, n) != 1:
        step = rng.randrange(1, n)
    offset = rng.randrange(n)
    return [(offset + p * step) % n for p in range(lo, min(hi, n))]


def _tiebreak(record_id: str, salt: int) -> str:
    """The order among equal sort values: by ``_id`` without a salt, else scrambled by it."""
    return record_id if not salt else hashlib.sha1(f"{salt}:{record_id}".encode()).hexdigest()


def _sort_value(value) -> tuple:
    """Missing values last, numbers before text, so mixed dynamic fields still sort."""
    if isinstance(value, (int, float)):
        return (False, 0, value, "")
    return (value is None, 1, 0, "" if value is None else str(value))


