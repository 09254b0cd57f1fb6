from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from dashboard.sandbox.app import SandboxApp
from dashboard.sandbox.sim import ManualClock


class Command(BaseCommand):
    help = "Serve the provider sandbox (JAICP, CallGear, CCAI) alone on a port."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--seed", type=int, default=settings.SANDBOX_SEED)
        parser.add_argument("--scale", type=float, default=settings.SANDBOX_TIME_SCALE,
                            help="multiplies every simulated duration (0.1: ten times faster)")
        parser.add_argument("--manual-clock", action="store_true",
                            help="time moves only through POST /_sandbox/advance")

    def handle(self, *args: Any, host: str, port: int, seed: int, scale: float, manual_clock: bool, **options: Any) -> None:
        app = SandboxApp(seed=seed, scale=scale, clock=ManualClock() if manual_clock else None)
        self.stdout.write(self.style.SUCCESS(f"Sandbox on http://{host}:{port}/  (seed {seed}, scale {scale})"))
        uvicorn.run(app, host=host, port=port, lifespan="on", log_level="warning")
