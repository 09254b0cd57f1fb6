"""Ingest: a generated number list through the real import path, against a naive baseline.

    .venv/bin/python -m bench.ingest [--rows 1000000] [--baseline-rows 20000] [--workers N]
                                     [--tracemalloc] [--profile]

The list comes from ``campaigns.importing.sample`` (mixed spellings, 3% invalid, 2%
repeats, payload columns). The measured path is the web upload's: number_list_create
(stores the file, detects columns) -> number_list_queue -> number_list_claim_next ->
number_list_import_run, into a campaign in bench/out/ingest.sqlite3. The baseline does
what a first version would: per row phonenumbers.parse + is_valid_number + format E.164
and one CallJob.objects.create (autocommit). Prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import time

from bench import common

TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 300.0
TARGET_RATIO = 20.0


def _campaign(name: str, token: str):
    from campaigns.models import Campaign
    from dashboard.models import ProviderAccount

    account, _ = ProviderAccount.objects.get_or_create(
        kind="jaicp", name="Bench JAICP", defaults={"base_url": "http://127.0.0.1:9/sandbox/jaicp", "is_sandbox": True})
    return Campaign.objects.create(account=account, name=name, token=token)


def run_real(path, *, user, workers: int | None, profile: bool) -> dict:
    from django.core.files import File

    from campaigns.models import CallJob, CampaignStatusCount
    from campaigns.services import imports

    campaign = _campaign("Bench import", "bench-import")
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with path.open("rb") as fh:
        number_list = imports.number_list_create(campaign=campaign, upload=File(fh, name=path.name), user=user,
                                                 default_region="RU")
    steps["create_s"] = time.perf_counter() - started
    t = time.perf_counter()
    imports.number_list_queue(number_list=number_list, mapping=imports.mapping_from_json(number_list.mapping))
    claimed = imports.number_list_claim_next(campaign_id=campaign.pk)
    assert claimed is not None and claimed.pk == number_list.pk
    steps["queue_claim_s"] = time.perf_counter() - t

    if workers is not None:  # the pipeline's own choice unless told (None: one per spare core)
        import campaigns.services.imports as mod

        real = mod.import_numbers
        mod.import_numbers = lambda *a, **kw: real(*a, **{**kw, "workers": workers})
    profiler = None
    if profile:
        try:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.001)
        except ImportError:
            import cProfile
            profiler = cProfile.Profile()
        profiler.enable() if hasattr(profiler, "enable") and not hasattr(profiler, "start") else profiler.start()
    from django.db import connection

    sql: dict[str, list[float]] = {}

    def sql_timer(execute, statement, params, many, context):
        # Time spent inside the database driver, by statement kind and table.
        kind = " ".join(statement.split(None, 4)[:3]).replace('"', "")[:40]
        t0 = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            entry = sql.setdefault(kind, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - t0

    t = time.perf_counter()
    with connection.execute_wrapper(sql_timer):
        summary = imports.number_list_import_run(number_list=claimed)
    steps["import_run_s"] = time.perf_counter() - t
    steps["in_sql_driver_s"] = sum(v[1] for v in sql.values())
    if profiler is not None:
        if hasattr(profiler, "start"):
            profiler.stop()
            out = common.OUT / "ingest-profile.txt"
            out.write_text(profiler.output_text(unicode=True, show_all=True))
            (common.OUT / "ingest-profile.html").write_text(profiler.output_html())
        else:
            import io
            import pstats
            profiler.disable()
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(40)
            out = common.OUT / "ingest-profile.txt"
            out.write_text(buf.getvalue())
        print(f"profile written to {out}")
    total = time.perf_counter() - started
    stored = CallJob.objects.filter(campaign=campaign).count()
    counted = sum(CampaignStatusCount.objects.filter(campaign=campaign).values_list("count", flat=True))
    return {
        "rows": summary.total_rows,
        "accepted": summary.valid,
        "stored_jobs": stored,
        "status_count_total": counted,
        "seconds_total": round(total, 2),
        "steps_s": {k: round(v, 3) for k, v in steps.items()},
        "sql_by_kind": {k: {"calls": n, "s": round(v, 3)} for k, (n, v) in sorted(sql.items(), key=lambda kv: -kv[1][1])[:6]},
        "rows_per_s": round(summary.total_rows / total),
        "rows_per_s_import_run": round(summary.total_rows / steps["import_run_s"]),
    }


def run_baseline(path, *, rows: int) -> dict:
    """Per-row parse/validate/format and one INSERT per accepted row (autocommit)."""
    import csv

    import phonenumbers
    from django.db import IntegrityError

    from campaigns.models import CallJob

    campaign = _campaign("Bench baseline", "bench-baseline")
    E164 = phonenumbers.PhoneNumberFormat.E164
    done = stored = 0
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        for number, cells in enumerate(reader, start=2):
            if done >= rows:
                break
            done += 1
            raw = cells[0]
            try:
                parsed = phonenumbers.parse(raw, "RU")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(parsed):
                continue
            e164 = phonenumbers.format_number(parsed, E164)
            try:
                CallJob.objects.create(campaign=campaign, row_number=number, phone=e164.lstrip("+"), phone_e164=e164,
                                       payload=dict(zip(header[1:], cells[1:], strict=False)))
                stored += 1
            except IntegrityError:  # a repeat
                continue
    seconds = time.perf_counter() - started
    return {"rows": done, "stored_jobs": stored, "seconds": round(seconds, 2), "rows_per_s": round(done / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=None, help="phone-check processes (default: the pipeline's choice)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slows the run ~2x)")
    parser.add_argument("--profile", action="store_true", help="profile number_list_import_run into bench/out/")
    parser.add_argument("--keep-csv", action="store_true", help="reuse bench/out/ingest-<rows>.csv if present")
    args = parser.parse_args()

    common.setup("ingest")
    from campaigns.importing.sample import write_sample_csv
    from dashboard.roles import ADMIN

    user = common.make_user("bench-admin", ADMIN, is_staff=True)
    path = common.OUT / f"ingest-{args.rows}.csv"
    t = time.perf_counter()
    if not (args.keep_csv and path.exists()):
        write_sample_csv(path, args.rows)
    generated = time.perf_counter() - t
    print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {generated:.1f} s", flush=True)

    if args.tracemalloc:
        import tracemalloc
        tracemalloc.start()
    rss_before = common.peak_rss_mb()
    cpu_before = common.cpu_seconds()
    load_before = common.load_average()
    with common.TreeMemorySampler() as memory:
        real = run_real(path, user=user, workers=args.workers, profile=args.profile)
    rss = common.peak_rss_mb()
    cpu = common.cpu_seconds()
    real["cpu_s"] = {"self": round(cpu["self"] - cpu_before["self"], 1),
                     "workers": round(cpu["children"] - cpu_before["children"], 1)}
    real["load_average_before_after"] = f"{load_before} / {common.load_average()}"
    if args.tracemalloc:
        import tracemalloc
        real["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 1)
        tracemalloc.stop()
    real["peak_rss_mb"] = {"self": round(rss["self"], 1), "workers": round(rss["children"], 1),
                           "self_before_import": round(rss_before["self"], 1)}
    real["peak_pss_mb_all_processes"] = round(memory.peak_mb, 1)
    print("real path:", json.dumps(real, ensure_ascii=False), flush=True)

    baseline = run_baseline(path, rows=min(args.baseline_rows, args.rows))
    print("baseline:", json.dumps(baseline), flush=True)

    ratio = real["rows_per_s"] / baseline["rows_per_s"]
    peak = real["peak_pss_mb_all_processes"]  # the import is three processes: all of them
    result = {
        "bench": "ingest",
        "machine": common.machine(),
        "rows": args.rows,
        "seconds": real["seconds_total"],
        "cpu_s_main_process": real["cpu_s"]["self"],
        "cpu_s_workers": real["cpu_s"]["workers"],
        "load_average": real["load_average_before_after"],
        "rows_per_s": real["rows_per_s"],
        "peak_rss_mb_self": real["peak_rss_mb"]["self"],
        "peak_rss_mb_worker": real["peak_rss_mb"]["workers"],
        "peak_pss_mb_all_processes": real["peak_pss_mb_all_processes"],
        "baseline_rows_per_s": baseline["rows_per_s"],
        "ratio_vs_baseline": round(ratio, 1),
        "targets": {
            f"seconds <= {TARGET_SECONDS} (for 1,000,000 rows)": common.verdict(
                real["seconds_total"] * 1_000_000 / max(args.rows, 1), TARGET_SECONDS),
            f"peak memory, all processes < {TARGET_PEAK_MB} MB": common.verdict(peak, TARGET_PEAK_MB),
            f"ratio >= {TARGET_RATIO}x": common.verdict(ratio, TARGET_RATIO, higher_is_better=True),
        },
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
