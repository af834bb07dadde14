"""TalkifAI's two documented key headers (OpenAPI: `Authorization: Bearer`; authentication page:
`x-api-key`): both by default, one of them with `sources.talkifai.auth`."""
from __future__ import annotations

import functools

import httpx
import pytest

import pipelines.engine.resource as engine_resource
from pipelines import runner
from pipelines.engine import AccountRun
from pipelines.talkifai import talkifai_source
from pipelines.vendors import VENDORS
from tests.conftest import configure_talkifai

KEY = "tk_live_0123456789abcdef"


def headers_sent(monkeypatch, **settings) -> list[httpx.Headers]:
    """The headers of every request one run of the real source makes (a mock TalkifAI, no jobs)."""
    sent: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers)
        return httpx.Response(200, json={"batchJobs": [], "total": 0, "page": 1, "pageSize": 100})

    client = functools.partial(engine_resource.VendorClient, transport=httpx.MockTransport(handler))
    monkeypatch.setattr(engine_resource, "VendorClient", client)
    list(talkifai_source(api_key=KEY, organization_id="org_abc123", base_url="http://talkifai.test",
                         run=AccountRun(known_jobs={}), **settings))
    assert sent, "the source made no request"
    return sent


@pytest.mark.parametrize(("settings", "bearer", "x_api_key"), [
    pytest.param({}, f"Bearer {KEY}", KEY, id="default_both"),
    pytest.param({"auth": "both"}, f"Bearer {KEY}", KEY, id="both"),
    pytest.param({"auth": "bearer"}, f"Bearer {KEY}", None, id="bearer_only"),
    pytest.param({"auth": "x-api-key"}, None, KEY, id="x_api_key_only"),
    pytest.param({"auth": " X-API-Key "}, None, KEY, id="case_and_spaces"),
])
def test_headers_per_auth_mode(monkeypatch, settings, bearer, x_api_key):
    for headers in headers_sent(monkeypatch, **settings):
        assert headers.get("authorization") == bearer
        assert headers.get("x-api-key") == x_api_key


@pytest.mark.parametrize("value", ["cookie", "", "bearer,x-api-key"])
def test_a_bad_auth_value_is_one_line_naming_the_setting(value):
    with pytest.raises(ValueError, match=r"^sources\.talkifai\.auth must be one of both, bearer, x-api-key") as e:
        talkifai_source(api_key=KEY, organization_id="org_abc123", auth=value)
    assert KEY not in str(e.value) and "\n" not in str(e.value)


def test_auth_is_an_optional_account_key():
    assert VENDORS["talkifai"].keys["auth"] is False


def test_the_setting_reaches_the_source_through_config(sim, workdir, monkeypatch):
    """Against an account that takes x-api-key only: a sync with x-api-key only succeeds, one with
    Bearer only is refused, and a bad value fails the account with the one-line message before any
    request."""
    configure_talkifai(monkeypatch, sim)
    sim.set_switches(talkifai_auth="x-api-key")
    monkeypatch.setenv("SOURCES__TALKIFAI__AUTH", "bearer")
    refused = runner.sync(["talkifai"], workdir / "w.duckdb")
    assert not refused.ok and "check sources.talkifai.api_key" in refused.runs[0].error
    monkeypatch.setenv("SOURCES__TALKIFAI__AUTH", "x-api-key")
    assert runner.sync(["talkifai"], workdir / "w.duckdb").ok
    monkeypatch.setenv("SOURCES__TALKIFAI__AUTH", "cookie")
    sim.reset_requests()
    result = runner.sync(["talkifai"], workdir / "w.duckdb")
    assert not result.ok and "sources.talkifai.auth must be one of" in result.runs[0].error
    assert sum(sim.request_counts()["counts"].values()) == 0
