"""Phone number checks at import speed, with exactly the verdicts of ``phonenumbers``.

``phonenumbers.parse`` + ``is_valid_number`` cost ~15-20 µs per number, which alone would
take a million-row list past the 10 s budget. Most of that time goes on work that a plain
number does not need (finding the number inside free text, extensions, RFC 3966, building
objects) and on testing up to eleven type patterns one by one, twice for shared country
codes. The fast path here:

1. accepts only the common spellings: an optional leading ``+``, ASCII digits, and the
   separators space, ``-``, ``(``, ``)``, ``.``. For those, ``parse`` would strip exactly
   these characters, so the digits alone decide the outcome. Anything else (letters,
   extensions, other Unicode) goes to the real ``phonenumbers.parse``;
2. runs the rest of ``parse`` line by line, calling the library's own helpers
   (country code extraction, national prefix stripping, length tests), so a library
   upgrade changes our verdicts the same way it changes its own;
3. replaces the one-regex-per-type loop by one combined regex per (region, length), built
   from the same metadata patterns in the same order (alternation tries branches left to
   right, so the first type that matches wins, as in ``_number_type_helper``);
4. memoises the implied time zones by the digits the library's lookup can actually read:
   the E.164 digits up to the longest zone-table key that could match them (4 for a US
   number, its area code), or the country code for non-geographic numbers.

Verdicts are not memoised by number: nearly every number in a list is different.

``tests/campaigns/importing/test_phones.py`` checks it against ``phonenumbers`` on a large
random sample, valid and invalid, across regions and spellings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata
from phonenumbers import phonenumberutil as pnu
from phonenumbers import timezone as pntz

__all__ = [
    "PhoneVerdict",
    "check_phone",
    "check_phone_slow",
    "check_phones",
    "implied_time_zones",
]

# The spellings whose meaning to ``parse`` depends on their digits only.
_SIMPLE = re.compile(r"[ \t]*(\+?)[0-9 \t().\-]*")
_SEPARATORS = str.maketrans("", "", " \t().-")

_REGIONS = frozenset(pnu.SUPPORTED_REGIONS)
_VALID = "valid"
_INVALID = "invalid"
_UNPARSEABLE = "unparseable"

_KIND_OTHER = "o"  # premium, toll free, shared cost, VoIP, personal, pager, UAN, voicemail
_KIND_FIXED = "f"  # fixed line, or fixed line or mobile: always geographic
_KIND_MOBILE = "m"  # geographic only in some countries


class PhoneVerdict(NamedTuple):
    """What we learn about one phone value. ``status`` is ``valid``, ``invalid`` (parsed but
    not a valid number) or ``unparseable``; ``e164`` is set whenever it parsed."""

    status: str
    e164: str = ""
    country_code: int = 0
    region: str | None = None
    geographic: bool = False
    # The time zone the number implies when phonenumbers names exactly one, else None.
    zone: str | None = None

    @property
    def jaicp(self) -> str:
        """JAICP wants the number as digits without the plus."""
        return self.e164[1:]


def check_phone(value: str, default_region: str) -> PhoneVerdict:
    """Validate one phone value as ``phonenumbers`` would, quickly for plain spellings."""
    region = default_region.upper()
    match = _SIMPLE.fullmatch(value)
    if match is None or region not in _REGIONS:
        return check_phone_slow(value, default_region)
    digits = value.translate(_SEPARATORS)
    # parse() needs at least 3 digits to call the text a number at all, and refuses
    # over-long input; leave those edges to the library.
    if len(digits) - (1 if match[1] else 0) < 3 or len(digits) > 30:
        return check_phone_slow(value, default_region)
    try:
        cc, nsn = _split(digits, region)
    except NumberParseException:
        return PhoneVerdict(_UNPARSEABLE)
    return _classify(cc, nsn)


def check_phones(values: Sequence[str], default_region: str) -> list[tuple | None]:
    """``check_phone`` for a batch of stripped values ("" gives None): the unit of work
    sent to a worker process. Module level and Django-free so ``spawn`` can import it.

    Verdicts come back as plain tuples in :class:`PhoneVerdict` field order: unpickling a
    named tuple looks its class up per item, which costs more than checking the number.
    """
    return [tuple(check_phone(value, default_region)) if value else None for value in values]


def check_phone_slow(value: str, default_region: str) -> PhoneVerdict:
    """The reference path: ``phonenumbers`` itself."""
    try:
        number = phonenumbers.parse(value, default_region)
    except NumberParseException:
        return PhoneVerdict(_UNPARSEABLE)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        return PhoneVerdict(_INVALID, e164, number.country_code)
    ntype = phonenumbers.number_type(number)
    zones = tuple(pntz.time_zones_for_number(number))
    return PhoneVerdict(
        _VALID,
        e164,
        number.country_code,
        phonenumbers.region_code_for_number(number),
        pnu.is_number_type_geographical(ntype, number.country_code),
        zones[0] if len(zones) == 1 and zones[0] != pntz.UNKNOWN_TIMEZONE else None,
    )


def _split(number: str, region: str) -> tuple[int, str]:
    """``parse`` from ``_maybe_extract_country_code`` on, for ``+digits`` or ``digits``.

    Mirrors phonenumberutil.parse (9.0.x) statement by statement; returns the country code
    and the national significant number as a string (leading zeros kept, which is what
    ``national_significant_number`` gives back for the Italian leading zero case).
    """
    metadata = _metadata(0, region)
    try:
        country_code, national = _extract_country_code(number, metadata)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE and number[0] == "+":
            country_code, national = _extract_country_code(number[1:], metadata)
            if country_code == 0:
                raise NumberParseException(
                    NumberParseException.INVALID_COUNTRY_CODE, "no country code"
                ) from None
        else:
            raise
    if country_code != 0:
        number_region = pnu.region_code_for_country_code(country_code)
        if number_region != region:
            metadata = _metadata(country_code, number_region)
    else:
        national = number
        country_code = metadata.country_code
    if len(national) < pnu._MIN_LENGTH_FOR_NSN:
        raise NumberParseException(NumberParseException.TOO_SHORT_NSN, "too short")
    if metadata is not None and metadata.national_prefix_for_parsing:
        potential = _strip_national_prefix(national, metadata)
        if potential is not national and _length_result(metadata, len(potential)) in _STRIP_OK:
            national = potential
    if len(national) > pnu._MAX_LENGTH_FOR_NSN:
        raise NumberParseException(NumberParseException.TOO_LONG, "too long")
    # parse() stores int(national) plus a count of leading zeros, capped so at least one
    # digit remains; national_significant_number() rebuilds exactly this string.
    return country_code, national


def _extract_country_code(number: str, metadata) -> tuple[int, str]:
    """``_maybe_extract_country_code`` for a string of ASCII digits with an optional ``+``."""
    if number[0] == "+":
        full = number[1:]
        international = True
    else:
        full = number
        international = False
        if metadata is not None:
            idd = _compiled(metadata.international_prefix or "NonMatch").match(full)
            # _parse_prefix_as_idd: an IDD followed by a 0 is not taken as an IDD.
            if idd is not None and full[idd.end() : idd.end() + 1] != "0":
                full = full[idd.end() :]
                international = True
    if international:
        if len(full) <= pnu._MIN_LENGTH_FOR_NSN:
            raise NumberParseException(NumberParseException.TOO_SHORT_AFTER_IDD, "too short")
        country_code, rest = pnu._extract_country_code(full)
        if country_code != 0:
            return country_code, rest
        raise NumberParseException(NumberParseException.INVALID_COUNTRY_CODE, "unknown code")
    if metadata is not None:
        prefix = str(metadata.country_code)
        if full.startswith(prefix):
            potential = _strip_national_prefix(full[len(prefix) :], metadata)
            general = _general(metadata)
            if (general.fullmatch(full) is None and general.fullmatch(potential) is not None) or (
                _length_result(metadata, len(full)) == pnu.ValidationResult.TOO_LONG
            ):
                return metadata.country_code, potential
    return 0, ""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_NEVER = re.compile(r"(?!)")


def _general(metadata) -> re.Pattern[str]:
    # _match_national_number: a missing pattern matches nothing.
    pattern = metadata.general_desc.national_number_pattern if metadata.general_desc else None
    return _compiled(pattern) if pattern else _NEVER


def _strip_national_prefix(number: str, metadata) -> str:
    """``_maybe_strip_national_prefix_carrier_code``, number part only."""
    npp = metadata.national_prefix_for_parsing
    if not number or not npp:
        return number
    prefix = _compiled(npp)
    match = prefix.match(number)
    if match is None:
        return number
    general = _general(metadata)
    viable = general.fullmatch(number) is not None
    rule = metadata.national_prefix_transform_rule
    if not rule or match.groups()[-1] is None:
        stripped = number[match.end() :]
    else:
        stripped = prefix.sub(rule, number, count=1)
    if viable and general.fullmatch(stripped) is None:
        return number
    return stripped


_LENGTH_RESULTS: dict[tuple[int, str, int], int] = {}


def _length_result(metadata, length: int) -> int:
    # _test_number_length with the general desc reads nothing but the length.
    key = (metadata.country_code, metadata.id, length)
    result = _LENGTH_RESULTS.get(key)
    if result is None:
        result = _LENGTH_RESULTS[key] = pnu._test_number_length("0" * length, metadata)
    return result


_STRIP_OK = (pnu.ValidationResult.IS_POSSIBLE, pnu.ValidationResult.TOO_LONG)


def _classify(country_code: int, nsn: str) -> PhoneVerdict:
    # Not memoised: in a real list nearly every number is different, and an LRU's
    # bookkeeping costs more than the regex it would save.
    e164 = f"+{country_code}{nsn}"
    regions = pnu.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return PhoneVerdict(_INVALID, e164, country_code)
    if len(regions) == 1:
        region = regions[0]
        kind = _kind(nsn, _metadata(country_code, region))
    else:
        # _region_code_for_number_from_list: the first region whose leading digits match,
        # or (without leading digits) whose patterns give a type.
        region, kind = None, None
        for candidate in regions:
            metadata = _metadata(country_code, candidate)
            if metadata is None:
                continue
            if metadata.leading_digits is not None:
                if _compiled(metadata.leading_digits).match(nsn):
                    region, kind = candidate, _kind(nsn, metadata)
                    break
            else:
                kind = _kind(nsn, metadata)
                if kind is not None:
                    region = candidate
                    break
        if region is None:
            return PhoneVerdict(_INVALID, e164, country_code)
    if kind is None:
        return PhoneVerdict(_INVALID, e164, country_code)
    geographic = kind == _KIND_FIXED or (
        kind == _KIND_MOBILE and country_code in pnu._GEO_MOBILE_COUNTRIES
    )
    zones = _zones(e164[1:], country_code, geographic)
    return PhoneVerdict(
        _VALID, e164, country_code, region, geographic, zones[0] if len(zones) == 1 else None
    )


_METADATA: dict[tuple[int, str], object] = {}


def _metadata(country_code: int, region: str):
    """Metadata for a region (or, for "001", a non-geographic country code), cached here
    because the library's lookup costs more than the regexes we run on it."""
    key = (country_code if region == "001" else 0, region)
    try:
        return _METADATA[key]
    except KeyError:
        found = _METADATA[key] = PhoneMetadata.metadata_for_region_or_calling_code(
            country_code, region.upper()
        )
        return found


