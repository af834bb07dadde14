"""DialNexa dialect: the batch-calls API in both of DialNexa's documentation generations.

DialNexa's docs disagree with themselves (VENDORS.md §3), so the dialect serves each generation
behind its own base URL, from the same world campaigns (vendor ``dialnexa``):

- ``/dialnexa/v1`` — Gen B, the published OpenAPI (default): ``GET /batch-calls`` answers
  ``{items, total, page, limit}``, ``GET /batch-calls/{id}`` answers the batch's call logs
  ``{callLogs, total, page, limit, totalPages}`` (limit ≤ 200);
- ``/dialnexa-gen-a/v1`` — Gen A, the older Mintlify pages: ``GET /batch-calls`` answers
  ``{data, meta:{page, limit, total, totalPages}}``, ``GET /batch-calls/{id}`` one batch record,
  ``GET /call-logs/campaign/{id}`` the campaign's call logs as ``{data, meta}``.

How a campaign looks as DialNexa call records (choices where the docs are silent):

- when a batch starts, every lead gets its initial call record (``initiated``); a retry is a
  separate record, created (``created``) when the call before it ends, so a lead waiting for a
  retry shows an open record; dialled calls are ``sent``, answered ones ``received``;
- outcomes: no answer → ``did_not_pick`` / ``user_did_not_pick_up`` (every third call
  ``no_answer`` / ``user_unreachable``), busy → ``busy``, a call the world times out after a minute
  → ``completed`` / ``voicemail_detected``, SIP 403/607 → ``failed`` / ``destination_forbidden``,
  404/484 → ``invalid_phone_number``, 502/503 → ``network_failure``, other failures → ``failed``
  with ``unknown`` / ``system_failure`` / ``system_at_capacity``;
- a cancelled batch cancels its undialled and running records; a failed batch fails them
  (``system_failure``) except pending retries, which become ``retry_expired``; Gen B has no
  failed batch status, so such a batch reads ``cancelled`` there;
- records carry no SIP code; ``createdAt`` is the record's creation; Gen B's ``duration`` is in
  milliseconds (its ``duration_*`` filters are documented in ms; the one example value, 42, is a
  placeholder), Gen A's ``duration_seconds`` in seconds; Gen B leaves ``duration`` and
  ``end_reason`` out until the call has them, as its example does; Gen B's ``to_number`` is
  sometimes formatted as uploaded (``+1 (212) 555-0100``, ``12125550100``); Gen A call logs carry
  only the fields its docs list (no number at all: each log is its own contact, DESIGN §4);
- each generation answers 404 on the other's endpoints (``/call-logs/…`` on Gen B; Gen A serves
  no ``/calls``); with a request budget set, every response with a valid key carries
  ``X-RateLimit-*`` and a spent budget answers 429 with ``Retry-After``;
- Gen B keeps a deleted batch in the list with status ``deleted`` (its call logs stay readable,
  frozen at the deletion); Gen A drops it from the list and answers 404 for it;
- lists are newest first; call logs newest first unless ``created_at=asc``.

It also owns the canonical ground truth (DESIGN §4) for DialNexa, from the records it serves.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dialect import CANON_OPEN, Dialect, RouteSpec, truth_marts
from .world import ALL_OUTCOMES, CANCELLED_OUTCOME, MAX_SLOTS, NEVER, Job, World, iso

VENDOR = "dialnexa"
PREFIX_B = "/dialnexa/v1"
PREFIX_A = "/dialnexa-gen-a/v1"
BATCH_ID = re.compile(r"^bat(ch)?_[A-Za-z0-9]+$")
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}
MESSAGES = {401: "API key is missing or invalid", 500: "Internal server error",
            429: "Too many requests. Please slow down and retry after a moment."}

BATCH_STATUSES_A = ("queued", "processing", "completed", "failed", "cancelled")
BATCH_STATUSES_B = ("draft", "waiting", "scheduled", "running", "paused", "completed", "cancelled",
                    "deleted", "active")
CALL_STATUSES = ("created", "initiated", "sent", "received", "completed", "did_not_pick", "busy",
                 "no_answer", "failed", "cancelled", "retry_expired")
OPEN_CALL = ("created", "initiated", "sent", "received")
FAILED_LEAD = ("did_not_pick", "no_answer", "busy", "failed", "retry_expired")

# The dialect's own reading of its statuses in canonical terms (DESIGN §4), independent of sql/seeds.
CANON_JOB = {"queued": "pending", "processing": "running", "completed": "completed", "failed": "failed",
             "cancelled": "cancelled", "draft": "pending", "waiting": "pending", "scheduled": "scheduled",
             "running": "running", "active": "running", "paused": "paused", "deleted": "cancelled",
             "initiated": "pending"}
CANON_CALL = {"created": "queued", "initiated": "queued", "sent": "in_progress", "received": "in_progress",
              "completed": "completed", "did_not_pick": "no_answer", "no_answer": "no_answer", "busy": "busy",
              "failed": "failed", "cancelled": "cancelled"}
CANON_REFINED: dict[tuple[str, str | None], str] = {
    ("completed", "voicemail_detected"): "voicemail", ("failed", "invalid_phone_number"): "invalid_number",
    ("failed", "network_failure"): "carrier_error", ("failed", "destination_forbidden"): "blocked"}
TERMINAL_JOB = ("completed", "failed", "cancelled")

# a failure its status alone does not name, by its SIP code
_BY_CODE: dict[str | None, tuple[str, str | None]] = {"603": ("failed", "unknown"), "500": ("failed", "system_failure")}


def _render_outcome(o: int) -> tuple[str, str | None]:
    """World outcome index → (call status, end_reason); the no-answer variant is chosen per call."""
    status, code, _ = ALL_OUTCOMES[o][:3]
    if o >= CANCELLED_OUTCOME:
        return ("cancelled", None) if o == CANCELLED_OUTCOME else ("failed", "system_failure")
    return {
        "completed": ("completed", "user_disconnected"),
        "no_answer": ("did_not_pick", "user_did_not_pick_up"),
        "busy": ("busy", "user_busy"),
        "timeout": ("completed", "voicemail_detected"),
        "blocked": ("failed", "destination_forbidden"),
        "invalid_number": ("failed", "invalid_phone_number"),
        "carrier_error": ("failed", "network_failure"),
    }.get(status) or _BY_CODE.get(code, ("failed", "system_at_capacity"))


_OUTCOMES = [_render_outcome(o) for o in range(len(ALL_OUTCOMES))]


@dataclass(frozen=True, slots=True)
class Call:
    """One call record as DialNexa keeps it, before a generation names its fields."""

    lead: int
    depth: int  # 0 = initial call, 1.. = retries
    created: int
    sent: int | None  # dial time, None while undialled
    status: str
    end_reason: str | None
    duration: int | None


def lead_calls(job: Job, i: int, t: int) -> list[Call]:
    """Lead i's call records at t, oldest first (see the module docstring for the model)."""
    rel = t - job.start
    if rel < 0:
        return []
    c = job.contacts
    stop = c.stop_rel if c.stop_rel is not None else NEVER
    out: list[Call] = []
    prev_end = 0
    for k in range(MAX_SLOTS):
        j = i * MAX_SLOTS + k
        st = c.starts[j]
        if k:
            if st == NEVER or prev_end >= stop or prev_end > rel:
                break
        created = job.start + (prev_end if k else 0)
        if st <= rel and st < stop:
            en, o = c.ends[j], c.outcomes[j]
            cut = en > stop
            if cut:
                en, o = stop, c.final_outcome[i]
            if rel < en:
                talking = c.outcomes[j] == 0 and rel >= c.ends[j] - c.talk[i]
                out.append(Call(i, k, created, job.start + st, "received" if talking else "sent", None, None))
                break
            status, reason = _OUTCOMES[o]
            if status == "did_not_pick" and (i + k) % 3 == 0:
                status, reason = "no_answer", "user_unreachable"
            out.append(Call(i, k, created, job.start + st, status, reason, en - st))
            prev_end = en
            if cut:
                break
            continue
        if rel >= stop:
            if job.fate == "cancel":
                status, reason = "cancelled", None
            else:
                status, reason = ("failed", "system_failure") if k == 0 else ("retry_expired", None)
        else:
            status, reason = ("initiated" if k == 0 else "created"), None
        out.append(Call(i, k, created, None, status, reason, None))
        break
    return out


