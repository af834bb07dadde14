"""TalkifAI dialect: the batch-calling API as docs.talkifai.dev and VENDORS.md §1 describe it.

Served under ``/talkifai``. Choices where the docs are silent:

- the API key identifies the account; a valid key with another ``organizationId`` answers
  403 ``{"detail": "Organization does not match API key"}`` (an empty list would look like
  every job had been deleted);
- ``statusBreakdown`` lists only statuses with at least one contact (a GROUP BY), in enum order;
- an empty ``status`` / ``contactStatus`` means no filter; an empty or non-integer page
  parameter is a 400 like an out-of-range one;
- a job created after the clock (the world adds jobs as it runs) does not exist yet;
- the UI guide's contact statuses leak into the API (VENDORS.md §1 [conflict]): a call being
  talked ``connected``, a call whose agent fails ``agent_error`` until it ends, and for half the
  contacts whose retries ran out (maxAttempts > 1) ``permanently_failed`` instead of the last
  outcome. ``contactStatus`` accepts only the API enum; the breakdown counts what the contacts show;
- auth follows the world's ``talkifai_auth`` switch per account: Bearer only, ``x-api-key`` only,
  or either (the OpenAPI's bearerAuth and the authentication page disagree);
- with a request budget set, a 429 carries ``Retry-After`` and ``X-RateLimit-*`` (the intro page);
  other responses carry no rate-limit headers.

It also owns the canonical ground truth for TalkifAI (DESIGN §4), computed from the very
JSON it serves so the truth cannot drift from the API.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dialect import CANON_OPEN, Dialect, truth_marts
from .world import MAX_SLOTS, OUTCOMES, RETRYABLE, STATUSES, ContactState, Job, World, iso

VENDOR = "talkifai"
PREFIX = "/talkifai"
JOB_STATUSES = ("pending", "scheduled", "running", "completed", "failed", "cancelled")
CONTACT_STATUSES = ("pending", "queued", "dialing", "completed", "no_answer", "busy", "timeout",
                    "blocked", "invalid_number", "carrier_error", "failed", "cancelled")
_TO_VENDOR = {s: ("dialing" if s == "in_progress" else s) for s in STATUSES}
_FROM_VENDOR = {v: k for k, v in _TO_VENDOR.items()}
_CODE_OF = {_TO_VENDOR[s]: i for i, s in enumerate(STATUSES)}
_BREAKDOWN_ORDER = [(_TO_VENDOR[s], s) for s in STATUSES]
_BREAKDOWN_ORDER.sort(key=lambda p: CONTACT_STATUSES.index(p[0]))
# The UI guide's statuses (not in the API enum) and what the truth reads them as (DESIGN §4).
UI_STATUSES = {"connected": "in_progress", "agent_error": "in_progress", "permanently_failed": "failed"}
RELABELLED = {"dialing", *RETRYABLE}  # API statuses a UI status may stand in for
_AGENT_ERROR = next(k for k, o in enumerate(OUTCOMES) if (o[2] or "").startswith("Agent error"))

# Canonical vocabulary (DESIGN §4).
TERMINAL_JOB = ("completed", "failed", "cancelled")


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error(status: int, detail: str, headers: dict | None = None) -> Response:
    """TalkifAI's batch endpoints answer FastAPI-style ``{"detail": ...}`` bodies."""
    return json_response({"detail": detail}, status, headers)


def canonical_contact_status(vendor_status: str, error_code: str | None) -> str:
    if vendor_status == "dialing":
        return "in_progress"
    if vendor_status in UI_STATUSES:
        return UI_STATUSES[vendor_status]
    if vendor_status == "failed" and error_code == "603":
        return "declined"
    return vendor_status if vendor_status in CONTACT_STATUSES else "unknown"


def canonical_job_status(vendor_status: str) -> str:
    return vendor_status if vendor_status in JOB_STATUSES or vendor_status == "paused" else "unknown"


def _int_param(value: str | None, default: int, lo: int, hi: int | None) -> int | None:
    """The parameter as an int within bounds, or None when it is invalid."""
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= lo and (hi is None or n <= hi) else None


