"""Run the simulator: in a background thread for tests and benchmarks (``SimulatorServer``),
or in the foreground for ``callsync simulate`` (``serve_forever``).

The listening socket is bound before uvicorn starts, so ``port=0`` yields a free port that is
known up front and already accepting connections when ``__enter__`` returns.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Self

import httpx
import uvicorn

from .app import create_app
from .world import World


def _config(app, **kw) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                          timeout_graceful_shutdown=1, **kw)


def source_env(vendor: str, credentials: dict[str, Any], base_url: str, account: str = "default") -> dict[str, str]:
    """The environment variables of one account's configuration: the account `default` is the flat
    `[sources.<vendor>]` section, any other one its `[sources.<vendor>.accounts.<name>]` section."""
    section = f"SOURCES__{vendor.upper()}__" + ("" if account == "default" else f"ACCOUNTS__{account.upper()}__")
    env = {section + key.upper(): str(value) for key, value in credentials.items()}
    env[section + "BASE_URL"] = base_url
    return env


class SimulatorServer:
    """``with SimulatorServer(World(), port=0) as sim:`` — a live simulator on 127.0.0.1."""

    def __init__(self, world: World | None = None, host: str = "127.0.0.1", port: int = 0):
        self.world = world if world is not None else World()
        self.host = host
        self.app = create_app(self.world)
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # listener says TCP, and without it keep-alive requests stall 40 ms on delayed ACKs.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def vendor_url(self, vendor: str) -> str:
        """The vendor's base URL (what its ``base_url`` config would be)."""
        return self.base_url + self.app.state.sim.dialects[vendor].prefix

    def env_for(self, vendor: str, account: str = "default", dialect: str | None = None) -> dict[str, str]:
        """The environment variables that point callsync's `vendor` source at this simulator.

        The account `default` is the flat `[sources.<vendor>]` section, any other one its
        `[sources.<vendor>.accounts.<name>]` section. `dialect` picks another dialect of the same
        vendor (a DialNexa doc generation)."""
        return source_env(vendor, self.world.accounts[vendor][account], self.vendor_url(dialect or vendor), account)

    def start(self) -> Self:
        self._server = uvicorn.Server(_config(self.app))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"callsync-simulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("simulator failed to start")
            time.sleep(0.005)
        self._client = httpx.Client(base_url=self.base_url + "/_control", timeout=60)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            assert self._thread is not None, "start() sets the thread along with the server"
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- control client ----------------------------------------------------------------------

    def _call(self, method: str, path: str, **kw) -> dict:
        if self._client is None:
            raise RuntimeError("the simulator is not running: call start() or use it in a `with` block")
        r = self._client.request(method, path, **kw)
        r.raise_for_status()
        return r.json()

    def now(self) -> str:
        return self._call("GET", "/clock")["now"]

    def advance(self, seconds: float) -> str:
        return self._call("POST", "/advance", json={"seconds": seconds})["now"]

    def truth(self, vendor: str, account: str = "default") -> dict:
        return self._call("GET", "/truth", params={"vendor": vendor, "account": account})

    def request_counts(self, detail: bool = False) -> dict:
        return self._call("GET", "/requests", params={"detail": 1} if detail else None)

    def reset_requests(self) -> dict:
        return self._call("POST", "/requests/reset")

    def set_faults(self, **kw) -> dict:
        return self._call("POST", "/faults", json=kw)

    def tamper(self, **kw) -> dict:
        """Serve bad data: `vendor, record_id, scope=<path part>, set={...}, unset=[...]`,
        `vendor, job_id, broken=True`,
        or `reset=True` (the truth is unaffected)."""
        return self._call("POST", "/tamper", json=kw)

    def set_switches(self, **kw) -> dict:
        """`talkifai_auth="bearer"|"x-api-key"|"either"` (or {account: mode}),
        `weya_not_found="json"|"text"`; returns every switch."""
        return self._call("POST", "/switches", json=kw)

    def set_rate_limit(self, vendor: str, requests: int | None, window_s: float = 60.0,
                       reset: str = "epoch") -> dict:
        """A request budget per API key for `vendor` (talkifai, dialnexa); `requests=None` clears it."""
        return self._call("POST", "/rate_limits", json={"vendor": vendor, "requests": requests,
                                                        "window_s": window_s, "reset": reset})

    def delete_job(self, vendor: str, account: str, job_id: str) -> dict:
        return self._call("POST", "/delete_job", json={"vendor": vendor, "account": account, "job_id": job_id})


def serve_forever(world: World | None = None, host: str = "127.0.0.1", port: int = 8787) -> None:
    """Serve in the foreground until interrupted (``callsync simulate``)."""
    app = create_app(world if world is not None else World())
    uvicorn.Server(_config(app, host=host, port=port)).run()
