"""The sandbox's "commit then drop" fault on a real socket: the work is done, the answer is
cut, and the client sees a transport error, whether the sandbox is served alone
(``manage.py runsandbox``) or mounted under /sandbox in the dashboard's own server."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dashboard.providers.base import RetryPolicy
from dashboard.providers.jaicp.client import JaicpClient
from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock

ROOT = Path(__file__).resolve().parents[2]
RUNNING = "8231.7056.1b131df1"  # the JAICP campaign in progress (dashboard/providers/jaicp/world.py)
STARTUP_SECONDS = 20


def jobs_with_key(base: str, key: str) -> list[dict[str, Any]]:
    jobs = httpx.get(f"{base}/_sandbox/ledger", timeout=5).json()["jaicp"]["call_jobs"]
    return [j for j in jobs if j["idempotence_key"] == key]


@contextmanager
def served(app: Any, *, http: str = "auto") -> Iterator[str]:
    """``app`` behind uvicorn on a free port of 127.0.0.1, in a thread; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=http, lifespan="off", log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def alone(http: str) -> Any:
    """The sandbox as ``manage.py runsandbox`` serves it (on a manual clock: no ticker)."""

    @contextmanager
    def serve() -> Iterator[str]:
        with served(SandboxApp(clock=ManualClock(), seed=1), http=http) as base:
            yield base

    return serve


@pytest.fixture
def embedded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The dashboard's own ASGI app, its /sandbox mount holding a fresh sandbox (the
    process-wide one stays untouched by this test's faults)."""
    from dashboard import asgi

    settings.SANDBOX_EMBEDDED = True
    monkeypatch.setattr(asgi._dispatcher, "_sandbox", SandboxApp(prefix="/sandbox", clock=ManualClock(), seed=1))

    @contextmanager
    def serve() -> Iterator[str]:
        with served(asgi.application) as base:
            yield f"{base}/sandbox"

    return serve


@pytest.fixture(params=["alone-httptools", "alone-h11", "embedded"])
def sandbox_on_a_port(request: pytest.FixtureRequest) -> Any:
    if request.param == "embedded":
        return request.getfixturevalue("embedded")
    return alone(request.param.removeprefix("alone-"))


def assert_dropped_once_then_replayed(base: str) -> None:
    assert httpx.post(f"{base}/_sandbox/faults", json={"drop_rate": 1.0}, timeout=5).status_code == 200
    url = f"{base}/jaicp/api/calls/campaign/{RUNNING}/addPhones"
    batch = [{"phone": "79110000001"}, {"phone": "79110000002"}]
    headers = {"Idempotence-Key": "batch-1"}

    # No answer at all reaches the client: not the 200, not a 500.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(url, json=batch, headers=headers, timeout=5)
    done = jobs_with_key(base, "batch-1")
    assert sorted(j["phone"] for j in done) == ["79110000001", "79110000002"]

    # The retry with the same key is answered from the key (a replay commits nothing, so
    # the fault leaves it alone) with the ids of the work already done.
    retry = httpx.post(url, json=batch, headers=headers, timeout=5)
    assert retry.status_code == 200
    assert retry.json() == [j["job_id"] for j in done]
    assert jobs_with_key(base, "batch-1") == done


def test_a_dropped_answer_is_a_transport_error_after_the_work_is_done(sandbox_on_a_port: Any) -> None:
    with sandbox_on_a_port() as base:
        assert_dropped_once_then_replayed(base)


def test_runsandbox_cuts_a_dropped_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CALLBOARD_LOCAL": "1"}
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", "--port", str(port), "--seed", "1", "--manual-clock"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                httpx.get(f"{base}/_sandbox/state", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise AssertionError(proc.communicate()[0].decode()) from None
                time.sleep(0.1)
        assert_dropped_once_then_replayed(base)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=10)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0].decode()
    # The fault is logged as the fault it is, not as an application crash.
    assert "Exception in ASGI application" not in output


class KeysSent(httpx.AsyncHTTPTransport):
    """A real socket transport that notes the Idempotence-Key of every request sent. One
    connection per request, so that no retry comes from a kept-alive connection the
    server had closed: every retry here is an answer the sandbox cut."""

    def __init__(self) -> None:
        super().__init__(limits=httpx.Limits(max_keepalive_connections=0))
        self.keys: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotence-Key", ""))
        return await super().handle_async_request(request)


async def no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("where", ["alone", "embedded"])
async def test_the_jaicp_client_retries_a_cut_answer_with_its_key_and_adds_each_phone_once(
    where: str, request: pytest.FixtureRequest
) -> None:
    serve = request.getfixturevalue("embedded") if where == "embedded" else alone("auto")
    with serve() as base:
        async with httpx.AsyncClient(base_url=base, timeout=5) as control:
            answer = await control.post("/_sandbox/faults", json={"drop_rate": 0.5, "seed": 3})
            assert answer.status_code == 200
        transport = KeysSent()
        numbers = itertools.count(1)
        client = JaicpClient(
            f"{base}/jaicp", RUNNING, transport=transport, sleep=no_sleep,
            retry=RetryPolicy(attempts=3, timeout=5.0), key_factory=lambda: f"batch-{next(numbers)}",
        )
        phones = [f"7911{n:07d}" for n in range(1, 41)]
        returned: list[str] = []
        async with client:
            for start in range(0, len(phones), 4):
                returned += await client.add_phones([{"phone": p} for p in phones[start : start + 4]])

        async with httpx.AsyncClient(base_url=base, timeout=5) as control:
            jobs = (await control.get("/_sandbox/ledger")).json()["jaicp"]["call_jobs"]
    added = [j for j in jobs if (j["idempotence_key"] or "").startswith("batch-")]
    # Answers were cut: some batches went twice, each time under the key it first had
    # (the second time answered from the key, which the fault leaves alone).
    batches = len(phones) // 4
    sent = Counter(transport.keys)
    assert set(sent) == {f"batch-{n}" for n in range(1, batches + 1)}
    assert 1 <= Counter(sent.values())[2] < batches and max(sent.values()) == 2
    cut = [r for r in client.timings.recent() if not r.ok]
    assert len(cut) == len(transport.keys) - batches
    assert {r.mnemonic for r in cut} == {"unavailable"}
    # Each phone once, under the ids the client was given.
    assert sorted(j["phone"] for j in added) == phones
    assert returned == [j["job_id"] for j in added]
