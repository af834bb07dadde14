"""The shared client: what each response means, retries and their bounds, no secrets in errors."""
import json
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import httpx
import pytest

from pipelines.http import (
    AuthError,
    DeadlineReached,
    HttpError,
    HttpSettings,
    NotFound,
    RedirectError,
    RetryableError,
    UnreadableBody,
    VendorClient,
    _truncated,
    auth_headers,
    bearer,
    decode_lenient,
    parse_retry_after,
    path_for,
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


Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def serve(respond: Callable[[BaseHTTPRequestHandler], Answer]):
    """A real HTTP/1.1 server on 127.0.0.1 answering each GET with `respond(handler)`.

    Yields its `url` and `seen`: (time.time(), raw path, headers) of every request, in arrival order.
    """
    seen = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append((time.time(), self.path, dict(self.headers)))
            status, headers, body = respond(self)
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/api", seen=seen)
    finally:
        server.shutdown()
        server.server_close()


def answers(*replies: Answer) -> Callable[[BaseHTTPRequestHandler], Answer]:
    """Reply with each answer in turn, repeating the last."""
    count = iter(range(1_000_000))
    return lambda handler: replies[min(next(count), len(replies) - 1)]


JSON_OK = (200, {"Content-Type": "application/json"}, b'{"ok": true}')


@pytest.mark.parametrize("mode,expected", [
    ("bearer", {"Authorization": f"Bearer {KEY}"}),
    ("x-api-key", {"x-api-key": KEY}),
    ("both", {"Authorization": f"Bearer {KEY}", "x-api-key": KEY}),
])
def test_auth_headers_reach_the_server(mode, expected):
    with serve(answers(JSON_OK)) as server, VendorClient(server.url, auth_headers(KEY, mode), FAST) as client:
        assert client.get_json("/jobs") == {"ok": True}
    sent = {name.lower(): value for name, value in server.seen[0][2].items()}
    assert {name.lower(): value for name, value in expected.items()}.items() <= sent.items()
    assert ("authorization" in sent) == ("Authorization" in expected)
    assert ("x-api-key" in sent) == ("x-api-key" in expected)


def test_auth_headers_rejects_unknown_modes_and_bearer_is_unchanged():
    with pytest.raises(ValueError, match="bearer, x-api-key, both"):
        auth_headers(KEY, "basic")
    assert bearer(KEY) == auth_headers(KEY) == {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}


def test_redirect_is_one_error_naming_the_target_and_never_followed():
    with serve(answers(JSON_OK)) as elsewhere:
        target = f"{elsewhere.url}/steal?token={KEY}&x=1"
        with serve(answers((302, {"Location": target}, b""))) as server:
            with VendorClient(server.url, bearer(KEY), FAST) as client, pytest.raises(RedirectError) as raised:
                client.get_json("/jobs")
    message = str(raised.value)
    assert f"to {elsewhere.url}/steal;" in message and "check base_url" in message
    assert KEY not in message and "x=1" not in message and "\n" not in message
    assert (len(server.seen), len(elsewhere.seen), raised.value.status) == (1, 0, 302)


@pytest.mark.parametrize("body,problem", [
    pytest.param(b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML page, not JSON", id="html"),
    pytest.param(b"\xff\xfe\x00garbage", "invalid UTF-8 at byte 0", id="binary"),
    pytest.param(b'{"a": 1} trailing', "invalid JSON at character 9", id="trailing_text"),
])
def test_a_body_unreadable_twice_is_permanent(body, problem):
    with serve(answers((200, {}, body))) as server, VendorClient(server.url, bearer(KEY), FAST) as client:
        with pytest.raises(UnreadableBody) as raised:
            client.get_json("/jobs")
    assert len(server.seen) == 2  # one retry, then the same digest
    assert str(raised.value).startswith(f"unreadable body from GET /jobs ({len(body)} bytes): {problem}")
    assert "\n" not in str(raised.value) and client.retries == 1


def test_an_unreadable_body_that_changes_is_retried_until_readable():
    with serve(answers((200, {}, b"<html>1"), (200, {}, b"<html>2"), JSON_OK)) as server:
        with VendorClient(server.url, bearer(KEY), FAST) as client:
            assert client.get_json("/jobs") == {"ok": True}
    assert len(server.seen) == 3


def test_a_body_shorter_than_its_content_length_stays_transient():
    def cut_short(handler):
        handler.close_connection = True
        return (200, {"Content-Length": "100"}, b'{"a": [1, 2') if len(server.seen) < 4 else JSON_OK

    with serve(cut_short) as server, VendorClient(server.url, bearer(KEY), FAST) as client:
        assert client.get_json("/jobs") == {"ok": True}
    assert len(server.seen) == 4 and client.retries == 3


def test_every_cut_of_a_json_body_is_transient():
    """Cut anywhere (inside a literal, a number, a string, an escape) it is a transfer cut short, never poison."""
    doc = json.dumps({"jobs": [{"id": 'a"b', "n": -12.5e3, "ok": True, "x": None, "f": False,
                                "s": "caf\u00e9 \U0001f600", "l": [1, 2.0, {}, [], 7]}], "next": None}).encode()
    for cut in range(1, len(doc)):
        response = httpx.Response(200, content=doc[:cut])
        with pytest.raises(json.JSONDecodeError) as raised:
            decode_lenient(response.content)
        assert _truncated(response, raised.value), doc[:cut]


def test_mock_content_length_short_is_transient():
    client, seen = client_for([httpx.Response(200, content=b"<html>", headers={"Content-Length": "999"}),
                               httpx.Response(200, content=b"<html>", headers={"Content-Length": "999"}),
                               httpx.Response(200, json=[1])])
    assert client.get_json("/jobs") == [1] and len(seen) == 3


@pytest.mark.parametrize("body,expected", [
    pytest.param(b'{"name": "caf\xe9", "ids": [1, 2]}', {"name": "caf\ufffd", "ids": [1, 2]}, id="latin1_byte"),
    pytest.param(b'[{"note": "a\\ud800b"}, {"note": "\\ud83d\\ude00"}]', [{"note": "a\ufffdb"}, {"note": "\U0001f600"}],
                 id="lone_surrogate"),
])
def test_text_errors_inside_json_are_read_leniently_and_counted(body, expected):
    assert decode_lenient(body) == expected
    with serve(answers((200, {}, body))) as server, VendorClient(server.url, bearer(KEY), FAST) as client:
        assert client.get_json("/jobs") == expected
    assert (len(server.seen), client.lenient_decodes, client.retries) == (1, 1, 0)


def test_decode_lenient_raises_when_not_json():
    with pytest.raises(ValueError):
        decode_lenient(b"<html>")


def test_path_for_encodes_each_id():
    assert path_for("/batch/jobs/{job_id}", job_id="job/bad?x=1") == "/batch/jobs/job%2Fbad%3Fx%3D1"
    assert path_for("/u/{user}/b/{batch}", user="a b", batch=7) == "/u/a%20b/b/7"
    with serve(answers(JSON_OK)) as server, VendorClient(server.url, bearer(KEY), FAST) as client:
        client.get_json(path_for("/batch/jobs/{job_id}", job_id="job/bad?x=1#f"))
    assert server.seen[0][1] == "/api/batch/jobs/job%2Fbad%3Fx%3D1%23f"


def test_past_the_deadline_no_request_starts():
    with serve(answers(JSON_OK)) as server:
        with VendorClient(server.url, bearer(KEY), FAST, deadline=time.monotonic() - 1) as client:
            with pytest.raises(DeadlineReached, match="before GET /jobs"):
                client.get_json("/jobs")
        late = HttpSettings(deadline=time.monotonic() - 1)
        with VendorClient(server.url, bearer(KEY), late) as client, pytest.raises(DeadlineReached):
            client.get_json("/jobs")
    assert server.seen == []


def test_a_retry_wait_past_the_deadline_raises_instead_of_sleeping():
    limited = (429, {"Retry-After": "5"}, b'{"message": "slow down"}')
    settings = HttpSettings(max_attempts=4, retry_after_max_s=10)
    with serve(answers(limited, JSON_OK)) as server:
        with VendorClient(server.url, bearer(KEY), settings, deadline=time.monotonic() + 2) as client:
            started = time.monotonic()
            with pytest.raises(DeadlineReached, match="would wait 5.0s"):
                client.get_json("/jobs")
    assert time.monotonic() - started < 1 and len(server.seen) == 1


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 429, 500])
def test_error_messages_never_contain_the_key(status):
    """Even a server that echoes the credentials back: body, Location and header all carry the key."""
    def echo(handler):
        key = handler.headers["x-api-key"]
        return status, {"Location": f"/login/{key}", "Retry-After": "0"}, f"bad key {key}\n{key}".encode()

    settings = HttpSettings(max_attempts=2, backoff_multiplier_s=0.001, backoff_max_s=0.01)
    with serve(echo) as server, VendorClient(server.url, auth_headers(KEY, "both"), settings) as client:
        with pytest.raises(HttpError) as raised:
            client.get_json("/jobs")
    message = str(raised.value)
    assert KEY not in message and "\n" not in message and "***" in message
