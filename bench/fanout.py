"""Fan-out benchmark: a call floor's live push, end to end, on loopback.

A bench database (bench/out/fanout.sqlite3, WAL) gets a CallGear account, supervisors
and 480 agents (AgentProfile.callgear_employee_id = 1000, 1001...), each with a session
cookie. Real servers start (``manage.py serve --workers 0``: uvicorn, in-process workers
and scheduler off, sandbox not embedded). The load generator (bench/fanout_client.py,
separate processes) opens one ``/ws/live/?calls=1`` socket per user, then posts CallGear
notifications (``TEMPLATES[kind].render(...)``, header X-Callboard-Secret) to
``/hooks/<account>/`` at a fixed rate, each event on the current call of one agent.

Every event should reach every supervisor and exactly one agent (the call's owner).
Latency = time the socket received the card (``id="session-<pk>"``, ``data-seq``) minus
the time the POST was written, both on the machine's monotonic clock. Lost = expected but
not received ``--deadline`` seconds after the last post; misdelivered = a card of another
agent's call on an agent's socket.

Setups: ``memory`` (one server, the in-memory layer) and ``redis`` (two servers sharing
the SQLite file, the Redis pub/sub layer; a private redis-server is started on a free
127.0.0.1 port and stopped). ``--postgres`` puts the floor on a PostgreSQL server (and the
redis setup on its Redis) that scripts/services.sh starts and stops: the production layout. ``--stock`` runs the servers with Channels' stock in-memory
layer (capacity 100) and the stock consumer dispatch (the "before" figures).
``--profile`` samples the first server with py-spy (if installed) and prints where its
time goes. Everything is bounded: each scenario posts ``rate x duration`` events and
stops ``deadline`` seconds later. The table of figures is printed last.

    .venv/bin/python bench/fanout.py                      # full run, both setups
    .venv/bin/python bench/fanout.py --setups memory --scenarios 20x480@50 --duration 5
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
EMPLOYEE_BASE = 1000


# --- server mode (a child process) ------------------------------------------------------


def serve(port: int, stock: bool) -> None:
    """Run one server as ``manage.py serve --workers 0`` would, optionally with the stock
    layer and consumer (to measure what the fixes bought)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    if stock:
        from django.conf import settings

        from dashboard.consumers import LiveConsumer

        if not os.environ.get("REDIS_URL"):
            settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
        if "dispatch" in LiveConsumer.__dict__:
            del LiveConsumer.dispatch
    from django.core.management import call_command

    call_command("serve", host="127.0.0.1", port=port, workers=0)


# --- the floor ----------------------------------------------------------------------------


def seed(supervisors: int, agents: int, database_url: str | None = None) -> dict[str, Any]:
    """Fresh bench database with the account and users; returns what the clients need."""
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
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Setup:
    """The servers (and redis) of one setup, started and stopped together."""

    def __init__(self, name: str, servers: int, stock: bool, out: Path, services: dict[str, str] | None) -> None:
        self.name, self.count, self.stock, self.out, self.services = name, servers, stock, out, services
        self.redis: subprocess.Popen[Any] | None = None
        self.procs: list[subprocess.Popen[Any]] = []
        self.ports: list[int] = []

    def __enter__(self) -> Setup:
        env = dict(os.environ, SANDBOX_EMBEDDED="false", IN_PROCESS_SCHEDULER="false", IN_PROCESS_WORKERS="0",
                   CALLBOARD_LOCAL="1", PYTHONUNBUFFERED="1")
        env.pop("REDIS_URL", None)
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
            log = (self.out / f"fanout-{self.name}-server{n}.log").open("w")
            args = [PY, str(HERE / "fanout.py"), "--serve", str(port)] + (["--stock"] if self.stock else [])
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


