"""The storage floor of an import: what SQLite alone takes to store call jobs.

    .venv/bin/python -m bench.storage_floor [--rows 300000] [--batch 5000]

Inserts ``rows`` call jobs with the plain ``sqlite3`` module (no Django, no parsing, no
JSON encoding: rows built in memory beforehand) into copies of the real
``campaigns_calljob`` table (its schema read from a freshly migrated bench database), in
transactions of ``batch`` rows as the import does, with and without its indexes. Whatever
the import does in Python comes on top of the first figure: it says how far the ingest
target can be met on this machine with this table (bench/RESULTS.md, ingest).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from pathlib import Path

from bench import common

COLUMNS = ("campaign_id", "number_list_id", "row_number", "phone", "phone_e164", "gmt_zone", "payload", "policy",
           "provider_job_id", "push_error", "job_status", "attempts_count", "tag_name", "created_at")


def job_table_schema() -> tuple[str, list[str]]:
    """The CREATE TABLE of campaigns_calljob and its CREATE INDEX statements, as migrated."""
    db = common.setup("storage-floor")
    with sqlite3.connect(db) as conn:
        table = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='campaigns_calljob'").fetchone()[0]
        indexes = [sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name='campaigns_calljob' AND sql IS NOT NULL")]
    return table, indexes


def sample_rows(count: int) -> list[tuple]:
    rnd = random.Random(1)
    return [(1, 1, i + 2, f"8 916 {rnd.randrange(10**7):07d}", f"+7{rnd.randrange(10**10):010d}", "Europe/Moscow",
             json.dumps({"name": f"Client {i}", "order": str(i)}), "{}", "", "", "pending", 0, "",
             "2026-11-30 12:00:00") for i in range(count)]


def store(path: Path, table: str, indexes: list[str], rows: list[tuple], batch: int, cache_mb: int) -> float:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as dashboard/settings.py
    if cache_mb:
        conn.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
    for referenced in ("campaigns_campaign", "campaigns_numberlist", "campaigns_pushbatch"):
        conn.execute(f'CREATE TABLE "{referenced}" (id integer PRIMARY KEY)')
    conn.execute(table)
    for sql in indexes:
        conn.execute(sql)
    insert = (f"INSERT INTO campaigns_calljob ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
              "ON CONFLICT DO NOTHING")
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows[start:start + batch])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--cache-mb", type=int, default=0, help="SQLite page cache (default: SQLite's 2 MB)")
    args = parser.parse_args()
    table, indexes = job_table_schema()
    unique = table.replace(', CONSTRAINT "call_job_phone_once" UNIQUE ("phone_e164", "campaign_id")', "")
    assert unique != table, "the unique constraint moved: update this bench"
    rows = sample_rows(args.rows)
    path = common.OUT / "storage-floor-run.sqlite3"
    variants = [
        (f"the job table as migrated ({len(indexes)} indexes + unique)", table, indexes),
        ("only the unique (phone, campaign)", table, []),
        ("no index at all", unique, []),
    ]
    results = {}
    for label, schema, extra in variants:
        results[label] = round(store(path, schema, extra, rows, args.batch, args.cache_mb), 2)
        print(f"{label:48s} {results[label]:6.2f} s  ({args.rows / results[label]:,.0f} rows/s)", flush=True)
    first = next(iter(results.values()))
    print(json.dumps({"rows": args.rows, "batch": args.batch, "cache_mb": args.cache_mb, "seconds": results,
                      "per_million_rows_s": round(first * 1_000_000 / args.rows, 1),
                      "machine": common.machine()}, indent=2))


if __name__ == "__main__":
    main()
