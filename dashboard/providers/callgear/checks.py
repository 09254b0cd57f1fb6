"""The client's local checks: rules the docs state, refused before anything is sent.

Each failure is the same CallGearError the server would answer (same code, mnemonic and
text), with ``local=True`` so logs show no request went out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import CallGearError
from .models import Message

__all__ = [
    "DTMF",
    "MessageArg",
    "check_choice",
    "check_dtmf",
    "check_early_switching",
    "check_message",
    "check_number",
    "local_error",
]

_DIGITS = re.compile(r"^\d+$")
_DTMF_WITH_PAUSES = re.compile(r"^[0-9*#.]+$")
DTMF = re.compile(r"^[0-9*#]+$")

MessageArg = Message | Mapping[str, Any] | None


def local_error(field: str, value: Any, mnemonic: str = "invalid_parameter_value") -> CallGearError:
    return CallGearError.documented(mnemonic, field=field, value=value, local=True)


def check_number(field: str, value: str, *, sip_ok: bool = False) -> str:
    """Numbers travel as bare digits (E.164 without ``+``); SIP ids where the docs allow."""
    if not isinstance(value, str):
        raise local_error(field, value, "data_type_error")
    if _DIGITS.match(value):
        return value
    if sip_ok and value and not value.startswith("+") and not re.search(r"[\s()\-]", value):
        return value
    raise local_error(field, value)


def check_choice(field: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise local_error(field, value)
    return value


def check_message(field: str, message: MessageArg) -> dict[str, str] | None:
    if message is None:
        return None
    data = message.as_param() if isinstance(message, Message) else dict(message)
    check_choice(f"{field}.type", data.get("type"), ("media", "tts"))
    if not isinstance(data.get("value"), str) or not data["value"]:
        raise local_error(f"{field}.value", data.get("value"))
    return {"type": data["type"], "value": data["value"]}


def check_dtmf(field: str, value: str | None, *, pauses: bool = True) -> str | None:
    """``.`` (one second pause) is allowed in start.* dtmf_string, not in send.dtmf."""
    if value is None:
        return None
    pattern = _DTMF_WITH_PAUSES if pauses else DTMF
    if not isinstance(value, str) or not pattern.match(value):
        raise local_error(field, value)
    return value


def check_early_switching(
    early_switching: bool | None, first_call: str, leader: str, switch_at_once: bool | None
) -> None:
    """Docs: early_switching=true only with first_call=employee (operator for simple calls)
    and switch_at_once=true, otherwise -32602 invalid_parameters_combination."""
    if early_switching and not (first_call == leader and switch_at_once is True):
        raise CallGearError.documented(
            "invalid_parameters_combination", field="early_switching", value=True, local=True
        )