def run_scenario(setup: Setup, floor: dict[str, Any], sups: int, agents: int, rate: float, args: Any,
                 ref_base: int, label: str) -> dict[str, Any]:
    people = [p for p in floor["people"] if p["role"] == "supervisor"][:sups]
    people += [p for p in floor["people"] if p["role"] == "agent"][:agents]
    for n, p in enumerate(people):
        p["server"] = n % len(setup.ports)
    procs = max(1, args.client_procs)
    clients = []
    for c in range(procs):
        cfg = {
            "servers": [["127.0.0.1", port] for port in setup.ports],
            "sockets": people[c::procs],
            "post": c == 0,
            "account_id": floor["account_id"],
            "secret": floor["secret"],
            "employee_ids": [p["employee_id"] for p in people if p["role"] == "agent"],
            "rate": rate,
            "duration": args.duration,
            "deadline": args.deadline,
            "ref_base": ref_base,
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
    spy = None
    profile_path = setup.out / f"fanout-{label}.pyspy.txt"
    pyspy = shutil.which("py-spy", path=f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if args.profile and pyspy:
        spy = subprocess.Popen([pyspy, "record", "--pid", str(setup.procs[0].pid), "--rate", "250",
                                "--duration", str(int(args.duration)), "--format", "raw", "--nonblocking",
                                "-o", str(profile_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu0 = [cpu_seconds(p.pid) for p in setup.procs]
    t0 = time.monotonic()
    for proc, _ in clients:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    limit = args.duration + args.deadline + 120
    for proc, _ in clients:
        try:
            proc.wait(max(1, limit - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
    cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(setup.procs, cpu0, strict=True))
    wall = args.duration
    if spy is not None:
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
    results = [json.loads(path.read_text()) for _, path in clients if path.exists()]
    figures = analyse(results, floor, sups, agents, rate, args.duration)
    figures.update(setup=setup.name + (" (stock)" if setup.stock else "") + (" +pg" if setup.services else ""),
                   servers=len(setup.procs),
                   server_cpu_pct=round(100 * cpu / wall, 0))
    if spy is not None and profile_path.exists():
        figures["profile"] = str(profile_path.relative_to(ROOT))
        print(profile_summary(profile_path), flush=True)
    return figures


def analyse(results: list[dict[str, Any]], floor: dict[str, Any], sups: int, agents: int, rate: float,
            duration: float) -> dict[str, Any]:
    from common import percentile

    posted = [p for r in results for p in r["posted"]]
    ok = [p for p in posted if p[4] == 200]
    refs = {p[0] for p in posted}
    by_ref = sessions_by_ref(floor["account_id"], refs)
    events: dict[tuple[int, int], tuple[float, int | None]] = {}  # (pk, seq) -> (sent, agent user)
    for ref, seq, _employee, sent, _status, _done, _due in ok:
        if ref in by_ref:
            pk, agent = by_ref[ref]
            events[(pk, seq)] = (sent, agent)
    agent_of_pk = {pk: agent for pk, agent in by_ref.values()}
    latencies: list[float] = []
    lost = misdelivered = received = 0
    socket_errors = sum(len(r["errors"]) for r in results)
    for r in results:
        for s in r["sockets"]:
            cards: dict[int, list[tuple[float, int]]] = collections.defaultdict(list)
            for pk, seq, t in s["got"]:
                cards[pk].append((t, seq))
            if s["role"] == "supervisor":
                expected = events.keys()
            else:
                expected = [k for k, (_, agent) in events.items() if agent == s["user_id"]]
                misdelivered += sum(len(c) for pk, c in cards.items() if pk in agent_of_pk and agent_of_pk[pk] != s["user_id"])
            for pk, seq in expected:
                sent = events[(pk, seq)][0]
                # The event's card, or a newer card of the call (two events of one call
                # applied out of order both show the newer seq), first to arrive after the POST.
                t = min((t for t, shown in cards.get(pk, ()) if shown >= seq and t >= sent), default=None)
                if t is None:
                    lost += 1
                else:
                    received += 1
                    latencies.append(t - sent)
    sends = sorted(p[3] for p in posted)
    span = (sends[-1] - sends[0]) if len(sends) > 1 else 0
    http = [p[5] - p[3] for p in ok]
    lag = [p[3] - p[6] for p in posted]  # how late the load generator wrote a POST (server backlog)
    return {
        "supervisors": sups, "agents": agents, "rate": rate, "events": int(rate * duration),
        "posted": len(posted), "post_lag_p99_ms": round(percentile(lag, 99) * 1000, 1), "http_ok": len(ok), "achieved_rate": round((len(sends) - 1) / span, 1) if span else 0,
        "http_p50_ms": round(percentile(http, 50) * 1000, 1), "http_p99_ms": round(percentile(http, 99) * 1000, 1),
        "expected": received + lost, "received": received,
        "p50_ms": round(percentile(latencies, 50) * 1000, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1) if latencies else float("nan"),
        "lost": lost, "misdelivered": misdelivered, "socket_errors": socket_errors,
    }


def profile_summary(path: Path, top: int = 14) -> str:
    """Where the sampled server spent its time: leaf functions (self) and selected
    callers (inclusive), as shares of all samples, idle (epoll/select waits) included."""
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    marks = ("webhooks_receive", "events_store", "sessions_load", "event_apply", "sessions_write",
             "sessions_broadcast", "session_card_html", "account_sync_touch", "group_send", "html_push",
             "asgi_webhook", "aclose_old_connections", "_clean_expired", "execute (", "WebSocketsSansIOProtocol.send",
             "handle (django", "__call__ (channels", "_run_once", "select (", "poll (")
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        self_t[frames[-1].split(" (")[0] + " (" + frames[-1].split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]] += n
        seen = set()
        for mark in marks:
            if mark in stack and mark not in seen:
                seen.add(mark)
                incl[mark] += n
    if not total:
        return "  (no profile samples)"
    out = [f"  profile {path.name}: {total} samples", "  self time, top functions:"]
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


def table(rows: list[dict[str, Any]]) -> str:
    cols = [("setup", "setup"), ("servers", "srv"), ("supervisors", "sup"), ("agents", "agents"),
            ("rate", "ev/s"), ("events", "events"), ("achieved_rate", "sent/s"), ("http_ok", "posts ok"), ("expected", "expected"),
            ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("max_ms", "max ms"), ("lost", "lost"),
            ("misdelivered", "misdeliv"), ("http_p99_ms", "POST p99"), ("post_lag_p99_ms", "late p99"), ("server_cpu_pct", "srv CPU%"),
            ("verdict", "target")]
    for r in rows:
        if r["supervisors"] <= 20 and r["rate"] >= 200:
            met = r["p99_ms"] <= 100 and r["lost"] == 0 and r["misdelivered"] == 0 and r["http_ok"] == r["events"]
            r["verdict"] = "MET" if met else "MISSED"
        else:
            r["verdict"] = "-"
    widths = [max(len(h), *(len(str(r.get(k, ""))) for r in rows)) for k, h in cols]
    lines = [" | ".join(h.ljust(w) for (_, h), w in zip(cols, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for r in rows:
        lines.append(" | ".join(str(r.get(k, "")).ljust(w) for (k, _), w in zip(cols, widths, strict=True)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--setups", default="memory,redis", help="memory (1 server), redis (2 servers)")
    parser.add_argument("--scenarios", default="20x480@50,20x480@200,100x480@200",
                        help="supervisors x agents @ events/s, comma separated")
    parser.add_argument("--duration", type=float, default=20, help="seconds of posting per scenario")
    parser.add_argument("--deadline", type=float, default=5, help="seconds after the last post a card may still arrive")
    parser.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--stock", action="store_true", help="stock in-memory layer and consumer dispatch (before)")
    parser.add_argument("--layers-only", action="store_true",
                        help="only the in-process channel layer comparison (no servers, a few seconds)")
    parser.add_argument("--profile", action="store_true", help="sample server 0 with py-spy")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL instead of the SQLite file (and its Redis for the redis setup), "
                             "started and stopped by scripts/services.sh: the production layout")
    args = parser.parse_args()
    if args.layers_only:
        print(layer_micro())
        return
    if args.serve:
        serve(args.serve, args.stock)
        return
    scenarios = []
    for item in args.scenarios.split(","):
        counts, _, rate = item.partition("@")
        s, _, a = counts.partition("x")
        scenarios.append((int(s), int(a), float(rate)))
    with contextlib.ExitStack() as stack:
        services = None
        if args.postgres:
            sys.path.insert(0, str(HERE))
            from common import postgres_services  # bench/common.py

            services = stack.enter_context(postgres_services())
        run_setups(args, scenarios, services)


def run_setups(args: Any, scenarios: list[tuple[int, int, float]], services: dict[str, str] | None) -> None:
    floor = seed(max(s for s, _, _ in scenarios), max(a for _, a, _ in scenarios),
                 services["database_url"] if services else None)
    out = HERE / "out"
    rows: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for n_setup, name in enumerate(args.setups.split(",")):
        servers = 2 if name == "redis" else 1
        print(f"setup {name}: {servers} server(s){' (stock)' if args.stock else ''}", flush=True)
        with Setup(name, servers, args.stock, out, services) as setup:
            for n, (s, a, rate) in enumerate(scenarios):
                label = f"{name}-{s}x{a}@{int(rate)}"
                print(f" {label}: {int(rate * args.duration)} events over {args.duration:.0f}s", flush=True)
                row = run_scenario(setup, floor, s, a, rate, args, (n_setup * 10 + n + 1) * 10_000_000, label)
                rows.append(row)
                print(f"  p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, lost {row['lost']}, "
                      f"misdelivered {row['misdelivered']}", flush=True)
                time.sleep(2)
    from common import machine

    (out / "fanout-results.json").write_text(json.dumps({"started": started, "machine": machine(),
                                                         "argv": sys.argv[1:], "rows": rows}, indent=1))
    m = machine()
    print(f"\nFan-out, {started}, {m['nproc']} cores {m['cpu']}, Python {m['python']}, Django {m['django']}")
    print(f"command: {' '.join(['bench/fanout.py', *sys.argv[1:]])}")
    print(table(rows))


if __name__ == "__main__":
    main()
