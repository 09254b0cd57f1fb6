"""The seed of the sandbox's JAICP world: its campaigns and their default call policy.

Tokens are the docs' own examples (seed 001, seed 000, the spec), so a request copied
from the docs reaches a campaign.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CAMPAIGNS", "DAY", "DEFAULT_POLICY", "LIST_NUMBERS"]

DAY = 24 * 3600.0

DEFAULT_POLICY: dict[str, Any] = {
    "allowedDays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "allowedTime": {"default": [{"localTimeFrom": "09:00", "localTimeTo": "21:00"}]},
    "retryIntervalInMinutes": 30,
    "maxAttempts": 3,
    "gmtZone": "UTC",
    "dialerPriority": 3,
}

# The campaigns of the world. Tokens are the docs' examples (seed 001, seed 000, the spec).
CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {
        "id": 7056,
        "token": "8231.7056.1b131df1",
        "name": "Delivery reminders",
        "projectName": "example_project-263-Wnu",
        "botId": "263-example_project-263-Wnu-49199",
        "status": "inProgress",
        "maxSimultaneousCalls": 2,
        "age_days": 30,
    },
    {
        "id": 789,
        "token": "123456.789.mBoMyfZLZqKHIPKjFjWYfRw9hgfIV9InFC4bHGVw5ND",
        "name": "Payment reminder",
        "projectName": "billing-114-Xq2",
        "botId": "114-billing-114-Xq2-30211",
        "status": "new",
        "maxSimultaneousCalls": 5,
        "age_days": 3,
        "policy": {"allowedDays": ["mon", "tue", "wed", "thu", "fri"], "maxAttempts": 2},
    },
    {
        "id": 2048,
        "token": "1024.2048.c0ffee42",
        "name": "Satisfaction survey",
        "projectName": "survey-1024-Pa9",
        "botId": "1024-survey-1024-Pa9-7781",
        "status": "paused",
        "maxSimultaneousCalls": 3,
        "age_days": 10,
        "policy": {"retryIntervalInMinutes": 60},
    },
    {
        "id": 456,
        "token": "123.456.bAYxokdzmkWBZP2Tjcf4W0nzCpkC9L85mZQyd1OqJuv",
        "name": "Spring promo 2025",
        "projectName": "promo-123-Lm0",
        "botId": "123-promo-123-Lm0-1100",
        "status": "finished",
        "maxSimultaneousCalls": 10,
        "age_days": 200,
    },
)

# Numbers loaded from a list in the UI (not via the API): in reports, not cancellable.
LIST_NUMBERS = ("79161230001", "79161230002")
