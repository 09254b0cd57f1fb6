from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from campaigns.importing.mapping import POLICY_FIELDS, ColumnMapping, MappingError
from campaigns.models import Campaign, NumberList
from campaigns.services.imports import (
    ImportRefused,
    mapping_from_json,
    number_list_claim_next,
    number_list_create,
    number_list_import_run,
    number_list_queue,
)


class Command(BaseCommand):
    help = ("Import a number list into a campaign (the same code path as the web upload) and print the "
            "summary. CAMPAIGN is the campaign's id or name.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("campaign")
        parser.add_argument("file", type=Path)
        parser.add_argument("--phone", help="phone column (default: guessed from the header)")
        parser.add_argument("--time-zone", dest="time_zone", help="time zone column")
        parser.add_argument("--payload", action="append", default=None,
                            help="payload column (repeat); default: every other column")
        for name in POLICY_FIELDS:
            parser.add_argument(f"--{name}", dest=f"policy_{name}", metavar="COLUMN", help=f"{name} column")
        parser.add_argument("--region", default="", help="default phone region, e.g. US or RU")
        parser.add_argument("--recent-days", dest="recent_days", type=int, default=None,
                            help="also skip numbers pushed to other campaigns in the last N days")

    def handle(self, *args: Any, **opts: Any) -> None:
        campaign = self._campaign(opts["campaign"])
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        with path.open("rb") as fh:
            try:
                number_list = number_list_create(campaign=campaign, upload=_Upload(fh, path.name), user=None,
                                                 default_region=opts["region"], recent_days=opts["recent_days"])
            except ImportRefused as exc:
                raise CommandError(str(exc)) from exc
        guessed = mapping_from_json(number_list.mapping)
        columns = number_list.detected["columns"]
        phone = opts["phone"] or guessed.phone
        time_zone = opts["time_zone"] if opts["time_zone"] is not None else guessed.time_zone
        policy = {n: opts[f"policy_{n}"] for n in POLICY_FIELDS if opts.get(f"policy_{n}")}
        payload = opts["payload"] if opts["payload"] is not None else [
            c for c in columns if c not in {phone, time_zone, *policy.values()}]
        mapping = ColumnMapping(phone=phone, time_zone=time_zone, payload=tuple(payload), policy=policy)
        try:
            number_list_queue(number_list=number_list, mapping=mapping, recent_days=opts["recent_days"])
        except MappingError as exc:
            number_list.delete()
            raise CommandError("; ".join(exc.problems)) from exc
        claimed = number_list_claim_next(campaign_id=campaign.pk)
        if claimed is None or claimed.pk != number_list.pk:
            self.stdout.write(f"Another list of this campaign is importing; {path.name} is queued (list {number_list.pk}).")
            return
        bar = _Bar(self.stderr, number_list.size)
        summary = number_list_import_run(number_list=number_list, on_progress=bar.update)
        bar.done()
        self._print_summary(number_list, summary)

    def _campaign(self, ref: str) -> Campaign:
        qs = Campaign.objects.filter(pk=int(ref)) if ref.isdigit() else Campaign.objects.filter(name=ref)
        found = list(qs[:2])
        if len(found) != 1:
            raise CommandError(f"No single campaign {ref!r}: give its id or exact name.")
        return found[0]

    def _print_summary(self, number_list: NumberList, summary: Any) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Imported {number_list.original_name} into “{number_list.campaign.name}”"))
        out.write(f"  rows        {summary.total_rows}")
        out.write(f"  valid       {summary.valid}")
        out.write(f"  invalid     {summary.invalid}  (duplicates {summary.duplicates}, do-not-call {summary.blocked_by_dnc})")
        for code, words, count in summary.reasons_in_words():
            out.write(f"    {count:>8}  {words} [{code}]")
        out.write(f"  time        {summary.seconds:.1f} s ({summary.encoding or 'xlsx'}"
                  f"{', delimiter ' + repr(summary.delimiter) if summary.delimiter else ''})")
        if number_list.error_report:
            out.write(f"  error report: {number_list.error_report.path}")


class _Upload(File):
    """A local file presented like an upload (name and size)."""

    def __init__(self, fh: Any, name: str) -> None:
        super().__init__(fh, name=name)


class _Bar:
    """A progress bar on a terminal; a line every 10% otherwise."""

    def __init__(self, stream: Any, total: int) -> None:
        self.stream, self.total, self.tty, self.last = stream, max(total, 1), stream.isatty(), -1

    def update(self, number_list: NumberList) -> None:
        pct = min(100, int(100 * number_list.bytes_done / self.total))
        if self.tty:
            filled = pct * 30 // 100
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%  {number_list.rows_done} rows", ending="")
            self.stream.flush()
        elif pct // 10 != self.last // 10:
            self.stream.write(f"{pct}% ({number_list.rows_done} rows)")
        self.last = pct

    def done(self) -> None:
        if self.tty:
            self.stream.write("")
