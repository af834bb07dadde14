"""Weya's calls paging: `sortBy=_id` first; where Weya refuses or ignores it, walks by `createdAt`
de-duplicated by `_id`, bounded, until the batch's `total` distinct calls are in.

The mock stores calls uploaded in groups that share `createdAt` and, like a database that does
not order ties stably, puts the ties of every request in a different order.
"""
from __future__ import annotations

import math
import random

import dlt
import duckdb
import httpx
import pytest

from pipelines.engine import AccountRun, DetailTask, vendor_resource
from pipelines.http import HttpError, HttpSettings, NotFound, VendorClient, bearer
from pipelines.models import build_models
from pipelines.weya import IncompleteBatch, WeyaApi, settings

USER = "64e5f12345abcdef12345678"
BATCH = "67def9053495307c718d9dfb"
BASE = "http://weya.test/weya"


def envelope(data, status: int = 200, message: str = "Calls fetched successfully"):
    return httpx.Response(status, json={"message": message, "status": status == 200, "code": status,
                                        "errorMessage": "" if status == 200 else message, "data": data})


class MockWeya:
    """One batch of `calls` call records in upload groups of `group` sharing `createdAt`.

    `by_id`: "honoured" sorts by `_id`, "ignored" serves its default order (createdAt desc) and
    "refused" answers 400. `ties`: "shuffled" orders ties at random on every request; "per_query"
    orders them by the query's skip and limit, the same on every repeat (a top-k sort).
    `claimed`: extra calls the batch's `total` claims but no page shows.
    """

    def __init__(self, calls: int = 250, group: int = 30, by_id: str = "honoured", ties: str = "shuffled",
                 claimed: int = 0):
        self.records = [{"_id": f"64e5f12345abcdef{i:08x}", "phoneNumber": f"1212555{i:04d}",
                         "phoneLogs": [], "createdAt": f"2025-05-15T14:{i // group:02d}:00.000Z"}
                        for i in range(calls)]
        self.by_id, self.ties, self.claimed = by_id, ties, claimed
        self.rng = random.Random(7)
        self.asked: list[dict] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params)
        self.asked.append(q)
        sort_by, desc = q.get("sortBy", "createdAt"), q.get("sortOrder", "desc") == "desc"
        page, limit = int(q.get("page", 1)), int(q.get("limit", 10))
        if sort_by == "_id" and self.by_id == "refused":
            return envelope(None, 400, "Invalid query parameters: sortBy")
        if sort_by == "_id" and self.by_id == "honoured":
            ordered = sorted(self.records, key=lambda r: r["_id"])
        else:
            ordered = self.created_at_order(desc, (page - 1) * limit + limit)
        total = len(self.records) + self.claimed
        return envelope({"batchId": BATCH, "batchName": "Tied", "batchStatus": "active", "page": page,
                         "limit": limit, "total": total, "totalPages": math.ceil(total / limit),
                         "data": ordered[(page - 1) * limit: page * limit]})

    def created_at_order(self, desc: bool, k: int) -> list[dict]:
        rng = self.rng if self.ties == "shuffled" else random.Random(k * 2 + desc)
        tie = {r["_id"]: rng.random() for r in self.records}
        ordered = sorted(self.records, key=lambda r: (r["createdAt"], tie[r["_id"]]))
        return ordered[::-1] if desc else ordered

    def one_walk(self, order: settings.CallOrder) -> set[str]:
        """The distinct ids one plain walk in `order` would collect (what a source without re-walks gets)."""
        ids, page = set(), 1
        while True:
            data = self.handler(httpx.Request("GET", BASE, params=order.params(page))).json()["data"]
            ids |= {r["_id"] for r in data["data"]}
            if page >= data["totalPages"]:
                return ids
            page += 1


def client(mock: MockWeya) -> VendorClient:
    return VendorClient(BASE, bearer("token"), HttpSettings(max_attempts=1), httpx.MockTransport(mock.handler))


def fetch(api: WeyaApi, mock: MockWeya) -> tuple[list[dict], BaseException | None]:
    """Every contact record one detail fetch yields, and the error it ended with."""
    records, error = [], None
    try:
        for page in api.fetch_detail(client(mock), DetailTask(BATCH)):
            if page.table is settings.CONTACTS:
                records += page.records
    except HttpError as e:
        error = e
    return records, error


def test_sort_by_id_honoured_is_one_walk():
    mock = MockWeya(calls=250, group=250)  # every call shares one createdAt: the worst case for createdAt
    api = WeyaApi(USER)
    records, error = fetch(api, mock)
    assert error is None
    assert sorted(r["_id"] for r in records) == sorted(r["_id"] for r in mock.records)
    assert [(q["page"], q["limit"], q["sortBy"], q["sortOrder"]) for q in mock.asked] == [
        ("1", "100", "_id", "asc"), ("2", "100", "_id", "asc"), ("3", "100", "_id", "asc")]
    assert api.sorts_by_id is True


