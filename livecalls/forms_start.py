"""One form per way of starting a call. Each checks the documented rules before anything
is sent (reusing the clients' own checks, so the words match the provider's) and turns its
fields into the client method's keyword arguments (``start_params``).

Pickers come from the account's ``reference_data`` (the Call APIs cannot list employees,
numbers or menus); where an admin left a list empty, the field takes a typed value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import phonenumbers
from django import forms
from django.utils import timezone

from dashboard.models import AgentProfile, ProviderAccount
from dashboard.providers.base import ProviderError
from dashboard.providers.callgear.checks import (
    check_dtmf,
    check_early_switching,
    check_number,
)
from dashboard.providers.callgear.errors import CallGearError
from dashboard.providers.ccai import rules
from dashboard.providers.ccai.errors import error_from_message
from dashboard.roles import perm

DIGITS_HELP = "Bare digits in international format (E.164 without +), e.g. 79091234567."
E164_HELP = "International format with +, e.g. +1 859-657-9625."

# CCAI menu channels each call type accepts (the seed's error messages; the sandbox agrees).
INBOUND_MENU_TYPES = frozenset({"ivr_menu", "mobile_menu"})
SCHEDULED_MENU_TYPES = frozenset({"mobile_menu", "web_menu"})


def _items(account: ProviderAccount, key: str) -> list[Any]:
    value = (account.reference_data or {}).get(key) or []
    return list(value) if isinstance(value, list | tuple) else []


def _number_of(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("number") or item.get("virtual_phone_number") or item.get("phone") or "")
    return str(item)


def _choices(pairs: Iterable[tuple[str, str]], *, blank: str | None) -> list[tuple[str, str]]:
    out = [("", blank)] if blank is not None else []
    out.extend((value, label) for value, label in pairs if value)
    return out


def _picker(pairs: list[tuple[str, str]], *, label: str, required: bool, blank: str = "—",
            help_text: str = "") -> forms.Field:
    """A select over the reference list, or a text box when the list is empty."""
    if pairs:
        return forms.ChoiceField(label=label, required=required, help_text=help_text,
                                 choices=_choices(pairs, blank=None if required else blank))
    return forms.CharField(label=label, required=required, help_text=help_text or "Not in the account's lists: type it.")


def _provider_words(exc: ProviderError) -> str:
    return f"{exc.message.rstrip('.')} [{exc.provider}: {exc.mnemonic or exc.code}]"


class StartCallForm(forms.Form):
    """Base: the account and the user decide the pickers and what an agent may choose."""

    kind: ClassVar[str] = ""
    # provider error field (dotted, as the provider names it) -> form field
    provider_fields: ClassVar[dict[str, str]] = {}
    sections: ClassVar[list[tuple[str, list[str]]]] = []

    def __init__(self, *args: Any, account: ProviderAccount, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.user = user
        self.profile = AgentProfile.objects.filter(user_id=getattr(user, "pk", None)).first()
        # Supervisors place calls for anyone; an agent only for themself.
        self.picks_anyone = user.has_perm(perm("control_any_call"))
        self.setup()

    def setup(self) -> None:
        """Subclasses add their pickers here."""

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        seen: set[str] = set()
        groups = []
        for title, names in self.sections:
            fields = [self[n] for n in names if n in self.fields]
            seen.update(names)
            if fields:
                groups.append((title, fields))
        rest = [self[n] for n in self.fields if n not in seen]
        if rest:
            groups.append(("More", rest))
        return groups

    def start_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def add_provider_error(self, exc: ProviderError) -> None:
        """Put the provider's refusal next to the field it names (the page also shows it whole)."""
        name = self.provider_fields.get(exc.field or "", exc.field or "")
        if name in self.fields:
            self.add_error(name, _provider_words(exc))


# --- CallGear ------------------------------------------------------------------------------