def canonical_calls(calls: list[Call]) -> list[str]:
    """Canonical status per record; ``retry_expired`` takes the latest earlier record's outcome."""
    out, last = [], "unknown"
    for call in calls:
        if call.status == "retry_expired":
            out.append(last)
            continue
        last = CANON_REFINED.get((call.status, call.end_reason)) or CANON_CALL.get(call.status, "unknown")
        out.append(last)
    return out


def _digest(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:16]


def display_number(e164: str, i: int) -> str:
    """The number as the uploaded file had it: mostly E.164, some formatted, some without '+'."""
    if i % 7 == 3:
        n = e164[2:]
        return f"+1 ({n[:3]}) {n[3:6]}-{n[6:]}"
    if i % 7 == 5:
        return e164[1:]
    return e164


def _ms(ts: int | None) -> str | None:
    """DialNexa writes milliseconds: ``2026-11-01T08:00:00.000Z``."""
    s = iso(ts)
    return None if s is None else s[:-1] + ".000Z"


class JobView:
    """A job at one instant: its records and DialNexa's counters. Built once per (job, t)."""

    def __init__(self, job: Job, t: int, deleted: bool):
        self.job, self.t, self.deleted = job, t, deleted
        self.leads = [lead_calls(job, i, t) for i in range(job.total)] if t >= job.start else []
        calls = [c for lead in self.leads for c in lead]
        self.calls = calls
        depths: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for call in calls:
            depths[call.depth][1] += 1
            if call.sent is not None:
                depths[call.depth][0] += 1
        self.stages = [{"depth": d, "attempted": a, "total": n} for d, (a, n) in sorted(depths.items())]
        self.sent_leads = depths[0][0] if 0 in depths else 0
        self.picked_up_calls = sum(c.status == "completed" for c in calls)
        self.picked_up_leads = sum(any(c.status == "completed" for c in lead) for lead in self.leads)
        sent = [c.sent for c in calls if c.sent is not None]
        self.last_sent = max(sent) if sent else None
        self.completed_leads = sum(bool(lead) and lead[-1].status == "completed" for lead in self.leads)
        self.failed_leads = sum(bool(lead) and lead[-1].status in FAILED_LEAD for lead in self.leads)

    def status(self, generation: str) -> str:
        neutral = self.job.status(self.t)
        if generation == "A":
            return {"pending": "queued", "scheduled": "queued", "running": "processing"}.get(neutral, neutral)
        if self.deleted:
            return "deleted"
        if neutral == "running":
            return "active" if self.job.number % 4 == 0 else "running"  # legacy value on some batches
        return {"pending": "waiting", "failed": "cancelled"}.get(neutral, neutral)


