"""Number-list import for outbound campaigns: read (CSV/XLSX, streamed), map columns,
validate phones/zones/policy, dedupe against the file, the campaign and a DNC list, hand
accepted numbers to a sink in batches, and report. Storage-agnostic: no Django models.

Typical use (a background task or the command-line twin)::

    table = open_table(upload)                         # detection, once
    mapping = guess_mapping(table.columns)             # shown, corrected, confirmed
    summary = import_numbers(table, mapping=mapping, default_region="RU",
                             existing_phones=..., dnc=..., sink=store_batch,
                             progress=report_progress)
    summary.error_report.open()                        # CSV for download
    preview_calling_window(summary.zones, policy, now=timezone.now())
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers and editors
    from campaigns.importing.mapping import (
        POLICY_FIELDS,
        ColumnMapping,
        MappingError,
        guess_mapping,
    )
    from campaigns.importing.pipeline import NumberSink, ProgressCallback, import_numbers
    from campaigns.importing.reader import Preview, SourceRow, TableReader, open_table, preview
    from campaigns.importing.report import ErrorReport, ImportSummary, safe_cell
    from campaigns.importing.validate import REASONS, AcceptedNumber, PhoneLookup, RejectedRow
    from campaigns.importing.window import CallingPolicy, WindowPreview, preview_calling_window

# Loaded on first use: worker processes import campaigns.importing.phones, and should not
# pay for (or depend on) the JAICP client that validate/window pull in.
_EXPORTS = {
    "POLICY_FIELDS": "mapping",
    "ColumnMapping": "mapping",
    "MappingError": "mapping",
    "guess_mapping": "mapping",
    "NumberSink": "pipeline",
    "ProgressCallback": "pipeline",
    "import_numbers": "pipeline",
    "Preview": "reader",
    "SourceRow": "reader",
    "TableReader": "reader",
    "open_table": "reader",
    "preview": "reader",
    "ErrorReport": "report",
    "ImportSummary": "report",
    "safe_cell": "report",
    "REASONS": "validate",
    "AcceptedNumber": "validate",
    "PhoneLookup": "validate",
    "RejectedRow": "validate",
    "CallingPolicy": "window",
    "WindowPreview": "window",
    "preview_calling_window": "window",
}

__all__ = [
    "POLICY_FIELDS",
    "REASONS",
    "AcceptedNumber",
    "CallingPolicy",
    "ColumnMapping",
    "ErrorReport",
    "ImportSummary",
    "MappingError",
    "NumberSink",
    "PhoneLookup",
    "Preview",
    "ProgressCallback",
    "RejectedRow",
    "SourceRow",
    "TableReader",
    "WindowPreview",
    "guess_mapping",
    "import_numbers",
    "open_table",
    "preview",
    "preview_calling_window",
    "safe_cell",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