class TalkifAI(Dialect):
    """Routes and rendering for one world; keeps a small cache of rendered response bodies."""

    vendor = VENDOR
    prefix = PREFIX
    key_headers = ("x-api-key",)  # the authentication page documents it beside Bearer
    rate_limit_headers = "on_429"  # the intro page shows them on the 429 only

    def __init__(self, world: World):
        super().__init__(world)
        self._breakdowns: dict[tuple, tuple[dict, dict]] = {}
        # (method, path under the prefix, label used in request counts, handler)
        self.routes = [
            ("GET", "/batch/jobs", "/batch/jobs", self.list_jobs),
            ("GET", "/batch/jobs/{batch_job_id}", "/batch/jobs/{id}", self.get_job),
        ]

    error = staticmethod(error)

    def truth(self, account: str) -> dict:
        return truth(self.world, account)

    def authenticate(self, request: Request) -> str | None:
        """The account of a key sent in a header that account's auth mode accepts."""
        modes = self.world.switches.talkifai_auth
        for token, kind in ((self.bearer(request), "bearer"), (request.headers.get("x-api-key"), "x-api-key")):
            account = self._keys.get(token) if token else None
            if account is not None and modes.get(account, "either") in (kind, "either"):
                return account
        return None


    # --- endpoints -------------------------------------------------------------------------

    def list_jobs(self, request: Request, account: str) -> Response:
        q = request.query_params
        org = q.get("organizationId")
        if not org:
            return error(400, "organizationId is required")
        if org != self.world.accounts[VENDOR][account]["organization_id"]:
            return error(403, "Organization does not match API key")
        status = q.get("status") or None
        if status is not None and status not in JOB_STATUSES:
            return error(400, "invalid_status")
        page = _int_param(q.get("page"), 1, 1, None)
        if page is None:
            return error(400, "invalid_page")
        size = _int_param(q.get("pageSize"), 20, 1, 100)
        if size is None:
            return error(400, "invalid_page_size")
        key = ("list", account, status, page, size, self.world.token)
        return self._cached(key, lambda: self._list_body(account, org, status, page, size))

    def _list_body(self, account: str, org: str, status: str | None, page: int, size: int) -> dict:
        t = self.world.now
        jobs = self.world.jobs(VENDOR, account)
        if status is not None:
            jobs = [j for j in jobs if j.status(t) == status]
        chunk = jobs[(page - 1) * size: page * size]
        return {"batchJobs": [render_job(j, t, org) for j in chunk], "total": len(jobs),
                "page": page, "pageSize": size}

    def get_job(self, request: Request, account: str) -> Response:
        job_id = request.path_params["batch_job_id"]
        job = self.world.job(VENDOR, account, job_id)
        if job is None:
            return error(404, "Batch job not found")
        q = request.query_params
        status = q.get("contactStatus") or None
        if status is not None and status not in CONTACT_STATUSES:
            return error(400, "invalid_contact_status")
        page = _int_param(q.get("contactsPage"), 1, 1, None)
        if page is None:
            return error(400, "invalid_page")
        size = _int_param(q.get("contactsPageSize"), 50, 1, 500)
        if size is None:
            return error(400, "invalid_page_size")
        org = self.world.accounts[VENDOR][account]["organization_id"]
        key = ("detail", account, job_id, status, page, size, self.world.token)
        return self._cached(key, lambda: render_detail(job, self.world.now, org, status, page, size,
                                                       self._shown(job, self.world.now)))

    def _shown(self, job: Job, t: int) -> tuple[dict, dict]:
        """(statusBreakdown, contacts per relabelled status) for the job at t, kept for recent ticks:
        every page of a large job's detail needs them."""
        key = (job.account, job.job_id, t)
        shown = self._breakdowns.get(key)
        if shown is None:
            shown = self._breakdowns[key] = breakdown(job, t, job.summary(t)["counts"])
            if len(self._breakdowns) > 64:
                self._breakdowns.pop(next(iter(self._breakdowns)))
        return shown


# --- rendering (also used by the truth) ------------------------------------------------------

def render_job(job: Job, t: int, org: str) -> dict:
    s = job.summary(t)
    return {
        "id": job.job_id,
        "name": job.name,
        "description": job.description,
        "status": s["status"],
        "organizationId": org,
        "agentId": job.agent_id,
        "fromPhoneNumberId": job.from_number_id,
        "totalContacts": job.total,
        "contactsProcessed": s["processed"],
        "successfulCalls": s["successes"],
        "failedCalls": s["failures"],
        "scheduledStartTime": iso(job.scheduled_at),
        "actualStartTime": iso(s["started_at"]),
        "completedAt": iso(s["completed_at"]),
        "createdAt": iso(job.created_at),
        "concurrentCallLimit": job.concurrency,
        "retryPolicy": {"maxAttempts": job.max_attempts, "retryableStatuses": list(RETRYABLE)},
    }


def vendor_status(job: Job, i: int, t: int, c: ContactState) -> str:
    """The status the API shows: the enum value, or a UI-guide status standing in for it."""
    if c.status == "in_progress":
        cs = job.contacts
        j = i * MAX_SLOTS + c.attempts - 1
        if cs.outcomes[j] == _AGENT_ERROR:
            return "agent_error"
        if cs.outcomes[j] == 0 and t - job.start >= cs.ends[j] - cs.talk[i]:
            return "connected"
    elif (c.status in RETRYABLE and c.completed_at is not None and job.max_attempts > 1
          and (i + job.number) % 2 == 0):
        return "permanently_failed"
    return _TO_VENDOR[c.status]