def render_batch(view: JobView, generation: str) -> dict:
    job = view.job
    if generation == "A":
        return {"id": job.job_id, "name": job.name, "status": view.status("A"), "total_leads": job.total,
                "completed": view.completed_leads, "failed": view.failed_leads, "agent_id": job.agent_id,
                "created_at": _ms(job.created_at)}
    retries = [sum(c.sent is not None for c in view.calls if c.depth == d) for d in range(1, 5)]
    return {
        "id": job.job_id, "title": job.name[:35], "status": view.status("B"), "total_records": job.total,
        "createdAt": _ms(job.created_at), "total_lead_count": job.total, "sent_lead_count": view.sent_leads,
        "picked_up_lead_count": view.picked_up_leads, "picked_up_calls": view.picked_up_calls,
        "last_call_sent_at": _ms(view.last_sent), "number_of_retries": job.max_attempts - 1,
        "first_retry_count": retries[0], "second_retry_count": retries[1], "third_retry_count": retries[2],
        "fourth_retry_count": retries[3], "attempt_stages": view.stages,
    }


def render_call(job: Job, call: Call, generation: str) -> dict:
    h = _digest(job.job_id, call.lead, call.depth)
    if generation == "B":  # like the spec's example, an unfinished call has no duration / end_reason
        to = display_number(job.phone(call.lead), call.lead)
        from_number = f"+1415555{1000 + job.number % 9000:04d}"
        out: dict[str, object] = {
            "id": f"call_{h}", "agent_id": job.agent_id, "to_number": to, "from_number": from_number,
            "status": call.status, "call_direction": "outbound", "createdAt": _ms(call.created),
            "batch_id": job.job_id}
        if call.duration is not None:
            out["duration"] = call.duration * 1000  # milliseconds
        if call.end_reason is not None:
            out["end_reason"] = call.end_reason
        return out
    answered = call.status == "completed" and call.end_reason != "voicemail_detected"
    sentiment = ("positive", "neutral", "negative")[int(h, 16) % 3] if answered else None
    return {
        "id": f"log_{h}", "call_id": f"call_{h}", "agent_id": job.agent_id,
        "status": call.status, "sentiment": sentiment, "duration_seconds": call.duration,
        "recording_url": f"https://storage.dialnexa.com/recordings/call_{h}.wav?X-Amz-Expires=604800"
        if call.sent is not None and call.duration is not None else None,
        "analysis": {"summary": "The customer answered and the agent completed the script.",
                     "user_sentiment": sentiment} if answered else None,
        "created_at": _ms(call.created), "end_reason": call.end_reason, "fallback_stt_transcriber_id": None,
    }


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error(status: int, message: str | list[str], headers: dict | None = None) -> Response:
    """DialNexa's NestJS-style error body; 401 and 429 carry the documented messages."""
    body = {"statusCode": status, "message": MESSAGES.get(status, message),
            "error": REASONS.get(status, "Error")}
    return json_response(body, status, headers)


