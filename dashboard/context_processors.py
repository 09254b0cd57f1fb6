from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    from dashboard.roles import role_of

    user = getattr(request, "user", None)
    return {"current_role": role_of(user) if user is not None and user.is_authenticated else None}