def breakdown(job: Job, t: int, counts: dict) -> tuple[dict, dict[str, list[int]]]:
    """Contacts per shown status (API enum order first, then the UI statuses that occur), and the
    contact indices of each API status a UI status may stand in for (for ``contactStatus``)."""
    shown = {v: counts[n] for v, n in _BREAKDOWN_ORDER}
    kept: dict[str, list[int]] = {}
    relabel = {_CODE_OF[v] for v in RELABELLED if shown[v]}
    if relabel:
        for i, code in enumerate(job.status_codes(t)):
            if code in relabel:
                v = vendor_status(job, i, t, job.contact(i, t))
                kept.setdefault(v, []).append(i)
                if v in UI_STATUSES:
                    shown[v] = shown.get(v, 0) + 1
                    shown[_TO_VENDOR[STATUSES[code]]] -= 1
    return {v: n for v, n in shown.items() if n}, kept


def render_contact(job: Job, i: int, t: int) -> dict:
    c = job.contact(i, t)
    phone = job.phone(i)
    room = None
    if c.connected and c.last_attempt_at is not None:
        room = f"outbound_{job.agent_id}_{phone[1:]}_{c.last_attempt_at}"
    return {
        "id": job.contact_id(i),
        "phoneNumber": phone,
        "contactData": job.contact_data(i),
        "status": vendor_status(job, i, t, c),
        "errorCode": c.error_code,
        "attemptCount": c.attempts,
        "maxAttempts": job.max_attempts,
        "lastAttemptAt": iso(c.last_attempt_at),
        "nextRetryAt": iso(c.next_retry_at),
        "completedAt": iso(c.completed_at),
        "roomName": room,
        "failureReason": c.failure_reason,
        "callDuration": c.call_duration,
    }


def render_detail(job: Job, t: int, org: str, status: str | None, page: int, size: int,
                  shown: tuple[dict, dict]) -> dict:
    """The detail body; ``shown`` is ``breakdown(job, t, …)``."""
    s = job.summary(t)
    body = render_job(job, t, org)
    counts = s["counts"]
    body["statusBreakdown"] = shown[0]
    body["estimatedCompletionTime"] = iso(s["estimated_completion"])
    lo = (page - 1) * size
    indices: Sequence[int]
    if status is None:
        total = job.total
        indices = range(lo, min(lo + size, total))
    elif status in RELABELLED:
        matching = shown[1].get(status, [])
        total = len(matching)
        indices = matching[lo: lo + size]
    else:
        code = _CODE_OF[status]
        codes = job.status_codes(t)
        matching = [i for i, c in enumerate(codes) if c == code] if counts[_FROM_VENDOR[status]] else []
        total = len(matching)
        indices = matching[lo: lo + size]
    body["contacts"] = [render_contact(job, i, t) for i in indices]
    body["contactsTotal"] = total
    body["contactsPage"] = page
    body["contactsPageSize"] = size
    body["contactsHasMore"] = lo + size < total
    return body


# --- ground truth (DESIGN §4, canonical form) ------------------------------------------------

def truth(world: World, account: str) -> dict:
    """The warehouse a correct sync of this account would hold now, minus ``last_synced_at``.

    Deleted jobs keep the state they had when deleted and stay in jobs/contacts with
    ``is_deleted`` true; the marts leave them out.
    """
    org = world.accounts[VENDOR][account]["organization_id"]
    now = world.now
    jobs_out, contacts_out, rates, reasons = [], [], [], []
    for job in world.all_jobs(VENDOR, account):
        if job.created_at > now:
            continue
        deleted = job.deleted_at is not None
        t = job.shown_at(now)
        v = render_job(job, t, org)
        status = canonical_job_status(v["status"])
        jobs_out.append({
            "vendor": VENDOR, "account": account, "job_id": job.job_id, "name": v["name"],
            "status": status, "vendor_status": v["status"], "is_terminal": status in TERMINAL_JOB,
            "is_deleted": deleted, "agent_id": v["agentId"], "created_at": v["createdAt"],
            "scheduled_start_at": v["scheduledStartTime"], "started_at": v["actualStartTime"],
            "completed_at": v["completedAt"], "total_contacts": v["totalContacts"],
            "contacts_processed": v["contactsProcessed"], "successful_calls": v["successfulCalls"],
            "failed_calls": v["failedCalls"],
        })
        rows = []
        for i in range(job.total):
            c = render_contact(job, i, t)
            cs = canonical_contact_status(c["status"], c["errorCode"])
            rows.append({
                "vendor": VENDOR, "account": account, "job_id": job.job_id, "contact_id": c["id"],
                "phone_number": c["phoneNumber"], "status": cs, "vendor_status": c["status"],
                "is_terminal": cs not in CANON_OPEN, "attempt_count": c["attemptCount"],
                "error_code": c["errorCode"], "failure_reason": c["failureReason"],
                "last_attempt_at": c["lastAttemptAt"], "completed_at": c["completedAt"],
                "call_duration_s": c["callDuration"],
            })
        contacts_out.extend(rows)
        if not deleted:
            rate, job_reasons = truth_marts({"vendor": VENDOR, "account": account, "job_id": job.job_id},
                                           v["name"], status, rows)
            rates.append(rate)
            reasons.extend(job_reasons)
    return {"jobs": jobs_out, "contacts": contacts_out, "job_success_rates": rates,
            "failure_reasons": reasons}


