"""CallGear Call API v4.0: the async client, its typed errors and answers, the notification
templates, and (in sandbox.py, imported by the sandbox app) the twin."""

from __future__ import annotations

from .client import DEFAULT_BASE_URL, METHODS, CallGearClient
from .errors import CATALOGUE, CallGearError
from .models import ApiVersion, AuthSession, CallSession, Leg, Limits, Message, Tag, TalkOption
from .notifications import EVENT_TYPES, TEMPLATES, parse_notification, render, template_texts

__all__ = [
    "CATALOGUE",
    "DEFAULT_BASE_URL",
    "EVENT_TYPES",
    "METHODS",
    "TEMPLATES",
    "ApiVersion",
    "AuthSession",
    "CallGearClient",
    "CallGearError",
    "CallSession",
    "Leg",
    "Limits",
    "Message",
    "Tag",
    "TalkOption",
    "parse_notification",
    "render",
    "template_texts",
]
