"""Report sync: JAICP's reports read into call jobs, attempts, counts and snapshots.

A periodic sync asks for what changed, not for everything: jobs finished since the
watermark (callJob/getReportByDate, walked in time windows so no window passes the
API's 200-page ceiling) and the unfinished ones (callJob/getUnfinished). Specific jobs
(a cancel, a job's detail) are read by id with callJob/getReport and
callAttempt/getReport. A final status is never moved back by an older report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from campaigns.models import (
    FINAL_STATUSES,
    CallAttempt,
    CallJob,
    Campaign,
    CampaignSnapshot,
    CampaignStatusCount,
)
from campaigns.services.counts import status_counts_apply
from dashboard.providers import accounts
from dashboard.providers.base import ProviderError
from dashboard.providers.jaicp.models import CallAttemptReport, CallJobReport

logger = logging.getLogger(__name__)

WATERMARK_MARGIN = timedelta(minutes=2)  # reports may land a little after finishedAt
FIRST_WINDOW = timedelta(hours=6)
MIN_WINDOW = timedelta(seconds=30)
CHUNK = 1000


@dataclass
class SyncOutcome:
    reports_read: int = 0
    jobs_updated: int = 0
    moved: Counter[str] = field(default_factory=Counter)
    error: str = ""


_REPORTED = ("job_status", "attempts_count", "call_duration", "tag_name", "report_data", "finished_at")


def _job_fields(job: CallJob, report: CallJobReport, now: datetime) -> str | None:
    """Copy a report onto a job (``last_report_at``: when its report last changed);
    returns the job's old status if the status moved."""
    new_status = report.job_status or job.job_status
    old_status = job.job_status
    if old_status in FINAL_STATUSES and new_status not in FINAL_STATUSES:
        new_status = old_status  # an older report arriving late: keep the final word
    job.job_status = new_status
    job.attempts_count = max(job.attempts_count, report.attempts_count or 0)
    job.call_duration = report.call_duration
    job.tag_name = report.tag_name or ""
    job.report_data = report.report_data
    job.finished_at = report.finished_at or job.finished_at
    return old_status if old_status != new_status else None


def call_job_reports_apply(*, campaign: Campaign, reports: Iterable[CallJobReport]) -> SyncOutcome:
    """Apply job reports in chunks, each chunk one transaction with its count moves."""
    outcome = SyncOutcome()
    batch: list[CallJobReport] = []

    def flush() -> None:
        if not batch:
            return
        now = timezone.now()
        by_id = {r.call_job_id: r for r in batch}
        with transaction.atomic():
            jobs = list(CallJob.objects.filter(campaign=campaign, provider_job_id__in=list(by_id)))
            delta: Counter[str] = Counter()
            changed = []
            for job in jobs:
                before = [getattr(job, name) for name in _REPORTED]
                old = _job_fields(job, by_id[job.provider_job_id], now)
                if old is not None:
                    delta[old] -= 1
                    delta[job.job_status] += 1
                if [getattr(job, name) for name in _REPORTED] != before:
                    job.last_report_at = now
                    changed.append(job)
            # Only what a report changed: every sync reads all unfinished jobs, and
            # rewriting them all held SQLite's write lock for seconds at a time (the
            # scheduler, and so reconcile, waited behind it: tests/soak).
            CallJob.objects.bulk_update(changed, [*_REPORTED, "last_report_at"], batch_size=CHUNK)
            status_counts_apply(campaign_id=campaign.pk, delta=delta)
        outcome.reports_read += len(batch)
        outcome.jobs_updated += len(changed)
        outcome.moved.update(delta)
        batch.clear()

    for report in reports:
        batch.append(report)
        if len(batch) >= CHUNK:
            flush()
    flush()
    return outcome


async def _finished_since(client, since: datetime, now: datetime) -> list[CallJobReport]:
    """Every job finished since ``since``, in windows small enough for the API's ceiling.
    The last window has no upper bound, so a provider clock a little ahead of ours loses
    nothing."""
    found: list[CallJobReport] = []
    start, window = since, FIRST_WINDOW
    while start is not None:
        end = start + window if start + window < now else None
        try:
            found.extend([r async for r in client.iter_call_job_report_by_date(finished_at_from=start, finished_at_to=end)])
        except ProviderError as exc:
            if exc.code == "report.too.large" and window > MIN_WINDOW:
                window /= 4
                continue
            raise
        start = end
    return found


def campaign_reports_sync(*, campaign: Campaign) -> SyncOutcome:
    """One periodic sync of a campaign's reports."""
    if not campaign.call_jobs.exclude(provider_job_id="").exists():
        return SyncOutcome()
    now = timezone.now()
    since = (campaign.reports_synced_at or campaign.created_at - timedelta(days=1)) - WATERMARK_MARGIN

    async def fetch() -> tuple[list[CallJobReport], list[CallJobReport]]:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            finished = await _finished_since(client, since, now)
            try:
                unfinished = [r async for r in client.iter_call_job_unfinished()]
            except ProviderError as exc:
                if exc.code != "report.too.large":
                    raise
                # Over 40,000 open jobs: their statuses stay as they are until they finish.
                unfinished = []
            return finished, unfinished

    try:
        finished, unfinished = accounts.run(fetch)
    except ProviderError as exc:
        Campaign.objects.filter(pk=campaign.pk).update(last_error=exc.describe())
        return SyncOutcome(error=exc.describe())
    outcome = call_job_reports_apply(campaign=campaign, reports=[*unfinished, *finished])
    Campaign.objects.filter(pk=campaign.pk).update(reports_synced_at=now, last_error="")
    campaign.reports_synced_at = now
    if outcome.moved or not campaign.snapshots.exists():
        campaign_snapshot_take(campaign=campaign)
    return outcome


def campaign_snapshot_take(*, campaign: Campaign) -> CampaignSnapshot:
    counts = dict(CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count"))
    return CampaignSnapshot.objects.create(campaign=campaign, taken_at=timezone.now(), counts=counts)


def _attempts_store(job: CallJob, attempts: Sequence[CallAttemptReport]) -> None:
    for a in attempts:
        CallAttempt.objects.update_or_create(
            call_job=job, attempt_number=a.attempt_number,
            defaults={"call_result": a.call_result or "", "job_status": a.job_status or "",
                      "call_duration": a.call_duration, "started_at": a.started_at, "finished_at": a.finished_at,
                      "tag_name": a.tag_name or "", "report_data": a.report_data},
        )


def call_jobs_refresh(*, campaign: Campaign, jobs: Sequence[CallJob], with_attempts: bool = False) -> SyncOutcome:
    """Read specific jobs (and optionally their attempts) by provider id."""
    ids = [j.provider_job_id for j in jobs if j.provider_job_id]
    if not ids:
        return SyncOutcome()

    async def fetch() -> tuple[list[CallJobReport], list[CallAttemptReport]]:
        async with accounts.open_jaicp(campaign.account, campaign.token) as client:
            reports = await client.call_job_report(ids=ids)
            attempts = await client.call_attempt_report(ids=ids) if with_attempts else []
            return reports, attempts

    reports, attempts = accounts.run(fetch)
    outcome = call_job_reports_apply(campaign=campaign, reports=reports)
    if with_attempts:
        by_id = {j.provider_job_id: j for j in jobs}
        grouped: dict[str, list[CallAttemptReport]] = {}
        for a in attempts:
            grouped.setdefault(a.call_job_id, []).append(a)
        for job_id, items in grouped.items():
            if job_id in by_id:
                _attempts_store(by_id[job_id], items)
    return outcome