class CallGearStartForm(StartCallForm):
    """What every start.* method shares: the virtual number, the contact and the extras."""

    messages: ClassVar[tuple[str, ...]] = ()  # message parameters this method takes
    required_messages: ClassVar[tuple[str, ...]] = ()
    leader: ClassVar[str] = "employee"  # who early_switching needs first (operator for simple calls)

    virtual_phone_number = forms.CharField(label="Virtual number", help_text="The number the contact sees.")
    contact = forms.CharField(label="Contact", help_text=DIGITS_HELP + " An employee's SIP id also works.")
    direction = forms.ChoiceField(
        label="Direction", choices=[("out", "Outgoing"), ("in", "Incoming")], initial="out",
        help_text="How CallGear reports the call (its default is incoming).")
    external_id = forms.CharField(label="External id", required=False, max_length=128,
                                  help_text="Your system's id, echoed in notifications.")
    dtmf_string = forms.CharField(label="DTMF to send", required=False,
                                  help_text="0-9, *, # and . for a one-second pause, e.g. .12.1..4")

    provider_fields = {
        "contact": "contact", "virtual_phone_number": "virtual_phone_number", "dtmf_string": "dtmf_string",
        "direction": "direction", "external_id": "external_id", "early_switching": "early_switching",
        "switch_at_once": "switch_at_once", "first_call": "first_call", "media_file_id": "media_file_id",
        "employee.id": "employee", "employee": "employee", "employee.phone_number": "employee_phone_number",
        "scenario_id": "scenario", "operator": "operator", "operator_confirmation": "operator_confirmation",
        "dialing_timeout": "dialing_timeout",
        "contact_message.value": "contact_message_tts", "contact_message": "contact_message_tts",
        "employee_message.value": "employee_message_tts", "employee_message": "employee_message_tts",
        "operator_message.value": "operator_message_tts", "operator_message": "operator_message_tts",
    }

    def setup(self) -> None:
        numbers = [(_number_of(n), _number_of(n)) for n in _items(self.account, "virtual_numbers")]
        self.fields["virtual_phone_number"] = _picker(
            numbers, label="Virtual number", required=True, help_text="The number the contact sees.")
        media = [(str(m.get("id")), f"{m.get('name') or 'file'} ({m.get('id')})")
                 for m in _items(self.account, "media_files") if isinstance(m, dict)]
        if "media_file_id" in self.fields:
            self.fields["media_file_id"] = _picker(
                media, label="Dialing music", required=False, blank="System dialing music",
                help_text="Played to whoever waits without a message.")
        for name in self.messages:
            who = name.removesuffix("_message")
            self.fields[f"{name}_media"] = _picker(
                media, label=f"Message to the {who}: media file", required=False, blank="No media file",
                help_text="A media file id" if not media else "")
            self.fields[f"{name}_tts"] = forms.CharField(
                label=f"Message to the {who}: text to speech", required=False,
                widget=forms.Textarea(attrs={"rows": 2}), help_text="Or a text read out (either, not both).")

    def _number(self, field: str, *, sip_ok: bool = False) -> str:
        value = (self.cleaned_data.get(field) or "").strip()
        try:
            return check_number(field, value, sip_ok=sip_ok)
        except CallGearError as exc:
            raise forms.ValidationError(f"{exc.message}: {DIGITS_HELP}") from exc

    def clean_virtual_phone_number(self) -> str:
        return self._number("virtual_phone_number")

    def clean_contact(self) -> str:
        return self._number("contact", sip_ok=True)

    def clean_dtmf_string(self) -> str | None:
        value = (self.cleaned_data.get("dtmf_string") or "").strip() or None
        try:
            return check_dtmf("dtmf_string", value)
        except CallGearError as exc:
            raise forms.ValidationError(f"{exc.message}: only 0-9, *, # and . (a one-second pause).") from exc

    def clean_media_file_id(self) -> int | None:
        value = (self.cleaned_data.get("media_file_id") or "").strip()
        if not value:
            return None
        if not value.isdigit():
            raise forms.ValidationError("A media file id is a number.")
        return int(value)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.messages:
            media = (data.get(f"{name}_media") or "").strip()
            text = (data.get(f"{name}_tts") or "").strip()
            if media and text:
                self.add_error(f"{name}_tts", "Choose a media file or a text, not both.")
            elif media and not media.isdigit():
                self.add_error(f"{name}_media", "A media file id is a number.")
            elif not media and not text and name in self.required_messages:
                self.add_error(f"{name}_tts", f"{name} is required: pick a media file or write a text.")
            data[name] = {"type": "media", "value": media} if media else {"type": "tts", "value": text} if text else None
        if "early_switching" in self.fields:
            try:
                check_early_switching(data.get("early_switching"), data.get("first_call") or "", self.leader,
                                      bool(data.get("switch_at_once")))
            except CallGearError as exc:
                first = "operator" if self.leader == "operator" else "employee"
                self.add_error("early_switching", (
                    f"early_switching: {exc.message} [callgear: {exc.mnemonic}]. Early switching needs "
                    f"first call = {first} and switch at once."))
        contact_message = data.get("contact_message")
        if "switch_at_once" in self.fields and data.get("switch_at_once") and contact_message \
                and contact_message["type"] == "tts":
            # Docs: "If the parameter contact_message type has value tts, the parameter
            # switch_at_once=true doesn't work". Refused rather than silently ignored.
            self.add_error("switch_at_once", "switch_at_once does not work with a text-to-speech message to the "
                                             "contact (CallGear docs): use a media file or leave it off.")
        return data

    def common_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "virtual_phone_number": d["virtual_phone_number"],
            "contact": d["contact"],
            "direction": d["direction"],
            "external_id": d.get("external_id") or None,
            "dtmf_string": d.get("dtmf_string"),
        }

    def message_params(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.messages}


