"""CallGear Call API errors: the documented catalogue and the one exception the client raises.

The catalogue is shared by the client (local parameter checks, mapping answers) and the
sandbox twin (answering with the documented code, mnemonic and text), so both ends of the
wire agree on every word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import ProviderError

__all__ = ["CATALOGUE", "TRANSIENT_MNEMONICS", "CallGearError", "error_text"]

PROVIDER = "callgear"

# mnemonic -> (code, message template). Texts are the docs' "Text of error" column verbatim,
# typos included ("has been expired", "opreations"); {placeholders} are filled from `params`.
CATALOGUE: dict[str, tuple[int, str]] = {
    # JSON-RPC framing
    "parse_error": (-32700, "Invalid JSON was received by the server."),
    # The docs print the JSON-RPC name and its explanation run together; kept verbatim.
    "invalid_request": (-32600, "Invalid Request The JSON sent is not a valid Request object"),
    "method_not_found": (-32601, "The method does not exist / is not available"),
    "batch_opreations_not_supported": (-32099, "Batch operations not supported"),
    "notifications_not_supported": (-32099, "Notifications not supported"),
    # parameters
    "data_type_error": (-32602, "Data supplied is of wrong type"),
    "required_parameter_missed": (-32602, "The required parameter has been missed"),
    "invalid_parameter_value": (-32602, "Invalid parameter value"),
    "unexpected_parameters": (-32602, "Unexpected method parameter(s)"),
    "invalid_parameters_combination": (-32602, "The combination of parameters is not permitted"),
    "character_encoding_not_allowed": (-32602, "The character encoding must be UTF-8"),
    "call_session_not_found": (-32602, "Call session not found"),
    "internal_error": (-32603, "Internal error, contact the support service"),
    # authentication and access
    "access_token_expired": (-32001, "Access token has been expired"),
    "access_token_blocked": (-32001, "Access token has been blocked"),
    "access_token_invalid": (-32001, "Access token is invalid"),
    "auth_error": (-32001, "Login or password is wrong"),
    "ip_not_whitelisted": (-32003, "Your IP {ip} is not whitelisted"),
    "forbidden": (-32003, "Permission denied"),
    "component_disabled": (-32008, "Component {component_name} has been disabled"),
    "account_inactive": (-32009, "Your account has been disabled, contact the support service"),
    "limit_exceeded": (
        -32029,
        "Limit per {limit_type} has been exceeded. Value of current limit per {limit_type} is {limit_max_value}",
    ),
    # method specific
    "tts_text_exceeded": (
        -32602,
        "The maximum length of Text-to-Speech message is {tts_message_max_length}. "
        "The length of your message is {sent_tts_message_length}",
    ),
    "media_file_not_found": (-32602, "The media file with id {media_file_id} not found"),
    "virtual_phone_number_not_found": (
        -32007,
        "Virtual phone number {virtual_phone_number} not found. It is not your virtual phone number.",
    ),
    "employee_not_found": (
        -32602,
        "Employee with id {employee_id} not found. It is not your employee.",
    ),
    "no_active_phone_number": (-32602, "The phone number does not exist or inactive"),
    "own_virtual_phone_number_not_allowed": (
        -32602,
        "Parameter contact can not contain own virtual phone number",
    ),
    # Code differs by method in the docs (-32002 for employee/simple calls and in the code
    # groups table, -32602 for scenario/vnumber/informer): the sandbox uses the per-method
    # code (see BLACKLIST_CODES in sandbox.py), this is the default.
    "contact_in_blacklist": (-32002, "The contact {contact} has been found in the blacklist"),
    # scenario_call says -32602 with this text; vnumber_call says -32007 "Virtual phone
    # number does not have a scenario" (see sandbox.py).
    "scenario_not_found": (-32602, "Scenario with id {scenario_id} not found"),
    "invalid_state": (-32004, "This method can not be called in this state"),
    "tag_not_found": (-32602, "Tag with {tag_id} not found"),
    "duplicate_tag": (-32602, "Duplicate tag"),
    "leg_not_found": (-32602, "The call's leg not found"),
    "coach_not_found": (-32602, "The coach not found in your settings"),
    "record_already_started": (-32602, "The call record is already started"),
    "record_already_stopped": (-32602, "The call record is not enabled"),
    "duplicate_contact": (
        -32602,
        "The contact with phone number {contact_phone_number} already exists",
    ),
    "talk_option_not_found": (-32602, "Talk option not found"),
}

# Repeating the same request later can succeed: limits reset, tokens are renewed, the
# docs tell to ask support (i.e. try again) on internal errors, and a body that is not
# JSON-RPC at all is usually a proxy's maintenance page (``bad_response`` is ours).
TRANSIENT_MNEMONICS = frozenset(
    {
        "limit_exceeded",
        "internal_error",
        "access_token_expired",
        "bad_response",
    }
)


def error_text(mnemonic: str, params: Mapping[str, Any] | None = None) -> str:
    """The documented message of ``mnemonic`` with its placeholders filled."""
    _code, template = CATALOGUE[mnemonic]
    values = {k: ("" if v is None else v) for k, v in (params or {}).items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template


class CallGearError(ProviderError):
    """Every error the CallGear Call API reports, and the client's own parameter checks.

    ``code`` is the JSON-RPC code, ``mnemonic`` the ``error.data.mnemonic``, ``field`` and
    ``value`` the offending parameter; ``params`` the docs' substitution map (limits, TTS
    length). ``local`` is true when the client refused to send the request at all.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        mnemonic: str | None = None,
        field: str | None = None,
        value: Any = None,
        params: Mapping[str, Any] | None = None,
        extended_helper: str | None = None,
        status: int | None = None,
        request_id: Any = None,
        method: str | None = None,
        local: bool = False,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        details: dict[str, Any] = {
            "params": dict(params or {}),
            "extended_helper": extended_helper,
            "request_id": request_id,
            "method": method,
            "local": local,
        }
        if metadata:
            details["metadata"] = dict(metadata)
        super().__init__(
            message,
            provider=PROVIDER,
            code=code,
            mnemonic=mnemonic,
            field=field,
            value=value,
            status=status,
            permanent=mnemonic not in TRANSIENT_MNEMONICS,
            details=details,
        )
        self.params = dict(params or {})
        self.extended_helper = extended_helper
        self.request_id = request_id
        self.method = method
        self.local = local

    @classmethod
    def documented(
        cls,
        mnemonic: str,
        *,
        field: str | None = None,
        value: Any = None,
        params: Mapping[str, Any] | None = None,
        code: int | None = None,
        **kwargs: Any,
    ) -> CallGearError:
        """Build the documented error for ``mnemonic`` (client-side checks use this)."""
        default_code, _ = CATALOGUE[mnemonic]
        return cls(
            error_text(mnemonic, params),
            code=code if code is not None else default_code,
            mnemonic=mnemonic,
            field=field,
            value=value,
            params=params,
            **kwargs,
        )

    @classmethod
    def from_rpc(
        cls,
        error: Mapping[str, Any],
        *,
        status: int | None = None,
        request_id: Any = None,
        method: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CallGearError:
        """Map a JSON-RPC ``error`` object (code, message, data{mnemonic, field, value...})."""
        data = error.get("data")
        data = data if isinstance(data, Mapping) else {}
        code = error.get("code")
        return cls(
            str(error.get("message") or "CallGear error"),
            code=code if isinstance(code, int) else None,
            mnemonic=data.get("mnemonic"),
            field=data.get("field"),
            value=data.get("value"),
            params=data.get("params") if isinstance(data.get("params"), Mapping) else None,
            extended_helper=data.get("extended_helper"),
            status=status,
            request_id=request_id,
            method=method,
            metadata=metadata,
        )
