"""The audit log: one function writes it, so every action is recorded the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.models import AuditEntry, ProviderAccount

_SECRET_HINTS = ("password", "secret", "token", "access_key", "api_key", "authorization")


def scrub(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as recorded: anything that looks like a credential is replaced."""
    clean: dict[str, Any] = {}
    for key, value in parameters.items():
        if any(h in key.lower() for h in _SECRET_HINTS):
            clean[key] = "***"
        elif isinstance(value, Mapping):
            clean[key] = scrub(value)
        else:
            clean[key] = value
    return clean


def audit_record(
    *,
    user: Any,
    action: str,
    result: str,
    account: ProviderAccount | None = None,
    target: str = "",
    parameters: Mapping[str, Any] | None = None,
    error: Any = None,
    message: str = "",
    latency_ms: float | None = None,
) -> AuditEntry:
    """``error`` may be a ProviderError; its code and mnemonic are kept for support."""
    code = mnemonic = ""
    if error is not None:
        code = "" if getattr(error, "code", None) is None else str(error.code)
        mnemonic = getattr(error, "mnemonic", None) or ""
        message = message or (error.describe() if hasattr(error, "describe") else str(error))
    return AuditEntry.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        account=account,
        action=action,
        target=target[:200],
        parameters=scrub(parameters or {}),
        result=result,
        provider_code=code[:40],
        provider_mnemonic=mnemonic[:80],
        message=message,
        latency_ms=latency_ms,
    )