FIRST_CALL_EMPLOYEE = [("employee", "Employee first"), ("contact", "Contact first")]


class EmployeeCallForm(CallGearStartForm):
    kind = "employee_call"
    messages = ("contact_message", "employee_message")
    sections = [
        ("Who", ["employee", "employee_phone_number", "contact", "virtual_phone_number"]),
        ("How", ["first_call", "switch_at_once", "early_switching", "show_virtual_phone_number", "direction"]),
        ("Messages", ["media_file_id", "contact_message_media", "contact_message_tts",
                      "employee_message_media", "employee_message_tts"]),
        ("More", ["external_id", "dtmf_string"]),
    ]

    employee = forms.CharField(label="Employee")
    employee_phone_number = forms.CharField(
        label="Employee's number", required=False,
        help_text="Empty: every active number of the employee is dialled in turn.")
    first_call = forms.ChoiceField(label="Dial first", choices=FIRST_CALL_EMPLOYEE, initial="employee")
    switch_at_once = forms.BooleanField(label="Switch at once", required=False,
                                        help_text="Connect as soon as the contact answers, cutting the message.")
    early_switching = forms.BooleanField(
        label="Early switching", required=False,
        help_text="The employee hears the contact's line while dialling; needs employee first and switch at once.")
    show_virtual_phone_number = forms.BooleanField(label="Show the virtual number to the employee",
                                                   required=False, initial=True)
    media_file_id = forms.CharField(required=False)

    def setup(self) -> None:
        super().setup()
        employees = [e for e in _items(self.account, "employees") if isinstance(e, dict) and e.get("id") is not None]
        own = self.profile.callgear_employee_id if self.profile else None
        if self.picks_anyone:
            pairs = [(str(e["id"]), f"{e.get('full_name') or 'Employee'} ({e['id']})") for e in employees]
            self.fields["employee"] = _picker(pairs, label="Employee", required=True)
        else:
            names = {str(e["id"]): e.get("full_name") or "Employee" for e in employees}
            choices = [(str(own), f"{names.get(str(own), 'You')} ({own}) — you")] if own else []
            self.fields["employee"] = forms.CharField(
                label="Employee", widget=forms.Select(choices=choices), initial=str(own) if own else None,
                help_text="Agents start employee calls for themselves.")
            if own is None:
                self.fields["employee"].help_text = ("Your profile has no CallGear employee: ask an admin "
                                                     "to link one before starting employee calls.")

    def clean_employee(self) -> int:
        value = str(self.cleaned_data.get("employee") or "").strip()
        if not value.isdigit():
            raise forms.ValidationError("An employee id is a number.")
        if not self.picks_anyone:
            own = self.profile.callgear_employee_id if self.profile else None
            if own is None:
                raise forms.ValidationError("Your profile has no CallGear employee: ask an admin to link one.")
            if int(value) != own:
                raise forms.ValidationError("You can start employee calls only for your own employee.")
        return int(value)

    def clean_employee_phone_number(self) -> str | None:
        value = (self.cleaned_data.get("employee_phone_number") or "").strip()
        if not value:
            return None
        try:
            # The docs allow an E.164 number, a SIP id or an extension here.
            return check_number("employee.phone_number", value, sip_ok=True)
        except CallGearError as exc:
            raise forms.ValidationError(f"{exc.message}: digits, a SIP id or an extension.") from exc

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            **self.common_params(),
            "employee_id": d["employee"],
            "employee_phone_number": d.get("employee_phone_number"),
            "first_call": d["first_call"],
            "switch_at_once": d["switch_at_once"],
            "early_switching": d["early_switching"] or None,
            "show_virtual_phone_number": d["show_virtual_phone_number"],
            "media_file_id": d.get("media_file_id"),
            **self.message_params(),
        }


