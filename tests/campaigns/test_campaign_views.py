from __future__ import annotations

import pytest

from campaigns.models import CallJob, Campaign
from dashboard.models import AuditEntry as Audit
from tests.conftest import add_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def test_agents_see_no_campaign_pages(agent_client, campaign):
    for url in ["/campaigns/", f"/campaigns/{campaign.pk}/", "/campaigns/new/", f"/campaigns/{campaign.pk}/export.csv",
                f"/campaigns/{campaign.pk}/upload/", "/campaigns/do-not-call/"]:
        assert agent_client.get(url).status_code == 403, url
    assert agent_client.post(f"/campaigns/{campaign.pk}/control/start/").status_code == 403
    assert agent_client.post(f"/campaigns/{campaign.pk}/push/").status_code == 403


def test_supervisors_watch_and_control_but_do_not_administer(supervisor_client, campaign):
    assert supervisor_client.get(f"/campaigns/{campaign.pk}/").status_code == 200
    assert supervisor_client.get("/campaigns/new/").status_code == 403
    assert supervisor_client.get(f"/campaigns/{campaign.pk}/upload/").status_code == 403


def test_admin_creates_a_campaign_with_a_default_policy_and_the_token_is_never_shown(admin_client_, sandbox_accounts):
    response = admin_client_.post("/campaigns/new/", {
        "account": sandbox_accounts["jaicp"].pk, "name": "Winter", "token": "tok-secret-123", "push_batch_size": 200,
        "allowed_days": ["mon", "tue"], "local_time_from": "09:00", "local_time_to": "18:00", "max_attempts": 3,
    })
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="Winter")
    assert campaign.default_policy == {"allowedDays": ["mon", "tue"],
                                       "allowedTime": {"default": [{"localTimeFrom": "09:00", "localTimeTo": "18:00"}]},
                                       "maxAttempts": 3}
    for url in [f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/", "/campaigns/"]:
        assert "tok-secret-123" not in admin_client_.get(url).content.decode()


def test_a_reversed_calling_window_is_refused(admin_client_, sandbox_accounts):
    response = admin_client_.post("/campaigns/new/", {
        "account": sandbox_accounts["jaicp"].pk, "name": "W", "token": "t", "push_batch_size": 10,
        "local_time_from": "18:00", "local_time_to": "09:00"})
    assert response.status_code == 200
    assert "must end after it starts" in response.content.decode()


def test_detail_shows_counts_jobs_and_filters(admin_client_, campaign):
    add_jobs(campaign, ["+16505550100", "+16505550101"])
    page = admin_client_.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="campaign-counts"' in page and 'data-count="2"' in page
    assert "+16505550100" in page
    filtered = admin_client_.get(f"/campaigns/{campaign.pk}/?phone=0101", headers={"HX-Request": "true", "HX-Target": "jobs"})
    html = filtered.content.decode()
    assert "+16505550101" in html and "+16505550100" not in html
    assert "<html" not in html  # the partial only


def test_control_acts_through_jaicp_and_shows_its_answer(admin_client_, sandbox, sandbox_transport, campaign):
    response = admin_client_.post(f"/campaigns/{campaign.pk}/control/start/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Running" in response.content.decode()
    assert "Campaign started" in response["HX-Trigger"]
    campaign.refresh_from_db()
    assert campaign.provider_status == "inProgress"
    response = admin_client_.post(f"/campaigns/{campaign.pk}/control/resume/", headers={"HX-Request": "true"})
    assert '"level": "error"' in response["HX-Trigger"]  # resume while running: JAICP says no
    entry = Audit.objects.filter(action="campaign.resume").get()
    assert entry.result == "error" and entry.provider_mnemonic


def test_stop_without_javascript_goes_through_a_confirmation_page(admin_client_, sandbox_transport, campaign):
    page = admin_client_.get(f"/campaigns/{campaign.pk}/control/stop/").content.decode()
    assert "cannot be undone" in page
    assert admin_client_.post(f"/campaigns/{campaign.pk}/control/stop/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.provider_status == "finished"


def test_push_button_pushes_and_the_counts_move(admin_client_, sandbox_transport, campaign, immediate_tasks):
    add_jobs(campaign, ["+16505550100", "+16505550101", "+16505550102", "+16505550103"])
    response = admin_client_.post(f"/campaigns/{campaign.pk}/push/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert not CallJob.objects.filter(campaign=campaign, provider_job_id="").exists()
    page = admin_client_.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-testid="unbatched">0<' in page


def test_cancel_selected_cancels_at_jaicp(admin_client_, sandbox, sandbox_transport, campaign, immediate_tasks):
    jobs = add_jobs(campaign, ["+16505550100", "+16505550101"])
    admin_client_.post(f"/campaigns/{campaign.pk}/push/")
    response = admin_client_.post(f"/campaigns/{campaign.pk}/cancel/", {"job": [jobs[0].pk]}, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert "Cancelled 1 call job" in response["HX-Trigger"] and "jobs-changed" in response["HX-Trigger"]
    assert CallJob.objects.get(pk=jobs[0].pk).job_status == "cancelledByUser"
    assert CallJob.objects.get(pk=jobs[1].pk).job_status != "cancelledByUser"


def test_report_sync_moves_statuses_and_export_has_report_columns(admin_client_, sandbox, sandbox_transport, campaign,
                                                                  immediate_tasks):
    import asyncio

    from campaigns.services.reports import campaign_reports_sync

    add_jobs(campaign, [f"+1650555{n:04d}" for n in range(200, 210)], payload={"name": "Alex", "city": "=cmd"})
    admin_client_.post(f"/campaigns/{campaign.pk}/push/")
    admin_client_.post(f"/campaigns/{campaign.pk}/control/start/")
    asyncio.run(sandbox.settle(4 * 24 * 3600, step=300))  # past any weekend outside the window
    outcome = campaign_reports_sync(campaign=campaign)
    assert outcome.jobs_updated == 10 and not outcome.error
    # Nothing new to report: nothing rewritten (a sync held SQLite's write lock for
    # seconds rewriting every unfinished job each period).
    assert campaign_reports_sync(campaign=campaign).jobs_updated == 0
    statuses = set(CallJob.objects.filter(campaign=campaign).values_list("job_status", flat=True))
    assert statuses - {"planned"}, statuses
    from campaigns.models import CampaignStatusCount

    counts = dict(CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count"))
    assert sum(counts.values()) == 10 and counts.get("planned", 0) < 10
    assert campaign.snapshots.exists()
    export = b"".join(admin_client_.get(f"/campaigns/{campaign.pk}/export.csv")).decode()
    head = export.splitlines()[0]
    assert head.startswith("phone,job_id,status") and "payload.name" in head
    assert "'=cmd" in export  # formula injection neutralised


def test_a_campaign_page_socket_is_refused_to_agents(agent, campaign):
    from tests.conftest import socket_answer

    assert socket_answer(agent, f"/ws/live/?campaign={campaign.pk}") == (False, 4403)


def test_campaign_pushes_reach_the_campaign_page_with_controls_only_for_controllers(supervisor, campaign):
    import asyncio

    from channels.testing import WebsocketCommunicator
    from django.contrib.auth.models import Permission, User

    from campaigns.services.live import campaign_progress_broadcast
    from dashboard.consumers import LiveConsumer

    # Every role that sees campaigns controls them too; a user granted view only does not.
    watcher = User.objects.create_user("watcher", password="x")
    watcher.user_permissions.add(Permission.objects.get(codename="view_campaigns"))

    async def run():
        sockets = {}
        for name, user in (("supervisor", supervisor), ("watcher", watcher)):
            c = WebsocketCommunicator(LiveConsumer.as_asgi(), f"/ws/live/?campaign={campaign.pk}")
            c.scope["user"] = user
            assert (await c.connect())[0]
            await c.receive_from()
            sockets[name] = c
        from asgiref.sync import sync_to_async

        await sync_to_async(campaign_progress_broadcast)(campaign=campaign)
        got = {name: await c.receive_from() for name, c in sockets.items()}
        for c in sockets.values():
            await c.disconnect()
        return got

    got = asyncio.run(run())
    assert 'id="campaign-counts"' in got["watcher"] and 'hx-swap-oob="true"' in got["watcher"]
    assert "control-bar" in got["supervisor"] and "control-bar" not in got["watcher"]


def test_overview_shows_campaign_tiles_to_supervisors_only(supervisor_client, agent_client, campaign):
    add_jobs(campaign, ["+16505550100", "+16505550101"])
    page = supervisor_client.get("/").content.decode()
    assert "Push backlog" in page and "Running campaigns" in page and "Provider errors, last hour" in page
    assert "Push backlog" not in agent_client.get("/").content.decode()
