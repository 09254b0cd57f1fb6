"""The do-not-call list: numbers never pushed, whatever list they come in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from campaigns.importing.mapping import guess_mapping
from campaigns.importing.phones import check_phone
from campaigns.importing.reader import TableReader
from campaigns.models import DoNotCallEntry
from campaigns.selectors import phones_among


@dataclass
class DncImportResult:
    added: int = 0
    already: int = 0
    invalid: int = 0


def dnc_add(*, phone: str, reason: str = "", region: str = "", user: Any = None) -> tuple[DoNotCallEntry, bool]:
    """``phone`` in E.164 (the form normalises it)."""
    return DoNotCallEntry.objects.get_or_create(phone_e164=phone, defaults={"reason": reason, "added_by": user})


def dnc_import(*, upload: UploadedFile, region: str = "", user: Any = None, reason: str = "imported") -> DncImportResult:
    region = (region or settings.PHONE_DEFAULT_REGION).upper()
    table = TableReader(upload)
    phone_column = table.columns.index(guess_mapping(table.columns).phone) if table.columns else 0
    result = DncImportResult()
    batch: set[str] = set()

    def flush() -> None:
        known = phones_among(batch, model=DoNotCallEntry)
        DoNotCallEntry.objects.bulk_create(
            [DoNotCallEntry(phone_e164=p, reason=reason, added_by=user) for p in batch - known], ignore_conflicts=True)
        result.added += len(batch - known)
        result.already += len(known)
        batch.clear()

    for row in table.rows():
        if row.cells is None or phone_column >= len(row.cells):
            result.invalid += 1
            continue
        verdict = check_phone(row.cells[phone_column].strip(), region)
        if verdict.status != "valid" or not verdict.e164:
            result.invalid += 1
            continue
        batch.add(verdict.e164)
        if len(batch) >= 1000:
            flush()
    flush()
    return result
