"""Crash soak, longer: the task worker SIGKILLed again and again under a push and live calls.

    .venv/bin/python -m bench.soak [--database sqlite|postgres] [--phones 10000] [--batch 50]
                                   [--kills 30] [--duration 120] [--seed N]

The same run as tests/soak (bench/soakkit.py): a fresh database, the sandbox with faults
on, `serve --workers 0`, `scheduler` and one `db_worker` as processes; Push pressed once
over HTTP; ``--kills`` SIGKILLs of the worker spread over about ``--duration`` seconds
(every second one timed while a task row is RUNNING, the last one inside a reconcile);
then nothing by hand. Prints the figures: kills and kills mid-task, duplicates and
missing numbers at the provider, seconds to finish the push, seconds from each restart
to the next reconcile (max, median, last). Exits 1 when a number is duplicated or
missing, or anything else a healed Callboard would not show. `--database postgres` uses
SCALE_DATABASE_URL/SCALE_REDIS_URL when set, else starts PostgreSQL and Redis with
scripts/services.sh (as `make test` does). Logs: bench/out/soak/<database>/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack

from bench import common
from bench.soakkit import SoakConfig, SoakRun

BOOT_SECONDS = 1.5  # a restarted db_worker polls after about this long on a 2-core machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres", "postgresql"], default="sqlite")
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50, help="the campaign's push batch size")
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--duration", type=float, default=120.0, help="seconds the kills are spread over (about)")
    parser.add_argument("--seed", type=int, default=0, help="0: a random one (printed)")
    parser.add_argument("--finish-timeout", type=float, default=300.0,
                        help="seconds after the last restart the push may take to finish by itself")
    args = parser.parse_args()

    # Mean time from a worker's start to its kill, so the kills take about --duration.
    mean = max(0.4, args.duration / args.kills - BOOT_SECONDS)
    gap = (min(0.3, mean), max(0.6, 2 * mean - 0.3))
    database = "postgresql" if args.database.startswith("postgres") else "sqlite"
    with ExitStack() as stack:
        admin_url, redis_url = "", ""
        if database == "postgresql":
            admin_url, redis_url = os.environ.get("SCALE_DATABASE_URL", ""), os.environ.get("SCALE_REDIS_URL", "")
            if not admin_url:
                services = stack.enter_context(common.postgres_services())
                admin_url, redis_url = services["database_url"], services["redis_url"]
        config = SoakConfig(database=database, admin_database_url=admin_url, redis_url=redis_url,
                            phones=args.phones, batch_size=args.batch, kills=args.kills, gap=gap, seed=args.seed,
                            finish_timeout=args.finish_timeout, logs=common.OUT / "soak" / database,
                            log=lambda line: print(line, flush=True))
        print(f"soak on {database}: {args.phones:,} phones, {args.kills} kills, {gap[0]:.1f}-{gap[1]:.1f} s "
              f"from a worker's start to its kill; machine {common.machine()}", flush=True)
        figures = SoakRun(config).run()

    mid = ", ".join(f"{name} {count}" for name, count in sorted(figures.mid_task_by_task.items()))
    rows = [
        ("kills", f"{figures.kills}"),
        ("kills mid-task", f"{figures.kills_mid_task} (rows left RUNNING: {mid or 'none'})"),
        ("numbers at the provider", f"{figures.ledger_phones:,} of {figures.phones:,}"),
        ("duplicates", f"{figures.duplicates}"),
        ("missing", f"{figures.missing}"),
        ("unsent batches / unbatched jobs", f"{figures.unsent_batches} / {figures.unbatched_pending}"),
        ("job ids not the provider's", f"{figures.mismatched_job_ids}"),
        ("seconds to finish the push", f"{figures.seconds_to_finish} from Push, "
                                       f"{figures.seconds_to_finish_after_last_restart} after the last restart"),
        ("seconds to the next reconcile after a restart",
         f"max {figures.reconcile_after_restart_max}, median {figures.reconcile_after_restart_median}, "
         f"after the last {figures.reconcile_after_last_restart} (limit {3 * figures.reconcile_period:g})"),
        ("wall vs provider", f"{figures.wall_calls} vs {figures.provider_calls} calls, "
                             f"{'equal' if figures.wall_equal else 'DIFFERENT'}"),
        ("run", f"{figures.wall_seconds} s, seed {figures.seed}, {figures.calls_started} calls started"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    problems = figures.problems()
    print("\n" + ("NOT HEALED: " + "; ".join(problems) if problems else "healed: every check passed"))
    print(json.dumps({k: v for k, v in figures.as_dict().items() if k != "kill_log"}, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
