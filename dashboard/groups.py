"""Channels group names, built in one place."""

from __future__ import annotations

ANNOUNCEMENTS = "announcements"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
