"""The scale path for real: PostgreSQL, Redis's pub/sub channel layer, the sandbox as its
own process, two dashboard server processes and db_worker processes, all over sockets."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from tests.scale.conftest import (
    Cluster,
    Launcher,
    Services,
    campaign_with_jobs,
    django_shell,
    enqueue_push,
    login,
    sandbox_faults,
    sandbox_ledger,
    sandbox_reset,
    wait_until,
)

pytestmark = pytest.mark.scale


def _phones(count: int) -> list[str]:
    """Distinct US numbers no other test uses (the sandbox validates them strictly)."""
    base = random.randrange(2_000_000, 9_000_000 - count)
    return [f"1212{base + i:07d}" for i in range(count)]


def _ledger_counts(cluster: Cluster, phones: list[str]) -> Counter[str]:
    """How many call jobs the sandbox created for each of ``phones`` through addPhones."""
    wanted = set(phones)
    jobs = sandbox_ledger(cluster.sandbox)["jaicp"]["call_jobs"]
    return Counter(j["phone"] for j in jobs if j["phone"] in wanted and j["idempotence_key"])


def _unpushed(services: Services, campaign_id: int) -> int:
    return services.sql("SELECT count(*) FROM campaigns_calljob WHERE campaign_id = %s AND provider_job_id = ''",
                        (campaign_id,))[0][0]


# --- Live push across processes -------------------------------------------------------------


def test_a_webhook_on_server_a_reaches_a_browser_on_server_b(services, cluster, supervisor_login):
    import websockets

    server_a, server_b = cluster.servers
    session_id = random.randrange(10**8, 10**9)
    contact = f"7911{random.randrange(10**6, 10**7)}"
    account = django_shell(services, f"""
import json
from dashboard.models import ProviderAccount
a = ProviderAccount.objects.create(kind="callgear", name="Scale CallGear {session_id}",
    base_url={cluster.sandbox.url + "/callgear"!r}, is_sandbox=True, callgear_auth="access_key", access_key="k")
print(json.dumps({{"id": a.pk, "secret": a.webhook_secret}}))
""")
    # The browser: signed in on B, its page's socket open on B (joins the account's group).
    browser = login(server_b.url, *supervisor_login)
    ws_url = server_b.url.replace("http://", "ws://") + "/ws/live/?calls=1"
    headers = {"Cookie": f"sessionid={browser.cookies['sessionid']}; csrftoken={browser.cookies['csrftoken']}",
               "Origin": server_b.url}

    from dashboard.providers.callgear.notifications import TEMPLATES

    body = TEMPLATES["talk_started"].render({
        "notification_mnemonic": "talk_started",
        "notification_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "call_session_id": session_id, "session_event_seq": 1, "leg_ids": "1,2",
        "virtual_phone_number": "74950000000", "contact_phone_number": contact,
        "direction": "in", "external_id": "", "employee_id": "", "employee_full_name": "",
    })

    async def scenario() -> tuple[str, float]:
        async with websockets.connect(ws_url, additional_headers=headers, open_timeout=10) as ws:
            first = await asyncio.wait_for(ws.recv(), 10)  # the server's "connected" frame
            assert first  # the page's indicator turns to Live on it
            started = time.monotonic()
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(f"{server_a.url}/hooks/{account['id']}/", content=body,
                                             headers={"Content-Type": "application/json",
                                                      "X-Callboard-Secret": account["secret"]})
            assert response.status_code == 200, response.text
            try:
                async with asyncio.timeout(5):
                    while True:
                        frame = await ws.recv()
                        if isinstance(frame, str) and "call-card" in frame and contact in frame:
                            return frame, time.monotonic() - started
            except TimeoutError:
                raise AssertionError(f"the card for session {session_id} did not reach server B's socket in 5 s") from None

    frame, seconds = asyncio.run(scenario())
    pk = services.sql("SELECT s.id FROM livecalls_callsession s WHERE s.account_id = %s AND s.provider_session_id = %s",
                      (account["id"], str(session_id)))[0][0]
    assert f'id="session-{pk}"' in frame
    assert seconds < 5


def test_the_same_webhooks_on_both_servers_at_once_create_and_apply_everything_once(services, cluster):
    """A provider retrying through a load balancer: every event of 20 new calls reaches
    server A and server B at the same moment. Their batches race to create the same
    sessions and store the same events on PostgreSQL; each is stored and applied once."""
    from dashboard.providers.callgear.notifications import TEMPLATES

    server_a, server_b = cluster.servers
    base = random.randrange(10**8, 10**9)
    account = django_shell(services, f"""
import json
from dashboard.models import ProviderAccount
a = ProviderAccount.objects.create(kind="callgear", name="Scale race {base}",
    base_url={cluster.sandbox.url + "/callgear"!r}, is_sandbox=True, callgear_auth="access_key", access_key="k")
