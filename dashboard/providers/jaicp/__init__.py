"""JAICP Calls API: the async client, its sandbox twin, and gmtZone helpers."""

from __future__ import annotations

from .client import JaicpClient, JaicpError
from .gmtzone import GmtZoneError, check_gmt_zone, is_valid_gmt_zone, parse_gmt_zone, utc_offset
from .models import CallAttemptReport, CallJobParameters, CallJobReport, CampaignInfo, ReportPage

__all__ = [
    "CallAttemptReport",
    "CallJobParameters",
    "CallJobReport",
    "CampaignInfo",
    "GmtZoneError",
    "JaicpClient",
    "JaicpError",
    "ReportPage",
    "check_gmt_zone",
    "is_valid_gmt_zone",
    "parse_gmt_zone",
    "utc_offset",
]
