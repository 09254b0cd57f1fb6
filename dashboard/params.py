"""Reading numbers from query strings and forms."""

from __future__ import annotations

_BIGINT_MAX = 2**63 - 1


def int_param(value: str | None, *, signed: bool = False) -> int | None:
    """An id or count from a request, or None. ASCII only: ``str.isdigit`` accepts "²",
    which ``int`` refuses; and a crafted value, or one too big for a database integer,
    must give a clean "not given", not a 500."""
    text = (value or "").strip()
    if not text or not text.isascii():
        return None
    try:
        number = int(text)
    except ValueError:
        return None
    if abs(number) > _BIGINT_MAX:  # the database cannot compare with it either
        return None
    return number if signed or number >= 0 else None
