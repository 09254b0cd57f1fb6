"""Realistic number lists for tests and benchmarks.

``write_sample_csv(path, rows)`` writes what an admin typically uploads: Russian and US
numbers in mixed spellings (``+1 (650) 555-0100``, ``8 911 000-00-00``, ``79110000000``),
about 3% invalid values and 2% repeats of earlier numbers, with payload columns
name/city/amount. Deterministic for a given seed. Run as a module to write a file, or to time an import of one:

    python -m campaigns.importing.sample /tmp/numbers.csv 1000000
    python -m campaigns.importing.sample --bench 1000000 [WORKERS]
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["SAMPLE_COLUMNS", "benchmark", "sample_rows", "write_sample_csv"]

SAMPLE_COLUMNS = ("phone", "name", "city", "amount")

_NAMES = (
    "Иван Петров",
    "Анна Смирнова",
    "John Smith",
    "Mary Jones",
    "Олег Иванов",
    "Sara Lee",
    "Пётр Козлов",
    "Elena Popova",
)
_CITIES = (
    "Москва",
    "Санкт-Петербург",
    "Новосибирск",
    "Казань",
    "Palo Alto",
    "New York",
    "Chicago",
    "Екатеринбург",
)
# Area codes that are in service, so generated numbers are valid (plus exchange 2-9).
_US_AREAS = ("650", "212", "312", "415", "617", "206", "305", "713")
_RU_MOBILE = ("911", "912", "915", "916", "921", "926", "903", "985")
_RU_FIXED = ("495", "812", "383", "843", "343")
_INVALID = (
    "12345",
    "not a number",
    "+7 000 000-00-00",
    "8 800",
    "+1 (000) 000-0000",
    "abc-def",
    "+999 123 456",
    "7911000000000000",
)


def _ru(rnd: random.Random) -> str:
    area = rnd.choice(_RU_MOBILE if rnd.random() < 0.7 else _RU_FIXED)
    rest = f"{rnd.randrange(10_000_000):07d}"
    style = rnd.randrange(4)
    if style == 0:
        return f"8 {area} {rest[:3]}-{rest[3:5]}-{rest[5:]}"
    if style == 1:
        return f"7{area}{rest}"
    if style == 2:
        return f"+7 ({area}) {rest[:3]}-{rest[3:5]}-{rest[5:]}"
    return f"8{area}{rest}"


def _us(rnd: random.Random) -> str:
    area = rnd.choice(_US_AREAS)
    exchange = rnd.randrange(200, 1000)
    line = rnd.randrange(10_000)
    if rnd.random() < 0.5:
        return f"+1 ({area}) {exchange:03d}-{line:04d}"
    return f"+1{area}{exchange:03d}{line:04d}"


def sample_rows(
    rows: int, *, seed: int = 1, invalid: float = 0.03, duplicates: float = 0.02
) -> Iterator[tuple[str, str, str, str]]:
    rnd = random.Random(seed)
    recent: list[str] = []  # a window of earlier phones to repeat from
    for index in range(rows):
        draw = rnd.random()
        if draw < invalid:
            phone = rnd.choice(_INVALID)
        elif draw < invalid + duplicates and recent:
            phone = rnd.choice(recent)
        else:
            phone = _ru(rnd) if rnd.random() < 0.7 else _us(rnd)
            if len(recent) < 1000:
                recent.append(phone)
            else:
                recent[index % 1000] = phone
        yield (phone, rnd.choice(_NAMES), rnd.choice(_CITIES), f"{rnd.randrange(100, 100_000)}.00")


def write_sample_csv(
    path: str | Path, rows: int, *, seed: int = 1, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    """Write ``rows`` data rows plus a header; returns the path."""
    path = Path(path)
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(SAMPLE_COLUMNS)
        writer.writerows(sample_rows(rows, seed=seed))
    return path


def benchmark(rows: int, *, workers: int | None = None, region: str = "RU") -> dict[str, float]:
    """Import a generated list of ``rows`` rows into a counting sink; returns seconds,
    rows per second and the peak resident memory of this process and of its workers (MB).
    ``python -m campaigns.importing.sample --bench 1000000``"""
    import resource
    import tempfile
    import time

    from campaigns.importing.mapping import guess_mapping
    from campaigns.importing.pipeline import import_numbers
    from campaigns.importing.reader import TableReader

    stored = 0

    def sink(batch: object) -> None:
        nonlocal stored
        stored += len(batch)  # type: ignore[arg-type]

    with tempfile.TemporaryDirectory() as folder:
        path = write_sample_csv(Path(folder) / "numbers.csv", rows)
        started = time.perf_counter()
        table = TableReader(path)
        summary = import_numbers(
            table,
            mapping=guess_mapping(table.columns),
            default_region=region,
            sink=sink,
            workers=workers,
        )
        seconds = time.perf_counter() - started
    return {
        "rows": summary.total_rows,
        "valid": summary.valid,
        "seconds": round(seconds, 2),
        "rows_per_second": round(summary.total_rows / seconds),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    if sys.argv[1] == "--bench":
        workers = int(sys.argv[3]) if len(sys.argv) > 3 else None
        print(benchmark(int(sys.argv[2]), workers=workers))
    else:
        write_sample_csv(sys.argv[1], int(sys.argv[2]))
