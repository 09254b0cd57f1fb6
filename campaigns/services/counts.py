"""Status counts per campaign, moved by the same transaction that moves the jobs."""

from __future__ import annotations

from collections import Counter

from django.db.models import F

from campaigns.models import CampaignStatusCount


def status_counts_apply(*, campaign_id: int, delta: Counter[str]) -> None:
    """Add ``delta[status]`` to each status's count (negative moves jobs out). Call inside
    the transaction that changed the jobs, so counts and rows never disagree."""
    for status, change in delta.items():
        if not change:
            continue
        updated = CampaignStatusCount.objects.filter(campaign_id=campaign_id, status=status).update(
            count=F("count") + change
        )
        if not updated:
            CampaignStatusCount.objects.create(campaign_id=campaign_id, status=status, count=change)


def status_counts_rebuild(*, campaign_id: int) -> dict[str, int]:
    """Recount from the job table (repair tool; never on a page view)."""
    from django.db.models import Count

    from campaigns.models import CallJob

    counts = dict(
        CallJob.objects.filter(campaign_id=campaign_id).values_list("job_status").annotate(n=Count("id")).values_list("job_status", "n")
    )
    CampaignStatusCount.objects.filter(campaign_id=campaign_id).delete()
    CampaignStatusCount.objects.bulk_create(
        CampaignStatusCount(campaign_id=campaign_id, status=s, count=n) for s, n in counts.items()
    )
    return counts
