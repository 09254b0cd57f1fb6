"""The crash soak: Callboard as production runs it, its task worker SIGKILLed over and over
while a push and the live wall are busy, then checked with no hand on it.

One implementation for the test (tests/soak/) and the bench (bench/soak.py):

- a fresh database (a SQLite file in a temp dir, or a new PostgreSQL database on the
  server of ``SCALE_DATABASE_URL``), migrated in a subprocess;
- as subprocesses, each in its own process group and killed with us: the sandbox
  (``runsandbox``, sped up, faults on: timeouts longer than the clients' 10 s, 5xx, rate
  limits, answers lost after commit, notifications dropped and duplicated), the dashboard
  (``serve --workers 0``), ``scheduler`` and one ``db_worker``;
- an admin, a JAICP campaign with a few thousand pending call jobs, a CallGear account
  whose notifications reach the server, and calls started on the CallGear twin through
  its API for as long as the soak runs, so the reconcile has real calls to confirm;
- the admin signs in over HTTP and presses Push, once;
- the worker's process group is SIGKILLed ``kills`` times, at random moments, several
  of them timed while a task row is RUNNING, and started again after each;
- then nothing is done by hand (no second Push, nothing enqueued): we wait, bounded, and
  read the outcome: every number in the provider's ledger exactly once, no batch unsent,
  the reconcile advancing after the last restart, the wall's calls equal to the
  provider's list once notifications are quiet.

``SoakRun(config).run()`` returns ``Figures``; it raises only when the harness itself
cannot go on (a process that will not start, a migration that fails).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.scale.conftest import Proc, _die_with_parent, free_port, login, wait_until

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "soak-admin-pass-for-tests"
RECONCILE_SECONDS = 3.0  # LIVE_RECONCILE_SECONDS the processes get (the settings' default)
CLIENT_TIMEOUT = 10.0  # dashboard.providers.base.RetryPolicy.timeout: a sandbox "timeout" outlasts it

# A few percent of each. timeout_seconds is just past the clients' timeout, so a timed-out
# request is given up by the client and then carried out by the sandbox anyway.
FAULTS: dict[str, float] = {
    "timeout_rate": 0.02,
    "timeout_seconds": CLIENT_TIMEOUT + 1.5,
    "error_rate": 0.03,
    "rate_limit_rate": 0.02,
    "drop_rate": 0.03,
    "notify_drop_rate": 0.05,
    "notify_duplicate_rate": 0.05,
}
# From the last kill on: timeouts and rate limits off. Each delays a reconcile by a whole
# period or more by design (a 10 s client timeout, a refused run), so with them on "within
# three periods of the last restart" would fail by chance, not because of a bug. Lost
# answers, 5xx (retried at once) and notification faults stay.
SETTLE_FAULTS = {k: v for k, v in FAULTS.items() if k not in ("timeout_rate", "timeout_seconds", "rate_limit_rate")}

PUSH_TASK = "campaigns.tasks.campaign_push_task"
RECONCILE_TASK = "livecalls.tasks.reconcile_account_task"
TASK_TABLE = "django_tasks_database_dbtaskresult"


@dataclass
class SoakConfig:
    database: str = "sqlite"  # or "postgresql"
    admin_database_url: str = ""  # postgresql: the server's maintenance database (SCALE_DATABASE_URL)
    redis_url: str = ""
    phones: int = 2000
    batch_size: int = 100
    kills: int = 10
    targeted_every: int = 2  # every n-th kill waits for a RUNNING task row of the worker
    gap: tuple[float, float] = (0.5, 3.5)  # random seconds from a worker's start to its kill
    target_wait: float = 4 * RECONCILE_SECONDS  # how long a targeted kill waits for a RUNNING row
    scale: float = 0.05  # sandbox time: a 5-minute call lasts 15 s
    seed: int = 0  # 0: a random one (printed in the figures)
    faults: dict[str, float] = field(default_factory=lambda: dict(FAULTS))
    settle_faults: dict[str, float] = field(default_factory=lambda: dict(SETTLE_FAULTS))
    finish_timeout: float = 150.0  # after the last restart, for the push to finish by itself
    reconcile_timeout: float = 30.0  # after the last restart, for the figure (asserted: 3 periods)
    calls_target: int = 4  # live CallGear calls kept going on the provider
    logs: Path = ROOT / "test-artifacts" / "soak"
    log: Callable[[str], None] | None = None  # progress lines (the bench prints them)


@dataclass
class Kill:
    n: int
    at: float  # seconds since Push
    worker_alive_for: float
    targeted: str  # "", "any" or "reconcile": what the kill waited for
    mid_task: list[str]  # task paths left RUNNING by the dead worker


@dataclass
class Figures:
    database: str
    seed: int
    phones: int
    batch_size: int
    kills: int = 0
    kills_mid_task: int = 0
    mid_task_by_task: dict[str, int] = field(default_factory=dict)
    kill_log: list[dict[str, Any]] = field(default_factory=list)
    # the push
    push_finished: bool = False
    seconds_to_finish: float | None = None  # from the Push press
    seconds_to_finish_after_last_restart: float | None = None
    ledger_phones: int = 0  # distinct campaign phones in the provider's ledger
    duplicates: int = 0  # ledger entries beyond the first, per phone
    missing: int = 0  # phones not in the ledger
    rejected: int = 0
    unsent_batches: int = 0  # push batches still pending
    unbatched_pending: int = 0  # jobs never put in a batch
    mismatched_job_ids: int = 0  # a provider job id we stored is not the ledger's for that phone
    # the reconcile
    reconcile_period: float = RECONCILE_SECONDS
    reconcile_after_restart: list[float | None] = field(default_factory=list)  # one per restart
    reconcile_after_last_restart: float | None = None
    reconcile_after_restart_max: float | None = None
    reconcile_after_restart_median: float | None = None
    reconcile_error: str = ""  # the account's last reconcile error, if any
    # the wall
    wall_equal: bool = False
    wall_calls: int = 0
    provider_calls: int = 0
    wall_only: list[str] = field(default_factory=list)
    provider_only: list[str] = field(default_factory=list)
    calls_started: int = 0
    wall_seconds: float = 0.0
    logs: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        """What a healed Callboard would not show; empty when all is well."""
        found = []
        if not self.push_finished:
            found.append("the push did not finish by itself")
        for name in ("duplicates", "missing", "rejected", "unsent_batches", "unbatched_pending", "mismatched_job_ids"):
            if getattr(self, name):
                found.append(f"{name}: {getattr(self, name)}")
        limit = 3 * self.reconcile_period
        if self.reconcile_after_last_restart is None:
            found.append("no reconcile after the last restart")
        elif self.reconcile_after_last_restart > limit:
            found.append(f"the first reconcile {self.reconcile_after_last_restart} s after the last restart "
                         f"(limit {limit:g} s)")
        if not self.wall_equal:
            found.append(f"wall != provider: wall only {self.wall_only}, provider only {self.provider_only}")
        return found


# --- The database -----------------------------------------------------------------------


class Database:
    """The run's database, read directly (cheap polling, no Django boot). One connection
    per thread; queries use %s placeholders on both engines."""

    def __init__(self, url: str, sqlite_path: Path | None) -> None:
        self.url = url
        self.sqlite_path = sqlite_path
        self._local = threading.local()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.sqlite_path is not None:
                conn = sqlite3.connect(self.sqlite_path, timeout=30, isolation_level=None, check_same_thread=False)
            else:
                import psycopg

                conn = psycopg.connect(_libpq(self.url), autocommit=True)
            self._local.conn = conn
        return conn

    def rows(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self._connection()
        if self.sqlite_path is not None:
            return conn.execute(query.replace("%s", "?"), params).fetchall()
        return conn.execute(query, params).fetchall()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            with suppress(Exception):
                conn.close()
            self._local.conn = None


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _timestamp(value: Any) -> float | None:
    """A datetime column as epoch seconds (SQLite gives text in UTC, PostgreSQL datetimes)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@contextmanager