_OTHER_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def _kind(nsn: str, metadata) -> str | None:
    pattern = _combined(metadata, len(nsn))
    if pattern is None:
        return None
    match = pattern.fullmatch(nsn)
    return None if match is None else match.lastgroup


# Keyed by (country code, region id, length): non-geographic entities all share id "001".
_COMBINED: dict[tuple[int, str, int], re.Pattern[str] | None] = {}


def _combined(metadata, length: int) -> re.Pattern[str] | None:
    """One regex answering ``_number_type_helper`` for numbers of one length in one region."""
    key = (metadata.country_code, metadata.id, length)
    try:
        return _COMBINED[key]
    except KeyError:
        pass
    pattern = None
    if _desc_applies(metadata.general_desc, length):
        other = [
            getattr(metadata, name).national_number_pattern
            for name in _OTHER_DESCS
            if _desc_applies(getattr(metadata, name), length)
        ]
        branches = []
        if other:
            branches.append("(?P<o>" + "|".join(f"(?:{p})" for p in other) + ")")
        if _desc_applies(metadata.fixed_line, length):
            branches.append(f"(?P<f>{metadata.fixed_line.national_number_pattern})")
        if not metadata.same_mobile_and_fixed_line_pattern and _desc_applies(
            metadata.mobile, length
        ):
            branches.append(f"(?P<m>{metadata.mobile.national_number_pattern})")
        if branches:
            general = metadata.general_desc.national_number_pattern
            pattern = re.compile(f"(?=(?:{general})\\Z)(?:{'|'.join(branches)})")
    _COMBINED[key] = pattern
    return pattern