class SimpleCallForm(CallGearStartForm):
    kind = "simple_call"
    leader = "operator"
    messages = ("contact_message", "operator_message")
    sections = [
        ("Who", ["operator", "contact", "virtual_phone_number"]),
        ("How", ["first_call", "switch_at_once", "early_switching", "operator_confirmation",
                 "show_virtual_phone_number", "direction"]),
        ("Messages", ["media_file_id", "contact_message_media", "contact_message_tts",
                      "operator_message_media", "operator_message_tts"]),
        ("More", ["external_id", "dtmf_string"]),
    ]

    operator = forms.CharField(label="Operator number", help_text=DIGITS_HELP + " Not an employee.")
    first_call = forms.ChoiceField(label="Dial first",
                                   choices=[("operator", "Operator first"), ("contact", "Contact first")],
                                   initial="operator")
    switch_at_once = forms.BooleanField(label="Switch at once", required=False)
    early_switching = forms.BooleanField(
        label="Early switching", required=False,
        help_text="The operator hears the contact's line while dialling; needs operator first and switch at once.")
    operator_confirmation = forms.CharField(
        label="Operator confirms with", required=False,
        help_text="A key (0-9, *, #) or \"any\" the operator presses before the contact is connected.")
    show_virtual_phone_number = forms.BooleanField(label="Show the virtual number to the operator",
                                                   required=False, initial=True)
    media_file_id = forms.CharField(required=False)

    def setup(self) -> None:
        super().setup()
        if self.profile and self.profile.callgear_phone_numbers:
            self.fields["operator"].initial = self.profile.callgear_phone_numbers[0]

    def clean_operator(self) -> str:
        return self._number("operator")

    def clean_operator_confirmation(self) -> str | None:
        value = (self.cleaned_data.get("operator_confirmation") or "").strip() or None
        if value is not None and value != "any":
            try:
                check_dtmf("operator_confirmation", value, pauses=False)
            except CallGearError as exc:
                raise forms.ValidationError(f"{exc.message}: 0-9, *, # or \"any\".") from exc
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("operator") and data.get("operator") == data.get("contact"):
            self.add_error("operator", "The operator and the contact are the same number.")
        return data

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            **self.common_params(),
            "operator": d["operator"],
            "first_call": d["first_call"],
            "switch_at_once": d["switch_at_once"],
            "early_switching": d["early_switching"] or None,
            "operator_confirmation": d.get("operator_confirmation"),
            "show_virtual_phone_number": d["show_virtual_phone_number"],
            "media_file_id": d.get("media_file_id"),
            **self.message_params(),
        }