print(json.dumps({{"id": a.pk, "secret": a.webhook_secret}}))
""")
    steps = [("incoming_call", {}), ("talk_started", {"leg_ids": "1,2"}), ("call_held", {"leg_id": 1})]
    bodies = []
    for call in range(20):
        for seq, (kind, extra) in enumerate(steps, start=1):
            bodies.append(TEMPLATES[kind].render({
                "notification_mnemonic": kind, "notification_time": f"2026-11-30T10:00:0{seq}.000Z",
                "call_session_id": base + call, "session_event_seq": seq, "virtual_phone_number": "74950000000",
                "contact_phone_number": f"7911000{call:04d}", "direction": "in", "external_id": "",
                "employee_id": "", "employee_full_name": "", **extra}))
    headers = {"Content-Type": "application/json", "X-Callboard-Secret": account["secret"]}

    async def deliver() -> list[dict]:
        async with httpx.AsyncClient(timeout=30) as client:
            posts = [client.post(f"{server.url}/hooks/{account['id']}/", content=body, headers=headers)
                     for body in bodies for server in (server_a, server_b)]
            return [r.json() | {"code": r.status_code} for r in await asyncio.gather(*posts)]

    answers = asyncio.run(deliver())
    assert {a["code"] for a in answers} == {200}, answers
    assert Counter(a["status"] for a in answers) == {"accepted": 60, "duplicate": 60}
    assert services.sql("SELECT count(*), count(applied_at) FROM livecalls_webhookevent WHERE account_id = %s",
                        (account["id"],))[0] == (60, 60)
    sessions = services.sql("SELECT s.state, s.last_event_seq, (SELECT count(*) FROM livecalls_leg l "
                            "WHERE l.session_id = s.id) FROM livecalls_callsession s WHERE s.account_id = %s",
                            (account["id"],))
    assert sorted(sessions) == [("on_hold", 3, 2)] * 20


# --- Campaign push with several workers ------------------------------------------------------


def test_two_workers_pushing_one_campaign_create_each_phone_once(services, cluster, launcher: Launcher):
    sandbox_reset(cluster.sandbox)
    # Each batch takes a while, so both workers really are inside the same push at once.
    sandbox_faults(cluster.sandbox, latency_ms=30)
    phones = _phones(300)
    campaign_id = campaign_with_jobs(services, cluster.sandbox, name="Scale two workers", phones=phones, batch_size=10)
    workers = [launcher.worker("worker-1"), launcher.worker("worker-2")]
    enqueue_push(services, campaign_id, times=2)

    wait_until(lambda: _unpushed(services, campaign_id) == 0, timeout=120, interval=0.5,
               what="every call job to carry a provider job id")
    assert all(w.alive() for w in workers), [w.tail() for w in workers]
    counts = _ledger_counts(cluster, phones)
    assert set(counts) == set(phones), f"{len(set(phones) - set(counts))} phones never reached the sandbox"
    assert [p for p, n in counts.items() if n != 1] == []
    # Both tasks ran, one on each worker.
    rows = wait_until(lambda: (r := services.sql(
        "SELECT status, worker_ids FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'campaigns.tasks.campaign_push_task'")) and all(s == "SUCCESSFUL" for s, _ in r) and r,
        timeout=30, what="both push tasks to finish")
    assert len(rows) == 2
    assert sorted(ids[0] for _, ids in rows) == ["worker-1", "worker-2"], rows
    (start_1, end_1), (start_2, end_2) = services.sql(
        "SELECT started_at, finished_at FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = 'campaigns.tasks.campaign_push_task'")
    assert start_1 < end_2 and start_2 < end_1, f"the two pushes did not overlap: {start_1}-{end_1}, {start_2}-{end_2}"
    assert services.sql("SELECT count(*) FROM campaigns_calljob WHERE campaign_id = %s AND job_status = 'pending'",
                        (campaign_id,))[0][0] == 0


def test_a_worker_killed_mid_push_and_restarted_leaves_no_gap_and_no_duplicate(services, cluster, launcher: Launcher):
    sandbox_reset(cluster.sandbox)
    sandbox_faults(cluster.sandbox, latency_ms=250)  # ~4 batches a second: time to kill mid-push
    phones = _phones(300)
    campaign_id = campaign_with_jobs(services, cluster.sandbox, name="Scale killed worker", phones=phones, batch_size=10)
    first = launcher.worker("worker-doomed")
    enqueue_push(services, campaign_id)

    def sent_batches() -> int:
        return services.sql("SELECT count(*) FROM campaigns_pushbatch WHERE campaign_id = %s AND state = 'sent'",
                            (campaign_id,))[0][0]

    def in_flight() -> list[tuple[int, list[dict]]]:
        # A batch whose attempt is counted but whose answer is not recorded: its addPhones
        # request is on the wire (the sandbox holds each one 250 ms).
        return services.sql("SELECT id, request_body FROM campaigns_pushbatch WHERE campaign_id = %s "
                            "AND state = 'pending' AND attempts >= 1", (campaign_id,))

    wait_until(lambda: sent_batches() >= 3 and in_flight(), timeout=60, interval=0.02,
               what="the first batches sent and the next one on the wire")
    time.sleep(0.05)
    first.kill()  # SIGKILL to the worker's process group: no cleanup, no goodbye
    first.popen.wait(10)
    sent_at_kill = sent_batches()
    assert 0 < _unpushed(services, campaign_id) < len(phones), "the kill came too late to test anything"
    # The interrupted request still lands at the provider: the worst case, jobs created
    # there and not recorded here.
    interrupted = [item["phone"] for _, body in in_flight() for item in body]
    assert interrupted, "no batch was in flight when the worker died"
    wait_until(lambda: set(_ledger_counts(cluster, interrupted)) == set(interrupted), timeout=5,
               what="the interrupted batch to be created at the sandbox anyway")

    # Start a worker and push again by hand: this test is about the batch keys; the
    # push resuming by itself (scheduler, reaper) is tests/soak/'s. The new worker fails
    # the killed task's row as it starts, so it is never picked up twice.
    sandbox_faults(cluster.sandbox)  # no latency: finish fast
    launcher.worker("worker-restarted")
    enqueue_push(services, campaign_id)
    wait_until(lambda: _unpushed(services, campaign_id) == 0, timeout=120, interval=0.5,
               what="every call job to carry a provider job id after the restart")

    counts = _ledger_counts(cluster, phones)
    missing = set(phones) - set(counts)
    assert not missing, f"{len(missing)} phones never reached the sandbox"
    assert [p for p, n in counts.items() if n != 1] == [], "a phone was created twice at the provider"
    ids = services.sql("SELECT provider_job_id FROM campaigns_calljob WHERE campaign_id = %s", (campaign_id,))
    assert len({i for (i,) in ids}) == len(phones)  # each job its own provider job
    assert sent_batches() >= sent_at_kill


# --- The import's writer on PostgreSQL --------------------------------------------------------


@pytest.mark.parametrize("writer_process", [False, True], ids=["writer-in-process", "writer-process"])
def test_an_import_writes_call_jobs_once_on_postgresql(services, cluster, writer_process):
    """The import's PostgreSQL branches through a real import: the writer (multi-row
    INSERT, jsonb, exact counts; here and in a writer process of its own, as a big list
    would have) and the three phone checks (arrays as one parameter): a phone already in
    the campaign, one called lately in another campaign, one on the do-not-call list."""
    phones = _phones(6000)  # more than one multi-row statement; consecutive, so built in the shell
    result = django_shell(services, f"""
