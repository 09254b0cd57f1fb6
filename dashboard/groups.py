"""Channels group names, built in one place."""

from __future__ import annotations

ANNOUNCEMENTS = "announcements"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def campaign_group(campaign_id: int) -> str:
    return f"campaign.{campaign_id}"


def campaigns_group() -> str:
    """Everyone watching the campaign list or the overview tiles."""
    return "campaigns"
