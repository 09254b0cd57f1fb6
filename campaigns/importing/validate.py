"""Row validation: phone numbers, time zones, per-number call policy, duplicates, DNC.

Every rejected row gets one stable reason code (:data:`REASONS` gives the words an admin
reads). Checks run in this order and the first failure is the reason:

1. the row could not be read (``malformed_row``, ``undecodable_row``);
2. the phone: ``empty_phone``, ``unparseable_phone``, ``invalid_phone``;
3. ``do_not_call``;
4. ``duplicate_in_list`` (an earlier *accepted* row has the same E.164 number, so a row
   rejected for, say, its time zone does not shadow a later good copy),
   ``duplicate_in_campaign``, ``duplicate_recent``;
5. ``invalid_time_zone``, ``bad_policy_value``.

Time zones: a zone from the file must be one JAICP accepts (``gmtzone.check_gmt_zone``).
Without one, the zone the number implies is used when ``phonenumbers`` names exactly one;
when it names several (a Russian mobile number names all of Russia's) we leave it empty,
so JAICP applies the campaign's zone, and count the row as ``zone_ambiguous`` rather than
guess an hour that could be seven hours off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Container, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from campaigns.importing.mapping import ResolvedMapping
from campaigns.importing.phones import PhoneVerdict, check_phone
from campaigns.importing.reader import MALFORMED_ROW, UNDECODABLE_ROW, SourceRow
from dashboard.providers.jaicp.gmtzone import is_valid_gmt_zone

__all__ = [
    "REASONS",
    "AcceptedNumber",
    "NumberValidator",
    "PhoneLookup",
    "RejectedRow",
    "parse_policy_value",
]

EMPTY_PHONE = "empty_phone"
UNPARSEABLE_PHONE = "unparseable_phone"
INVALID_PHONE = "invalid_phone"
INVALID_TIME_ZONE = "invalid_time_zone"
DUPLICATE_IN_LIST = "duplicate_in_list"
DUPLICATE_IN_CAMPAIGN = "duplicate_in_campaign"
DUPLICATE_RECENT = "duplicate_recent"
DO_NOT_CALL = "do_not_call"
BAD_POLICY_VALUE = "bad_policy_value"

REASONS: dict[str, str] = {
    EMPTY_PHONE: "The phone cell is empty.",
    UNPARSEABLE_PHONE: "This does not read as a phone number.",
    INVALID_PHONE: "This is not a valid phone number for its country.",
    INVALID_TIME_ZONE: "The time zone is not one JAICP accepts (use e.g. Europe/Moscow or +03:00).",
    DUPLICATE_IN_LIST: "The same number appears earlier in this file.",
    DUPLICATE_IN_CAMPAIGN: "The number is already in this campaign.",
    DUPLICATE_RECENT: "The number was given to a campaign recently.",
    DO_NOT_CALL: "The number is on the do-not-call list.",
    BAD_POLICY_VALUE: "A call policy value is not allowed.",
    MALFORMED_ROW: "The row could not be read as CSV.",
    UNDECODABLE_ROW: "The row holds characters in an unknown encoding.",
}

# A set-like of E.164 numbers ("+79110000000"), or a function given a batch of E.164
# numbers that returns those it knows (one database query per batch, not per row).
PhoneLookup = Container[str] | Callable[[Sequence[str]], Collection[str]]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    **{d: d for d in _DAYS},
    **{
        full: full[:3]
        for full in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    },
    "пн": "mon",
    "вт": "tue",
    "ср": "wed",
    "чт": "thu",
    "пт": "fri",
    "сб": "sat",
    "вс": "sun",
}
_INT_RANGES = {
    # The ranges JAICP (and our sandbox) accept; see dashboard.providers.jaicp.models.
    "maxAttempts": (1, 50),
    "retryIntervalInMinutes": (1, 2880),
    "dialerPriority": (1, 5),
}


@dataclass(slots=True)
class AcceptedNumber:
    """A row ready for the campaign. ``phone`` is what JAICP wants (digits, no plus)."""

    row: int
    phone: str
    e164: str
    gmt_zone: str | None
    zone_source: str  # "file", "number", or "" (left to the campaign)
    payload: dict[str, str]
    policy: dict[str, Any] = field(default_factory=dict)

    def call_job(self) -> dict[str, Any]:
        """The ``addPhones`` item (JAICP CallJobParameters) for this number."""
        item: dict[str, Any] = {"phone": self.phone, "payload": self.payload}
        if self.gmt_zone:
            item["gmtZone"] = self.gmt_zone
        item.update(self.policy)
        return item


@dataclass(slots=True)
class RejectedRow:
    row: int
    value: str  # the phone cell as written, or the raw line for unreadable rows
    reason: str
    detail: str = ""

    @property
    def label(self) -> str:
        return REASONS[self.reason]


def parse_policy_value(name: str, text: str) -> Any:
    """The JAICP value for a policy cell; raises ValueError with words for the admin."""
    if name == "allowedDays":
        parts = [p for p in re.split(r"[\s,;/|]+", text.strip().lower()) if p]
        days = []
        for part in parts:
            day = _DAY_NAMES.get(part)
            if day is None:
                raise ValueError(f"{part!r} is not a day (use mon, tue, ... sun)")
            if day in days:
                raise ValueError(f"{part!r} is given twice")
            days.append(day)
        if not days:
            raise ValueError("no days given")
        return days
    low, high = _INT_RANGES[name]
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(number)


def _row_number(rejected: RejectedRow) -> int:
    return rejected.row


def _present(lookup: PhoneLookup | None, numbers: list[str]) -> Container[str]:
    if lookup is None:
        return ()
    if callable(lookup) and not isinstance(lookup, Container):
        return set(lookup(numbers)) if numbers else set()
    return lookup


class NumberValidator:
    """Validates rows in batches; remembers accepted numbers for ``duplicate_in_list``.

    One validator per file: the set of accepted numbers (about 60 bytes each) is the only
    state that grows with the file.
    """

    def __init__(
        self,
        *,
        mapping: ResolvedMapping,
        default_region: str,
        existing_phones: PhoneLookup | None = None,
        recent_phones: PhoneLookup | None = None,
        dnc: PhoneLookup | None = None,
    ) -> None:
        self.mapping = mapping
        self.default_region = default_region.upper()
        if self.default_region not in phonenumbers.SUPPORTED_REGIONS:
            # Otherwise every national number would come out "unparseable".
            raise ValueError(f"{default_region!r} is not a region phonenumbers knows")
        self.existing_phones = existing_phones
        self.recent_phones = recent_phones
        self.dnc = dnc
        self.seen: set[int] = set()
        self.zone_ambiguous = 0
        # gmtZone verdicts per distinct zone, from the file or implied by numbers.
        self._zone_ok: dict[str, bool] = {}

    def phone_values(self, rows: Sequence[SourceRow]) -> list[str]:
        """The stripped phone cell of each row ("" for unreadable rows), for
        :func:`check_phones` in a worker process."""
        at = self.mapping.phone
        return [row.cells[at].strip() if row.cells is not None else "" for row in rows]

    def check_rows(
        self,
        rows: Sequence[SourceRow],
        verdicts: Sequence[PhoneVerdict | tuple | None] | None = None,
    ) -> tuple[list[AcceptedNumber], list[RejectedRow]]:
        """Accepted and rejected rows of one batch. ``verdicts``, if given, are the phone
        checks already done elsewhere, one per row (from :meth:`phone_values`)."""
        accepted: list[AcceptedNumber] = []
        rejected: list[RejectedRow] = []
        phone_at = self.mapping.phone
        region = self.default_region
        # First pass: the phone itself, so lookups can go out as one batch.
        checked: list[tuple[SourceRow, str, PhoneVerdict | tuple]] = []
        candidates: list[str] = []
        for index, row in enumerate(rows):
            cells = row.cells
            if cells is None:
                rejected.append(
                    RejectedRow(row.number, row.raw, row.problem or MALFORMED_ROW, row.detail)
                )
                continue
            value = cells[phone_at]
            if verdicts is not None:
                verdict = verdicts[index]
            else:
                stripped = value.strip()
                verdict = check_phone(stripped, region) if stripped else None
            if verdict is None:
                rejected.append(RejectedRow(row.number, value, EMPTY_PHONE))
                continue
            # Index access: verdicts from a worker are plain tuples (see check_phones).
            status = verdict[0]
            if status != "valid":
                reason = UNPARSEABLE_PHONE if status == "unparseable" else INVALID_PHONE
                rejected.append(RejectedRow(row.number, value, reason))
                continue
            checked.append((row, value, verdict))
            candidates.append(verdict[1])
        dnc = _present(self.dnc, candidates)
        existing = _present(self.existing_phones, candidates)
        recent = _present(self.recent_phones, candidates)
        seen = self.seen
        zone_at = self.mapping.time_zone
        policy_at = self.mapping.policy
        payload_at = self.mapping.payload
        zone_ok = self._zone_ok
        for row, value, verdict in checked:
            number = row.number
            e164 = verdict[1]
            if e164 in dnc:
                rejected.append(RejectedRow(number, value, DO_NOT_CALL))
                continue
            # Remembered as an int: half the memory of the string, and E.164 digits never
            # start with 0, so no two numbers share one.
            key = int(e164[1:])
            if key in seen:
                rejected.append(RejectedRow(number, value, DUPLICATE_IN_LIST))
                continue
            if e164 in existing:
                rejected.append(RejectedRow(number, value, DUPLICATE_IN_CAMPAIGN))
                continue
            if e164 in recent:
                rejected.append(RejectedRow(number, value, DUPLICATE_RECENT))
                continue
            cells = row.cells
            zone = cells[zone_at].strip() if zone_at is not None else ""
            if zone:
                ok = zone_ok.get(zone)
                if ok is None:
                    ok = zone_ok[zone] = is_valid_gmt_zone(zone)
                if not ok:
                    rejected.append(
                        RejectedRow(
                            number, value, INVALID_TIME_ZONE, f"{zone!r} is not a JAICP time zone"
                        )
                    )
                    continue
                source = "file"
            else:
                # The one zone the number implies (PhoneVerdict.zone), if JAICP knows it.
                zone = verdict[5]
                ok = zone is not None and zone_ok.get(zone)
                if ok is None:
                    ok = zone_ok[zone] = is_valid_gmt_zone(zone)
                if ok:
                    source = "number"
                else:
                    zone, source = None, ""
                    self.zone_ambiguous += 1
            policy: dict[str, Any] = {}
            if policy_at:
                try:
                    for name, index in policy_at:
                        text = cells[index]
                        if text.strip():
                            policy[name] = parse_policy_value(name, text)
                except ValueError as error:
                    rejected.append(RejectedRow(number, value, BAD_POLICY_VALUE, str(error)))
                    continue
            payload = {name: cells[index] for name, index in payload_at}
            seen.add(key)
            accepted.append(AcceptedNumber(number, e164[1:], e164, zone, source, payload, policy))
        # Two passes disturb the order; the error report reads best in file order.
        rejected.sort(key=_row_number)
        return accepted, rejected
