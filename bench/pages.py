"""Pages: server time of the live wall and of a campaign page on big tables.

    .venv/bin/python -m bench.pages [--sessions 2000] [--jobs 1000000] [--requests 20] [--reuse] [--profile]

Seeds bench/out/pages.sqlite3 with ``--sessions`` active call sessions (two legs each:
the contact and an agent, realistic numbers, tags, details) and a campaign holding
``--jobs`` call jobs in a realistic status mix (written with executemany in big batches;
the status counts table is moved by ``status_counts_apply`` as an import would), then
times ``GET /calls/`` as a supervisor and ``GET /campaigns/<id>/`` as an admin through
Django's test Client (whole middleware stack, session, template rendering), after
warm-up; then the whole wall as the browser gets it (the page holds the first window of
cards and fetches the others one after another). ``--reuse`` keeps a database seeded by an earlier run with the same sizes.
Prints p50/p95 per page, query counts and the targets last.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter

from bench import common

TARGET_WALL_MS = 150.0
TARGET_CAMPAIGN_MS = 100.0

STATUS_MIX = (  # share of a campaign well under way
    ("pending", 0.35), ("planned", 0.15), ("inProcess", 0.02), ("onRetry", 0.05), ("noAnswer", 0.18),
    ("longCallWithResult", 0.12), ("longCallWithNoResult", 0.06), ("notDone", 0.02), ("rejected", 0.01),
    ("technicalError", 0.01), ("nonexistentNumber", 0.02), ("cancelledByUser", 0.01),
)


def seed_calls(sessions: int) -> None:
    from django.utils import timezone

    from dashboard.models import AgentProfile, ProviderAccount
    from dashboard.roles import AGENT
    from livecalls.models import AccountSync, CallSession, Leg

    rnd = random.Random(7)
    now = timezone.now()
    callgear = ProviderAccount.objects.create(
        kind="callgear", name="Bench CallGear", base_url="http://127.0.0.1:9/callgear", is_sandbox=True,
        reference_data={"tags": [{"id": i, "name": n} for i, n in enumerate(
            ("VIP", "Жалоба", "Продажа", "Callback", "Spam", "Новый клиент"))]})
    ccai = ProviderAccount.objects.create(kind="ccai", name="Bench CCAI", base_url="http://127.0.0.1:9/ccai",
                                          is_sandbox=True)
    for account in (callgear, ccai):
        AccountSync.objects.create(account=account, last_event_at=now, last_reconcile_at=now)
    agents = []
    for i in range(200):
        user = common.make_user(f"agent{i:03d}", AGENT, first_name=f"Агент {i}")
        AgentProfile.objects.create(user=user, callgear_employee_id=10_000 + i, ccai_agent_email=f"agent{i}@example.com")
        agents.append(user)
    states = [("talking", 0.6), ("ringing", 0.15), ("on_hold", 0.15), ("consulting", 0.05), ("queued", 0.05)]
    rows = []
    for i in range(sessions):
        account = callgear if i % 4 else ccai
        state = rnd.choices([s for s, _ in states], [w for _, w in states])[0]
        started = now - timezone.timedelta(seconds=rnd.randrange(5, 1800))
        rows.append(CallSession(
            account=account, provider_session_id=str(900_000_000 + i), direction="in" if i % 3 else "out",
            virtual_number=f"7495{rnd.randrange(1000000, 1000020):07d}", contact_number=f"79{rnd.randrange(10**9):09d}",
            state=state, provider_status="Conversation" if state == "talking" else state, started_at=started,
            answered_at=started + timezone.timedelta(seconds=5) if state != "ringing" else None,
            tags=rnd.sample(["VIP", "Жалоба", "Продажа", "Callback"], rnd.randrange(3)), recording=bool(i % 2),
            agent=agents[i % len(agents)] if state != "queued" else None,
            customer_flags={"verified_customer": bool(i % 5)} if account is ccai else {},
            details={"scenario": "Входящие продажи", "call_type": "in", "menu": "main"}, last_event_seq=rnd.randrange(1, 30),
            last_event_at=now,
        ))
    created = CallSession.objects.bulk_create(rows, batch_size=1000)
    legs = []
    for i, session in enumerate(created):
        legs.append(Leg(session=session, provider_leg_id=f"{session.provider_session_id}-1",
                        calling_number=session.contact_number, called_number=session.virtual_number,
                        state="talking" if session.state != "ringing" else "ringing", provider_state="Conversation",
                        started_at=session.started_at, answered_at=session.answered_at, last_event_seq=1))
        agent = agents[i % len(agents)]
        legs.append(Leg(session=session, provider_leg_id=f"{session.provider_session_id}-2",
                        calling_number=session.virtual_number, called_number=f"7916{i:07d}", is_operator=True,
                        employee_id=str(10_000 + i % len(agents)), employee_name=agent.first_name, agent=agent,
                        state={"on_hold": "on_hold", "ringing": "ringing"}.get(session.state, "talking"),
                        provider_state="На удержании" if session.state == "on_hold" else "Conversation",
                        recording=session.recording, started_at=session.started_at, answered_at=session.answered_at,
                        last_event_seq=2))
    Leg.objects.bulk_create(legs, batch_size=2000)


def seed_jobs(campaign, jobs: int) -> float:
    """Write ``jobs`` call jobs with executemany; returns seconds spent."""
    import json as _json

    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.models import CallJob, PushBatch
    from campaigns.services.counts import status_counts_apply

    started = time.perf_counter()
    rnd = random.Random(11)
    names, weights = [s for s, _ in STATUS_MIX], [w for _, w in STATUS_MIX]
    now = timezone.now()
    batch = PushBatch.objects.create(campaign=campaign, idempotence_key="bench-sent", size=0,
                                     request_body=[], state=PushBatch.State.SENT, sent_at=now)
    table = CallJob._meta.db_table
    columns = ("campaign_id", "row_number", "phone", "phone_e164", "gmt_zone", "payload", "policy", "push_batch_id",
               "provider_job_id", "push_error", "job_status", "attempts_count", "call_duration", "tag_name",
               "created_at", "finished_at")
    statement = (f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join(["%s"] * len(columns))})')
    cities = ("Москва", "Казань", "Palo Alto", "Chicago", "Новосибирск")
    step = 50_000
    for start in range(0, jobs, step):
        counts: Counter[str] = Counter()
        rows = []
        for i in range(start, min(start + step, jobs)):
            status = rnd.choices(names, weights)[0]
            counts[status] += 1
            pushed = status not in ("pending", "rejected")
            final = status not in ("pending", "rejected", "planned", "inProcess", "onRetry")
            rows.append((campaign.pk, i + 2, f"79{i:09d}", f"+79{i:09d}", "Europe/Moscow",
                         _json.dumps({"name": "Иван Петров", "city": cities[i % 5], "amount": f"{100 + i % 9000}.00"}),
                         "{}", batch.pk if pushed else None, str(5_000_000 + i) if pushed else "", "", status,
                         rnd.randrange(1, 4) if final else 0, rnd.randrange(5, 300) if final else None,
                         "Продажа" if status == "longCallWithResult" else "", now, now if final else None))
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.executemany(statement, rows)
            status_counts_apply(campaign_id=campaign.pk, delta=counts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(client, url: str, *, requests: int, warmup: int = 3) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times, cpu = [], []
    for _ in range(requests):
        t, c = time.perf_counter(), time.thread_time()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)  # this thread's CPU: less moved by other load
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        t = time.perf_counter()
        response = client.get(url)
        total = time.perf_counter() - t
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    sql_s = sum(float(q["time"]) for q in queries.captured_queries)
    return {
        "url": url,
        **common.summary_ms(times),
        "cpu_p50_ms": common.summary_ms(cpu)["p50_ms"],
        "bytes": len(response.content),
        "cards": response.content.count(b'<article id="session-'),
        "queries": len(queries.captured_queries),
        "sql_ms_of_one_request": round(sql_s * 1000, 1),
        "one_request_ms": round(total * 1000, 1),
        "slowest_queries": [{"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:160]} for q in slowest],
    }


def measure_whole_wall(client, *, requests: int) -> dict:
    import re

    more = re.compile(rb'id="wall-more" hx-get="([^"]+)"')
    times, cards, size, fetched = [], 0, 0, 0
    for _ in range(requests):
        t = time.perf_counter()
        url, cards, size, fetched = "/calls/", 0, 0, 0
        while url:
            response = client.get(url, headers={"HX-Request": "true"} if fetched else {})
            assert response.status_code == 200
            fetched += 1
            cards += response.content.count(b'<article id="session-')
            size += len(response.content)
            match = more.search(response.content)
            url = match.group(1).decode().replace("&amp;", "&") if match else ""
        times.append(time.perf_counter() - t)
    return {**common.summary_ms(times), "requests": fetched, "cards": cards, "bytes": size}


def profile(client, url: str, name: str, n: int = 5) -> str:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(n):
        client.get(url)
    profiler.stop()
    out = common.OUT / f"pages-profile-{name}.txt"
    out.write_text(profiler.output_text(unicode=True, show_all=False))
    return str(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="reuse bench/out/pages.sqlite3 if it was seeded")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles of both pages into bench/out/")
    args = parser.parse_args()

    db = common.OUT / "pages.sqlite3"
    reuse = args.reuse and db.exists()
    common.setup("pages", fresh=not reuse)
    from django.contrib.auth.models import User
    from django.test import Client

    from campaigns.models import CallJob, Campaign, CampaignStatusCount
    from dashboard.models import ProviderAccount
    from dashboard.roles import ADMIN, SUPERVISOR
    from livecalls.models import CallSession

    seeded = {}
    if reuse and Campaign.objects.filter(name="Bench million").exists():
        campaign = Campaign.objects.get(name="Bench million")
        print("reusing the seeded database", flush=True)
    else:
        t = time.perf_counter()
        admin = common.make_user("bench-admin", ADMIN, is_staff=True, first_name="Ada")
        common.make_user("bench-supervisor", SUPERVISOR, first_name="Sam")
        seed_calls(args.sessions)
        seeded["calls_s"] = round(time.perf_counter() - t, 1)
        account = ProviderAccount.objects.create(kind="jaicp", name="Bench JAICP", base_url="http://127.0.0.1:9/jaicp",
                                                 is_sandbox=True)
        campaign = Campaign.objects.create(account=account, name="Bench million", token="bench-million", owner=admin,
                                           provider_status="running")
        seeded["jobs_s"] = round(seed_jobs(campaign, args.jobs), 1)
        print(f"seeded {args.sessions:,} sessions in {seeded['calls_s']} s, {args.jobs:,} jobs in {seeded['jobs_s']} s",
              flush=True)
    active = CallSession.objects.filter(ended_at__isnull=True).count()
    jobs = CallJob.objects.filter(campaign=campaign).count()
    counted = sum(CampaignStatusCount.objects.filter(campaign=campaign).values_list("count", flat=True))
    assert counted == jobs, (counted, jobs)

    supervisor = Client(HTTP_HOST="127.0.0.1")
    supervisor.force_login(User.objects.get(username="bench-supervisor"))
    admin_client = Client(HTTP_HOST="127.0.0.1")
    admin_client.force_login(User.objects.get(username="bench-admin"))

    load_before = common.load_average()
    wall = measure(supervisor, "/calls/", requests=args.requests)
    print("wall:", json.dumps(wall, ensure_ascii=False), flush=True)
    # The page holds the first window; the browser then fetches the rest, one window after
    # another: the time until every card is in, the way the page does it.
    whole = measure_whole_wall(supervisor, requests=max(5, args.requests // 4))
    print("whole wall (first page + every window):", json.dumps(whole, ensure_ascii=False), flush=True)
    page = measure(admin_client, f"/campaigns/{campaign.pk}/", requests=args.requests)
    print("campaign page:", json.dumps(page, ensure_ascii=False), flush=True)
    filtered = measure(admin_client, f"/campaigns/{campaign.pk}/?status=noAnswer", requests=max(5, args.requests // 4))
    print("campaign page, status filter:", json.dumps(filtered, ensure_ascii=False), flush=True)
    profiles = {}
    if args.profile:
        profiles["wall"] = profile(supervisor, "/calls/", "wall")
        profiles["campaign"] = profile(admin_client, f"/campaigns/{campaign.pk}/", "campaign")

    result = {
        "bench": "pages",
        "machine": common.machine(),
        "load_average_before_after": f"{load_before} / {common.load_average()}",
        "active_sessions": active,
        "campaign_jobs": jobs,
        "seeded_s": seeded or "reused",
        "wall_p50_ms": wall["p50_ms"],
        "wall_p95_ms": wall["p95_ms"],
        "wall_cpu_p50_ms": wall["cpu_p50_ms"],
        "wall_queries": wall["queries"],
        "wall_html_mb": round(wall["bytes"] / 1e6, 1),
        "wall_cards_in_page": wall["cards"],
        "whole_wall_p50_ms": whole["p50_ms"],
        "whole_wall_requests": whole["requests"],
        "whole_wall_cards": whole["cards"],
        "whole_wall_html_mb": round(whole["bytes"] / 1e6, 1),
        "campaign_p50_ms": page["p50_ms"],
        "campaign_p95_ms": page["p95_ms"],
        "campaign_cpu_p50_ms": page["cpu_p50_ms"],
        "campaign_queries": page["queries"],
        "campaign_filtered_p50_ms": filtered["p50_ms"],
        "profiles": profiles or None,
        "targets": {
            f"wall p95 <= {TARGET_WALL_MS} ms": common.verdict(wall["p95_ms"], TARGET_WALL_MS),
            f"campaign page p95 <= {TARGET_CAMPAIGN_MS} ms": common.verdict(page["p95_ms"], TARGET_CAMPAIGN_MS),
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
