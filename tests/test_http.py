"""The shared client: what each response means, retries and their bounds, no secrets in errors."""
import httpx
import pytest

from pipelines.http import (
    AuthError,
    HttpError,
    HttpSettings,
    NotFound,
    RetryableError,
    VendorClient,
    bearer,
    parse_retry_after,
)

KEY = "secret-key-123"
FAST = HttpSettings(max_attempts=4, backoff_multiplier_s=0.001, backoff_max_s=0.01, retry_after_max_s=0.05)


def client_for(responses, settings=FAST):
    """A client whose transport answers from `responses` in order, recording the requests."""
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return VendorClient("http://vendor.test/api", bearer(KEY), settings, httpx.MockTransport(handler)), seen


def test_ok_sends_bearer_and_params():
    client, seen = client_for([httpx.Response(200, json={"a": 1})])
    assert client.get_json("/jobs", {"page": 2}) == {"a": 1}
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert str(seen[0].url) == "http://vendor.test/api/jobs?page=2"
    assert (client.requests, client.retries) == (1, 0)


@pytest.mark.parametrize("first", [
    pytest.param(httpx.Response(429, headers={"Retry-After": "0.01"}), id="rate_limited"),
    pytest.param(httpx.Response(500), id="server_error"),
    pytest.param(httpx.Response(503, text="<html>"), id="unavailable"),
    pytest.param(httpx.Response(200, content=b'{"batchJobs": [{"id"'), id="truncated_json"),
    pytest.param(httpx.ReadTimeout("slow"), id="timeout"),
    pytest.param(httpx.ConnectError("refused"), id="connect_error"),
])
def test_transient_failures_are_retried(first):
    client, seen = client_for([first, first, httpx.Response(200, json=[1])])
    assert client.get_json("/jobs") == [1]
    assert (client.requests, client.retries, len(seen)) == (3, 2, 3)


def test_retries_are_bounded():
    client, seen = client_for([httpx.Response(502)])
    with pytest.raises(RetryableError, match="HTTP 502"):
        client.get_json("/jobs")
    assert len(seen) == FAST.max_attempts


def test_retry_after_is_honoured_and_capped():
    client, _ = client_for([httpx.Response(429, headers={"Retry-After": "30"}), httpx.Response(200, json={})])
    state = type("S", (), {"outcome": type("O", (), {"exception": lambda self: RetryableError("x", 429, 30.0)})(),
                           "attempt_number": 1})()
    assert client._wait(state) == FAST.retry_after_max_s
    assert client.get_json("/jobs") == {}


@pytest.mark.parametrize("status,error", [(401, AuthError), (403, AuthError), (404, NotFound), (400, HttpError)])
def test_fatal_statuses_are_not_retried(status, error):
    client, seen = client_for([httpx.Response(status, json={"detail": "nope"})])
    with pytest.raises(error) as raised:
        client.get_json("/jobs")
    assert len(seen) == 1
    assert raised.value.status == status
    assert KEY not in str(raised.value) and "nope" in str(raised.value)


def test_parse_retry_after():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert parse_retry_after("soon") is None
