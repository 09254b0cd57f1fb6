"""Push: our own time per addPhones batch, beyond the provider's.

    .venv/bin/python -m bench.push [--phones 20000] [--batch 1000] [--profile]

Stores ``--phones`` pending call jobs (with payloads) in a campaign of the in-process
sandbox's JAICP (bench/out/push.sqlite3), then runs the real
``campaigns.services.push.campaign_push`` one batch at a time. Clients reach the sandbox
through ``httpx.ASGITransport`` (as tests/conftest.py's ``sandbox_transport`` does); the
sandbox app is wrapped to time its own handling, which is subtracted from each batch's
wall time. Prints per-batch p50/p95 of our overhead (and a breakdown) last.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from bench import common

TARGET_MS = 5.0


class TimedApp:
    """An ASGI app wrapper that adds up the time spent inside the wrapped app."""

    def __init__(self, app) -> None:
        self.app = app
        self.spent = 0.0
        self.requests = 0

    async def __call__(self, scope, receive, send) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.spent += time.perf_counter() - started
            self.requests += 1


def _timed(module, name: str, spent: dict[str, float]) -> None:
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


def record_whatif(campaign, size: int) -> dict[str, float]:
    """What-if (bench only): the write _record_sent does for one sent batch (provider job
    id and status per job), as Django's bulk_update (CASE WHEN per row) and as one
    executemany UPDATE ... WHERE id = %s. Same values rewritten, so nothing changes."""
    from django.db import connection, transaction

    from campaigns.models import CallJob, PushBatch

    batch = PushBatch.objects.filter(campaign=campaign, state=PushBatch.State.SENT).order_by("pk").last()
    if batch is None:
        return {}
    out = {}
    jobs = list(CallJob.objects.filter(push_batch=batch))
    t = time.perf_counter()
    with transaction.atomic():
        CallJob.objects.bulk_update(jobs, ["provider_job_id", "job_status"], batch_size=1000)
    out["bulk_update_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f'UPDATE "{CallJob._meta.db_table}" SET provider_job_id = %s, job_status = %s WHERE id = %s',
                           [(j.provider_job_id, j.job_status, j.pk) for j in jobs])
    out["executemany_ms"] = round((time.perf_counter() - t) * 1000, 1)
    t = time.perf_counter()
    list(CallJob.objects.filter(push_batch=batch))
    out["load_jobs_ms"] = round((time.perf_counter() - t) * 1000, 1)
    out["jobs"] = len(jobs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the push into bench/out/")
    args = parser.parse_args()

    common.setup("push")
    import httpx

    from campaigns.models import CallJob, Campaign, PushBatch
    from campaigns.services import push
    from campaigns.services.counts import status_counts_apply
    from dashboard.models import ProviderAccount
    from dashboard.providers import accounts
    from dashboard.roles import ADMIN
    from dashboard.sandbox.app import SandboxApp
    from dashboard.sandbox.sim import ManualClock

    sandbox = SandboxApp(clock=ManualClock(time.time()), seed=1, prefix="/sandbox")
    timed_app = TimedApp(sandbox)
    transport = httpx.ASGITransport(app=timed_app)
    accounts.transport_for = lambda account: transport
    accounts.forget_sessions()

    admin = common.make_user("bench-admin", ADMIN, is_staff=True)
    account = ProviderAccount.objects.create(kind="jaicp", name="SB JAICP", base_url="http://testserver/sandbox/jaicp",
                                             is_sandbox=True)
    token = next(c["token"] for c in sandbox.twin("jaicp").state()["campaigns"] if c["status"] == "new")
    campaign = Campaign.objects.create(account=account, name="Bench push", token=token, owner=admin,
                                       push_batch_size=args.batch)
    cities = ("Москва", "Казань", "Palo Alto", "Chicago")
    jobs = [CallJob(campaign=campaign, row_number=i + 2, phone=f"7911{i:07d}", phone_e164=f"+7911{i:07d}",
                    gmt_zone="Europe/Moscow",
                    payload={"name": f"Клиент {i}", "city": cities[i % 4], "amount": f"{100 + i % 900}.00"})
            for i in range(args.phones)]
    CallJob.objects.bulk_create(jobs, batch_size=5000)
    status_counts_apply(campaign_id=campaign.pk, delta=Counter({"pending": len(jobs)}))
    campaign = Campaign.objects.select_related("account").get(pk=campaign.pk)
    print(f"stored {args.phones:,} pending call jobs; pushing in batches of {args.batch}", flush=True)

    spent: dict[str, float] = {}
    for name in ("push_batch_form", "_record_sent"):
        _timed(push, name, spent)
    _timed(accounts, "run", spent)

    # Warm-up: one batch (first client, imports, sandbox routes), not counted.
    push.campaign_push(campaign=campaign, max_batches=1)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    walls, sandbox_times, overheads = [], [], []
    parts: dict[str, list[float]] = {}
    errors: list[str] = []
    from django.db import connection

    sql = common.SqlTimer()
    wrapper = connection.execute_wrapper(sql)
    wrapper.__enter__()
    cpu_before = common.cpu_seconds()["self"]
    load_before = common.load_average()
    started_all = time.perf_counter()
    while True:
        before_app = timed_app.spent
        before_parts = dict(spent)
        t = time.perf_counter()
        outcome = push.campaign_push(campaign=campaign, max_batches=1)
        wall = time.perf_counter() - t
        if not outcome.batches_sent and not outcome.batches_failed:
            errors += outcome.errors
            break
        errors += outcome.errors
        in_app = timed_app.spent - before_app
        walls.append(wall)
        sandbox_times.append(in_app)
        overheads.append(wall - in_app)
        for name, total in spent.items():
            parts.setdefault(name, []).append(total - before_parts.get(name, 0.0))
    total = time.perf_counter() - started_all
    cpu_total = common.cpu_seconds()["self"] - cpu_before
    wrapper.__exit__(None, None, None)
    if profiler is not None:
        profiler.stop()
        out = common.OUT / "push-profile.txt"
        out.write_text(profiler.output_text(unicode=True, show_all=True))
        print(f"profile written to {out}")
    whatif = record_whatif(campaign, args.batch)
    sent = PushBatch.objects.filter(campaign=campaign, state=PushBatch.State.SENT).count()
    planned = CallJob.objects.filter(campaign=campaign, job_status="planned").count()
    # accounts.run includes the sandbox's time: report ours only.
    send_ours = [p - s for p, s in zip(parts.get("run", []), sandbox_times, strict=False)]
    overhead = common.summary_ms(overheads)
    result = {
        "bench": "push",
        "machine": common.machine(),
        "phones": args.phones,
        "batch": args.batch,
        "batches_measured": len(walls),
        "batches_sent_total": sent,
        "jobs_planned": planned,
        "errors": errors[:5],
        "seconds_total": round(total, 2),
        "cpu_s_total (ours + sandbox, one process)": round(cpu_total, 1),
        "load_average_before_after": f"{load_before} / {common.load_average()}",
        "wall_per_batch": common.summary_ms(walls),
        "sandbox_per_batch": common.summary_ms(sandbox_times),
        "ours_per_batch": overhead,
        "ours_breakdown_p50_ms": {
            "push_batch_form (select, build body, store batch)": common.summary_ms(parts.get("push_batch_form", []))["p50_ms"],
            "send (client, validation, JSON, transport) minus sandbox": common.summary_ms(send_ours)["p50_ms"],
            "_record_sent (load jobs, bulk_update, counts)": common.summary_ms(parts.get("_record_sent", []))["p50_ms"],
        },
        "sql_per_batch_ms": round(sql.total * 1000 / max(len(walls), 1), 2),
        "sql_by_kind_per_batch": sql.top(6, per=max(len(walls), 1)),
        "whatif_record_1_batch_ms": whatif,
        "target": f"ours p50 per {args.batch}-phone batch < {TARGET_MS} ms: "
                  + common.verdict(overhead["p50_ms"] * 1000 / args.batch, TARGET_MS),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
