"""Fan-out benchmark: a call floor's live push, end to end, on loopback.

A bench database (bench/out/fanout.sqlite3, WAL) gets a CallGear account, supervisors
and 480 agents (AgentProfile.callgear_employee_id = 1000, 1001...), each with a session
cookie. Real servers start as ``manage.py serve`` does by default (uvicorn, the in-memory
layer, an in-process task worker and the scheduler, the sandbox embedded but idle:
SANDBOX_DEMO_TRAFFIC=false), or with ``--workers 0`` as the scale path's servers (no
worker, no scheduler, no sandbox). The load generator (bench/fanout_client.py, separate
processes) opens one socket per user on the wall page's own URL (``/ws/live/?calls=1``),
then posts CallGear notifications (``TEMPLATES[kind].render(...)``, header
X-Callboard-Secret) to ``/hooks/<account>/`` on a schedule.

The realistic workload (the default): calls start at ``rate / 6`` a second, each on one
agent (round robin), each living through incoming_call (which names no employee),
waiting_for_answer (20% name no employee: a queue's leg; the employee first appears on
talk_started), talk_started, call_held, call_unheld and call_ended, 1 s +- 0.25 apart.
``--warmup`` seconds (10) of it are left out of the figures; the ``--duration`` (60 s)
after them is the steady state measured. ``--workload round-robin`` is the older one
(every event names the agent, agents' events back to back), for the figures before
2026-12-08.

Per socket, for each event it should show (every event of every call to every supervisor,
and to the call's agent from the event that names them on):
- delivered: the socket got that event's card (``id="session-<pk>"``, ``data-seq``) within
  ``--deadline`` seconds; latency = receive time minus the time the POST was written, both
  on the machine's monotonic clock;
- skipped: not that card, but a later state of the call within the deadline (a server
  that coalesces may skip intermediate states on a socket that is behind);
- lost: no card of that state or a later one within the deadline.
And per socket and call, at the end: final wrong = the last card received is not the
call's last event (``data-seq`` 6, ``data-state="ended"``). Misdelivered = a card of another
agent's call on an agent's socket.

Setups: ``memory`` (one server, the in-memory layer) and ``redis`` (two servers, the Redis
pub/sub layer; a private redis-server on a free 127.0.0.1 port, or with ``--postgres`` the
Redis of scripts/services.sh). ``--postgres`` puts the floor on PostgreSQL (scripts/services.sh
starts and stops it): the production layout. Servers are started afresh for each run.
``--stock`` runs Channels' stock in-memory layer and consumer dispatch (old "before").
``--knee`` looks for the highest rate whose p99 stays under 100 ms with nothing lost, then
runs twice that rate. ``--profile`` samples server 0 with py-spy over the steady state.

    .venv/bin/python bench/fanout.py                      # both setups, 20x480@50, @200, 100x480@200
    .venv/bin/python bench/fanout.py --setups memory --scenarios 20x480@200
    .venv/bin/python bench/fanout.py --setups memory --knee
    .venv/bin/python bench/fanout.py --setups memory --scenarios 20x480@50 --warmup 3 --duration 10   # a quick look
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
EMPLOYEE_BASE = 1000
SOCKET_PATH = "/ws/live/?calls=1"  # templates/livecalls/wall.html: {% block ws_url %}
KNEE_P99_MS = 100


@dataclass(frozen=True)
class Scenario:
    supervisors: int
    agents: int
    rate: float

    @property
    def label(self) -> str:
        return f"{self.supervisors}x{self.agents}@{self.rate:g}"


# --- server mode (a child process, --stock only) -------------------------------------------


def serve(port: int, stock: bool, workers: int | None) -> None:
    """Run one server as ``manage.py serve`` would, optionally with the stock layer and
    consumer (to measure what the fixes bought)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.conf import settings

    if stock:
        from dashboard.consumers import LiveConsumer

        if not os.environ.get("REDIS_URL"):
            settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        if "dispatch" in LiveConsumer.__dict__:
            del LiveConsumer.dispatch
    from django.core.management import call_command

    call_command("serve", host="127.0.0.1", port=port,
                 workers=settings.IN_PROCESS_WORKERS if workers is None else workers)


# --- the floor ----------------------------------------------------------------------------