class InformerCallForm(CallGearStartForm):
    kind = "informer_call"
    messages = ("contact_message",)
    required_messages = ("contact_message",)
    sections = [
        ("Who", ["contact", "virtual_phone_number"]),
        ("Message", ["contact_message_media", "contact_message_tts", "dialing_timeout"]),
        ("More", ["direction", "external_id", "dtmf_string"]),
    ]

    dialing_timeout = forms.IntegerField(
        label="Ring for (seconds)", required=False, min_value=1, max_value=120,
        help_text="Up to 120 seconds; CallGear waits 30 when empty.")

    def start_params(self) -> dict[str, Any]:
        return {**self.common_params(), "dialing_timeout": self.cleaned_data.get("dialing_timeout"),
                "contact_message": self.cleaned_data["contact_message"]}


class ScenarioCallForm(CallGearStartForm):
    kind = "scenario_call"
    messages = ("contact_message", "employee_message")
    sections = [
        ("Who", ["scenario", "contact", "virtual_phone_number"]),
        ("How", ["first_call", "switch_at_once", "direction"]),
        ("Messages", ["contact_message_media", "contact_message_tts", "employee_message_media",
                      "employee_message_tts"]),
        ("More", ["external_id", "dtmf_string"]),
    ]

    scenario = forms.CharField(label="Scenario")
    first_call = forms.ChoiceField(label="Dial first", choices=FIRST_CALL_EMPLOYEE, initial="contact")
    switch_at_once = forms.BooleanField(label="Switch at once", required=False)

    def setup(self) -> None:
        super().setup()
        pairs = [(str(s.get("id")), f"{s.get('name') or 'Scenario'} ({s.get('id')})")
                 for s in _items(self.account, "scenarios") if isinstance(s, dict)]
        self.fields["scenario"] = _picker(pairs, label="Scenario", required=True)

    def clean_scenario(self) -> int:
        value = str(self.cleaned_data.get("scenario") or "").strip()
        if not value.isdigit():
            raise forms.ValidationError("A scenario id is a number.")
        return int(value)

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {**self.common_params(), "scenario_id": d["scenario"], "first_call": d["first_call"],
                "switch_at_once": d["switch_at_once"], **self.message_params()}


class VNumberCallForm(CallGearStartForm):
    kind = "vnumber_call"
    messages = ("contact_message",)
    sections = [
        ("Who", ["contact", "virtual_phone_number"]),
        ("How", ["first_call", "switch_at_once", "show_virtual_phone_number", "direction"]),
        ("Message", ["contact_message_media", "contact_message_tts"]),
        ("More", ["external_id", "dtmf_string"]),
    ]

    first_call = forms.ChoiceField(label="Dial first", choices=FIRST_CALL_EMPLOYEE, initial="contact")
    switch_at_once = forms.BooleanField(label="Switch at once", required=False)
    show_virtual_phone_number = forms.BooleanField(label="Show the virtual number to the employee",
                                                   required=False, initial=True)

    def setup(self) -> None:
        super().setup()
        self.fields["virtual_phone_number"].help_text = "The call follows this number's scenario."

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {**self.common_params(), "first_call": d["first_call"], "switch_at_once": d["switch_at_once"],
                "show_virtual_phone_number": d["show_virtual_phone_number"], **self.message_params()}


# --- CCAI ----------------------------------------------------------------------------------

RECORDING_CHOICES = [
    ("", "Not asked (default)"),
    ("recording_permission_granted", "Granted: record the call"),
    ("recording_permission_denied", "Denied: do not record"),
    ("recording_permission_not_asked", "Not asked"),
]


