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


def calls_account_group(account_id: int) -> str:
    """Everyone who watches every call of an account (supervisors)."""
    return f"calls.account.{account_id}"


def calls_agent_group(user_id: int) -> str:
    """One agent's own calls."""
    return f"calls.agent.{user_id}"
