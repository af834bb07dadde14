"""The vendor simulator in its own process, so it never shares the GIL with what is measured.

`python -m bench.simserver --seed 7 --jobs 100 --contacts 2000` binds a free loopback port,
prints it on stdout and serves until killed. `SimProcess` starts that from the benchmark and
talks to it only over HTTP (the control API under `/_control`, the TalkifAI list as a client).
"""
from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

API_KEY = "sim-talkifai-key"  # the simulator's default TalkifAI account
AUTH_HEADERS = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}
ORG_ID = "org_demo"
LIST_PAGE_SIZE = 100  # TalkifAI's documented maximums, the ones callsync uses
DETAIL_PAGE_SIZE = 500


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from pipelines.simulator import World, create_app

    p = argparse.ArgumentParser(prog="python -m bench.simserver")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--jobs", type=int, required=True)
    p.add_argument("--contacts", type=int, required=True)
    args = p.parse_args(argv)
    # Same socket set-up as SimulatorServer (IPPROTO_TCP so asyncio sets TCP_NODELAY).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = create_app(World(seed=args.seed, jobs_per_account=args.jobs, contacts_per_job=args.contacts))
    sim = app.state.sim
    print(json.dumps({vendor: {"prefix": sim.dialects[vendor].prefix, "keys": accounts["default"]}
                      for vendor, accounts in sim.world.accounts.items()}), flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


class SimProcess:
    """`with SimProcess(jobs, contacts) as sim:` a simulator subprocess on 127.0.0.1."""

    def __init__(self, jobs: int, contacts: int, seed: int = 7):
        self.args = ["--seed", str(seed), "--jobs", str(jobs), "--contacts", str(contacts)]

    def __enter__(self) -> SimProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.simserver", *self.args],
                                     stdout=subprocess.PIPE, text=True)
        port = int(self.proc.stdout.readline())
        self.base_url = f"http://127.0.0.1:{port}"
        self.vendors = json.loads(self.proc.stdout.readline())  # vendor -> its URL prefix and default keys
        self.vendor_url = f"{self.base_url}/talkifai"
        self.control = httpx.Client(base_url=f"{self.base_url}/_control", timeout=120)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.control.get("/clock").raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("simulator process did not start") from None
                time.sleep(0.05)
        # The bench measures speed, not authentication: dlt's REST source (the peer) sends Bearer only.
        self.control.post("/switches", json={"talkifai_auth": "either"}).raise_for_status()
        return self

    def __exit__(self, *exc) -> None:
        self.control.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    # --- control API ---------------------------------------------------------------------------

    def _post(self, path: str, body: dict | None = None) -> dict:
        r = self.control.post(path, json=body or {})
        r.raise_for_status()
        return r.json()

    def env_for(self, vendor: str) -> dict[str, str]:
        """The environment that points callsync's `vendor` source at this simulator (its default account)."""
        from pipelines.simulator.server import source_env

        return source_env(vendor, self.vendors[vendor]["keys"], self.base_url + self.vendors[vendor]["prefix"])

    def advance(self, seconds: float) -> None:
        self._post("/advance", {"seconds": seconds})

    def set_latency(self, seconds: float) -> None:
        self._post("/faults", {"latency_s": seconds})

    def set_budget(self, requests: int | None, window_s: float = 1.0) -> None:
        """TalkifAI's request budget: `requests` per `window_s` (429 beyond it); None lifts it."""
        self._post("/rate_limits", {"vendor": "talkifai", "requests": requests, "window_s": window_s})

    def delete_job(self, job_id: str) -> None:
        """TalkifAI's job `job_id` (default account) is gone: its detail answers 404 from now on."""
        self._post("/delete_job", {"vendor": "talkifai", "job_id": job_id})

    def reset_requests(self) -> None:
        self._post("/requests/reset")

    def requests(self) -> dict[str, int]:
        """Requests per route since the last reset, e.g. {"list": 1, "detail": 400, "total": 401}."""
        counts = self.control.get("/requests").json()["counts"]
        out = {"list": 0, "detail": 0, "other": 0}
        for route, n in counts.items():
            kind = ("list" if route.endswith("/batch/jobs") else
                    "detail" if route.endswith("/batch/jobs/{id}") else "other")
            out[kind] += n
        out["total"] = sum(counts.values())
        return out

    # --- the TalkifAI API as a client sees it ---------------------------------------------------

    def listing(self) -> tuple[dict[str, dict], int]:
        """Every job's list entry (by id) and the number of list pages callsync reads.

        Makes requests: reset the counts afterwards if they must not be seen.
        """
        jobs: dict[str, dict] = {}
        with httpx.Client(base_url=self.vendor_url, headers=AUTH_HEADERS, timeout=60) as client:
            page = 1
            while True:
                body = client.get("/batch/jobs", params={"organizationId": ORG_ID, "page": page,
                                                         "pageSize": LIST_PAGE_SIZE}).json()
                jobs.update((j["id"], j) for j in body["batchJobs"])
                if not body["batchJobs"] or len(jobs) >= body["total"]:
                    return jobs, page
                page += 1


    def warm(self) -> None:
        """Request every page once, so the simulator has rendered (and cached) what it serves
        before anything is timed: a real API does not slow down because one process renders it."""
        jobs, _ = self.listing()
        with httpx.Client(base_url=self.vendor_url, headers=AUTH_HEADERS, timeout=60) as client:
            def fetch(job_id: str) -> None:
                for page in range(1, detail_pages(jobs[job_id]) + 1):
                    client.get(f"/batch/jobs/{job_id}", params={
                        "contactsPage": page, "contactsPageSize": DETAIL_PAGE_SIZE}).raise_for_status()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(fetch, jobs))


def detail_pages(job: dict) -> int:
    """Detail requests for one job: contacts pages of 500, at least one (it carries the job)."""
    return max(1, math.ceil(job["totalContacts"] / DETAIL_PAGE_SIZE))


if __name__ == "__main__":
    main()
