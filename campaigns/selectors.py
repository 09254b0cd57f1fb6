from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from campaigns.models import (
    JOB_STATUSES,
    CallJob,
    Campaign,
    CampaignStatusCount,
    NumberList,
    PushBatch,
)
from dashboard import sql

STATUS_LABELS = dict(JOB_STATUSES)


def phones_among(numbers: Collection[str], *, model: type[Model], where: str = "",
                 params: Sequence[Any] = ()) -> set[str]:
    """Which of ``numbers`` the table of ``model`` holds in its ``phone_e164`` column,
    with ``where`` (SQL with %s placeholders, ``params``) on top: one statement per
    batch, the list as one parameter (dashboard.sql.among). No ORDER BY: the answer is a
    set (with one, SQLite read a whole campaign in id order for every batch)."""
    if not numbers:
        return set()
    table = connection.ops.quote_name(model._meta.db_table)
    among, listed = sql.among("phone_e164", numbers)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone_e164 FROM {table} WHERE {among}{' AND ' + where if where else ''}",
                       [listed, *params])
        return {phone for (phone,) in cursor.fetchall()}

# How the wall groups the provider's statuses, in the order a campaign moves through them.
STATUS_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("waiting", "Waiting", ("pending", "planned")),
    ("calling", "Calling", ("inProcess", "onRetry")),
    ("reached", "Reached", ("longCallWithResult", "longCallWithNoResult")),
    ("unreached", "Not reached", ("noAnswer", "notDone", "nonexistentNumber", "technicalError", "unknown")),
    ("stopped", "Cancelled or refused", ("cancelledByUser", "rejected", "pushFailed", "doNotCall")),
]


@dataclass
class StatusCounts:
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def groups(self) -> list[dict[str, Any]]:
        total = self.total or 1
        out = []
        for key, label, statuses in STATUS_GROUPS:
            n = sum(self.by_status.get(s, 0) for s in statuses)
            out.append({"key": key, "label": label, "count": n, "percent": round(100 * n / total, 1),
                        "statuses": [(s, STATUS_LABELS[s], self.by_status.get(s, 0)) for s in statuses
                                     if self.by_status.get(s)]})
        return out

    def rows(self) -> list[tuple[str, str, int]]:
        return [(s, label, self.by_status.get(s, 0)) for s, label in JOB_STATUSES if self.by_status.get(s)]


def campaign_counts(*, campaign: Campaign) -> StatusCounts:
    rows = CampaignStatusCount.objects.filter(campaign=campaign).values_list("status", "count")
    return StatusCounts({s: n for s, n in rows if n})


def campaign_list() -> list[tuple[Campaign, StatusCounts]]:
    campaigns = list(Campaign.objects.select_related("account").prefetch_related("status_counts"))
    return [(c, StatusCounts({sc.status: sc.count for sc in c.status_counts.all() if sc.count})) for c in campaigns]


PAGE_SIZE = 50


@dataclass
class JobPage:
    jobs: list[CallJob]
    after: int | None  # cursor of the next page (older ids first: we list by id)
    before: int | None
    total: int | None  # known without counting the table when filtering by status only


def call_job_page(*, campaign: Campaign, status: str = "", phone: str = "", after: int | None = None,
                  before: int | None = None, counts: StatusCounts | None = None) -> JobPage:
    """Keyset pagination by id: cheap on a million jobs, unlike OFFSET and COUNT(*)."""
    qs: QuerySet[CallJob] = CallJob.objects.filter(campaign=campaign)
    if status:
        qs = qs.filter(job_status=status)
    if phone:
        digits = "".join(ch for ch in phone if ch.isdigit())
        qs = qs.filter(phone__contains=digits) if digits else qs.none()
    if before is not None:
        jobs = list(qs.filter(pk__lt=before).order_by("-pk")[: PAGE_SIZE + 1])
        has_more_back = len(jobs) > PAGE_SIZE
        jobs = list(reversed(jobs[:PAGE_SIZE]))
        next_after = jobs[-1].pk if jobs else None
        prev_before = jobs[0].pk if jobs and has_more_back else None
    else:
        if after is not None:
            qs = qs.filter(pk__gt=after)
        jobs = list(qs.order_by("pk")[: PAGE_SIZE + 1])
        has_more = len(jobs) > PAGE_SIZE
        jobs = jobs[:PAGE_SIZE]
        next_after = jobs[-1].pk if jobs and has_more else None
        prev_before = jobs[0].pk if jobs and after is not None else None
    total = None
    if not phone and counts is not None:
        total = counts.by_status.get(status, 0) if status else counts.total
    return JobPage(jobs, next_after, prev_before, total)


def number_lists(*, campaign: Campaign) -> QuerySet[NumberList]:
    return NumberList.objects.filter(campaign=campaign).select_related("uploaded_by")[:20]


def push_state(*, campaign: Campaign) -> dict[str, Any]:
    pending = CallJob.objects.filter(campaign=campaign, job_status="pending", push_batch__isnull=True).count()
    batches = PushBatch.objects.filter(campaign=campaign)
    held = dict(CampaignStatusCount.objects.filter(campaign=campaign, status__in=["pushFailed", "doNotCall"])
                .values_list("status", "count"))
    return {
        "requested": campaign.push_requested_at is not None,
        "push_failed": held.get("pushFailed", 0),
        "do_not_call": held.get("doNotCall", 0),
        "unbatched": pending,
        "batches_pending": batches.filter(state=PushBatch.State.PENDING).count(),
        "failed": list(batches.filter(state=PushBatch.State.FAILED).order_by("-pk")[:10]),
        "sent": batches.filter(state=PushBatch.State.SENT).count(),
    }


def overview_tiles() -> dict[str, Any]:
    """The overview's campaign tiles: bounded queries only (counts table, today's
    finished jobs through their index, the last hour's failures)."""
    from datetime import timedelta

    from django.db.models import Count, Sum
    from django.utils import timezone

    from dashboard.models import AuditEntry

    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = now - timedelta(hours=1)
    running = list(Campaign.objects.filter(provider_status__in=["inProgress", "inProcess"]).order_by("name"))
    finished_today = dict(
        CallJob.objects.filter(finished_at__gte=today).values_list("job_status").annotate(n=Count("id"))
        .values_list("job_status", "n")
    )
    in_progress = CampaignStatusCount.objects.filter(status__in=["inProcess", "onRetry"]).aggregate(n=Sum("count"))["n"] or 0
    backlog = CampaignStatusCount.objects.filter(status="pending").aggregate(n=Sum("count"))["n"] or 0
    failed_batches = PushBatch.objects.filter(state=PushBatch.State.FAILED, created_at__gte=hour_ago).count()
    errors = AuditEntry.objects.filter(result=AuditEntry.Result.ERROR, created_at__gte=hour_ago)
    return {
        "running": running,
        "today": StatusCounts(finished_today),
        "in_progress": in_progress,
        "backlog": backlog,
        "batches_in_flight": PushBatch.objects.filter(state=PushBatch.State.PENDING).count(),
        "failed_batches": failed_batches,
        "errors_last_hour": errors.count() + failed_batches,
        "recent_errors": list(errors.select_related("account")[:5]),
        "sync_errors": list(Campaign.objects.exclude(last_error="").values_list("name", "last_error")[:5]),
    }
