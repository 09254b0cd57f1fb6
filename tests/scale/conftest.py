"""The scale path as production runs it: PostgreSQL, Redis, the sandbox as its own process,
several `manage.py serve --workers 0` processes and `manage.py db_worker` processes.

`make test` starts a throwaway PostgreSQL and Redis (scripts/services.sh) and exports
SCALE_DATABASE_URL and SCALE_REDIS_URL. Without them every test here is skipped, with the
reason services.sh gave, never passed. The tests make a fresh database for the run,
migrate it in a subprocess, talk to the processes over HTTP and WebSocket only, and never
touch pytest-django's test database (no `db` fixture anywhere here).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "test-artifacts" / "scale"
PASSWORD = "scale-pass-for-tests"
NOT_SET = "SCALE_DATABASE_URL/SCALE_REDIS_URL not set: run `make test`"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in tests/scale is marked `scale`, and skipped (with the reason) when
    the services are not there."""
    here = str(Path(__file__).parent)
    reason = _skip_reason()
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.scale)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _skip_reason() -> str:
    if os.environ.get("SCALE_SKIP_REASON"):
        return os.environ["SCALE_SKIP_REASON"]
    if not (os.environ.get("SCALE_DATABASE_URL") and os.environ.get("SCALE_REDIS_URL")):
        return NOT_SET
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# --- The database and the environment --------------------------------------------------


@dataclass(frozen=True)
class Services:
    admin_url: str  # the cluster's maintenance database, for CREATE/DROP DATABASE
    database_url: str  # this run's fresh database
    redis_url: str
    env: dict[str, str]  # what every process here gets

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the run's database directly (cheap polling, no Django boot)."""
        import psycopg

        with psycopg.connect(_libpq(self.database_url), autocommit=True) as conn:
            return conn.execute(query, params).fetchall()


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    import psycopg

    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    admin_url = os.environ["SCALE_DATABASE_URL"]
    redis_url = os.environ["SCALE_REDIS_URL"]
    name = f"callboard_scale_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = _with_db(admin_url, name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "PYTEST_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CALLBOARD_LOCAL": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),  # one key: a session from one server is valid on all
        "SANDBOX_EMBEDDED": "false",
        "IN_PROCESS_WORKERS": "0",
        "IN_PROCESS_SCHEDULER": "false",
        "SANDBOX_DEMO_TRAFFIC": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if migrate.returncode != 0:
        pytest.fail(f"migrate on {name} failed:\n{migrate.stdout}\n{migrate.stderr}")
    yield Services(admin_url=admin_url, database_url=database_url, redis_url=redis_url, env=env)
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_shell(services: Services, code: str, *, timeout: float = 120) -> Any:
    """Run ``code`` in `manage.py shell` against the run's database; it prints one JSON
    line (the last line of stdout is returned, parsed)."""
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
                            cwd=ROOT, env=services.env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"manage.py shell failed:\n{result.stdout}\n{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


# --- Processes ----------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None
    url: str = ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn, worker threads, anything they spawned)."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 5) -> None:
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)
        else:
            # The leader is gone; make sure nothing it left in the group lingers.
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGKILL if the test process dies first
    (even by SIGKILL), so no server or worker outlives a killed run."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class Launcher:
    services: Services
    procs: list[Proc] = field(default_factory=list)

    def spawn(self, name: str, args: list[str], *, port: int | None = None, url: str = "",
              env: dict[str, str] | None = None) -> Proc:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT,
                                     env={**self.services.env, **(env or {})},
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True,  # its own process group, killed as one
                                     preexec_fn=_die_with_parent)
        proc = Proc(name=name, popen=popen, log=log, port=port, url=url)
        self.procs.append(proc)
        return proc

    def wait_http(self, proc: Proc, path: str, timeout: float = 60) -> None:
        def answers() -> bool:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            try:
                return httpx.get(proc.url + path, timeout=2).status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=timeout, interval=0.2, what=f"{proc.name} on {proc.url}")

    def sandbox(self, *, scale: float = 0.05) -> Proc:
        port = free_port()
        proc = self.spawn("sandbox", ["runsandbox", "--host", "127.0.0.1", "--port", str(port), "--scale", str(scale)],
                          port=port, url=f"http://127.0.0.1:{port}")
        self.wait_http(proc, "/_sandbox/state")
        return proc

    def server(self, name: str) -> Proc:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = self.spawn(name, ["serve", "--workers", "0", "--host", "127.0.0.1", "--port", str(port)],
                          port=port, url=url, env={"PUBLIC_BASE_URL": url, "PORT": str(port)})
        self.wait_http(proc, "/healthz")
        return proc

    def worker(self, name: str) -> Proc:
        """A db_worker, returned once it polls for tasks (so a test's tasks are not all
        taken by whichever worker happened to boot first)."""
        proc = self.spawn(name, ["db_worker", "--interval", "0.2", "--no-startup-delay", "--worker-id", name])

        def polling() -> bool:
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            return "Starting worker" in proc.tail(200)

        wait_until(polling, timeout=60, interval=0.1, what=f"{name} to start")
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


