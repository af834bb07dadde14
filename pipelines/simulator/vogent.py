"""Vogent dialect: batch dial jobs, their dials and queues as docs.vogent.ai and VENDORS.md §2
describe them.

Served under ``/vogent/api``. How the neutral world is rendered, where the docs are silent:

- job status: pending and scheduled jobs are ``INIT`` (a job is created in INIT and started
  later), running ``ACTIVE``, completed ``COMPLETE``; cancelled *and failed* jobs are
  ``CANCELLED`` (Vogent has no failed job status). ``PAUSED`` never occurs: the world has no
  pause. A scheduled job carries a ``schedule`` (its weekday, from its start time, UTC), others
  ``null``;
- every call placed is one dial, retries included (a retry is a new dial to the same
  ``toNumber``); a dial is listed in ``/dials`` once it has ended (the docs: completed dials
  only) and a contact is in ``/queue`` until its first call starts. A call in flight, and a
  contact waiting for its retry, are in neither list, as the guide says of in-progress dials;
- outcomes: the dial status and ``systemResultType`` are drawn per dial, and (as on the real
  platform, where a dial that connected to anything ends ``completed``) a failure result may
  come with ``completed``: no answer is ``no-answer``/``NO_ANSWER``, ``completed``/``NO_ANSWER``
  or ``completed``/``VOICEMAIL_DETECTED_HANGUP``; busy ``busy``/``BUSY`` or ``completed``/``BUSY``;
  timeout ``failed``/``TIMEOUT`` or ``completed``/``TIMEOUT``; a carrier error ``failed`` with
  ``RATE_LIMITED`` or ``FAILED``; every other failure ``failed``/``FAILED`` or
  ``completed``/``FAILED``; a call cut short by a cancelled job ``canceled``/``CANCELLED``. A
  retry is a new dial (new id) to the same ``toNumber``. A stopped job's contacts that were never called
  become dials that were never placed (``canceled``, or ``failed`` for a failed job), created
  when the job stopped, with no ``startedAt`` (the schema does not allow null) and 0 seconds;
- paging is keyset: the opaque cursor names the last item returned, so rows leaving the queue
  or dials appearing between two pages never shift a page. Order: jobs by (createdAt, id),
  dials by (endedAt, id), queue rows by their position in the job. ``limit`` defaults to 50
  and must be 1..100;
- errors (no body schema is documented) are ``{"error": "<message>"}``: 400 for a malformed
  parameter (non-integer limit, unreadable cursor), 422 for a value out of its domain (limit
  out of range, unknown status), 404 for an unknown job or dial, 401 without a valid key;
- auth: ``Authorization: Bearer <key>`` (the API reference) or ``api_key: <key>`` (the
  platform guide's curl samples).

It also owns the canonical ground truth for Vogent (DESIGN §4), computed from the same
rendering: a contact is (job, ``toNumber`` in E.164): a queue row (pending) until dialled, then
its latest dial by ``createdAt``; every dial of the number is an attempt (attempt_count = its
dials, a never-placed one included); a failure ``systemResultType`` decides over the status.
"""

from __future__ import annotations

import base64
import hashlib
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .dialect import CANON_OPEN, Dialect, truth_marts
from .world import AttemptState, Job, World, iso

VENDOR = "vogent"
PREFIX = "/vogent/api"
JOB_STATUSES = ("INIT", "ACTIVE", "PAUSED", "COMPLETE", "CANCELLED")
DIAL_STATUSES = ("queued", "ringing", "in-progress", "completed", "failed", "canceled", "busy", "no-answer")
SYSTEM_RESULT_TYPES = ("BUSY", "FAILED", "NO_ANSWER", "CANCELLED", "USER_HANGUP", "COUNTERPARTY_HANGUP",
                       "TIMEOUT", "RATE_LIMITED", "TRANSFERRED", "AGENT_HANGUP", "VOICEMAIL_DETECTED_HANGUP",
                       "LONG_SILENCE_HANGUP")
_JOB_STATUS = {"pending": "INIT", "scheduled": "INIT", "running": "ACTIVE", "completed": "COMPLETE",
               "cancelled": "CANCELLED", "failed": "CANCELLED"}
# How a connected call ended, drawn per dial.
_HANGUPS = ("USER_HANGUP", "AGENT_HANGUP", "COUNTERPARTY_HANGUP", "TRANSFERRED", "LONG_SILENCE_HANGUP")
DEFAULT_LIMIT, MAX_LIMIT = 50, 100