def _int_param(value: str | None, default: int, lo: int, hi: int | None) -> int | None:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= lo and (hi is None or n <= hi) else None


def _statuses(value: str | None, allowed: tuple[str, ...]) -> frozenset[str] | None | bool:
    """A comma-separated status filter: a set, None for no filter, False when a value is unknown."""
    if not value:
        return None
    wanted = frozenset(v.strip() for v in value.split(",") if v.strip())
    return wanted if wanted <= set(allowed) else False


class DialNexa(Dialect):
    """Gen B (``/dialnexa/v1``). Routes, rendering and a small cache of rendered bodies."""

    vendor = VENDOR  # request-log label
    prefix = PREFIX_B
    rate_limit_headers = "always"  # the rate-limits page: every response carries them
    generation = "B"
    list_page_max = 100
    calls_page_max = 200

    def __init__(self, world: World):
        super().__init__(world)
        self._views: OrderedDict = OrderedDict()
        self.routes = self._routes()

    def _routes(self) -> list[RouteSpec]:
        return [
            ("GET", "/batch-calls", "/batch-calls", self.list_batches),
            ("GET", "/batch-calls/{id}", "/batch-calls/{id}", self.batch_call_logs),
        ]

    error = staticmethod(error)


    def truth(self, account: str) -> dict:
        return truth(self, account)

    # --- the world as this dialect shows it -----------------------------------------------------

    def visible_jobs(self, account: str) -> list[tuple[Job, bool]]:
        """(job, deleted) newest first: created by now; deleted ones only where the generation lists them."""
        now = self.world.now
        jobs = [(j, j.deleted_at is not None) for j in self.world.all_jobs(VENDOR, account)
                if j.created_at <= now and (j.deleted_at is None or self.generation == "B")]
        return jobs[::-1]

    def find(self, account: str, job_id: str) -> tuple[Job, bool] | None:
        return next(((j, d) for j, d in self.visible_jobs(account) if j.job_id == job_id), None)

    def view(self, job: Job, deleted: bool) -> JobView:
        t = job.shown_at(self.world.now)
        key = (job.account, job.job_id, t, deleted)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = JobView(job, t, deleted)
            if len(self._views) > 512:
                self._views.popitem(last=False)
        return view


    # --- endpoints ------------------------------------------------------------------------------

    def list_batches(self, request: Request, account: str) -> Response:
        q = request.query_params
        page = _int_param(q.get("page"), 1, 1, None)
        limit = _int_param(q.get("limit"), 20, 1, self.list_page_max)
        allowed = BATCH_STATUSES_A if self.generation == "A" else BATCH_STATUSES_B
        wanted = _statuses(q.get("status"), allowed)
        if page is None or limit is None or wanted is False:
            return error(400, "Invalid query parameters")
        key = ("list", account, wanted, page, limit, self.world.token)
        return self._cached(key, lambda: self._list_body(account, wanted, page, limit))

    def _list_body(self, account: str, wanted, page: int, limit: int) -> dict:
        views = [self.view(j, d) for j, d in self.visible_jobs(account)]
        if wanted:
            views = [v for v in views if v.status(self.generation) in wanted]
        chunk = [render_batch(v, self.generation) for v in views[(page - 1) * limit: page * limit]]
        if self.generation == "A":
            return {"data": chunk, "meta": {"page": page, "limit": limit, "total": len(views),
                                            "totalPages": -(-len(views) // limit)}}
        return {"items": chunk, "total": len(views), "page": page, "limit": limit}

    def _job_or_error(self, request: Request, account: str, param: str = "id") -> tuple[Job, bool] | Response:
        job_id = request.path_params[param]
        if not BATCH_ID.match(job_id):
            return error(400, "Invalid batch call ID format")
        found = self.find(account, job_id)
        return found if found is not None else error(404, "Batch call not found")

    def batch_call_logs(self, request: Request, account: str) -> Response:
        found = self._job_or_error(request, account)
        if isinstance(found, Response):
            return found
        q = request.query_params
        page = _int_param(q.get("page"), 1, 1, None)
        limit = _int_param(q.get("limit"), 20, 1, self.calls_page_max)
        order = q.get("created_at") or "desc"
        wanted = _statuses(q.get("status"), CALL_STATUSES)
        if page is None or limit is None or order not in ("asc", "desc") or wanted is False:
            return error(400, "Invalid query parameters")
        reasons = frozenset(r for r in (q.get("end_reason") or "").split(",") if r) or None
        job, deleted = found
        key = ("calls", account, job.job_id, page, limit, order, wanted, reasons, self.world.token)
        return self._cached(key, lambda: self._calls_body(job, deleted, page, limit, order, wanted, reasons))

    def _calls_body(self, job: Job, deleted: bool, page: int, limit: int, order: str, wanted, reasons) -> dict:
        calls = sorted(self.view(job, deleted).calls, key=lambda c: (c.created, c.lead, c.depth))
        if wanted:
            calls = [c for c in calls if c.status in wanted]
        if reasons:
            calls = [c for c in calls if c.end_reason in reasons]
        if order == "desc":
            calls.reverse()
        chunk = [render_call(job, c, self.generation) for c in calls[(page - 1) * limit: page * limit]]
        pages = -(-len(calls) // limit)
        if self.generation == "A":
            return {"data": chunk, "meta": {"page": page, "limit": limit, "total": len(calls), "totalPages": pages}}
        return {"callLogs": chunk, "total": len(calls), "page": page, "limit": limit, "totalPages": pages}


class DialNexaGenA(DialNexa):
    """Gen A (``/dialnexa-gen-a/v1``): the older Mintlify generation of the same API."""

    vendor = "dialnexa_gen_a"  # request-log label
    world_vendor = VENDOR  # the campaigns are the world's `dialnexa` ones
    prefix = PREFIX_A
    generation = "A"
    calls_page_max = 100  # the Mintlify pagination page documents 100 for lists

    def _routes(self) -> list[RouteSpec]:
        return [
            ("GET", "/batch-calls", "/batch-calls", self.list_batches),
            ("GET", "/batch-calls/{id}", "/batch-calls/{id}", self.get_batch),
            ("GET", "/call-logs/campaign/{id}", "/call-logs/campaign/{id}", self.batch_call_logs),
        ]

    def get_batch(self, request: Request, account: str) -> Response:
        found = self._job_or_error(request, account)
        if isinstance(found, Response):
            return found
        return json_response(render_batch(self.view(*found), "A"))


# --- ground truth (DESIGN §4, canonical form) ------------------------------------------------------

def truth(dialect: DialNexa, account: str) -> dict:
    """The warehouse a correct sync of this account through `dialect` would hold now, minus
    ``last_synced_at``. Contacts are the leads with at least one record, keyed by E.164 number
    (Gen B), or the call logs themselves (Gen A, whose logs carry no number); deleted jobs keep
    their state at deletion and stay out of the marts."""
    gen = dialect.generation
    jobs_out: list[dict] = []
    contacts_out: list[dict] = []
    attempts_out: list[dict] = []
    rates: list[dict] = []
    reasons: list[dict] = []
    for job in dialect.world.all_jobs(VENDOR, account):
        if job.created_at > dialect.world.now:
            continue
        deleted = job.deleted_at is not None
        view = dialect.view(job, deleted)
        b = render_batch(view, gen)
        status = CANON_JOB.get(b["status"], "unknown")
        name = b["name"] if gen == "A" else b["title"]
        if gen == "A":
            counters = (b["total_leads"], b["completed"] + b["failed"], b["completed"], b["failed"])
        else:
            counters = (b["total_lead_count"], b["sent_lead_count"], b["picked_up_calls"], None)
        jobs_out.append({
            "vendor": VENDOR, "account": account, "job_id": job.job_id, "name": name,
            "status": status, "vendor_status": b["status"], "is_terminal": status in TERMINAL_JOB,
            "is_deleted": deleted, "agent_id": b.get("agent_id"),
            "created_at": iso(job.created_at), "scheduled_start_at": None, "started_at": None,
            "completed_at": None, "total_contacts": counters[0], "contacts_processed": counters[1],
            "successful_calls": counters[2], "failed_calls": counters[3],
        })
        base = {"vendor": VENDOR, "account": account, "job_id": job.job_id}
        rows = (_leads_truth if gen == "B" else _logs_truth)(job, view, base, attempts_out)
        contacts_out.extend(rows)
        if not deleted:
            rate, job_reasons = truth_marts({"vendor": VENDOR, "account": account, "job_id": job.job_id},
                                           name, status, rows)
            rates.append(rate)
            reasons.extend(job_reasons)
    return {"jobs": jobs_out, "contacts": contacts_out, "attempts": attempts_out,
            "job_success_rates": rates, "failure_reasons": reasons}


def _leads_truth(job: Job, view: JobView, base: dict, attempts: list) -> list[dict]:
    """Gen B: one contact per lead (E.164 number), its latest record; every record an attempt."""
    rows = []
    for i, calls in enumerate(view.leads):
        if not calls:
            continue
        phone = job.phone(i)
        canon = canonical_calls(calls)
        for n, (call, s) in enumerate(zip(calls, canon, strict=True), 1):
            attempts.append({**base, "contact_id": phone, "attempt_number": n, "status": s,
                             "vendor_status": call.status, "error_code": None,
                             "started_at": iso(call.created), "duration_s": call.duration})
        decisive = next((c for c in reversed(calls) if c.status != "retry_expired"), None)
        s = canon[-1]
        rows.append({
            **base, "contact_id": phone, "phone_number": phone, "status": s, "vendor_status": calls[-1].status,
            "is_terminal": s not in CANON_OPEN, "attempt_count": len(calls), "error_code": None,
            "failure_reason": None if s == "completed" or decisive is None else decisive.end_reason,
            "last_attempt_at": iso(calls[-1].created), "completed_at": None,
            "call_duration_s": None if decisive is None else decisive.duration,
        })
    return rows


def _logs_truth(job: Job, view: JobView, base: dict, attempts: list) -> list[dict]:
    """Gen A: every call log is its own contact (keyed by its id) and its one attempt; a lone
    ``retry_expired`` log has no earlier outcome to take, so it is ``unknown``."""
    rows = []
    for call in view.calls:
        log = render_call(job, call, "A")
        s = canonical_calls([call])[0]
        attempts.append({**base, "contact_id": log["id"], "attempt_number": 1, "status": s,
                         "vendor_status": call.status, "error_code": None,
                         "started_at": iso(call.created), "duration_s": call.duration})
        rows.append({
            **base, "contact_id": log["id"], "phone_number": None, "status": s, "vendor_status": call.status,
            "is_terminal": s not in CANON_OPEN, "attempt_count": 1, "error_code": None,
            "failure_reason": None if s == "completed" else call.end_reason,
            "last_attempt_at": iso(call.created), "completed_at": None, "call_duration_s": call.duration,
        })
    return rows