import json
rows = "\\n".join(f"+{{{int(phones[0])} + i}},Customer {{i}},{{i}}.50" for i in range({len(phones)}))
from collections import Counter
from django.core.files.base import ContentFile
from django.db import connection
from campaigns.models import CallJob, Campaign, CampaignStatusCount, DoNotCallEntry, NumberList
from campaigns.services.counts import status_counts_apply
from campaigns.services import job_writer
from campaigns.services.imports import number_list_import_run
from dashboard.models import ProviderAccount
assert connection.vendor == "postgresql"
job_writer.WRITER_PROCESS_MIN_BYTES = 0 if {writer_process} else 1 << 40
job_writer.IMPORT_BATCH_ROWS = 2500  # three commits
account = ProviderAccount.objects.create(kind="jaicp", name="import-pg-{writer_process}",
                                         base_url="http://127.0.0.1:9/jaicp")
campaign = Campaign.objects.create(account=account, name="import-pg-{writer_process}", token="import-pg-{writer_process}")
other = Campaign.objects.create(account=account, name="import-pg-other-{writer_process}",
                                token="import-pg-other-{writer_process}")
CallJob.objects.create(campaign=campaign, phone={phones[0]!r}, phone_e164="+" + {phones[0]!r})
CallJob.objects.create(campaign=other, phone={phones[1]!r}, phone_e164="+" + {phones[1]!r})
DoNotCallEntry.objects.create(phone_e164="+" + {phones[2]!r})
status_counts_apply(campaign_id=campaign.pk, delta=Counter({{"pending": 1}}))
nl = NumberList(campaign=campaign, original_name="list.csv", default_region="US", state="importing",
                recent_days=7, mapping={{"phone": "phone", "payload": ["name", "sum"]}})
nl.file.save("list.csv", ContentFile(("phone,name,sum\\n" + rows).encode()), save=True)
summary = number_list_import_run(number_list=nl)
job = CallJob.objects.get(campaign=campaign, phone_e164="+" + {phones[3]!r})
with connection.cursor() as cur:
    cur.execute("SELECT payload->>'name' FROM campaigns_calljob WHERE id = %s", [job.pk])
    name = cur.fetchone()[0]
counts = dict(CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count"))
nl.refresh_from_db()
assert (nl.state, nl.rows_done) == ("imported", 6000), (nl.state, nl.rows_done, nl.error)
print(json.dumps({{"stored": CallJob.objects.filter(campaign=campaign).count(), "counts": counts,
                  "accepted": summary.valid, "reasons": summary.invalid_by_reason, "name": name,
                  "payload": job.payload}}))
""")
    assert result["stored"] == 5998 and result["counts"] == {"pending": 5998}, result
    assert result["accepted"] == 5997
    assert result["reasons"] == {"duplicate_in_campaign": 1, "duplicate_recent": 1, "do_not_call": 1}, result
    assert result["name"] == "Customer 3" and result["payload"] == {"name": "Customer 3", "sum": "3.50"}
