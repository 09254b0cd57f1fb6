"""The one sandbox of this process, built from settings on first use."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from dashboard.sandbox.app import SandboxApp


@cache
def get_embedded_sandbox() -> SandboxApp:
    return SandboxApp(prefix="/sandbox", seed=settings.SANDBOX_SEED, scale=settings.SANDBOX_TIME_SCALE)
