"""Campaign background work, on Django's tasks framework (django-tasks-db)."""

from __future__ import annotations

import logging
from typing import Any

from django.tasks import task

from campaigns.models import Campaign
from dashboard.tasking import on_worker_lost

logger = logging.getLogger(__name__)


@task()
def campaign_push_task(campaign_id: int) -> dict[str, Any]:
    from campaigns.services.live import campaign_progress_broadcast
    from campaigns.services.push import campaign_push

    campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
    outcome = campaign_push(campaign=campaign)
    campaign_progress_broadcast(campaign=campaign)
    if outcome.stopped:
        # Transient provider trouble: try again shortly, the pending batch keeps its key;
        # the wait doubles with the batch's attempts (2, 4 ... 30 s) so an outage is not hammered.
        from campaigns.models import PushBatch

        attempts = PushBatch.objects.filter(campaign_id=campaign_id, state=PushBatch.State.PENDING).order_by(
            "pk").values_list("attempts", flat=True).first() or 1
        campaign_push_task.using(run_after=_soon(min(30, 2 ** min(attempts, 5)))).enqueue(campaign_id)
    return {"sent": outcome.batches_sent, "pushed": outcome.jobs_pushed, "rejected": outcome.jobs_rejected,
            "failed": outcome.batches_failed, "stopped": outcome.stopped}


@task()
def campaign_reports_sync_task(campaign_id: int) -> dict[str, Any]:
    from campaigns.services.control import campaign_info_sync
    from campaigns.services.live import campaign_progress_broadcast
    from campaigns.services.reports import campaign_reports_sync
    from dashboard.providers.base import ProviderError

    campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
    outcome = campaign_reports_sync(campaign=campaign)
    old_status, old_info = campaign.provider_status, campaign.provider_info
    try:
        campaign_info_sync(campaign=campaign)
    except ProviderError as exc:
        logger.warning("campaign %s info not read: %s", campaign_id, exc.describe())
    if outcome.moved or (campaign.provider_status, campaign.provider_info) != (old_status, old_info):
        campaign_progress_broadcast(campaign=campaign)
    return {"read": outcome.reports_read, "updated": outcome.jobs_updated, "error": outcome.error}


def push_resume_tick() -> int:
    """Called by the scheduler: a push that a crash, a restart or an outage interrupted goes
    on by itself (a push already waiting, a retry after a provider error included, is left
    to run)."""
    from campaigns.services.push import campaigns_to_resume
    from dashboard.tasking import enqueue_once

    return sum(enqueue_once(campaign_push_task, pk) for pk in campaigns_to_resume())


def reports_sync_tick() -> int:
    """Called by the scheduler: one sync per campaign with pushed jobs, never two at once."""
    from dashboard.tasking import enqueue_once

    ids = Campaign.objects.filter(call_jobs__provider_job_id__gt="").values_list("pk", flat=True).distinct()
    return sum(enqueue_once(campaign_reports_sync_task, pk) for pk in ids)


def _soon(seconds: float):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(seconds=seconds)


@task()
def number_lists_import_task(campaign_id: int) -> dict[str, Any]:
    """Import the campaign's queued lists one after another."""
    from campaigns.services.imports import number_list_claim_next, number_list_import_run
    from campaigns.services.live import campaign_progress_broadcast, number_list_progress_broadcast

    done = []
    while (number_list := number_list_claim_next(campaign_id=campaign_id)) is not None:
        number_list_progress_broadcast(number_list=number_list)
        try:
            summary = number_list_import_run(
                number_list=number_list, on_progress=lambda nl: number_list_progress_broadcast(number_list=nl))
            done.append({"list": number_list.pk, "valid": summary.valid, "invalid": summary.invalid})
        except Exception:
            logger.exception("number list %s failed to import", number_list.pk)
            done.append({"list": number_list.pk, "failed": True})
        campaign_progress_broadcast(campaign=number_list.campaign)
    return {"imported": done}


@on_worker_lost(number_lists_import_task)
def number_lists_import_lost(args: list[Any]) -> None:
    """The worker died mid-import: its list would stay "importing" and block the
    campaign's queue. The rows committed so far stay; the list says what happened."""
    from campaigns.services.imports import number_lists_interrupted

    number_lists_interrupted(campaign_id=args[0])