# Canonical vocabulary (DESIGN §4) and this dialect's mapping onto it.
CANON_JOB = {"INIT": "pending", "ACTIVE": "running", "PAUSED": "paused", "COMPLETE": "completed",
             "CANCELLED": "cancelled"}
CANON_DIAL = {"queued": "pending", "ringing": "in_progress", "in-progress": "in_progress",
              "completed": "completed", "busy": "busy", "no-answer": "no_answer", "failed": "failed",
              "canceled": "cancelled"}
# A failure systemResultType decides over the dial status, `completed` included (DESIGN §4);
# hang-ups and TRANSFERRED keep the status.
CANON_RESULT: dict[str | None, str] = {
    "VOICEMAIL_DETECTED_HANGUP": "voicemail", "NO_ANSWER": "no_answer", "BUSY": "busy",
    "FAILED": "failed", "RATE_LIMITED": "failed", "TIMEOUT": "timeout", "CANCELLED": "cancelled"}
TERMINAL_JOB = ("completed", "failed", "cancelled")
QUEUE_ROW_STATUS = "queued"  # a queue row has no status field; it is a dial not placed yet


def canonical_contact_status(status: str, system_result_type: str | None) -> str:
    return CANON_RESULT.get(system_result_type) or CANON_DIAL.get(status, "unknown")


def canonical_job_status(status: str) -> str:
    return CANON_JOB.get(status, "unknown")


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def error(status: int, message: str, headers: dict | None = None) -> Response:
    """No error body is documented; this dialect answers ``{"error": "<message>"}``."""
    return json_response({"error": message}, status, headers)


def _uuid(*parts: object) -> str:
    h = hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def encode_cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple | None:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return tuple(key) if isinstance(key, list) else None


# --- the world as Vogent shows it -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Dial:
    """One dial of contact ``i``: a call placed (``attempt``) or a contact a stopped job never called."""

    id: str
    i: int
    number: int  # the attempt number in the world (0 for a dial never placed)
    attempt: AttemptState | None
    status: str
    result: str
    ended_at: int

    @property
    def key(self) -> tuple:
        return (self.ended_at, self.id)

    @property
    def duration(self) -> int:
        """The call's seconds; 0 for a dial never placed."""
        if self.attempt is None:
            return 0
        assert self.attempt.duration is not None, "a listed dial's call has ended, so it has a duration"
        return self.attempt.duration


@dataclass(frozen=True)
class View:
    """A job at one instant: its listed dials (by endedAt, id) and the contacts still queued."""

    dials: list[Dial]
    queue: list[int]