class CcaiStartForm(StartCallForm):
    call_type: ClassVar[str] = ""
    menu_blank: ClassVar[str] = "Choose a menu"

    provider_fields = {f: f for f in ("agent_email", "end_user_number", "ticket_id", "outbound_number", "lang",
                                      "scheduled_at", "call_id", "recording_permission")}
    provider_fields |= {"menu_id": "menu"}

    def setup(self) -> None:
        langs = [(str(code), str(code)) for code in _items(self.account, "languages")]
        if "lang" in self.fields:
            self.fields["lang"] = _picker(langs, label="Language", required=False, blank="Default (en)",
                                          help_text="ISO 639-1 code, e.g. en")
        numbers = [(_number_of(n), _number_of(n)) for n in _items(self.account, "outbound_numbers")]
        if "outbound_number" in self.fields:
            self.fields["outbound_number"] = _picker(numbers, label="Outbound number", required=False,
                                                     blank="The default outbound number")
        if "menu" in self.fields:
            self.menus = {str(m.get("id")): m for m in _items(self.account, "menus") if isinstance(m, dict)}
            pairs = [(key, f"{m.get('name') or 'Menu'} ({key}, {str(m.get('menu_type') or '').replace('_', ' ')})")
                     for key, m in self.menus.items()]
            self.fields["menu"] = _picker(pairs, label="Menu", required=False, blank=self.menu_blank,
                                          help_text=self.fields["menu"].help_text)

    def clean_end_user_number(self) -> str | None:
        value = (self.cleaned_data.get("end_user_number") or "").strip()
        if not value:
            return None
        if not rules.is_well_formed_phone(value):
            raise forms.ValidationError(self.malformed_number + " " + E164_HELP)
        # Sent and stored as E.164 (what the rest of the dashboard keeps).
        return phonenumbers.format_number(phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.E164)

    malformed_number = rules.Msg.NUMBER_MALFORMED

    def clean_ticket_id(self) -> str | None:
        return rules.ticket_id_value(self.cleaned_data.get("ticket_id"))

    def clean_menu(self) -> int | None:
        value = str(self.cleaned_data.get("menu") or "").strip()
        if not value:
            return None
        number = rules.menu_id_value(value)
        if number is None:
            raise forms.ValidationError(rules.Msg.MENU_ID_MALFORMED)
        return number

    def body(self) -> dict[str, Any]:
        """The request body, as the client will send it, for the shared rules."""
        params = self.start_params()
        body = {"call_type": self.call_type, **{k: v for k, v in params.items() if v is not None}}
        if isinstance(body.get("scheduled_at"), datetime):
            body["scheduled_at"] = body["scheduled_at"].isoformat()
        return body

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        problem = rules.static_problem(self.body())
        if problem is not None:
            exc = error_from_message(problem, status=None)
            name = self.provider_fields.get(exc.field or "", "")
            self.add_error(name if name in self.fields else None, problem)
        return data


class OutboundCallForm(CcaiStartForm):
    kind = "outbound_call"
    call_type = rules.CALL_TYPE_OUTBOUND
    malformed_number = rules.Msg.OUTBOUND_NUMBER_MALFORMED
    sections = [
        ("Who", ["agent_email", "end_user_number", "ticket_id"]),
        ("How", ["outbound_number", "lang"]),
    ]

    agent_email = forms.CharField(label="Agent", required=False)
    end_user_number = forms.CharField(label="End user's number", required=False, help_text=E164_HELP)
    ticket_id = forms.CharField(label="CRM ticket", required=False,
                                help_text="Dials the ticket's end user; wins over the number.")
    outbound_number = forms.CharField(required=False)
    lang = forms.CharField(required=False)

    def setup(self) -> None:
        super().setup()
        agents = [a.get("email") if isinstance(a, dict) else a for a in _items(self.account, "agents")]
        own = (self.profile.ccai_agent_email or "") if self.profile else ""
        if self.picks_anyone:
            self.fields["agent_email"] = _picker([(str(e), str(e)) for e in agents if e], label="Agent",
                                                 required=False, blank="Choose an agent")
        else:
            self.fields["agent_email"] = forms.CharField(
                label="Agent", widget=forms.Select(choices=[(own, f"{own} — you")] if own else []),
                initial=own or None, help_text="Agents start outbound calls for themselves." if own else
                "Your profile has no CCAI agent e-mail: ask an admin to link one.")

    def clean_agent_email(self) -> str:
        value = (self.cleaned_data.get("agent_email") or "").strip()
        if not self.picks_anyone:
            own = (self.profile.ccai_agent_email or "") if self.profile else ""
            if not own:
                raise forms.ValidationError("Your profile has no CCAI agent e-mail: ask an admin to link one.")
            if value.lower() != own.lower():
                raise forms.ValidationError("You can start outbound calls only as yourself.")
        return value

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "agent_email": d.get("agent_email"),
            "end_user_number": d.get("end_user_number"),
            "ticket_id": d.get("ticket_id"),
            "outbound_number": d.get("outbound_number") or None,
            "lang": d.get("lang") or None,
        }