def fresh_database(config: SoakConfig, workdir: Path) -> Iterator[tuple[str, Path | None]]:
    """(DATABASE_URL, SQLite path or None) of a new, empty database, removed afterwards."""
    if config.database == "sqlite":
        path = workdir / "soak.sqlite3"
        yield f"sqlite:///{path}", path
        return
    import psycopg

    if not config.admin_database_url:
        raise ValueError("postgresql needs admin_database_url (SCALE_DATABASE_URL)")
    name = f"callboard_soak_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(_libpq(config.admin_database_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(config.admin_database_url, name), None
    finally:
        with psycopg.connect(_libpq(config.admin_database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Processes --------------------------------------------------------------------------


class Processes:
    """Subprocesses of the run, each in its own process group, dying with this process."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[Proc] = []

    def spawn(self, name: str, args: list[str], *, port: int | None = None, url: str = "",
              env: dict[str, str] | None = None) -> Proc:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})},
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=_die_with_parent)
        proc = Proc(name=name, popen=popen, log=log, port=port, url=url)
        self.procs.append(proc)
        return proc

    def wait_http(self, proc: Proc, path: str, timeout: float = 90) -> None:
        def answers() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            try:
                return httpx.get(proc.url + path, timeout=2).status_code < 500
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout=timeout, interval=0.2, what=f"{proc.name} on {proc.url}")

    def wait_log(self, proc: Proc, text: str, timeout: float = 90) -> None:
        def logged() -> bool:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            return text in proc.tail(400)

        wait_until(logged, timeout=timeout, interval=0.05, what=f"{proc.name} to log {text!r}")

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            with suppress(Exception):
                proc.stop()
        self.procs.clear()


def _sandbox_call(url: str, method: str, params: dict[str, Any], *, timeout: float = 5) -> Any:
    """One CallGear JSON-RPC call on the sandbox (raises on a transport or RPC error)."""
    body = {"jsonrpc": "2.0", "id": secrets.randbelow(10**9) + 1, "method": method, "params": params}
    response = httpx.post(f"{url}/callgear/v4.0", json=body, timeout=timeout)
    response.raise_for_status()
    data = response.json()
    if "error" in data:
        raise RuntimeError(f"{method}: {data['error'].get('message')}")
    return data["result"]["data"]


# --- The run ------------------------------------------------------------------------------


class SoakRun:
    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.seed = config.seed or random.randrange(1, 10**6)
        self.rng = random.Random(self.seed)
        self.figures = Figures(database=config.database, seed=self.seed, phones=config.phones,
                               batch_size=config.batch_size, logs=str(config.logs))
        self._timeline: list[str] = []
        self._stop = threading.Event()
        self._reconciles: list[float] = []  # distinct last_reconcile_at values seen, in order
        self._reconcile_error = ""
        self._calls_started = 0
        self._threads: list[threading.Thread] = []
        self.started = time.monotonic()

    # --- logging

    def note(self, line: str) -> None:
        stamped = f"{time.monotonic() - self.started:7.2f}s {line}"
        self._timeline.append(stamped)
        if self.config.log:
            self.config.log(stamped)

    # --- the whole run

    def run(self) -> Figures:
        config = self.config
        config.logs.mkdir(parents=True, exist_ok=True)
        for old in config.logs.glob("*.log"):
            old.unlink()
        with tempfile.TemporaryDirectory(prefix="callboard-soak-") as tmp, \
                fresh_database(config, Path(tmp)) as (database_url, sqlite_path):
            self.db = Database(database_url, sqlite_path)
            env = self._env(database_url, Path(tmp))
            self.procs = Processes(env, config.logs)
            try:
                self._soak(env)
            finally:
                self._stop.set()
                for thread in self._threads:
                    thread.join(CLIENT_TIMEOUT + 10)
                self.procs.stop_all()
                with suppress(Exception):
                    self._dump_tasks(config.logs / "tasks.tsv")
                self.db.close()
                self.figures.wall_seconds = round(time.monotonic() - self.started, 1)
                (config.logs / "timeline.log").write_text("\n".join(self._timeline) + "\n")
                (config.logs / "figures.json").write_text(json.dumps(self.figures.as_dict(), indent=2, default=str))
        return self.figures

    def _dump_tasks(self, path: Path) -> None:
        """Every task row (what ran when, on which worker): the first thing to read when a
        figure is off."""
        rows = self.db.rows(f"SELECT enqueued_at, run_after, started_at, finished_at, status, task_path, queue_name, "
                            f"args_kwargs, worker_ids, exception_class_path FROM {TASK_TABLE} ORDER BY enqueued_at")
        lines = ["enqueued_at\trun_after\tstarted_at\tfinished_at\tstatus\ttask\tqueue\targs\tworkers\texception"]
        lines += ["\t".join("" if v is None else str(v) for v in row) for row in rows]
        path.write_text("\n".join(lines) + "\n")

    def _env(self, database_url: str, tmp: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SCALE_", "PYTEST_"))}
        env.pop("REDIS_URL", None)
        env.update({
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(tmp / "media"),
            "CALLBOARD_LOCAL": "1",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SANDBOX_EMBEDDED": "false",
            "SANDBOX_DEMO_TRAFFIC": "false",
            "IN_PROCESS_WORKERS": "0",
            "IN_PROCESS_SCHEDULER": "false",
            "LIVE_RECONCILE_SECONDS": str(RECONCILE_SECONDS),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        })
        if self.config.redis_url:
            env["REDIS_URL"] = self.config.redis_url
        return env

    def _soak(self, env: dict[str, str]) -> None:
        config = self.config
        self.note(f"{config.database}: seed {self.seed}, {config.phones} phones in batches of {config.batch_size}")
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
        if migrate.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrate.stdout}\n{migrate.stderr}")
        self.note("migrated")

        sandbox_port, server_port = free_port(), free_port()
        self.sandbox_seed = self.seed % 1000 + 1
        self.sandbox = self.procs.spawn(
            "sandbox", ["runsandbox", "--host", "127.0.0.1", "--port", str(sandbox_port), "--scale", str(config.scale),
                        "--seed", str(self.sandbox_seed)],
            port=sandbox_port, url=f"http://127.0.0.1:{sandbox_port}")
        server_url = f"http://127.0.0.1:{server_port}"
        self.server = self.procs.spawn(
            "server", ["serve", "--workers", "0", "--host", "127.0.0.1", "--port", str(server_port)],
            port=server_port, url=server_url, env={"PUBLIC_BASE_URL": server_url, "PORT": str(server_port)})
        self.scheduler = self.procs.spawn("scheduler", ["scheduler"])
        self.procs.wait_http(self.sandbox, "/_sandbox/state")
        self.procs.wait_http(self.server, "/healthz")

        ids = self._seed_data()
        self.campaign_id, self.callgear_id = ids["campaign"], ids["callgear"]
        self.token, self.access_key = ids["token"], ids["access_key"]
        self._sandbox_post("/_sandbox/webhooks", {"provider": "callgear", "targets": [
            {"url": f"{server_url}/hooks/{self.callgear_id}/", "headers": {"X-Callboard-Secret": ids["secret"]}}]})
        self._sandbox_post("/_sandbox/faults", {"clear": True, **config.faults})
        self.note(f"data seeded (campaign {self.campaign_id}, CallGear account {self.callgear_id}); faults on: {config.faults}")

        self.worker_n = 0
        self.worker = self._start_worker()
        self._threads = [threading.Thread(target=self._traffic, name="soak-traffic", daemon=True),
                         threading.Thread(target=self._watch_reconcile, name="soak-reconcile", daemon=True)]
        for thread in self._threads:
            thread.start()

        self._press_push()
        restarts = self._kill_loop()
        self._settle(restarts)
        self._check_wall()
        self._check_ledger()

    # --- setup

    def _seed_data(self) -> dict[str, Any]:
        state = httpx.get(f"{self.sandbox.url}/_sandbox/state", timeout=10).json()
        token = next(c["token"] for c in state["jaicp"]["campaigns"] if c["status"] == "new")
        base = self.rng.randrange(2_000_000, 9_000_000 - self.config.phones)
        self.phones = [f"1212{base + i:07d}" for i in range(self.config.phones)]
        self.callgear_state = state["callgear"]
        code = f"""
import json
from collections import Counter
from django.contrib.auth.models import User
from campaigns.models import CallJob, Campaign
from campaigns.services.counts import status_counts_apply
from dashboard.models import ProviderAccount
from dashboard.roles import ADMIN, assign_role
admin = User.objects.create_user("soak-admin", password={PASSWORD!r}, is_staff=True, is_superuser=True)
assign_role(admin, ADMIN)
jaicp = ProviderAccount.objects.create(kind="jaicp", name="Soak JAICP", base_url={self.sandbox.url + "/jaicp"!r}, is_sandbox=True)
campaign = Campaign.objects.create(account=jaicp, name="Soak campaign", token={token!r}, owner=admin,
                                   push_batch_size={self.config.batch_size})
phones = [f"1212{{{base} + i:07d}}" for i in range({self.config.phones})]
CallJob.objects.bulk_create((CallJob(campaign=campaign, phone=p, phone_e164="+" + p) for p in phones), batch_size=2000)
status_counts_apply(campaign_id=campaign.pk, delta=Counter({{"pending": len(phones)}}))
callgear = ProviderAccount.objects.create(kind="callgear", name="Soak CallGear", base_url={self.sandbox.url + "/callgear"!r},
    is_sandbox=True, callgear_auth="access_key", access_key={state["callgear"]["access_key"]!r},
    reference_data={{k: v for k, v in {state["callgear"]!r}.items() if k in ("tags", "employees", "virtual_numbers", "scenarios")}})
print(json.dumps({{"campaign": campaign.pk, "callgear": callgear.pk, "secret": callgear.webhook_secret,
                  "token": {token!r}, "access_key": callgear.access_key}}))
"""
        result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT,
                                env=self.procs.env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"seeding failed:\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def _sandbox_post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(self.sandbox.url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def _press_push(self) -> None:
        """The admin signs in and presses Push on the campaign page, as a browser does."""
        client = login(self.server.url, "soak-admin", PASSWORD)
        try:
            client.get(f"/campaigns/{self.campaign_id}/").raise_for_status()
            token = next(c.value for c in client.cookies.jar if c.name == "csrftoken")
            response = client.post(f"/campaigns/{self.campaign_id}/push/", data={"csrfmiddlewaretoken": token},
                                   headers={"Referer": f"{self.server.url}/campaigns/{self.campaign_id}/"})
        finally:
            client.close()
        if response.status_code != 302:
            raise RuntimeError(f"Push answered {response.status_code}: {response.text[:300]}")
        self.pushed_at = time.time()
        self.note("Push pressed")

    # --- the worker and its killing

    def _start_worker(self) -> Proc:
        self.worker_n += 1
        self.worker_id = f"soak-{self.worker_n:03d}-{secrets.token_hex(3)}"
        proc = self.procs.spawn(f"worker-{self.worker_n:03d}", [
            "db_worker", "--interval", "0.2", "--no-startup-delay", "--worker-id", self.worker_id])
        self.procs.wait_log(proc, "Starting worker")
        self.worker_ready_at = time.time()
        return proc

    def _running(self, worker_id: str) -> list[tuple[str, str]]:
        """(row id, task path) of RUNNING task rows last claimed by ``worker_id``."""
        found = []
        for pk, path, ids in self.db.rows(f"SELECT id, task_path, worker_ids FROM {TASK_TABLE} WHERE status = %s",
                                          ("RUNNING",)):
            claimed = json.loads(ids) if isinstance(ids, str) else ids
            if claimed and worker_id in str(claimed[-1]):
                found.append((str(pk), path))
        return found

    def _kill_loop(self) -> list[float]:
        config = self.config
        restarts: list[float] = []
        for n in range(1, config.kills + 1):
            last = n == config.kills
            if last:
                # From here on, no fault that delays a reconcile by a period on its own.
                self._sandbox_post("/_sandbox/faults", {"clear": True, **config.settle_faults})
            time.sleep(self.rng.uniform(*config.gap))
            targeted = "reconcile" if last else ("any" if n % config.targeted_every == 0 else "")
            if targeted:
                self._wait_for_running(targeted)
            worker_id, alive_for = self.worker_id, time.time() - self.worker_ready_at
            self.worker.kill(signal.SIGKILL)
            self.worker.popen.wait(10)
            mid_task = [path for _, path in self._running(worker_id)]
            kill = Kill(n=n, at=round(time.time() - self.pushed_at, 2), worker_alive_for=round(alive_for, 2),
                        targeted=targeted, mid_task=mid_task)
            self.figures.kill_log.append(asdict(kill))
            self.figures.kills += 1
            if mid_task:
                self.figures.kills_mid_task += 1
                for path in mid_task:
                    name = path.rsplit(".", 1)[-1]
                    self.figures.mid_task_by_task[name] = self.figures.mid_task_by_task.get(name, 0) + 1
            self.note(f"kill {n} ({targeted or 'random'}) after {alive_for:.1f}s alive: "
                      f"{', '.join(p.rsplit('.', 1)[-1] for p in mid_task) or 'no task running'}; "
                      f"pushed {self._pushed()}/{config.phones}")
            self.worker = self._start_worker()
            restarts.append(self.worker_ready_at)
        return restarts

    def _wait_for_running(self, wanted: str) -> None:
        """Until a task row of the current worker is RUNNING (a reconcile one if wanted),
        or target_wait has passed: then the kill lands anyway, at that random moment."""
        deadline = time.monotonic() + self.config.target_wait
        while time.monotonic() < deadline:
            rows = self._running(self.worker_id)
            if any(wanted == "any" or path == RECONCILE_TASK for _, path in rows):
                if wanted == "any" and any(path == PUSH_TASK for _, path in rows):
                    time.sleep(self.rng.uniform(0, 0.5))  # somewhere inside a batch
                return
            time.sleep(0.005)

    # --- background: calls on the provider, reconcile timestamps

    def _traffic(self) -> None:
        """Calls started through CallGear's API (as a CRM would), a few at a time, so the
        wall has calls to show and the reconcile calls to confirm or end: most to contacts
        that answer and talk 20-40 s (sandbox time scaled), the rest to any number."""
        from dashboard.sandbox.app import SandboxApp

        # The same seed gives the same subscribers: a twin of our own picks who answers.
        twin = SandboxApp(seed=self.sandbox_seed, ticker=False, providers=("callgear",)).twins["callgear"]
        staff = [e for e in self.callgear_state["employees"] if e.get("phone_numbers")]
        numbers = list(self.callgear_state["virtual_numbers"])
        rng = random.Random(self.seed + 1)
        used: set[str] = set()
        while not self._stop.wait(rng.uniform(2.0, 4.0)):
            try:
                active = httpx.get(f"{self.sandbox.url}/_sandbox/state", timeout=10).json()["callgear"]["active_calls"]
                if active >= self.config.calls_target:
                    continue
                start = rng.randrange(0, 5_000_000)
                if rng.random() < 0.75:
                    contact = twin.find_contact(answers=True, min_talk=min(600.0, 20 / self.config.scale), start=start)
                else:
                    contact = twin.find_contact(answers=False, start=start)
                if contact in used:
                    continue
                used.add(contact)
                _sandbox_call(self.sandbox.url, "start.employee_call", {
                    "access_token": self.access_key, "virtual_phone_number": rng.choice(numbers), "contact": contact,
                    "first_call": "employee", "direction": "out", "employee": {"id": rng.choice(staff)["id"]}},
                    timeout=CLIENT_TIMEOUT + 5)
                self._calls_started += 1
            except Exception:  # a fault, a busy employee: the next one will do
                continue

    def _watch_reconcile(self) -> None:
        try:
            self._watch_reconcile_until_stopped()
        finally:
            self.db.close()  # this thread's connection

    def _watch_reconcile_until_stopped(self) -> None:
        while not self._stop.wait(0.1):
            with suppress(Exception):
                rows = self.db.rows("SELECT last_reconcile_at, last_reconcile_error FROM livecalls_accountsync "
                                    "WHERE account_id = %s", (self.callgear_id,))
                if rows:
                    at = _timestamp(rows[0][0])
                    self._reconcile_error = rows[0][1] or ""
                    if at is not None and (not self._reconciles or at > self._reconciles[-1]):
                        self._reconciles.append(at)

    def _reconcile_after(self, moment: float) -> float | None:
        later = [at for at in list(self._reconciles) if at > moment]
        return round(later[0] - moment, 2) if later else None

    # --- after the kills: nothing by hand, only waiting and reading

    def _pushed(self) -> int:
        return self.db.rows("SELECT count(*) FROM campaigns_calljob WHERE campaign_id = %s AND provider_job_id <> ''",
                            (self.campaign_id,))[0][0]

    def _push_left(self) -> tuple[int, int]:
        unsent = self.db.rows("SELECT count(*) FROM campaigns_pushbatch WHERE campaign_id = %s AND state = %s",
                              (self.campaign_id, "pending"))[0][0]
        unbatched = self.db.rows("SELECT count(*) FROM campaigns_calljob WHERE campaign_id = %s AND job_status = %s "
                                 "AND push_batch_id IS NULL", (self.campaign_id, "pending"))[0][0]
        return unsent, unbatched

    def _settle(self, restarts: list[float]) -> None:
        config, figures = self.config, self.figures
        last = restarts[-1]
        deadline = time.monotonic() + config.finish_timeout
        while time.monotonic() < deadline:
            if self._push_left() == (0, 0):
                figures.push_finished = True
                figures.seconds_to_finish = round(time.time() - self.pushed_at, 1)
                figures.seconds_to_finish_after_last_restart = round(time.time() - last, 1)
                break
            time.sleep(0.25)
        self.note(f"push {'finished' if figures.push_finished else 'NOT finished'}: {self._pushed()}/{config.phones} "
                  f"pushed, {self._push_left()} (unsent batches, unbatched jobs) left")
        with suppress(AssertionError):
            wait_until(lambda: self._reconcile_after(last) is not None,
                       timeout=max(0.0, last + config.reconcile_timeout - time.time()), interval=0.1)
        figures.reconcile_after_restart = [self._reconcile_after(r) for r in restarts]
        figures.reconcile_after_last_restart = figures.reconcile_after_restart[-1]
        seen = [s for s in figures.reconcile_after_restart if s is not None]
        if seen:
            figures.reconcile_after_restart_max = max(seen)
            figures.reconcile_after_restart_median = round(statistics.median(seen), 2)
        figures.reconcile_error = self._reconcile_error
        self.note(f"reconcile after the last restart: {figures.reconcile_after_last_restart} s; "
                  f"after each restart: {figures.reconcile_after_restart}")

    def _check_wall(self) -> None:
        """Once notifications are quiet (faults cleared, the sandbox's queue of webhooks
        empty) and one reconcile later, the wall shows the provider's calls, no more, no
        fewer. Calls keep being started meanwhile, so there is something to compare."""
        figures = self.figures
        self._sandbox_post("/_sandbox/faults", {"clear": True})
        with suppress(AssertionError):
            wait_until(lambda: httpx.get(f"{self.sandbox.url}/_sandbox/webhooks", timeout=10).json()["pending"] == 0,
                       timeout=20, interval=0.2)
        quiet = time.time()

        def reconciled() -> bool:
            rows = self.db.rows("SELECT last_reconcile_at FROM livecalls_accountsync WHERE account_id = %s",
                                (self.callgear_id,))
            return bool(rows) and (_timestamp(rows[0][0]) or 0) > quiet

        try:
            wait_until(reconciled, timeout=4 * RECONCILE_SECONDS + 10, interval=0.2)
        except AssertionError:
            self.note("no reconcile after notifications went quiet")
        deadline = time.monotonic() + 4 * RECONCILE_SECONDS + 6
        while True:
            provider = {str(c["call_session_id"]) for c in _sandbox_call(self.sandbox.url, "list.calls",
                                                                         {"access_token": self.access_key})}
            wall = {str(r[0]) for r in self.db.rows(
                "SELECT provider_session_id FROM livecalls_callsession WHERE account_id = %s AND ended_at IS NULL",
                (self.callgear_id,))}
            again = {str(c["call_session_id"]) for c in _sandbox_call(self.sandbox.url, "list.calls",
                                                                      {"access_token": self.access_key})}
            figures.wall_calls, figures.provider_calls = len(wall), len(provider)
            figures.wall_only, figures.provider_only = sorted(wall - provider), sorted(provider - wall)
            figures.wall_equal = provider == again == wall
            if figures.wall_equal or time.monotonic() > deadline:
                break
            time.sleep(3.0)  # list.calls spends the account's minute limit (150 points)
        self._stop.set()  # no more calls started; the reconcile watcher stops too
        figures.calls_started = self._calls_started
        self.note(f"wall {len(wall)} calls, provider {len(provider)}: {'equal' if figures.wall_equal else 'DIFFERENT'}")

    def _check_ledger(self) -> None:
        figures = self.figures
        ledger = httpx.get(f"{self.sandbox.url}/_sandbox/ledger", timeout=60).json()["jaicp"]["call_jobs"]
        ours = set(self.phones)
        entries = [j for j in ledger if j["campaign_token"] == self.token and j["phone"] in ours]
        counts = Counter(j["phone"] for j in entries)
        figures.ledger_phones = len(counts)
        figures.duplicates = sum(c - 1 for c in counts.values())
        figures.missing = len(ours - set(counts))
        job_of = {j["phone"]: j["job_id"] for j in entries}
        rows = self.db.rows("SELECT phone, provider_job_id, job_status FROM campaigns_calljob WHERE campaign_id = %s",
                            (self.campaign_id,))
        figures.rejected = sum(1 for _, _, status in rows if status == "rejected")
        # A job id we stored that is not the one the provider made for that phone (an
        # unrecorded batch shows as unsent, not here).
        figures.mismatched_job_ids = sum(1 for phone, job_id, _ in rows if job_id and job_id != job_of.get(phone))
        figures.unsent_batches, figures.unbatched_pending = self._push_left()
        self.note(f"ledger: {figures.ledger_phones} phones, {figures.duplicates} duplicates, {figures.missing} missing, "
                  f"{figures.mismatched_job_ids} job ids not the provider's; {figures.unsent_batches} batches unsent")
