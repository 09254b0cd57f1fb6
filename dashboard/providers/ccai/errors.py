"""CCAI errors as one typed ProviderError.

The API has no error codes: a 400 carries only ``{"message": "..."}``. We keep the HTTP
status as ``code`` and derive a stable ``mnemonic`` and the ``field`` from the message text,
so the dashboard can react to "agent not available" without matching strings itself.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.providers.base import ProviderError, ProviderUnavailable

from .rules import Msg

__all__ = ["PROVIDER", "CcaiError", "CcaiRateLimited", "CcaiUnavailable", "error_from_message"]

PROVIDER = "ccai"


class CcaiError(ProviderError):
    """A CCAI Platform error (an answer of the API, or a rule the client checked first)."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("provider", PROVIDER)
        super().__init__(message, **kwargs)


class CcaiUnavailable(ProviderUnavailable):
    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("provider", PROVIDER)
        super().__init__(message, **kwargs)


class CcaiRateLimited(CcaiUnavailable):
    """429 after every allowed wait: transient, try again later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("mnemonic", "rate_limited")
        kwargs.setdefault("status", 429)
        kwargs.setdefault("code", 429)
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def _exact(text: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(text) + "$")


def _template(text: str, name: str) -> re.Pattern[str]:
    head, _, tail = text.partition("{" + name + "}")
    return re.compile("^" + re.escape(head) + f"(?P<{name}>.*?)" + re.escape(tail) + "$")


# message pattern -> (mnemonic, field, permanent). Not permanent: the same request can
# succeed later without changing it (the agent frees up, the menu reopens).
_KNOWN: list[tuple[re.Pattern[str], str, str | None, bool]] = [
    (_exact(Msg.INVALID_CALL_TYPE), "invalid_call_type", "call_type", True),
    (_exact(Msg.AGENT_EMAIL_REQUIRED), "agent_email_required", "agent_email", True),
    (_exact(Msg.NOT_A_VALID_AGENT_EMAIL), "invalid_agent_email", "agent_email", True),
    (_exact(Msg.AGENT_NO_ACCESS), "agent_cannot_call", "agent_email", True),
    (_exact(Msg.AGENT_NOT_AVAILABLE), "agent_not_available", "agent_email", False),
    (_exact(Msg.TICKET_OR_NUMBER_REQUIRED), "end_user_required", "end_user_number", True),
    (_exact(Msg.OUTBOUND_NUMBER_MALFORMED), "invalid_end_user_number", "end_user_number", True),
    (_exact(Msg.NUMBER_MALFORMED), "invalid_end_user_number", "end_user_number", True),
    (_exact(Msg.NUMBER_REQUIRED), "end_user_number_required", "end_user_number", True),
    (_exact(Msg.CONTACT_NOT_FOUND), "contact_not_found", "ticket_id", True),
    (_exact(Msg.MENU_ID_REQUIRED), "menu_id_required", "menu_id", True),
    (_exact(Msg.MENU_ID_MALFORMED), "invalid_menu_id", "menu_id", True),
    (_template(Msg.MENU_NOT_FOUND, "menu_id"), "menu_not_found", "menu_id", True),
    (_exact(Msg.INBOUND_MENU_TYPES), "menu_type_not_permitted", "menu_id", True),
    (_exact(Msg.SCHEDULED_MENU_TYPES), "menu_type_not_permitted", "menu_id", True),
    (_exact(Msg.MENU_MANUAL_REDIRECTION), "menu_manual_redirection", "menu_id", False),
    (_exact(Msg.MENU_AFTER_HOURS), "menu_after_hours", "menu_id", False),
    (_template(Msg.LANGUAGE_NOT_AVAILABLE, "lang"), "language_not_available", "lang", True),
    (_template(Msg.LANGUAGE_NOT_FOUND, "lang"), "language_not_found", "lang", True),
    (_exact(Msg.SCHEDULED_AT_REQUIRED), "scheduled_at_required", "scheduled_at", True),
    (_exact(Msg.SCHEDULED_AT_MALFORMED), "invalid_scheduled_at", "scheduled_at", True),
    (_exact(Msg.SCHEDULED_AT_NOT_FUTURE), "scheduled_at_not_future", "scheduled_at", True),
    (_exact(Msg.CALL_ID_MALFORMED), "invalid_call_id", "call_id", True),
    (_template(Msg.CALL_NOT_FOUND, "call_id"), "parent_call_not_found", "call_id", True),
    (
        _exact(Msg.RECORDING_PERMISSION_INVALID),
        "invalid_recording_permission",
        "recording_permission",
        True,
    ),
    (_template(Msg.FLAG_NOT_BOOLEAN, "flag"), "invalid_customer_flag", None, True),
]


def error_from_message(
    message: str,
    *,
    status: int | None,
    request: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> CcaiError:
    """A CcaiError for one ``message``; ``status`` None means the client refused locally."""
    for pattern, mnemonic, field, permanent in _KNOWN:
        found = pattern.match(message)
        if not found:
            continue
        groups = found.groupdict()
        if "flag" in groups:
            field = groups["flag"]
        value = None
        if groups:
            value = next(iter(groups.values()))
        elif request is not None and field is not None:
            value = request.get(field)
        return CcaiError(
            message,
            code=status,
            mnemonic=mnemonic,
            field=field,
            value=value,
            status=status,
            permanent=permanent,
            details=details,
        )
    return CcaiError(message, code=status, mnemonic="bad_request", status=status, details=details)