def _outcome(status: str, draw: int) -> tuple[str, str]:
    """Vogent's (status, systemResultType) for a neutral attempt outcome; one failure in four
    (a third of the no-answers: voicemail) ends ``completed`` with its failure result."""
    if status == "completed":
        return "completed", _HANGUPS[draw % len(_HANGUPS)]
    if status == "cancelled":
        return "canceled", "CANCELLED"
    if status == "no_answer" and draw % 3 == 0:
        return "completed", "VOICEMAIL_DETECTED_HANGUP"
    dial_status, result = {"no_answer": ("no-answer", "NO_ANSWER"), "busy": ("busy", "BUSY"),
                           "timeout": ("failed", "TIMEOUT")}.get(status, ("failed", "FAILED"))
    if status == "carrier_error" and draw % 2:
        result = "RATE_LIMITED"
    return ("completed" if draw // 7 % 4 == 1 else dial_status), result


def job_view(job: Job, t: int) -> View:
    dials, queue = [], []
    for i in range(job.total):
        attempts = job.attempts(i, t)
        for a in attempts:
            if a.ended_at is None:
                continue  # in flight: neither queued nor completed
            dial_id = _uuid(job.seed_key, "dial", i, a.number)
            status, result = _outcome(a.status, int(dial_id[:8], 16))
            dials.append(Dial(dial_id, i, a.number, a, status, result, a.ended_at))
        if attempts:
            continue
        state = job.contact(i, t)
        if state.status == "pending":
            queue.append(i)
        else:  # a stopped job never called it
            dial_id = _uuid(job.seed_key, "dial", i, 0)
            status, result = _outcome(state.status, 0)
            assert state.completed_at is not None, "a contact with no call that is not pending is final"
            dials.append(Dial(dial_id, i, 0, None, status, result, state.completed_at))
    dials.sort(key=lambda d: d.key)
    return View(dials, queue)


def render_job(job: Job, t: int) -> dict:
    schedule = None
    if job.scheduled_at is not None:
        at = datetime.fromtimestamp(job.scheduled_at, UTC)
        end = f"{min(at.hour + 8, 23):02d}:{at.minute:02d}"  # an eight-hour slot, within the day
        schedule = {"days": [{"dayOfWeek": (at.weekday() + 1) % 7,  # 0 = Sunday
                              "timeSlots": [{"startTime": at.strftime("%H:%M"), "endTime": end}]}],
                    "timezone": "UTC"}
    return {
        "id": job.job_id,
        "maxConcurrentDials": job.concurrency,
        "name": job.name,
        "status": _JOB_STATUS[job.status(t)],
        "callAgentId": job.agent_id,
        "createdAt": iso(job.created_at),
        "fromPhoneNumberIds": [job.from_number_id],
        "schedule": schedule,
    }


def _agent(job: Job) -> dict:
    return {
        "id": job.agent_id,
        "name": f"{job.name.rsplit(' wave ', 1)[0]} agent",
        "language": "en-US",
        "maxDurationSeconds": 900,
        "defaultVoiceId": _uuid(job.agent_id, "voice"),
        "defaultVersionedPromptId": _uuid(job.agent_id, "prompt"),
        "defaultExtractorId": _uuid(job.agent_id, "extractor"),
        "transcriberParams": {"type": "deepgram", "model": "nova-2", "keywords": []},
        "utteranceDetectorConfig": {"type": "default"},
        "metadata": {},
        "linkedFunctionDefinitions": [],
        "fillEmptyStringVariables": False,
    }


def _transcript(dial: Dial, name: str) -> list[dict]:
    talk_ms = dial.duration * 1000
    if dial.result == "VOICEMAIL_DETECTED_HANGUP":
        return [{"text": "Please leave a message after the tone.", "speaker": "HUMAN", "detailType": None,
                 "startTimeMs": 0, "endTimeMs": min(3000, talk_ms)}]
    call_id = _uuid(dial.id, "fn")
    return [
        {"text": f"Hi, is this {name.split()[0]}?", "speaker": "AI", "detailType": None,
         "startTimeMs": 0, "endTimeMs": 2000, "nodeTransition": {"toNodeId": "greeting", "transitionData": None}},
        {"text": "Yes, speaking.", "speaker": "HUMAN", "detailType": None, "startTimeMs": 2400, "endTimeMs": 3600},
        {"text": "", "speaker": "AI", "detailType": None, "startTimeMs": 3800, "endTimeMs": 3900,
         "functionCalls": [{"name": "record_outcome", "args": '{"reached": true}', "functionCallId": call_id}]},
        {"text": '{"ok": true}', "speaker": "AI", "detailType": "function", "functionCallId": call_id,
         "startTimeMs": 3900, "endTimeMs": 3950},
        {"text": "Thanks, goodbye.", "speaker": "AI", "detailType": None,
         "startTimeMs": max(4000, talk_ms - 2000), "endTimeMs": max(5000, talk_ms)},
    ]


def render_dial(job: Job, dial: Dial) -> dict:
    a = dial.attempt
    inputs = job.contact_data(dial.i)
    connected = dial.status == "completed" and CANON_RESULT.get(dial.result, "voicemail") == "voicemail"
    body = {
        "id": dial.id,
        "toNumber": job.phone(dial.i),
        "agent": _agent(job),
        "recordings": [{"url": f"https://api.vogent.ai/api/dials/{dial.id}/recording"}] if connected else [],
        "transcript": _transcript(dial, inputs["name"]) if connected else [],
        "durationSeconds": dial.duration,
        "aiResult": ({"reached": dial.result != "VOICEMAIL_DETECTED_HANGUP", "summary": "call completed"}
                     if connected else {}),
        "inputs": inputs,
        "status": dial.status,
        "dialTaskId": _uuid(job.seed_key, "task", dial.i),
        "fromNumberId": job.from_number_id,
        "startedAt": iso(a.started_at) if a is not None else None,
        "endedAt": iso(dial.ended_at),
        "createdAt": iso(a.started_at if a is not None else dial.ended_at),
        "updatedAt": iso(dial.ended_at),
        "systemResultType": dial.result,
        "voiceId": _uuid(job.agent_id, "voice"),
        "versionedPromptId": _uuid(job.agent_id, "prompt"),
    }
    if a is None:
        del body["startedAt"]  # never placed; the schema's startedAt is not nullable
    return body


def render_queue_row(job: Job, i: int) -> dict:
    return {"id": _uuid(job.seed_key, "row", i), "toNumber": job.phone(i), "batchDialJobId": job.job_id,
            "createdAt": iso(job.created_at), "inputs": job.contact_data(i)}


def _limit(value: str | None) -> int | Response:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        n = int(value)
    except ValueError:
        return error(400, "Invalid input: limit must be an integer")
    if not 1 <= n <= MAX_LIMIT:
        return error(422, f"Validation exception: limit must be between 1 and {MAX_LIMIT}")
    return n


def _page(keys: list[tuple], cursor: str | None, limit: int) -> tuple[int, int, str | None] | Response:
    """(start, stop, next cursor) of the page after ``cursor`` in the sorted ``keys``."""
    start = 0
    if cursor:
        after = decode_cursor(cursor)
        if after is None:
            return error(400, "Invalid input: unreadable cursor")
        try:
            start = bisect_right(keys, after)
        except TypeError:
            return error(400, "Invalid input: unreadable cursor")
    stop = min(start + limit, len(keys))
    return start, stop, encode_cursor(keys[stop - 1]) if stop < len(keys) else None


class Vogent(Dialect):
    """Routes and rendering for one world; caches per-job views and rendered bodies."""

    vendor = VENDOR
    prefix = PREFIX
    key_headers = ("api_key",)  # the platform guide's curl samples use it

    def __init__(self, world: World):
        super().__init__(world)
        self._views: OrderedDict = OrderedDict()
        self.routes = [
            ("GET", "/batch_dial_jobs", "/batch_dial_jobs", self.list_jobs),
            ("GET", "/batch_dial_jobs/{id}", "/batch_dial_jobs/{id}", self.get_job),
            ("GET", "/batch_dial_jobs/{id}/dials", "/batch_dial_jobs/{id}/dials", self.list_dials),
            ("GET", "/batch_dial_jobs/{id}/queue", "/batch_dial_jobs/{id}/queue", self.list_queue),
            ("GET", "/dials/{id}", "/dials/{id}", self.get_dial),
        ]

    error = staticmethod(error)

    def truth(self, account: str) -> dict:
        return truth(self.world, account, self.view)


    def view(self, job: Job, t: int) -> View:
        key = (job.account, job.job_id, t)
        v = self._views.get(key)
        if v is None:
            v = self._views[key] = job_view(job, t)
            if len(self._views) > 256:
                self._views.popitem(last=False)
        return v


    # --- endpoints -------------------------------------------------------------------------

    def list_jobs(self, request: Request, account: str) -> Response:
        q = request.query_params
        limit = _limit(q.get("limit"))
        if isinstance(limit, Response):
            return limit
        status = q.get("status") or None
        if status is not None and status not in JOB_STATUSES:
            return error(422, f"Validation exception: status must be one of {', '.join(JOB_STATUSES)}")
        agent = q.get("callAgentId") or None  # userId: a workspace key sees its one user's jobs
        key = ("list", account, status, agent, limit, q.get("cursor"), self.world.token)
        return self._cached(key, lambda: self._list_body(account, status, agent, limit, q.get("cursor")))

    def _list_body(self, account: str, status: str | None, agent: str | None, limit: int,
                   cursor: str | None) -> dict | Response:
        t = self.world.now
        jobs = [j for j in self.world.jobs(VENDOR, account)
                if (status is None or _JOB_STATUS[j.status(t)] == status) and (agent is None or j.agent_id == agent)]
        page = _page([(j.created_at, j.job_id) for j in jobs], cursor, limit)
        if isinstance(page, Response):
            return page
        start, stop, nxt = page
        return {"data": [render_job(j, t) for j in jobs[start:stop]], "cursor": nxt}

    def _job(self, request: Request, account: str) -> Job | None:
        return self.world.job(VENDOR, account, request.path_params["id"])

    def get_job(self, request: Request, account: str) -> Response:
        job = self._job(request, account)
        if job is None:
            return error(404, "Batch dial job not found")
        return json_response(render_job(job, self.world.now))

    def list_dials(self, request: Request, account: str) -> Response:
        return self._child(request, account, "dials")

    def list_queue(self, request: Request, account: str) -> Response:
        return self._child(request, account, "queue")

    def _child(self, request: Request, account: str, kind: str) -> Response:
        job = self._job(request, account)
        if job is None:
            return error(404, "Batch dial job not found")
        q = request.query_params
        limit = _limit(q.get("limit"))
        if isinstance(limit, Response):
            return limit
        cursor = q.get("cursor")
        key = (kind, account, job.job_id, limit, cursor, self.world.token)
        return self._cached(key, lambda: self._child_body(job, kind, limit, cursor))

    def _child_body(self, job: Job, kind: str, limit: int, cursor: str | None) -> dict | Response:
        v = self.view(job, self.world.now)
        if kind == "dials":
            page = _page([d.key for d in v.dials], cursor, limit)
            if isinstance(page, Response):
                return page
            start, stop, nxt = page
            return {"data": [render_dial(job, d) for d in v.dials[start:stop]], "cursor": nxt}
        page = _page([(i,) for i in v.queue], cursor, limit)
        if isinstance(page, Response):
            return page
        start, stop, nxt = page
        return {"data": [render_queue_row(job, i) for i in v.queue[start:stop]], "cursor": nxt}

    def get_dial(self, request: Request, account: str) -> Response:
        dial_id = request.path_params["id"]
        t = self.world.now
        for job in self.world.jobs(VENDOR, account):
            for d in self.view(job, t).dials:
                if d.id == dial_id:
                    return json_response(render_dial(job, d))
        return error(404, "Dial not found")


# --- ground truth (DESIGN §4, canonical form) ------------------------------------------------

def truth(world: World, account: str, view=job_view) -> dict:
    """The warehouse a correct sync of this account would hold now, minus ``last_synced_at``.

    Deleted jobs keep the state they had when deleted and stay in jobs/contacts/attempts with
    ``is_deleted`` true; the marts leave them out.
    """
    now = world.now
    out: dict[str, list] = {"jobs": [], "contacts": [], "attempts": [], "job_success_rates": [],
                            "failure_reasons": []}
    for job in world.all_jobs(VENDOR, account):
        if job.created_at > now:
            continue
        deleted = job.deleted_at is not None
        t = job.shown_at(now)
        v = render_job(job, t)
        status = canonical_job_status(v["status"])
        out["jobs"].append({
            "vendor": VENDOR, "account": account, "job_id": job.job_id, "name": v["name"],
            "status": status, "vendor_status": v["status"], "is_terminal": status in TERMINAL_JOB,
            "is_deleted": deleted, "agent_id": v["callAgentId"], "created_at": v["createdAt"],
            "scheduled_start_at": None, "started_at": None, "completed_at": None, "total_contacts": None,
            "contacts_processed": None, "successful_calls": None, "failed_calls": None,
        })
        base = {"vendor": VENDOR, "account": account, "job_id": job.job_id}
        rows = _truth_contacts(job, view(job, t), base, out["attempts"])
        out["contacts"].extend(rows)
        if not deleted:
            rate, reasons = truth_marts(base, v["name"], status, rows)
            out["job_success_rates"].append(rate)
            out["failure_reasons"].extend(reasons)
    return out


def _truth_contacts(job: Job, state: View, base: dict, attempts: list) -> list[dict]:
    """One row per number: its queue row, or its latest dial; every dial is also an attempt."""
    by_number: dict[str, list[Dial]] = {}
    for d in state.dials:
        by_number.setdefault(job.phone(d.i), []).append(d)
    rows = []
    for number, dials in by_number.items():
        dials.sort(key=lambda d: (d.attempt.started_at if d.attempt is not None else d.ended_at, d.number))
        for n, d in enumerate(dials, 1):
            a = d.attempt
            attempts.append({**base, "contact_id": number, "attempt_number": n,
                             "status": canonical_contact_status(d.status, d.result), "vendor_status": d.status,
                             "error_code": None, "started_at": iso(a.started_at) if a is not None else None,
                             "duration_s": float(d.duration)})
        d = dials[-1]
        cs = canonical_contact_status(d.status, d.result)
        a = d.attempt
        rows.append({**base, "contact_id": number, "phone_number": number, "status": cs,
                     "vendor_status": d.status, "is_terminal": cs not in CANON_OPEN, "attempt_count": len(dials),
                     "error_code": None, "failure_reason": None if cs == "completed" else d.result,
                     "last_attempt_at": iso(a.started_at) if a is not None else None,
                     "completed_at": iso(d.ended_at), "call_duration_s": float(d.duration)})
    for i in state.queue:
        number = job.phone(i)
        rows.append({**base, "contact_id": number, "phone_number": number,
                     "status": canonical_contact_status(QUEUE_ROW_STATUS, None), "vendor_status": QUEUE_ROW_STATUS,
                     "is_terminal": False, "attempt_count": 0, "error_code": None, "failure_reason": None,
                     "last_attempt_at": None, "completed_at": None, "call_duration_s": None})
    return rows
