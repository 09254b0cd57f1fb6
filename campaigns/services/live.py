"""What a campaign page shows live: counts, chart, push state and upload progress, pushed
as the same partials the page renders, swapped in place (hx-swap-oob)."""

from __future__ import annotations

from django.template.loader import render_to_string

from campaigns.models import Campaign, NumberList
from dashboard import groups
from dashboard.broadcast import perms_context, send_html


def campaign_live_context(*, campaign: Campaign) -> dict:
    from campaigns.charts import status_chart_svg
    from campaigns.selectors import campaign_counts, push_state

    snapshots = list(campaign.snapshots.order_by("-taken_at")[:120])[::-1]
    return {
        "campaign": campaign,
        "counts": campaign_counts(campaign=campaign),
        "push": push_state(campaign=campaign),
        "chart": status_chart_svg([(s.taken_at, s.counts) for s in snapshots]),
        "oob": True,
    }


LIVE_PARTIALS = ("campaign-counts", "campaign-chart", "campaign-push", "campaign-status")


def campaign_progress_broadcast(*, campaign: Campaign) -> None:
    context = campaign_live_context(campaign=campaign)

    def render(*codenames: str) -> str:
        ctx = {**context, **perms_context(*codenames)}
        return "".join(render_to_string(f"campaigns/campaign_detail.html#{name}", ctx) for name in LIVE_PARTIALS)

    send_html(groups.campaign_group(campaign.pk), render(), key=f"campaign-{campaign.pk}-live",
              variants={"control_campaigns": render("control_campaigns")})


def number_list_progress_broadcast(*, number_list: NumberList) -> None:
    html = render_to_string("campaigns/campaign_detail.html#number-list", {"nl": number_list, "oob": True})
    send_html(groups.campaign_group(number_list.campaign_id), html, key=f"number-list-{number_list.pk}")
