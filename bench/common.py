"""Shared setup for the benchmarks: a throwaway SQLite database under bench/out/,
migrated with Django, on a local machine's settings (CALLBOARD_LOCAL=1).

Import ``setup(name)`` before any Django model: it points DATABASE_URL and MEDIA_ROOT
at bench/out/, turns off the in-process workers and scheduler, calls django.setup()
and runs the migrations on a fresh file (the old one is removed).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = OUT.parent.parent


def setup(name: str, *, fresh: bool = True, database_url: str | None = None) -> Path:
    """Configure Django on ``bench/out/<name>.sqlite3`` (or ``database_url``, a throwaway
    PostgreSQL server's: see ``postgres_services``) and migrate it; returns the path."""
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"{name}.sqlite3"
    if fresh and not database_url:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["CALLBOARD_LOCAL"] = "1"
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{db}"
    os.environ["MEDIA_ROOT"] = str(OUT / "media")
    os.environ.setdefault("IN_PROCESS_WORKERS", "0")
    os.environ.setdefault("IN_PROCESS_SCHEDULER", "false")
    os.environ.setdefault("SANDBOX_TIME_SCALE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return db


@contextmanager
def postgres_services() -> Iterator[dict[str, str]]:
    """PostgreSQL and Redis servers of our own for the length of a bench, started and
    stopped by scripts/services.sh (as ``make test`` does): {"database_url", "redis_url"}.
    The database is a fresh one per run."""
    import subprocess
    import uuid

    env = dict(os.environ, SCALE_SERVICES_DIR=str(OUT / "services"))
    started = subprocess.run([str(ROOT / "scripts" / "services.sh"), "start"], env=env, capture_output=True,
                             text=True, check=True)
    found = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines()
                 if line.startswith("export "))
    if "SCALE_DATABASE_URL" not in found:
        raise RuntimeError(f"PostgreSQL not available: {found.get('SCALE_SKIP_REASON', started.stderr)}")
    base = found["SCALE_DATABASE_URL"]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield {"database_url": base.rsplit("/", 1)[0] + "/" + name, "redis_url": found["SCALE_REDIS_URL"]}
    finally:
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop"], env=env, capture_output=True)


def make_user(username: str, role: str | None, **extra: object):
    from django.contrib.auth.models import User

    from dashboard.roles import assign_role

    user = User.objects.create_user(username=username, password=None, **extra)  # no hashing: force_login only
    if role:
        assign_role(user, role)
    return user


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory (MB) of this process and of its largest finished child."""
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


class TreeMemorySampler:
    """Peak memory of this process and all its descendants together, sampled every
    ``every`` seconds: the sum of their PSS (each shared page counted once, split
    between its sharers), from /proc/<pid>/smaps_rollup. ru_maxrss only knows each
    process alone, and an import runs in three."""

    def __init__(self, every: float = 0.05) -> None:
        import threading

        self.every, self.peak_mb = every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids, todo = [], [pid]
        while todo:
            current = todo.pop()
            pids.append(current)
            for task in Path(f"/proc/{current}/task").glob("*"):
                try:
                    todo.extend(int(c) for c in (task / "children").read_text().split())
                except OSError:
                    pass
        return pids

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            total_kb = 0
            for pid in self._tree(me):
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Pss:"):
                            total_kb += int(line.split()[1])
                            break
                except OSError:
                    pass
            self.peak_mb = max(self.peak_mb, total_kb / 1024)
            self._stop.wait(self.every)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50/p95/mean/max of timings in seconds, as milliseconds."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 2),
        "p95_ms": round(percentile(values, 95) * 1000, 2),
        "mean_ms": round(statistics.fmean(values) * 1000, 2) if values else float("nan"),
        "max_ms": round(max(values) * 1000, 2) if values else float("nan"),
    }


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    started = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - started
    end.append(time.perf_counter())


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django

    return {"nproc": str(len(os.sched_getaffinity(0))), "python": sys.version.split()[0], "django": django.get_version(), "cpu": cpu}


def verdict(value: float, target: float, *, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    return "MET" if met else "MISSED"


class SqlTimer:
    """``with connection.execute_wrapper(SqlTimer()) as t``: time spent in the database
    driver, by statement kind (first words, quotes dropped)."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[float]] = {}

    def __call__(self, execute, statement, params, many, context):
        kind = " ".join(statement.replace('"', "").split(None, 4)[:4])[:48]
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            entry = self.by_kind.setdefault(kind, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    @property
    def total(self) -> float:
        return sum(v[1] for v in self.by_kind.values())

    def top(self, n: int = 6, *, per: int = 1) -> dict[str, dict[str, float]]:
        ordered = sorted(self.by_kind.items(), key=lambda kv: -kv[1][1])[:n]
        return {k: {"calls": round(c / per, 1), "ms": round(s * 1000 / per, 2)} for k, (c, s) in ordered}


def cpu_seconds() -> dict[str, float]:
    """User+system CPU seconds of this process and of its finished children: on a shared
    machine this moves far less than wall time does."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"self": me.ru_utime + me.ru_stime, "children": kids.ru_utime + kids.ru_stime}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""