def _desc_applies(desc, length: int) -> bool:
    # _is_number_matching_desc: a missing desc or empty pattern never matches; an empty
    # possible_length list means any length.
    if desc is None or not desc.national_number_pattern:
        return False
    return not desc.possible_length or length in desc.possible_length


@lru_cache(maxsize=16384)
def _geographic_zones(prefix: str) -> tuple[str, ...]:
    # time_zones_for_geographical_number: the longest known prefix of the E.164 digits.
    for length in range(pntz.TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = pntz.TIMEZONE_DATA.get(prefix[:length])
        if zones is not None:
            return tuple(zones)
    return ()


@cache
def _relevant_length(head: str) -> int:
    """How many leading digits the zone lookup can read for numbers starting with ``head``:
    the longest zone-table key compatible with it. US numbers need 4 ("1650"), not 9, so
    the cache above stays small."""
    longest = max(
        (len(k) for k in pntz.TIMEZONE_DATA if k.startswith(head) or head.startswith(k)),
        default=0,
    )
    return max(longest, len(head))


@lru_cache(maxsize=1024)
def _country_zones(country_code: str) -> tuple[str, ...]:
    # _country_level_time_zones_for_number, including its cc[:1 + n] quirk.
    for length in range(pntz.TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = pntz.TIMEZONE_DATA.get(country_code[: 1 + length])
        if zones is not None:
            return tuple(zones)
    return ()


def implied_time_zones(verdict: PhoneVerdict | tuple) -> tuple[str, ...]:
    """The IANA zones ``phonenumbers.timezone.time_zones_for_number`` gives for a valid
    number, without the "unknown" placeholder (an empty tuple instead). Takes a verdict
    or the plain tuple :func:`check_phones` gives."""
    status, e164, country_code, _, geographic = verdict[:5]
    if status != _VALID:
        return ()
    return _zones(e164[1:], country_code, geographic)


def _zones(digits: str, country_code: int, geographic: bool) -> tuple[str, ...]:
    if geographic:
        return _geographic_zones(digits[: _relevant_length(digits[:3])])
    return _country_zones(str(country_code))