@pytest.fixture(scope="session")
def session_launcher(services: Services) -> Iterator[Launcher]:
    launcher = Launcher(services)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@dataclass(frozen=True)
class Cluster:
    sandbox: Proc
    servers: list[Proc]


@pytest.fixture(scope="session")
def cluster(session_launcher: Launcher) -> Cluster:
    """One sandbox process and two dashboard servers on the same database and Redis."""
    sandbox = session_launcher.sandbox(scale=0.05)
    servers = [session_launcher.server(f"server-{letter}") for letter in "ab"]
    return Cluster(sandbox=sandbox, servers=servers)


@pytest.fixture
def launcher(services: Services) -> Iterator[Launcher]:
    """Per-test processes (db_worker ones): stopped when the test ends, whatever happens."""
    launcher = Launcher(services)
    try:
        yield launcher
    finally:
        launcher.stop_all()


# --- Data ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def supervisor_login(services: Services) -> tuple[str, str]:
    django_shell(services, f"""
import json
from django.contrib.auth.models import User
from dashboard.roles import SUPERVISOR, assign_role
user = User.objects.create_user("scale-sam", password={PASSWORD!r}, first_name="Sam")
assign_role(user, SUPERVISOR)
print(json.dumps(user.pk))
""")
    return "scale-sam", PASSWORD


def login(base_url: str, username: str, password: str) -> httpx.Client:
    """Sign in over HTTP as a browser does; the client keeps the session cookie."""
    client = httpx.Client(base_url=base_url, timeout=10)
    client.get("/login/").raise_for_status()
    token = client.cookies["csrftoken"]
    response = client.post("/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token},
                           headers={"Referer": f"{base_url}/login/"})
    assert response.status_code == 302, f"login failed ({response.status_code})"
    assert "sessionid" in client.cookies
    return client


def sandbox_reset(sandbox: Proc) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/reset", timeout=10).raise_for_status()


def sandbox_faults(sandbox: Proc, **faults: Any) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json={"clear": True, **faults}, timeout=10).raise_for_status()


def sandbox_ledger(sandbox: Proc) -> dict[str, Any]:
    return httpx.get(f"{sandbox.url}/_sandbox/ledger", timeout=30).json()


def new_jaicp_token(sandbox: Proc) -> str:
    state = httpx.get(f"{sandbox.url}/_sandbox/state", timeout=10).json()
    return next(c["token"] for c in state["jaicp"]["campaigns"] if c["status"] == "new")


def campaign_with_jobs(services: Services, sandbox: Proc, *, name: str, phones: list[str], batch_size: int) -> int:
    """A JAICP account on the sandbox process, a campaign on its "new" campaign and
    ``phones`` stored as pending call jobs (as an import leaves them). Returns its id."""
    token = new_jaicp_token(sandbox)
    return django_shell(services, f"""
import json
from collections import Counter
from campaigns.models import CallJob, Campaign
from campaigns.services.counts import status_counts_apply
from dashboard.models import ProviderAccount
account = ProviderAccount.objects.create(kind="jaicp", name={name!r}, base_url={sandbox.url + "/jaicp"!r}, is_sandbox=True)
campaign = Campaign.objects.create(account=account, name={name!r}, token={token!r}, push_batch_size={batch_size})
phones = {phones!r}
CallJob.objects.bulk_create(CallJob(campaign=campaign, phone=p, phone_e164="+" + p) for p in phones)
status_counts_apply(campaign_id=campaign.pk, delta=Counter({{"pending": len(phones)}}))
print(json.dumps(campaign.pk))
""")


def enqueue_push(services: Services, campaign_id: int, times: int = 1) -> None:
    django_shell(services, f"""
from campaigns.tasks import campaign_push_task
for _ in range({times}):
    campaign_push_task.enqueue({campaign_id})
print("null")
""")
