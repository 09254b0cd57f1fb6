"""Which column of an uploaded list means what.

The admin confirms (or corrects) a proposed :class:`ColumnMapping` on the mapping screen;
the import then reads columns by position, resolved once per file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from campaigns.importing.reader import looks_like_phone

__all__ = [
    "POLICY_FIELDS",
    "ColumnMapping",
    "MappingError",
    "ResolvedMapping",
    "guess_mapping",
]

# Per-number call policy fields of JAICP's CallJobParameters an upload may set.
POLICY_FIELDS = ("maxAttempts", "retryIntervalInMinutes", "dialerPriority", "allowedDays")

_PHONE_NAMES = (
    "phone",
    "tel",
    "telephone",
    "mobile",
    "msisdn",
    "number",
    "телефон",
    "тел",
    "номер",
    "мобильный",
    "phone number",
    "phonenumber",
)
_ZONE_NAMES = (
    "tz",
    "timezone",
    "time zone",
    "gmtzone",
    "gmt zone",
    "zone",
    "часовой пояс",
    "таймзона",
    "пояс",
)
_POLICY_NAMES = {
    "maxAttempts": ("maxattempts", "max attempts", "attempts", "попытки", "попыток"),
    "retryIntervalInMinutes": (
        "retryintervalinminutes",
        "retry interval",
        "retry",
        "retry minutes",
        "интервал",
    ),
    "dialerPriority": ("dialerpriority", "priority", "приоритет"),
    "allowedDays": ("alloweddays", "allowed days", "days", "дни"),
}


class MappingError(ValueError):
    """The mapping does not fit the file; ``problems`` lists every reason, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ColumnMapping:
    """Column names (as shown in the preview) for each role.

    ``payload`` columns go to the call job's payload under their header names;
    ``policy`` maps a JAICP policy field (see :data:`POLICY_FIELDS`) to a column.
    """

    phone: str
    time_zone: str | None = None
    payload: tuple[str, ...] = ()
    policy: Mapping[str, str] = field(default_factory=dict)

    def problems(self, columns: Sequence[str]) -> list[str]:
        known = set(columns)
        found: list[str] = []
        if not self.phone:
            found.append("Choose the column that holds the phone number.")
        elif self.phone not in known:
            found.append(f"The phone column {self.phone!r} is not in the file.")
        if self.time_zone is not None and self.time_zone not in known:
            found.append(f"The time zone column {self.time_zone!r} is not in the file.")
        for name in self.payload:
            if name not in known:
                found.append(f"The payload column {name!r} is not in the file.")
        if len(set(self.payload)) != len(self.payload):
            found.append("A payload column is chosen twice.")
        for policy_field, column in self.policy.items():
            if policy_field not in POLICY_FIELDS:
                found.append(f"{policy_field!r} is not a call policy field we can import.")
            elif column not in known:
                found.append(f"The {policy_field} column {column!r} is not in the file.")
        roles = [self.phone, self.time_zone, *self.policy.values()]
        roles = [r for r in roles if r]
        if len(set(roles)) != len(roles):
            found.append("One column is chosen for two roles.")
        return found

    def validate(self, columns: Sequence[str]) -> None:
        found = self.problems(columns)
        if found:
            raise MappingError(found)

    def resolve(self, columns: Sequence[str]) -> ResolvedMapping:
        """Column positions for the import loop (validated first)."""
        self.validate(columns)
        index = {name: i for i, name in enumerate(columns)}
        return ResolvedMapping(
            phone=index[self.phone],
            time_zone=index[self.time_zone] if self.time_zone else None,
            payload=tuple((name, index[name]) for name in self.payload),
            policy=tuple((f, index[c]) for f, c in self.policy.items()),
        )


@dataclass(frozen=True, slots=True)
class ResolvedMapping:
    phone: int
    time_zone: int | None
    payload: tuple[tuple[str, int], ...]
    policy: tuple[tuple[str, int], ...]


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", name.strip().lower()).strip()


def _find(columns: Sequence[str], names: Sequence[str], taken: set[str]) -> str | None:
    keys = {_key(n) for n in names}
    squeezed = {k.replace(" ", "") for k in keys}
    for column in columns:
        key = _key(column)
        if column not in taken and (key in keys or key.replace(" ", "") in squeezed):
            return column
    # Then a looser look: "Phone (mobile)", "Client phone", "Телефон клиента".
    for column in columns:
        words = set(_key(column).split())
        if column not in taken and words & keys:
            return column
    return None


def guess_mapping(
    columns: Sequence[str], sample_rows: Sequence[Sequence[str]] = ()
) -> ColumnMapping:
    """Propose a mapping from header names, falling back to the sample's contents for the
    phone column (for files without a header). Every other column becomes payload."""
    taken: set[str] = set()
    phone = _find(columns, _PHONE_NAMES, taken)
    if phone is None and sample_rows:
        scores = [
            sum(1 for row in sample_rows if i < len(row) and looks_like_phone(row[i]))
            for i in range(len(columns))
        ]
        if scores and max(scores) > 0:
            phone = columns[scores.index(max(scores))]
    if phone is None:
        phone = columns[0] if columns else ""
    taken.add(phone)
    zone = _find(columns, _ZONE_NAMES, taken)
    if zone:
        taken.add(zone)
    policy: dict[str, str] = {}
    for policy_field, names in _POLICY_NAMES.items():
        column = _find(columns, (policy_field, *names), taken)
        if column:
            policy[policy_field] = column
            taken.add(column)
    payload = tuple(c for c in columns if c not in taken)
    return ColumnMapping(phone=phone, time_zone=zone, payload=payload, policy=policy)
