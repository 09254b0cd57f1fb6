"""Campaign control and cancelling call jobs, through the JAICP client, audited."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from campaigns.models import CallJob, Campaign
from dashboard.audit import audit_record
from dashboard.models import AuditEntry
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError
from dashboard.providers.jaicp.models import CampaignInfo
from dashboard.services import ActionResult

ACTIONS = ("start", "pause", "resume", "stop")
ACTION_DONE = {"start": "started", "pause": "paused", "resume": "resumed", "stop": "stopped"}


def _store_info(campaign: Campaign, info: CampaignInfo) -> None:
    campaign.provider_status = info.status or ""
    campaign.provider_info = {
        "id": info.id, "name": info.name, "project_name": info.project_name, "bot_id": info.bot_id,
        "creation_date": info.creation_date.isoformat() if info.creation_date else None,
        "start_time": info.start_time.isoformat() if info.start_time else None,
        "end_time": info.end_time.isoformat() if info.end_time else None,
        "max_simultaneous_calls": info.max_simultaneous_calls,
        "short_report": {
            "total_numbers": info.short_report.total_numbers,
            "processed_numbers": info.short_report.processed_numbers,
            "in_process_calls": info.short_report.in_process_calls,
            "retry_calls": info.short_report.retry_calls,
            "used_talking_time": info.short_report.used_talking_time,
        },
    }
    campaign.info_synced_at = timezone.now()
    campaign.save(update_fields=["provider_status", "provider_info", "info_synced_at"])


def campaign_info_sync(*, campaign: Campaign) -> CampaignInfo:
    async def fetch() -> CampaignInfo:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            return await client.campaign_info()

    info = accounts.run(fetch)
    _store_info(campaign, info)
    return info


def campaign_control(*, campaign: Campaign, action: str, user: Any) -> ActionResult:
    """start, pause, resume or stop, then read the campaign back so the page shows what
    JAICP now says rather than what we asked for."""
    if action not in ACTIONS:
        raise ValueError(f"unknown campaign action {action!r}")
    started = time.perf_counter()

    async def act() -> CampaignInfo:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            await client.control(action, idempotence_key=uuid.uuid4().hex)
            return await client.campaign_info()

    try:
        info = accounts.run(act)
        _store_info(campaign, info)
        result = ActionResult(True, f"Campaign {ACTION_DONE[action]}; JAICP reports it {info.status or 'unknown'}.",
                              (time.perf_counter() - started) * 1000)
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), (time.perf_counter() - started) * 1000, error=exc)
    audit_record(
        user=user, action=f"campaign.{action}", account=campaign.account, target=campaign.name,
        parameters={"campaign": campaign.pk}, result=AuditEntry.Result.OK if result.ok else AuditEntry.Result.ERROR,
        error=result.error, message=result.summary, latency_ms=result.latency_ms,
    )
    return result


def call_jobs_cancel(*, campaign: Campaign, job_ids: Sequence[int], user: Any) -> ActionResult:
    """Cancel pushed jobs at JAICP (ongoing calls finish; no new attempt starts), then read
    their reports back so each shows the status JAICP gives it."""
    from campaigns.services.reports import call_jobs_refresh

    jobs = list(CallJob.objects.filter(campaign=campaign, pk__in=job_ids).exclude(provider_job_id=""))
    if not jobs:
        return ActionResult(False, "None of the selected numbers has been pushed yet, so there is nothing to cancel.")
    started = time.perf_counter()

    async def cancel() -> list[str]:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            return await client.cancel(ids=[j.provider_job_id for j in jobs], idempotence_key=uuid.uuid4().hex)

    try:
        cancelled = accounts.run(cancel)
        call_jobs_refresh(campaign=campaign, jobs=jobs)
        skipped = len(jobs) - len(cancelled)
        text = f"Cancelled {len(cancelled)} call job(s)."
        if skipped:
            text += f" {skipped} had already finished."
        result = ActionResult(True, text, (time.perf_counter() - started) * 1000,
                              details={"cancelled": cancelled})
    except ProviderError as exc:
        result = ActionResult(False, exc.describe(), (time.perf_counter() - started) * 1000, error=exc)
    audit_record(
        user=user, action="campaign.cancel_jobs", account=campaign.account, target=campaign.name,
        parameters={"campaign": campaign.pk, "phones": [j.phone_e164 for j in jobs][:50], "count": len(jobs)},
        result=AuditEntry.Result.OK if result.ok else AuditEntry.Result.ERROR,
        error=result.error, message=result.summary, latency_ms=result.latency_ms,
    )
    return result