@pytest.mark.parametrize("ties", ["shuffled", "per_query"])
@pytest.mark.parametrize(("by_id", "requests"), [
    # The 400, a walk by createdAt asc (ties split at 100 and 200), then desc until the split groups
    # are in: its pages 1 and 2 hold them whole.
    pytest.param("refused", 1 + 3 + 2, id="id_refused"),
    # The ignored _id walk (the mock orders it by createdAt asc), then desc as above.
    pytest.param("ignored", 3 + 2, id="id_ignored"),
])
def test_ties_under_created_at_all_distinct_calls_arrive(by_id, requests, ties):
    mock = MockWeya(by_id=by_id, ties=ties)
    # The mock really loses calls to one walk by createdAt: the case the re-walks are for.
    assert len(mock.one_walk(settings.CALLS_BY_CREATED_AT[0])) < len(mock.records)
    mock.asked.clear()
    api = WeyaApi(USER)
    records, error = fetch(api, mock)
    assert error is None
    ids = [r["_id"] for r in records]
    assert len(ids) == len(set(ids)) == len(mock.records)  # every call once
    assert len(mock.asked) == requests
    assert api.sorts_by_id is False
    assert [q["sortOrder"] for q in mock.asked[-2:]] == ["desc", "desc"]


def test_what_weya_showed_about_id_carries_to_the_next_batch():
    mock = MockWeya(calls=50, by_id="refused")
    api = WeyaApi(USER)
    fetch(api, mock)
    mock.asked.clear()
    records, error = fetch(api, mock)
    assert error is None and len(records) == 50
    assert [q["sortBy"] for q in mock.asked] == ["createdAt"]  # no second 400


@pytest.mark.parametrize("by_id", ["honoured", "refused"])
def test_a_batch_still_short_yields_what_it_found_then_fails_bounded(by_id):
    """`total` claims 7 calls no page shows: three walks, every distinct call yielded, then
    IncompleteBatch (recorded in sync_errors; not a deletion)."""
    mock = MockWeya(calls=120, by_id=by_id, claimed=7)
    records, error = fetch(WeyaApi(USER), mock)
    assert isinstance(error, IncompleteBatch) and not isinstance(error, NotFound)  # never read as a deletion
    assert "120 distinct calls of 127 after 3 walks" in str(error)
    assert sorted(r["_id"] for r in records) == sorted(r["_id"] for r in mock.records)
    pages = math.ceil(127 / 100)
    assert len(mock.asked) == 3 * pages + (by_id == "refused")


def test_a_refusal_of_created_at_is_an_error_not_a_fallback():
    def handler(request: httpx.Request) -> httpx.Response:
        return envelope(None, 400, "Invalid query parameters")

    api = WeyaApi(USER)
    api.sorts_by_id = False
    client_ = VendorClient(BASE, bearer("token"), HttpSettings(max_attempts=1), httpx.MockTransport(handler))
    with pytest.raises(HttpError, match="HTTP 400"):
        list(api.fetch_detail(client_, DetailTask(BATCH)))


def load_one_batch(workdir, mock: MockWeya) -> duckdb.DuckDBPyConnection:
    """One batch of `mock` through the engine, dlt and the models; returns a connection."""
    list_body = {"batches": [{"_id": BATCH, "batchName": "Tied", "totalCalls": 250, "callsPicked": 0,
                              "callsCompleted": 0, "queue_status": "active", "createdAt": "2025-05-15T14:00:00.000Z",
                              "updatedAt": "2025-05-15T14:30:00.000Z"}],
                 "pagination": {"total": 1, "page": 1, "limit": 100, "totalPages": 1}}

    def handler(request: httpx.Request) -> httpx.Response:
        return envelope(list_body) if "/batches/" in request.url.path else mock.handler(request)

    db = workdir / "w.duckdb"
    resource = vendor_resource(WeyaApi(USER), VendorClient(BASE, bearer("t"), HttpSettings(max_attempts=1),
                                                           httpx.MockTransport(handler)), AccountRun(known_jobs={}))
    dlt.pipeline(pipeline_name="weya_ties", destination=dlt.destinations.duckdb(str(db)), dataset_name="weya",
                 pipelines_dir=str(workdir / "pipelines")).run(resource)
    con = duckdb.connect(str(db))
    build_models(con, ["weya"])
    return con


def test_shuffled_ties_reach_analytics_whole(workdir):
    """Through the engine and the models: every call of the batch once, no sync error."""
    con = load_one_batch(workdir, MockWeya(by_id="ignored"))
    assert con.execute("select count(*), count(distinct contact_id) from analytics.contacts").fetchone() == (250, 250)
    assert "sync_errors" not in {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'weya'").fetchall()}


def test_a_batch_still_short_loads_what_it_found_and_is_recorded(workdir):
    """A short walk loads the calls it found (they are merged by _id, so nothing is lost or doubled)
    and the batch is in sync_errors, fetched again next run."""
    con = load_one_batch(workdir, MockWeya(calls=120, by_id="refused", claimed=7))
    assert con.execute("select count(*), count(distinct contact_id) from analytics.contacts").fetchone() == (120, 120)
    (job_id, error), = con.execute("select job_id, error from weya.sync_errors").fetchall()
    assert job_id == BATCH and "120 distinct calls of 127" in error
    assert "sync_state" not in {r[0] for r in con.execute(  # not recorded as fetched
        "select table_name from information_schema.tables where table_schema = 'weya'").fetchall()}