def seed(supervisors: int, agents: int, database_url: str | None = None) -> dict[str, Any]:
    """Fresh bench database with the account and users; returns what the clients need.
    The account's API is a dead address: the default layout's reconcile fails every 3 s
    (and after 10 s marks the account stale), which is what it does on a floor whose
    provider cannot be reached; pointed at the embedded sandbox, which knows none of the
    bench's calls, it would end them all."""
    sys.path.insert(0, str(HERE))
    from common import setup  # bench/common.py

    setup("fanout", database_url=database_url)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from dashboard.models import AgentProfile, ProviderAccount
    from dashboard.roles import AGENT, SUPERVISOR

    account = ProviderAccount.objects.create(
        kind="callgear", name="Bench CallGear", base_url="http://127.0.0.1:9/callgear",
        callgear_auth="login", login="bench", password="bench")
    unusable = make_password(None)
    with transaction.atomic():
        sups = User.objects.bulk_create(
            [User(username=f"bench-sup-{i}", password=unusable) for i in range(supervisors)])
        agts = User.objects.bulk_create([User(username=f"bench-agent-{i}", password=unusable) for i in range(agents)])
        through = User.groups.through
        sup_group, agent_group = Group.objects.get(name=SUPERVISOR), Group.objects.get(name=AGENT)
        through.objects.bulk_create([through(user_id=u.pk, group_id=sup_group.pk) for u in sups]
                                    + [through(user_id=u.pk, group_id=agent_group.pk) for u in agts])
        AgentProfile.objects.bulk_create(
            [AgentProfile(user=u, callgear_employee_id=EMPLOYEE_BASE + i) for i, u in enumerate(agts)])
        backend = settings.AUTHENTICATION_BACKENDS[0]
        people = []
        for role, users in (("supervisor", sups), ("agent", agts)):
            for n, user in enumerate(users):
                session = SessionStore()
                session[SESSION_KEY] = str(user.pk)
                session[BACKEND_SESSION_KEY] = backend
                session[HASH_SESSION_KEY] = user.get_session_auth_hash()
                session.create()
                people.append({"role": role, "user_id": user.pk, "cookie": session.session_key,
                               "cookie_name": settings.SESSION_COOKIE_NAME,
                               "employee_id": EMPLOYEE_BASE + n if role == "agent" else None})
    return {"account_id": account.pk, "secret": account.webhook_secret, "people": people,
            "db": settings.DATABASES["default"]["NAME"]}


