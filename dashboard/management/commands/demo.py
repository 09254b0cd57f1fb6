from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from dashboard.demo import demo_create


class Command(BaseCommand):
    help = "Create the demo users and sandbox provider accounts (idempotent) and print the sign-ins."

    def handle(self, *args: Any, **options: Any) -> None:
        users = demo_create()
        self.stdout.write(self.style.SUCCESS("Demo sign-ins (change them before real use):"))
        for demo in users:
            self.stdout.write(f"  {demo.role:<11} {demo.username:<11} {demo.password}")