class IncomingCallForm(CcaiStartForm):
    kind = "incoming_call"
    call_type = rules.CALL_TYPE_INBOUND
    allowed_menus = INBOUND_MENU_TYPES
    menu_types_message = rules.Msg.INBOUND_MENU_TYPES
    sections = [
        ("Who", ["menu", "end_user_number", "ticket_id"]),
        ("How", ["outbound_number", "lang", "recording_permission"]),
    ]

    # Left optional here so the API's own words say what is missing (rules.static_problem).
    menu = forms.CharField(label="Menu", required=False)
    end_user_number = forms.CharField(label="End user's number", required=False, help_text=E164_HELP)
    ticket_id = forms.CharField(label="CRM ticket", required=False,
                                help_text="The ticket's end user is dialled instead of the number.")
    outbound_number = forms.CharField(required=False)
    lang = forms.CharField(required=False)
    recording_permission = forms.ChoiceField(
        label="Recording permission", choices=RECORDING_CHOICES, required=False,
        help_text="Only used when the queue asks the user for permission to record.")

    def clean_menu(self) -> int | None:
        number = super().clean_menu()
        menu = getattr(self, "menus", {}).get(str(number))
        # Checked only when the account's list knows the menu's channel.
        if menu and menu.get("menu_type") and menu["menu_type"] not in self.allowed_menus:
            raise forms.ValidationError(self.menu_types_message)
        return number

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "menu_id": d.get("menu"),
            "end_user_number": d.get("end_user_number"),
            "ticket_id": d.get("ticket_id"),
            "outbound_number": d.get("outbound_number") or None,
            "lang": d.get("lang") or None,
            "recording_permission": d.get("recording_permission") or None,
        }


class ScheduledCallForm(IncomingCallForm):
    kind = "scheduled_call"
    call_type = rules.CALL_TYPE_SCHEDULED
    allowed_menus = SCHEDULED_MENU_TYPES
    menu_types_message = rules.Msg.SCHEDULED_MENU_TYPES
    sections = [
        ("When", ["scheduled_at"]),
        ("Who", ["menu", "call_id", "end_user_number", "ticket_id"]),
        ("How", ["lang", "recording_permission"]),
    ]

    outbound_number = None  # not a parameter of scheduled calls
    menu_blank = "No menu (the parent call's)"
    menu = forms.CharField(label="Menu", required=False, help_text="May stay empty when a parent call is given.")
    call_id = forms.IntegerField(label="Parent call id", required=False, min_value=1,
                                 help_text="Links a previous call; its menu is used when none is picked.")
    scheduled_at = forms.DateTimeField(
        label="Call at", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="A future time (the dashboard's time zone).")

    def clean_scheduled_at(self) -> Any:
        when = self.cleaned_data.get("scheduled_at")
        if when is not None and when <= timezone.now():
            raise forms.ValidationError(rules.Msg.SCHEDULED_AT_NOT_FUTURE)
        return when

    def start_params(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "scheduled_at": d.get("scheduled_at"),
            "menu_id": d.get("menu"),
            "call_id": d.get("call_id"),
            "end_user_number": d.get("end_user_number"),
            "ticket_id": d.get("ticket_id"),
            "lang": d.get("lang") or None,
            "recording_permission": d.get("recording_permission") or None,
        }


START_FORMS: dict[str, type[StartCallForm]] = {
    form.kind: form
    for form in (EmployeeCallForm, SimpleCallForm, InformerCallForm, ScenarioCallForm, VNumberCallForm,
                 OutboundCallForm, IncomingCallForm, ScheduledCallForm)
}