def sessions_by_ref(account_id: int, refs: set[int]) -> dict[int, tuple[int, int | None]]:
    from livecalls.models import CallSession

    rows = CallSession.objects.filter(account_id=account_id).values_list("provider_session_id", "pk", "agent_id")
    return {int(ref): (pk, agent) for ref, pk, agent in rows if ref.isdigit() and int(ref) in refs}


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[Any], what: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def stop(proc: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def layout_name(workers: int | None) -> str:
    return "serve" if workers is None else f"serve --workers {workers}"


class Setup:
    """The servers (and redis) of one run, started and stopped together.

    Layouts: ``workers=None`` is ``manage.py serve`` as it runs by default on a machine of
    one's own (CALLBOARD_LOCAL=1): in-process task worker and scheduler on, the sandbox
    embedded (its demo traffic off); ``workers=0`` is the scale path's server (``serve
    --workers 0``, scheduler and sandbox off: db_worker and scheduler processes would do
    that work, and are not started here)."""

    def __init__(self, name: str, servers: int, stock: bool, out: Path, services: dict[str, str] | None,
                 workers: int | None, run: str) -> None:
        self.name, self.count, self.stock, self.out, self.services = name, servers, stock, out, services
        self.run = run  # names the logs
        self.workers = workers
        self.redis: subprocess.Popen[Any] | None = None
        self.procs: list[subprocess.Popen[Any]] = []
        self.ports: list[int] = []

    @property
    def label(self) -> str:
        return (self.name + (" (stock)" if self.stock else "") + (" +pg" if self.services else "")
                + f", {layout_name(self.workers)}")

    def __enter__(self) -> Setup:
        env = dict(os.environ, CALLBOARD_LOCAL="1", PYTHONUNBUFFERED="1", SANDBOX_DEMO_TRAFFIC="false")
        for name in ("REDIS_URL", "IN_PROCESS_WORKERS", "IN_PROCESS_SCHEDULER", "SANDBOX_EMBEDDED",
                     "SANDBOX_TIME_SCALE", "PORT"):
            env.pop(name, None)  # bench/common.py's setup() set some for the seeding: defaults here
        if self.workers is not None:
            env.update(IN_PROCESS_WORKERS=str(self.workers), IN_PROCESS_SCHEDULER="false", SANDBOX_EMBEDDED="false")
        if self.services:
            env["DATABASE_URL"] = self.services["database_url"]
        if self.name == "redis" and self.services:
            env["REDIS_URL"] = self.services["redis_url"]
        elif self.name == "redis":
            binary = shutil.which("redis-server")
            if binary is None:
                raise RuntimeError("redis-server not found: apt-get install -y redis-server")
            port = free_port()
            self.redis = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=(self.out / "fanout-redis.log").open("w"), stderr=subprocess.STDOUT)
            wait_port(port, self.redis, "redis-server")
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        for n in range(self.count):
            port = free_port()
            log = (self.out / f"fanout-{self.run}-server{n}.log").open("w")
            if self.stock:
                args = [PY, str(HERE / "fanout.py"), "--serve", str(port), "--stock"]
                args += [] if self.workers is None else ["--workers", str(self.workers)]
            else:
                args = [PY, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
                args += [] if self.workers is None else ["--workers", str(self.workers)]
            proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            self.procs.append(proc)
            self.ports.append(port)
        for proc, port in zip(self.procs, self.ports, strict=True):
            wait_port(port, proc, f"server on {port}")
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            stop(proc)
        stop(self.redis)


# --- one run --------------------------------------------------------------------------------


def sleep_until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def run_scenario(setup: Setup, floor: dict[str, Any], sc: Scenario, args: Any, ref_base: int,
                 label: str) -> dict[str, Any]:
    people = [p for p in floor["people"] if p["role"] == "supervisor"][:sc.supervisors]
    people += [p for p in floor["people"] if p["role"] == "agent"][:sc.agents]
    for n, p in enumerate(people):
        p["server"] = n % len(setup.ports)
    procs = max(1, args.client_procs)
    clients = []
    for c in range(procs):
        cfg = {
            "servers": [["127.0.0.1", port] for port in setup.ports],
            "socket_path": SOCKET_PATH,
            "sockets": people[c::procs],
            "post": c == 0,
            "account_id": floor["account_id"],
            "secret": floor["secret"],
            "employee_ids": [p["employee_id"] for p in people if p["role"] == "agent"],
            "workload": args.workload,
            "rate": sc.rate,
            "warmup": args.warmup,
            "duration": args.duration,
            "deadline": args.deadline,
            "ref_base": ref_base,
            "seed": args.seed,
            "http_connections": args.http_connections,
            "deflate": not args.no_deflate,
        }
        cfg_path = setup.out / f"fanout-client{c}.json"
        cfg_path.write_text(json.dumps(cfg))
        res_path = setup.out / f"fanout-client{c}-result.json"
        res_path.unlink(missing_ok=True)
        proc = subprocess.Popen([PY, str(HERE / "fanout_client.py"), str(cfg_path), str(res_path)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        clients.append((proc, res_path))
    for proc, _ in clients:
        line = proc.stdout.readline() if proc.stdout else ""
        print(f"  client: {line.strip()}", flush=True)
    load_before = load_average()
    spy = None
    profile_path = setup.out / f"fanout-{label}.pyspy.txt"
    pyspy = shutil.which("py-spy", path=f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    pids = [p.pid for p in setup.procs]
    t0 = time.monotonic()
    for proc, _ in clients:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    # CPU over the steady state only: the servers', the load generator's and the machine's.
    sleep_until(t0 + args.warmup)
    cpu0 = [cpu_seconds(pid) for pid in pids]
    client0 = sum(cpu_seconds(p.pid) for p, _ in clients)
    busy0 = machine_busy_seconds()
    if args.profile and pyspy:
        spy = subprocess.Popen([pyspy, "record", "--pid", str(pids[0]), "--rate", "100", "--threads",
                                "--duration", str(int(args.duration)), "--format", "raw", "--nonblocking",
                                "-o", str(profile_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sleep_until(t0 + args.warmup + args.duration)
    cpu = sum(cpu_seconds(pid) - c for pid, c in zip(pids, cpu0, strict=True))
    client_cpu = sum(cpu_seconds(p.pid) for p, _ in clients) - client0
    busy = machine_busy_seconds() - busy0
    load_during = load_average()
    limit = args.warmup + args.duration + 4 * args.deadline + 120
    for proc, _ in clients:
        try:
            proc.wait(max(1, limit - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
    alive = all(p.poll() is None for p in setup.procs)
    if spy is not None:
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
    results = [json.loads(path.read_text()) for _, path in clients if path.exists()]
    figures = analyse(results, floor, sc, args)
    window = args.duration
    figures.update(
        label=label, setup=setup.label, servers=len(setup.procs), workload=args.workload,
        warmup_s=args.warmup, duration_s=args.duration, servers_alive=alive,
        server_cpu_pct=round(100 * cpu / window, 1),
        cpu_ms_per_event=round(1000 * cpu / figures["events"], 2) if figures["events"] else math.nan,
        client_cpu_pct=round(100 * client_cpu / window, 1),
        machine_busy_pct=round(100 * busy / window, 1),
        others_cpu_pct=round(100 * (busy - cpu - client_cpu) / window, 1),
        load_before=load_before, load_during=load_during)
    if spy is not None and profile_path.exists():
        figures["profile"] = str(profile_path.relative_to(ROOT))
        print(profile_summary(profile_path), flush=True)
    return figures


# --- what the sockets got ---------------------------------------------------------------------


class Audience:
    """Figures of one audience (supervisors or agents) in one run."""

    def __init__(self) -> None:
        self.sockets = self.expected = self.delivered = self.skipped = self.lost = self.late = 0
        self.misdelivered = self.final_checked = self.final_wrong = 0
        self.latencies: list[float] = []

    def figures(self) -> dict[str, Any]:
        from common import percentile

        def ms(p: float) -> float:
            return round(percentile(self.latencies, p) * 1000, 1)

        return {"sockets": self.sockets, "expected": self.expected, "delivered": self.delivered,
                "skipped": self.skipped, "lost": self.lost, "lost_late": self.late,
                "misdelivered": self.misdelivered, "final_checked": self.final_checked,
                "final_wrong": self.final_wrong, "p50_ms": ms(50), "p95_ms": ms(95), "p99_ms": ms(99),
                "max_ms": round(max(self.latencies) * 1000, 1) if self.latencies else math.nan}


def analyse(results: list[dict[str, Any]], floor: dict[str, Any], sc: Scenario, args: Any,
            by_ref: dict[int, tuple[int, int | None]] | None = None) -> dict[str, Any]:
    """Per audience: latency of the cards received, skipped, lost, misdelivered and final
    states (the module's docstring defines them), over the events due in the steady state.
    ``by_ref``: call ref -> (session pk, agent), read from the database when not given."""
    from common import percentile

    poster = next(r for r in results if r["posted"] or r is results[0])
    lo, hi = poster["began"] + args.warmup, poster["began"] + args.warmup + args.duration
    deadline = args.deadline
    owner_of = {p["employee_id"]: p["user_id"] for p in floor["people"] if p["role"] == "agent"}
    calls: dict[int, dict[str, Any]] = {}
    posted = [p for r in results for p in r["posted"]]
    for ref, seq, _kind, employee, named, sent, status, done, due, final in posted:
        call = calls.setdefault(ref, {"owner": owner_of.get(employee), "named_from": None, "final": None,
                                      "events": {}})
        call["events"][seq] = (sent, status, due, done)
        if named and (call["named_from"] is None or seq < call["named_from"]):
            call["named_from"] = seq
        if final:
            call["final"] = seq
    if by_ref is None:
        by_ref = sessions_by_ref(floor["account_id"], set(calls))
    by_pk = {by_ref[ref][0]: call for ref, call in calls.items() if ref in by_ref}
    stored = {ref for ref, call in calls.items() if any(e[1] == 200 for e in call["events"].values())}
    audiences = {"supervisor": Audience(), "agent": Audience()}
    for r in results:
        for s in r["sockets"]:
            aud = audiences[s["role"]]
            aud.sockets += 1
            cards: dict[int, list[tuple[float, int, str]]] = collections.defaultdict(list)
            for pk, seq, state, t in s["got"]:
                cards[pk].append((t, seq, state))
            if s["role"] == "supervisor":
                mine = by_pk
            else:
                mine = {pk: c for pk, c in by_pk.items() if c["owner"] == s["user_id"] and c["named_from"]}
                aud.misdelivered += sum(len(got) for pk, got in cards.items()
                                        if pk in by_pk and by_pk[pk]["owner"] != s["user_id"])
            for pk, call in mine.items():
                got = cards.get(pk, [])
                first: dict[int, float] = {}
                for t, seq, _ in got:
                    first.setdefault(seq, t)
                since = 1 if s["role"] == "supervisor" else call["named_from"]
                for seq, (sent, status, due, _) in call["events"].items():
                    if status != 200 or seq < since or not lo <= due < hi:
                        continue
                    aud.expected += 1
                    newer = min((t for t, shown, _ in got if shown >= seq), default=None)
                    if newer is None or newer - sent > deadline:
                        aud.lost += 1
                        aud.late += newer is not None
                    elif seq in first and first[seq] - sent <= deadline:
                        aud.delivered += 1
                        aud.latencies.append(first[seq] - sent)
                    else:
                        aud.skipped += 1
                events = call["events"]
                if call["final"] is not None and len(events) == call["final"] and all(
                        e[1] == 200 for e in events.values()):
                    aud.final_checked += 1
                    if not got or got[-1][1] != call["final"] or got[-1][2] != "ended":
                        aud.final_wrong += 1
    window = [p for p in posted if lo <= p[8] < hi]
    ok = [p for p in window if p[6] == 200]
    sends = sorted(p[5] for p in window)
    return {
        "supervisors": sc.supervisors, "agents": sc.agents, "rate": sc.rate,
        "events": len(window), "events_ok": len(ok), "posted_total": len(posted),
        "sent_per_s": round((len(sends) - 1) / (sends[-1] - sends[0]), 1) if len(sends) > 1 else 0,
        "calls": len({p[0] for p in window}), "calls_total": len(calls),
        "calls_not_stored": len(stored - set(by_ref)),
        "post_p50_ms": round(percentile([p[7] - p[5] for p in ok], 50) * 1000, 1),
        "post_p99_ms": round(percentile([p[7] - p[5] for p in ok], 99) * 1000, 1),
        "late_p99_ms": round(percentile([p[5] - p[8] for p in window], 99) * 1000, 1),
        "socket_errors": sum(len(r["errors"]) for r in results),
        "ws_extensions": results[0].get("extensions", "") if results else "",
        "errors_sample": [e for r in results for e in r["errors"]][:3],
        "sup": audiences["supervisor"].figures(), "agent": audiences["agent"].figures(),
    }


def self_check() -> None:
    """The analysis on made-up sockets, each with one fault it must count (``--self-check``):
    a card that came too late, one that never came, a skipped intermediate state, an old
    card after the final one, another agent's card."""
    from types import SimpleNamespace

    args = SimpleNamespace(warmup=0, duration=100, deadline=5)
    floor = {"people": [{"role": "agent", "user_id": 7, "employee_id": 1000},
                        {"role": "agent", "user_id": 8, "employee_id": 1001}]}
    # Two calls of 3 events, sent at 10, 11, 12 s; employee named from seq 2 (call 1) and 1 (call 2).
    posted = [(ref, seq, "x", emp, seq >= named, 10 + seq, 200, 10 + seq, 10 + seq, seq == 3)
              for ref, emp, named in ((1, 1000, 2), (2, 1001, 1)) for seq in (1, 2, 3)]
    states = {1: "ringing", 2: "talking", 3: "ended"}

    def cards(pk: int, *sent_lat: tuple[int, float]) -> list[Any]:
        return [(pk, seq, states[seq], 10 + seq + lat) for seq, lat in sent_lat]

    sockets = [
        {"user_id": 1, "role": "supervisor", "got": cards(101, (1, .01), (2, .02), (3, .03))
         + cards(102, (1, .01), (2, .02), (3, .03))},                      # all right
        {"user_id": 2, "role": "supervisor", "got": cards(101, (1, .01), (2, .02), (3, 6))
         + cards(102, (1, .01), (3, .5))},                                 # 1 late, 1 skipped
        {"user_id": 3, "role": "supervisor", "got": cards(101, (1, .01), (3, .03), (2, .04))
         + cards(102, (1, .01), (2, .02))},                                # stale last card; final never came
        {"user_id": 7, "role": "agent", "got": cards(101, (2, .02), (3, .03)) + cards(102, (3, .03))},
        {"user_id": 8, "role": "agent", "got": cards(102, (1, .01), (2, .02), (3, .03))},
    ]
    results = [{"began": 0.0, "posted": posted, "sockets": sockets, "errors": []}]
    row = analyse(results, floor, Scenario(3, 2, 1), args, by_ref={1: (101, 7), 2: (102, 8)})
    sup, agent = row["sup"], row["agent"]
    checks = {
        "supervisors expected": (sup["expected"], 18), "supervisors lost": (sup["lost"], 2),
        "of them late": (sup["lost_late"], 1), "supervisors skipped": (sup["skipped"], 1),
        "supervisors final wrong": (sup["final_wrong"], 2), "agents expected": (agent["expected"], 5),
        "agents misdelivered": (agent["misdelivered"], 1), "agents final wrong": (agent["final_wrong"], 0),
        "supervisors max ms": (sup["max_ms"], 500.0),
    }
    wrong = {k: v for k, v in checks.items() if v[0] != v[1]}
    print("self-check:", "all counted right" if not wrong else f"WRONG (got, want): {wrong}")
    if wrong:
        raise SystemExit(1)


# --- verdicts and tables ----------------------------------------------------------------------


def passes_knee(row: dict[str, Any]) -> bool:
    """The knee's test: p99 under 100 ms for both audiences, nothing lost or misdelivered,
    every event of the steady state posted and stored."""
    auds = (row["sup"], row["agent"])
    return (all(a["p99_ms"] < KNEE_P99_MS and a["lost"] == 0 for a in auds) and row["agent"]["misdelivered"] == 0
            and row["events_ok"] == row["events"] > 0)


def targets(row: dict[str, Any]) -> str:
    """Issue 12's targets for the runs they name ("-" for the others)."""
    auds = (row["sup"], row["agent"])
    worst_p99, worst_max = max(a["p99_ms"] for a in auds), max(a["max_ms"] for a in auds)
    lost = sum(a["lost"] for a in auds) + (row["events"] - row["events_ok"])
    right = lost == 0 and row["agent"]["misdelivered"] == 0
    if row.get("overload"):
        met = worst_p99 <= 1000 and all(a["final_wrong"] == 0 for a in auds)
        return ("MET" if met else "MISSED") + " (2x knee: p99 <= 1 s, final states right)"
    if row["workload"] != "realistic" or row["rate"] != 200 or row["agents"] != 480:
        return "-"
    if row["supervisors"] == 20:
        met = worst_p99 <= 50 and worst_max <= 150 and right and not row["calls_not_stored"]
        return ("MET" if met else "MISSED") + " (p99 <= 50, max <= 150 ms, 0 lost/misdelivered)"
    if row["supervisors"] == 100:
        return ("MET" if worst_p99 <= 150 and lost == 0 else "MISSED") + " (p99 <= 150 ms, 0 lost)"
    return "-"


def run_table(row: dict[str, Any]) -> str:
    """One run: a line of what was posted and spent, then a row per audience."""
    head = (f"  {row['label']} ({row['setup']}, {row['workload']}): {row['events']:,} events in "
            f"{row['duration_s']:g} s steady state ({row['sent_per_s']}/s) after {row['warmup_s']:g} s warm-up, "
            f"{row['calls']:,} distinct calls; posts ok {row['events_ok']:,}, POST p50/p99 "
            f"{row['post_p50_ms']}/{row['post_p99_ms']} ms, written late p99 {row['late_p99_ms']} ms\n"
            f"  server CPU {row['server_cpu_pct']}% of a core ({row['cpu_ms_per_event']} ms/event), "
            f"load generator {row['client_cpu_pct']}%, machine {row['machine_busy_pct']}% "
            f"(other processes {row['others_cpu_pct']}%); load {row['load_before']} before, "
            f"{row['load_during']} at the end; socket errors {row['socket_errors']}; "
            f"sockets' extensions: {row['ws_extensions'] or 'none'}"
            + ("" if row["servers_alive"] else "; A SERVER DIED")
            + (f"\n  SOCKET ERRORS, e.g. {row['errors_sample']}" if row["socket_errors"] else "")
            + (f"; calls never stored {row['calls_not_stored']}" if row["calls_not_stored"] else ""))
    cols = ("sockets", "expected", "p50_ms", "p95_ms", "p99_ms", "max_ms", "delivered", "skipped", "lost",
            "lost_late", "misdelivered", "final_checked", "final_wrong")
    names = ("audience", "sockets", "expected", "p50 ms", "p95 ms", "p99 ms", "max ms", "delivered", "skipped",
             "lost", "(late)", "misdeliv", "finals", "final wrong")
    body = [["supervisors", *(row["sup"][c] for c in cols)], ["agents", *(row["agent"][c] for c in cols)]]
    body[0][cols.index("misdelivered") + 1] = "-"
    widths = [max(len(str(x)) for x in col) for col in zip(names, *body, strict=True)]
    lines = ["    " + " | ".join(str(x).rjust(w) for x, w in zip(r, widths, strict=True)) for r in (names, *body)]
    lines.insert(1, "    " + "-+-".join("-" * w for w in widths))
    return head + "\n" + "\n".join(lines) + f"\n  target: {targets(row)}"


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Every run on a line, as Markdown (bench/RESULTS.md takes it as is)."""
    head = ("| setup | sup | agents | ev/s | events | calls | supervisors p50 / p95 / p99 / max ms "
            "| agents p50 / p95 / p99 / max ms | lost sup / agents | skipped | misdeliv | final wrong "
            "| srv CPU % | CPU ms/event | load before | target |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in rows:
        s, a = r["sup"], r["agent"]
        lines.append(
            f"| {r['setup']} | {r['supervisors']} | {r['agents']} | {r['rate']:g} | {r['events']:,} | {r['calls']:,} "
            f"| {s['p50_ms']:,} / {s['p95_ms']:,} / {s['p99_ms']:,} / {s['max_ms']:,} "
            f"| {a['p50_ms']:,} / {a['p95_ms']:,} / {a['p99_ms']:,} / {a['max_ms']:,} "
            f"| {s['lost']:,} / {a['lost']:,} | {s['skipped'] + a['skipped']:,} | {a['misdelivered']} "
            f"| {s['final_wrong'] + a['final_wrong']:,} of {s['final_checked'] + a['final_checked']:,} "
            f"| {r['server_cpu_pct']:g} | {r['cpu_ms_per_event']:g} | {r['load_before']} | {targets(r)} |")
    return "\n".join(lines)


def profile_summary(path: Path, top: int = 16) -> str:
    """Where the sampled server spent its time: threads, leaf functions (self) and
    selected callers (inclusive), as shares of the samples (py-spy leaves idle threads out,
    so these are shares of the time threads were running)."""
    threads: collections.Counter[str] = collections.Counter()
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    marks = ("webhooks_receive", "events_store", "sessions_load", "event_apply", "sessions_write",
             "sessions_broadcast", "session_card_html", "send_html", "group_send", "html_push",
             "asgi_webhook", "aclose_old_connections", "_clean_expired", "execute (", "WebSocketsSansIOProtocol.send",
             "reconcile_account", "account_freshness_broadcast", "Worker.run", "Scheduler", "Heartbeat",
             "handle (django", "__call__ (channels", "_run_once", "select (", "poll (")
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        if frames[0].startswith("thread ("):
            name = frames[0].split(": ", 1)[-1]
            threads["worker threads" if name.startswith("inproc-") else name] += n
            frames = frames[1:] or ["(no Python frame)"]
        leaf = frames[-1]
        self_t[leaf.split(" (")[0] + " (" + leaf.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]] += n
        for mark in marks:
            if mark in stack:
                incl[mark] += n
    if not total:
        return "  (no profile samples)"
    out = [f"  profile {path.name}: {total} samples", "  threads:"]
    out += [f"    {100 * n / total:5.1f}%  {name}" for name, n in threads.most_common(8)]
    out.append("  self time, top functions:")
    out += [f"    {100 * n / total:5.1f}%  {name}" for name, n in self_t.most_common(top)]
    out.append("  inclusive:")
    out += [f"    {100 * incl[m] / total:5.1f}%  {m}" for m in marks if incl[m]]
    return "\n".join(out)


def layer_micro(events: int = 2000, supervisors: int = 20, agents: int = 480) -> str:
    """The channel layers alone, in one process: ``events`` x (group_send to the supervisors'
    group + to one agent's group), every connection a task in ``receive()``; CPU time per
    event and messages delivered, stock vs. dashboard.channel_layers."""
    import asyncio

    from channels.layers import InMemoryChannelLayer

    sys.path.insert(0, str(ROOT))
    from dashboard.channel_layers import FanoutInMemoryChannelLayer

    async def one(layer: Any) -> tuple[float, int]:
        got = [0]
        names = [await layer.new_channel() for _ in range(supervisors + agents)]
        for name in names[:supervisors]:
            await layer.group_add("sup", name)
        for n, name in enumerate(names[supervisors:]):
            await layer.group_add(f"agent.{n}", name)

        async def reader(name: str) -> None:
            while True:
                await layer.receive(name)
                got[0] += 1

        readers = [asyncio.create_task(reader(n)) for n in names]
        await asyncio.sleep(0)
        started = time.process_time()
        for i in range(events):
            await layer.group_send("sup", {"type": "html.push", "html": "x" * 300})
            await layer.group_send(f"agent.{i % agents}", {"type": "html.push", "html": "x" * 300})
            if i % 20 == 0:
                await asyncio.sleep(0)  # let the readers drain, as a server's loop would
        for _ in range(50):
            await asyncio.sleep(0)
        spent = time.process_time() - started
        for task in readers:
            task.cancel()
        return spent, got[0]

    lines = [f"channel layers alone: {events} events x ({supervisors} supervisors + 1 agent), "
             f"{supervisors + agents} connections"]
    for label, layer in (("stock InMemoryChannelLayer (capacity 100)", InMemoryChannelLayer()),
                         ("FanoutInMemoryChannelLayer (capacity 1000)", FanoutInMemoryChannelLayer())):
        spent, got = asyncio.run(one(layer))
        lines.append(f"  {label}: {1e6 * spent / events:.0f} µs CPU per event, "
                     f"{got} of {events * (supervisors + 1)} messages delivered")
    return "\n".join(lines)


# --- runs ----------------------------------------------------------------------------------


class Bench:
    """Runs scenarios, each on servers started for it, and keeps their rows."""

    def __init__(self, args: Any, services: dict[str, str] | None, floor: dict[str, Any]) -> None:
        self.args, self.services, self.floor = args, services, floor
        self.rows: list[dict[str, Any]] = []
        self.knees: list[str] = []
        self.runs = 0

    def wait_quiet(self) -> None:
        """Up to ``--wait-quiet`` seconds for the machine to be idle (under 25% of a core
        busy over 3 s): other people's tests on a 2-core machine move every figure."""
        end = time.monotonic() + self.args.wait_quiet
        while True:
            before = machine_busy_seconds()
            time.sleep(3)
            busy = 100 * (machine_busy_seconds() - before) / 3
            if busy < 25 or time.monotonic() > end:
                if self.args.wait_quiet:
                    print(f"  machine {busy:.0f}% busy before the run", flush=True)
                return
            print(f"  machine {busy:.0f}% busy: waiting for it to be quiet", flush=True)
            time.sleep(7)

    def run(self, setup_name: str, sc: Scenario, **extra: Any) -> dict[str, Any]:
        self.runs += 1
        self.wait_quiet()
        servers = 2 if setup_name == "redis" else 1
        label = f"{setup_name}-{sc.label}"
        print(f" {label} ({layout_name(self.args.workers)}, {servers} server(s)): {sc.rate:g} events/s, "
              f"{self.args.warmup:g} s warm-up + {self.args.duration:g} s, load {load_average()}", flush=True)
        with Setup(setup_name, servers, self.args.stock, HERE / "out", self.services, self.args.workers,
                   label) as setup:
            row = run_scenario(setup, self.floor, sc, self.args, self.runs * 10_000_000, label)
        row.update(extra)
        self.rows.append(row)
        print(run_table(row), flush=True)
        time.sleep(2)
        return row

    def knee(self, setup_name: str, sc: Scenario) -> int:
        """Rates up from the first of ``--knee-rates`` until one fails, then halves the gap
        between the last that passed and the first that failed down to ``--knee-step``."""
        passed, failed = 0, None
        for rate in (float(r) for r in self.args.knee_rates.split(",")):
            if passes_knee(self.run(setup_name, Scenario(sc.supervisors, sc.agents, rate), knee=True)):
                passed = int(rate)
            else:
                failed = int(rate)
                break
        while failed is not None and failed - passed > self.args.knee_step:
            rate = (passed + failed) // 2 // 5 * 5
            if passes_knee(self.run(setup_name, Scenario(sc.supervisors, sc.agents, rate), knee=True)):
                passed = rate
            else:
                failed = rate
        what = (f"knee ({setup_name}, {layout_name(self.args.workers)}, {sc.supervisors}x{sc.agents}): "
                + (f"{passed} events/s" if passed else f"below {failed} events/s")
                + (f"; {failed} events/s failed" if failed else " (every rate tried passed)")
                + f" (p99 < {KNEE_P99_MS} ms for both audiences, nothing lost, over {self.args.duration:g} s)")
        print(what, flush=True)
        self.knees.append(what)
        return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--setups", default="memory,redis", help="memory (1 server), redis (2 servers)")
    parser.add_argument("--scenarios", default="20x480@50,20x480@200,100x480@200",
                        help="supervisors x agents @ events/s, comma separated (--knee: the first one's floor)")
    parser.add_argument("--workload", choices=("realistic", "round-robin"), default="realistic")
    parser.add_argument("--workers", type=int, default=None,
                        help="as manage.py serve's: 0 = the scale path's server (no worker, scheduler or "
                             "sandbox in it); default: serve's defaults (worker and scheduler in process)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of posting left out of the figures")
    parser.add_argument("--duration", type=float, default=60, help="seconds of steady state measured")
    parser.add_argument("--deadline", type=float, default=5, help="seconds after its POST a card may arrive")
    parser.add_argument("--knee", action="store_true", help="find the knee, then run twice its rate")
    parser.add_argument("--knee-rates", default="50,100,150,200,300,400,600")
    parser.add_argument("--knee-step", type=int, default=25, help="stop halving the gap below this many events/s")
    parser.add_argument("--no-overload", action="store_true", help="--knee without the run at twice the knee")
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--http-connections", type=int, default=64, help="keep-alive POST connections per server")
    parser.add_argument("--no-deflate", action="store_true",
                        help="sockets without permessage-deflate (browsers offer it; the figures before "
                             "2026-12-08 were made without)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait-quiet", type=float, default=0,
                        help="before each run, wait up to this many seconds for an idle machine")
    parser.add_argument("--stock", action="store_true", help="stock in-memory layer and consumer dispatch")
    parser.add_argument("--layers-only", action="store_true",
                        help="only the in-process channel layer comparison (no servers, a few seconds)")
    parser.add_argument("--self-check", action="store_true",
                        help="only the analysis on made-up sockets with known faults (no servers)")
    parser.add_argument("--profile", action="store_true", help="sample server 0 with py-spy over the steady state")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL instead of the SQLite file (and its Redis for the redis setup), "
                             "started and stopped by scripts/services.sh: the production layout")
    args = parser.parse_args()
    if args.layers_only:
        print(layer_micro())
        return
    if args.self_check:
        sys.path.insert(0, str(HERE))
        self_check()
        return
    if args.serve:
        serve(args.serve, args.stock, args.workers)
        return
    scenarios = []
    for item in args.scenarios.split(","):
        counts, _, rate = item.partition("@")
        s, _, a = counts.partition("x")
        scenarios.append(Scenario(int(s), int(a), float(rate)))
    with contextlib.ExitStack() as stack:
        services = None
        if args.postgres:
            sys.path.insert(0, str(HERE))
            from common import postgres_services  # bench/common.py

            services = stack.enter_context(postgres_services())
        run_all(args, scenarios, services)


def run_all(args: Any, scenarios: list[Scenario], services: dict[str, str] | None) -> None:
    floor = seed(max(s.supervisors for s in scenarios), max(s.agents for s in scenarios),
                 services["database_url"] if services else None)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    bench = Bench(args, services, floor)
    for name in args.setups.split(","):
        if args.knee:
            knee = bench.knee(name, scenarios[0])
            if knee and not args.no_overload:
                bench.run(name, Scenario(scenarios[0].supervisors, scenarios[0].agents, 2 * knee), overload=True)
            continue
        for sc in scenarios:
            bench.run(name, sc)
    from common import machine

    m = machine()
    out = HERE / "out" / "fanout-results.json"
    out.write_text(json.dumps({"started": started, "machine": m, "argv": sys.argv[1:], "rows": bench.rows}, indent=1))
    print(f"\nFan-out, {started}, {m['nproc']} cores {m['cpu']}, Python {m['python']}, Django {m['django']}")
    print(f"command: {' '.join(['bench/fanout.py', *sys.argv[1:]])}")
    for what in bench.knees:
        print(what)
    print(summary_table(bench.rows))


if __name__ == "__main__":
    main()
